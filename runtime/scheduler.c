#include "runtime/scheduler.h"

#include <stdlib.h>

#include "runtime/block_pool.h"
#include "runtime/config.h"

typedef struct queue_node {
    request *req;
    struct queue_node *next;
} queue_node;

struct scheduler {
    scheduler_config cfg;
    block_pool *self_pool, *cross_pool;
    int self_reserved;       /* promised self blocks not yet taken (guaranteed policy) */
    sequence **running;      /* [max_running], in admission order */
    int n_running;
    sequence **plan_seqs;    /* [max_running]: decode entry i -> sequence */
    queue_node *head, *tail;
    int n_queued;
    long preemptions;
};

static int blocks_for(int tokens, int block_size) { return (tokens + block_size - 1) / block_size; }

int scheduler_max_plan_blocks(const scheduler_config *cfg) {
    /* Every self block appears in at most one table; each request's cross table is appended once
     * per step (shared by its encode and decode entries). */
    return cfg->n_self_blocks + cfg->n_cross_blocks;
}

ed_status scheduler_create(scheduler **out, const scheduler_config *cfg, ed_error *err) {
    scheduler *s = calloc(1, sizeof *s);
    if (!s) return ed_fail(err, "out of memory");
    s->cfg = *cfg;
    s->running = calloc((size_t)cfg->max_running, sizeof *s->running);
    s->plan_seqs = calloc((size_t)cfg->max_running, sizeof *s->plan_seqs);
    if (!s->running || !s->plan_seqs ||
        block_pool_create(&s->self_pool, cfg->n_self_blocks, err) ||
        block_pool_create(&s->cross_pool, cfg->n_cross_blocks, err)) {
        scheduler_destroy(s);
        return ed_fail(err, "out of memory");
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
    block_pool_destroy(s->self_pool);
    block_pool_destroy(s->cross_pool);
    free(s->running);
    free(s->plan_seqs);
    free(s);
}

ed_status scheduler_check_fits(const scheduler *s, const request *r, ed_error *err) {
    int bs = s->cfg.block_size;
    int need_cross = blocks_for(r->n_input, bs), need_self = blocks_for(request_max_fed(r), bs);
    if (need_cross > s->cfg.n_cross_blocks)
        return ed_fail(err, "line %ld: field input_ids: %d tokens need %d cross-KV blocks of %d "
                            "tokens, the cross pool has %d (raise kv_memory, cross_kv_fraction "
                            "or max_cross_kv_tokens)", r->line, r->n_input, need_cross, bs,
                       s->cfg.n_cross_blocks);
    if (need_self > s->cfg.n_self_blocks)
        return ed_fail(err, "line %ld: field max_new_tokens: up to %d decoder tokens need %d "
                            "self-KV blocks of %d tokens, the self pool has %d (raise kv_memory "
                            "or max_kv_tokens)", r->line, request_max_fed(r), need_self, bs,
                       s->cfg.n_self_blocks);
    return ED_OK;
}

static void queue_push(scheduler *s, queue_node *n, int at_head) {
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

/* Returns every block of seq to the pools (and its unused reservation). */
static void release_blocks(scheduler *s, sequence *seq) {
    block_pool_free(s->self_pool, seq->self_blocks, seq->n_self_blocks);
    block_pool_free(s->cross_pool, seq->cross_blocks, seq->n_cross_blocks);
    s->self_reserved -= seq->self_reserved;
    seq->n_self_blocks = 0;
    seq->self_reserved = 0;
}

/* Preempts the most recently admitted running sequence: blocks freed, request re-queued first. */
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

/* Gives running[i] the self block for its next position. Under max_utilization it may preempt
 * sequences after i, or i itself (then returns with running[i] gone). */
static ed_status ensure_self_block(scheduler *s, int i, ed_error *err) {
    sequence *seq = s->running[i];
    int need = seq->n_fed / s->cfg.block_size + 1;
    if (seq->n_self_blocks >= need) return ED_OK;
    while (block_pool_alloc(s->self_pool, 1, seq->self_blocks + seq->n_self_blocks) != ED_OK) {
        if (s->cfg.policy != POLICY_MAX_UTILIZATION)
            return ed_fail(err, "scheduler: self pool exhausted under guaranteed_no_evict "
                                "(reservation accounting is broken)");
        int victim_is_self = s->n_running - 1 == i;
        if (preempt_last(s, err)) return ED_ERR;
        if (victim_is_self) return ED_OK;
    }
    seq->n_self_blocks++;
    if (seq->self_reserved > 0) {
        seq->self_reserved--;
        s->self_reserved--;
    }
    return ED_OK;
}

/* Admits the queue head if the policy and pools allow; 1 if admitted, 0 if not, -1 on error. */
static int try_admit(scheduler *s, step_plan *p, ed_error *err) {
    request *r = s->head->req;
    int bs = s->cfg.block_size;
    int need_cross = blocks_for(r->n_input, bs);
    int need_self = blocks_for(request_max_fed(r), bs);
    int self_avail = block_pool_free_count(s->self_pool) - s->self_reserved;
    if (s->n_running == s->cfg.max_running || p->n_encode == p->cap_encode ||
        p->n_ids + r->n_input > s->cfg.max_encoder_tokens ||
        block_pool_free_count(s->cross_pool) < need_cross)
        return 0;
    if (s->cfg.policy == POLICY_GUARANTEED_NO_EVICT ? self_avail < need_self : self_avail < 1)
        return 0;
    sequence *seq;
    if (sequence_create(&seq, r, s->cfg.vocab, bs, err)) return -1;
    queue_node *n = s->head;
    s->head = n->next;
    if (!s->head) s->tail = NULL;
    free(n);
    s->n_queued--;
    block_pool_alloc(s->cross_pool, need_cross, seq->cross_blocks);
    block_pool_alloc(s->self_pool, 1, seq->self_blocks);
    seq->n_self_blocks = 1;
    if (s->cfg.policy == POLICY_GUARANTEED_NO_EVICT) {
        seq->self_reserved = need_self - 1;
        s->self_reserved += need_self - 1;
    }
    s->running[s->n_running++] = seq;
    plan_encode *e = &p->enc[p->n_encode++];
    e->len = r->n_input;
    e->ids_offset = p->n_ids;
    e->cross_blocks = -1; /* filled when the decode entries are emitted */
    for (int i = 0; i < r->n_input; i++) p->ids[p->n_ids++] = r->input_ids[i];
    return 1;
}

ed_status scheduler_build_plan(scheduler *s, step_plan *p, ed_error *err) {
    long preempted_before = s->preemptions;
    for (int i = 0; i < s->n_running; i++) {
        int before = s->n_running;
        if (ensure_self_block(s, i, err)) return ED_ERR;
        if (s->n_running < before && i >= s->n_running) break; /* i itself was preempted */
    }
    int first_new = s->n_running;
    /* No admissions in a step that had to preempt: the pool is full, and re-admitting the victim
     * at once would only thrash. */
    while (s->head && s->preemptions == preempted_before) {
        int admitted = try_admit(s, p, err);
        if (admitted < 0) return ED_ERR;
        if (!admitted) break;
    }
    for (int i = 0; i < s->n_running; i++) {
        sequence *seq = s->running[i];
        int32_t cross = step_plan_add_blocks(p, seq->cross_blocks, seq->n_cross_blocks);
        if (i >= first_new) p->enc[i - first_new].cross_blocks = cross;
        int32_t self = step_plan_add_blocks(p, seq->self_blocks, seq->n_self_blocks);
        s->plan_seqs[p->n_decode] = seq;
        p->dec[p->n_decode++] = (plan_decode){sequence_next_pos(seq), sequence_next_token(seq),
                                              self, cross, seq->req->n_input};
    }
    return ED_OK;
}

sequence *scheduler_plan_sequence(scheduler *s, int i) { return s->plan_seqs[i]; }

ed_status scheduler_retire(scheduler *s, scheduler_done_fn done, void *ctx, ed_error *err) {
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

void scheduler_get_stats(const scheduler *s, scheduler_stats *out) {
    *out = (scheduler_stats){.queued = s->n_queued, .running = s->n_running,
                             .preemptions = s->preemptions,
                             .self_free = block_pool_free_count(s->self_pool),
                             .self_total = block_pool_total(s->self_pool),
                             .cross_free = block_pool_free_count(s->cross_pool),
                             .cross_total = block_pool_total(s->cross_pool)};
}
