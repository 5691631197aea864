#include "runtime/scheduler.h"

#include <stdlib.h>

#include "common/clock.h"
#include "runtime/block_pool.h"
#include "runtime/config.h"
#include "runtime/encoder_cache.h"

typedef struct queue_node {
    request *req;
    double t_queued; /* cfg.clock() when it entered the queue */
    struct queue_node *next;
} queue_node;

struct scheduler {
    scheduler_config cfg;
    block_pool *self_pool, *cross_pool;
    encoder_cache *cache; /* NULL when encoder_cache is off */
    sequence **running;      /* [max_running], in admission order */
    int n_running;
    queue_node *head, *tail;
    int n_queued;
    long preemptions;
    long held_steps;
};

static int blocks_for(int tokens, int block_size) { return (tokens + block_size - 1) / block_size; }

int scheduler_max_plan_blocks(const scheduler_config *cfg) {
    /* Each entry's self table, and each request's cross table once; in 64 bits. -1 when the bound
     * exceeds CONFIG_MAX_DERIVED (config_validate refuses such configs, naming the keys). */
    long long bs = cfg->block_size;
    if (bs < 1) return -1;
    long long n = (long long)cfg->max_running * ((cfg->max_output_len + 1LL + bs - 1) / bs +
                                                 (cfg->max_input_len + bs - 1LL) / bs);
    return n < 0 || n > CONFIG_MAX_DERIVED ? -1 : (int)n;
}

ed_status scheduler_create(scheduler **out, const scheduler_config *cfg, ed_error *err) {
    scheduler *s = calloc(1, sizeof *s);
    if (!s) return ed_fail(err, "out of memory");
    s->cfg = *cfg;
    if (!s->cfg.clock) s->cfg.clock = monotonic_s;
    if (s->cfg.admission_group < 1) s->cfg.admission_group = 1;
    s->running = calloc((size_t)cfg->max_running, sizeof *s->running);
    if (!s->running || block_pool_create(&s->self_pool, cfg->n_self_blocks, err) ||
        block_pool_create(&s->cross_pool, cfg->n_cross_blocks, err)) {
        scheduler_destroy(s);
        return ed_fail(err, "out of memory");
    }
    if (cfg->encoder_cache &&
        encoder_cache_create(&s->cache, s->cross_pool, cfg->encoder_cache_blocks, err)) {
        scheduler_destroy(s);
        return ED_ERR;
    }
    *out = s;
    return ED_OK;
}

void scheduler_destroy(scheduler *s) {
    if (!s) return;
    for (queue_node *n = s->head, *next; n; n = next) {
        next = n->next;
        request_destroy(n->req);
        free(n);
    }
    for (int i = 0; i < s->n_running; i++) sequence_destroy(s->running[i]);
    encoder_cache_destroy(s->cache);
    block_pool_destroy(s->self_pool);
    block_pool_destroy(s->cross_pool);
    free(s->running);
    free(s);
}

/* Self blocks a request may hold at once: every beam at full length. */
static int self_need(const scheduler *s, const request *r) {
    return r->beam_width * blocks_for(request_max_fed(r), s->cfg.block_size);
}

ed_status scheduler_check_fits(const scheduler *s, const request *r, ed_error *err) {
    if (r->encode_only) return ED_OK; /* no KV blocks */
    int bs = s->cfg.block_size;
    int need_cross = blocks_for(r->n_input, bs), need_self = self_need(s, r);
    if (need_cross > s->cfg.n_cross_blocks)
        return ed_fail(err, "line %ld: field input_ids: %d tokens need %d cross-KV blocks of %d "
                            "tokens, the cross pool has %d (raise kv_memory, cross_kv_fraction "
                            "or max_cross_kv_tokens)", r->line, r->n_input, need_cross, bs,
                       s->cfg.n_cross_blocks);
    if (need_self > s->cfg.n_self_blocks)
        return ed_fail(err, "line %ld: field max_new_tokens: up to %d decoder tokens x %d beams "
                            "need %d self-KV blocks of %d tokens, the self pool has %d (raise "
                            "kv_memory or max_kv_tokens)", r->line, request_max_fed(r),
                       r->beam_width, need_self, bs, s->cfg.n_self_blocks);
    return ED_OK;
}

static void queue_push(scheduler *s, queue_node *n, int at_head) {
    n->t_queued = s->cfg.clock();
    if (at_head) {
        n->next = s->head;
        s->head = n;
        if (!s->tail) s->tail = n;
    } else {
        n->next = NULL;
        if (s->tail) s->tail->next = n;
        else s->head = n;
        s->tail = n;
    }
    s->n_queued++;
}

ed_status scheduler_submit(scheduler *s, request *r, ed_error *err) {
    queue_node *n = calloc(1, sizeof *n);
    if (!n) return ed_fail(err, "out of memory queueing the request at line %ld", r->line);
    n->req = r;
    queue_push(s, n, 0);
    return ED_OK;
}

/* Drops a self table's references; the request's held count follows the blocks freed. */
static void release_table(scheduler *s, sequence *seq, block_table *t) {
    seq->kv.held_blocks -= block_pool_free(s->self_pool, t->blocks, t->n);
    t->n = 0;
}

static void release_blocks(scheduler *s, sequence *seq) {
    for (int b = 0; b < seq->kv.n_self; b++) release_table(s, seq, &seq->kv.self[b]);
    seq->kv.n_self = 0;
    if (s->cache && seq->kv.cross.n) encoder_cache_release(s->cache, seq->kv.cross.blocks[0]);
    block_pool_free(s->cross_pool, seq->kv.cross.blocks, seq->kv.cross.n);
    seq->kv.cross.n = 0;
}

/* Self blocks the running requests may still take (guaranteed_no_evict accounting). */
static int outstanding_self(const scheduler *s) {
    int n = 0;
    for (int i = 0; i < s->n_running; i++)
        n += self_need(s, s->running[i]->req) - s->running[i]->kv.held_blocks;
    return n;
}

/* Preempts the most recently admitted running request: blocks freed, request re-queued first. */
static ed_status preempt_last(scheduler *s, ed_error *err) {
    sequence *victim = s->running[--s->n_running];
    release_blocks(s, victim);
    queue_node *n = calloc(1, sizeof *n);
    if (!n) return ed_fail(err, "out of memory re-queueing a preempted request");
    n->req = sequence_release(victim);
    queue_push(s, n, 1);
    s->preemptions++;
    return ED_OK;
}

/* One self block for running[i]; under max_utilization it may preempt requests after i, or i
 * itself (*gone = 1). */
static ed_status take_block(scheduler *s, int i, int32_t *out, int *gone, ed_error *err) {
    while (block_pool_alloc(s->self_pool, 1, out) != ED_OK) {
        if (s->cfg.policy != POLICY_MAX_UTILIZATION)
            return ed_fail(err, "scheduler: self pool exhausted under guaranteed_no_evict "
                                "(reservation accounting is broken)");
        int victim_is_self = s->n_running - 1 == i;
        if (preempt_last(s, err)) return ED_ERR;
        if (victim_is_self) {
            *gone = 1;
            return ED_OK;
        }
    }
    s->running[i]->kv.held_blocks++;
    return ED_OK;
}

/* Makes the block holding each running beam's next position present and writable: a new block
 * at a block boundary, a private copy of a block shared with a sibling beam (copy-on-write; the
 * copy is planned on every rank before the decoder step). A copy planned for a request that is
 * preempted later in the same pass lands in a freed block, which no entry reads. */
static ed_status ensure_blocks(scheduler *s, int i, step_plan *p, int *gone, ed_error *err) {
    sequence *seq = s->running[i];
    int k = seq->n_fed / s->cfg.block_size;
    for (int b = 0; b < seq->kv.n_self; b++) {
        block_table *t = &seq->kv.self[b];
        if (k < t->n && block_pool_refcount(s->self_pool, t->blocks[k]) == 1) continue;
        int32_t fresh;
        if (take_block(s, i, &fresh, gone, err)) return ED_ERR;
        if (*gone) return ED_OK;
        if (k < t->n) { /* shared: copy, then drop our reference to the original */
            p->copies[p->n_copies++] = (plan_copy){t->blocks[k], fresh};
            seq->kv.held_blocks -= block_pool_free(s->self_pool, &t->blocks[k], 1);
            t->blocks[k] = fresh;
        } else {
            t->blocks[t->n++] = fresh;
        }
    }
    return ED_OK;
}

/* Pops the queue head. */
static request *queue_pop(scheduler *s) {
    queue_node *n = s->head;
    request *r = n->req;
    s->head = n->next;
    if (!s->head) s->tail = NULL;
    free(n);
    s->n_queued--;
    return r;
}

/* Appends an encode entry for r; returns its index. */
static int add_encode(step_plan *p, const request *r, int32_t cross_blocks) {
    int i = p->n_encode++;
    plan_encode *e = &p->enc[i];
    e->len = r->n_input;
    e->ids_offset = p->n_ids;
    e->cross_blocks = cross_blocks;
    e->want_output = r->return_encoder_output;
    for (int t = 0; t < r->n_input; t++) p->ids[p->n_ids++] = r->input_ids[t];
    return i;
}

/* 1 when r may use the encoder cache: generation requests without return_encoder_output (those
 * always run their encoder pass: the hidden states are not cached), not internal ones. */
static int cacheable(const scheduler *s, const request *r) {
    return s->cache && !r->encode_only && !r->return_encoder_output && r->n_input > 0 &&
           !r->internal;
}

/* Admits the queue head if the policy and pools allow; 1 if admitted, 0 if not, -1 on error. */
static int try_admit(scheduler *s, step_plan *p, step_batch *batch, int decode_slots,
                     ed_error *err) {
    request *r = s->head->req;
    int bs = s->cfg.block_size;
    if (r->encode_only) {
        if (p->n_encode == p->cap_encode || p->n_ids + r->n_input > s->cfg.max_encoder_tokens)
            return 0;
        batch->enc_only[add_encode(p, queue_pop(s), -1)] = r;
        return 1;
    }
    int cached = cacheable(s, r) ? encoder_cache_find(s->cache, r->input_ids, r->n_input) : -1;
    int need_cross = cached >= 0 ? 0 : blocks_for(r->n_input, bs); /* new blocks */
    int cross_free = block_pool_free_count(s->cross_pool);
    if (s->cache) { /* idle cached blocks are free for admission */
        encoder_cache_stats cs;
        encoder_cache_get_stats(s->cache, &cs);
        cross_free += cs.idle_blocks;
    }
    int self_free = block_pool_free_count(s->self_pool);
    if (decode_slots + r->beam_width > s->cfg.max_running || cross_free < need_cross)
        return 0;
    if (cached < 0 && (p->n_encode == p->cap_encode ||
                       p->n_ids + r->n_input > s->cfg.max_encoder_tokens))
        return 0;
    if (s->cfg.policy == POLICY_GUARANTEED_NO_EVICT
            ? self_free - outstanding_self(s) < self_need(s, r)
            : self_free < 1)
        return 0;
    sequence *seq;
    if (sequence_create(&seq, r, s->cfg.vocab, bs, err)) return -1;
    queue_pop(s);
    if (cached >= 0) {
        seq->kv.cross.n = encoder_cache_take(s->cache, cached, seq->kv.cross.blocks);
    } else {
        if (s->cache) encoder_cache_make_room(s->cache, need_cross);
        block_pool_alloc(s->cross_pool, need_cross, seq->kv.cross.blocks);
        seq->kv.cross.n = need_cross;
    }
    block_pool_alloc(s->self_pool, 1, seq->kv.self[0].blocks);
    seq->kv.self[0].n = 1;
    seq->kv.n_self = 1;
    seq->kv.held_blocks = 1;
    s->running[s->n_running++] = seq;
    if (cached < 0 && cacheable(s, r) &&
        encoder_cache_insert(s->cache, r->input_ids, r->n_input, seq->kv.cross.blocks,
                             need_cross, err))
        return -1; /* seq runs and is destroyed with the scheduler */
    if (cached >= 0) return 1; /* no encode entry: the decode entry reads the cached blocks */
    seq->enc_entry = add_encode(p, r, -1); /* cross table offset set when entries are emitted */
    batch->enc_seq[seq->enc_entry] = seq;
    return 1;
}

/* Admission grouping (scheduler.h): 1 while the queued requests should wait for more to share
 * their encoder pass. decode_slots: the running beams. */
static int admissions_held(const scheduler *s, int decode_slots) {
    if (s->cfg.admission_wait_s <= 0 || !s->head || s->n_running == 0) return 0;
    int free_slots = s->cfg.max_running - decode_slots;
    /* waiting adds no one to the pass once the queue fills every free slot */
    if (s->n_queued >= free_slots || s->n_queued >= s->cfg.admission_group) return 0;
    return s->cfg.clock() - s->head->t_queued < s->cfg.admission_wait_s;
}

ed_status scheduler_build_plan(scheduler *s, step_plan *p, step_batch *batch, ed_error *err) {
    step_batch_clear(batch);
    long preempted_before = s->preemptions;
    for (int i = 0; i < s->n_running; i++) {
        int gone = 0;
        if (ensure_blocks(s, i, p, &gone, err)) return ED_ERR;
        if (gone) break; /* i was the last running request and preempted itself */
    }
    int decode_slots = 0;
    /* A beam request runs 1 beam at its first step and beam_width after: count the width. */
    for (int i = 0; i < s->n_running; i++) decode_slots += s->running[i]->width;
    /* No admissions in a step that had to preempt: the pool is full, and re-admitting the victim
     * at once would only thrash. */
    int held = s->preemptions == preempted_before && admissions_held(s, decode_slots);
    s->held_steps += held;
    while (s->head && s->preemptions == preempted_before && !held) {
        int running_before = s->n_running;
        int admitted = try_admit(s, p, batch, decode_slots, err);
        if (admitted < 0) return ED_ERR;
        if (!admitted) break;
        if (s->n_running > running_before) /* not encode-only: it runs, last */
            decode_slots += s->running[s->n_running - 1]->width;
    }
    int32_t cross = -1;
    for (int i = 0; i < s->n_running; i++) {
        sequence *seq = s->running[i];
        const seq_kv *prev = i ? &s->running[i - 1]->kv : NULL;
        /* Requests sharing a cached input, one after the other, share one cross table too: the
         * backend may then read its K/V once for all of them, as for a request's beams
         * (attn_params.kv_share). Their blocks are the entry's, so the first one tells. */
        if (!prev || !seq->kv.cross.n || prev->cross.n != seq->kv.cross.n ||
            prev->cross.blocks[0] != seq->kv.cross.blocks[0])
            cross = step_plan_add_blocks(p, seq->kv.cross.blocks, seq->kv.cross.n);
        if (seq->enc_entry >= 0) p->enc[seq->enc_entry].cross_blocks = cross;
        seq->enc_entry = -1;
        for (int b = 0; b < seq->kv.n_self; b++) {
            const block_table *t = &seq->kv.self[b];
            int32_t self = step_plan_add_blocks(p, t->blocks, t->n);
            batch->dec_seq[p->n_decode] = seq;
            p->dec[p->n_decode++] = (plan_decode){seq->n_fed, sequence_next_token(seq, b), self,
                                                  cross, seq->req->n_input, -1};
        }
    }
    return ED_OK;
}

/* After a step that reordered a request's beams (sequence.parents not the identity, or a new
 * beam count): self table i becomes a fork of the old table parents[i] (its blocks shared,
 * reference-counted), then the old tables are released. */
static void fork_tables(scheduler *s, sequence *seq) {
    seq_kv *kv = &seq->kv;
    int same = seq->n_beams == kv->n_self;
    for (int i = 0; same && i < seq->n_beams; i++) same = seq->parents[i] == i;
    if (same) return;
    for (int i = 0; i < seq->n_beams; i++) {
        const block_table *parent = &kv->self[seq->parents[i]];
        block_table *t = &kv->forked[i];
        for (int k = 0; k < parent->n; k++) {
            block_pool_ref(s->self_pool, parent->blocks[k]);
            t->blocks[k] = parent->blocks[k];
        }
        t->n = parent->n;
    }
    for (int j = 0; j < kv->n_self; j++) release_table(s, seq, &kv->self[j]);
    block_table *old = kv->self;
    kv->self = kv->forked;
    kv->forked = old;
    kv->n_self = seq->n_beams;
}

ed_status scheduler_finish_step(scheduler *s, scheduler_done_fn done, void *ctx, ed_error *err) {
    for (int i = 0; i < s->n_running; i++) fork_tables(s, s->running[i]);
    int kept = 0;
    ed_status st = ED_OK;
    for (int i = 0; i < s->n_running; i++) {
        sequence *seq = s->running[i];
        if (!seq->finish_reason) {
            s->running[kept++] = seq; /* keeps admission order */
            continue;
        }
        release_blocks(s, seq);
        if (st == ED_OK) st = done(ctx, seq, err);
        else sequence_destroy(seq);
    }
    s->n_running = kept;
    return st;
}

ed_status scheduler_drop_where(scheduler *s, scheduler_pred_fn drop, scheduler_done_fn dropped_seq,
                               scheduler_take_fn dropped_req, void *ctx, ed_error *err) {
    ed_status st = ED_OK;
    int kept = 0;
    for (int i = 0; i < s->n_running; i++) {
        sequence *seq = s->running[i];
        if (!drop(ctx, seq->req)) {
            s->running[kept++] = seq;
            continue;
        }
        release_blocks(s, seq);
        if (st == ED_OK) st = dropped_seq(ctx, seq, err);
        else sequence_destroy(seq);
    }
    s->n_running = kept;
    for (queue_node **link = &s->head, *n; (n = *link);) {
        if (!drop(ctx, n->req)) {
            s->tail = n;
            link = &n->next;
            continue;
        }
        *link = n->next;
        s->n_queued--;
        request *r = n->req;
        free(n);
        if (st == ED_OK) st = dropped_req(ctx, r, err);
        else request_destroy(r);
    }
    if (!s->head) s->tail = NULL;
    return st;
}

void scheduler_get_stats(const scheduler *s, scheduler_stats *out) {
    *out = (scheduler_stats){.queued = s->n_queued, .running = s->n_running,
                             .preemptions = s->preemptions, .held_steps = s->held_steps,
                             .self_free = block_pool_free_count(s->self_pool),
                             .self_total = block_pool_total(s->self_pool),
                             .cross_free = block_pool_free_count(s->cross_pool),
                             .cross_total = block_pool_total(s->cross_pool)};
    if (s->cache) {
        encoder_cache_stats cs;
        encoder_cache_get_stats(s->cache, &cs);
        out->cache_hits = cs.hits;
        out->cache_misses = cs.misses;
        out->cache_evictions = cs.evictions;
        out->cache_blocks = cs.cached_blocks;
        out->cache_idle_blocks = cs.idle_blocks;
        out->cross_free += cs.idle_blocks;
    }
}

void scheduler_reset_counters(scheduler *s) { s->preemptions = s->held_steps = 0; }

void scheduler_clear_encoder_cache(scheduler *s) {
    if (s->cache) encoder_cache_clear(s->cache);
}
