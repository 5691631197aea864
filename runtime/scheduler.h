/* Rank 0's scheduler: a FIFO queue of validated requests, the running sequences, and the block
 * pools of both KV caches (only rank 0 allocates; the plan names blocks for every rank).
 * Each step it
 *   1. gives every running beam the self block its next position needs (a block shared with a
 *      sibling beam is copied first: copy-on-write, named in the plan); under
 *      max_utilization, when the self pool is empty it preempts the most recently admitted
 *      sequence (frees its blocks in both pools, puts its request back at the head of the queue
 *      to run again from its encoder step; greedy decoding makes the output identical);
 *   2. unless step 1 had to preempt, or admissions are held (below), admits queued requests in
 *      order while max_running, the step's encoder token budget and the pools allow: guaranteed_no_evict admits only a request whose cross blocks and whole
 *      self reservation (every decoder token each of its beams may feed, less the blocks the
 *      running requests already hold) are free;
 *      max_utilization admits when its cross blocks and one self block are free;
 *   3. plans the encoder pass of the admitted requests and one decoder step for every running
 *      beam, the admitted ones included; all beams of a request read its one cross-KV copy.
 * The scheduler owns admission, the block pools and every sequence's block tables (seq_kv): after
 * token choice has advanced the sequences, scheduler_finish_step forks the self-block tables of
 * beams that continue another beam (shared blocks, reference-counted; no copy until written)
 * and retires finished sequences at once, returning their blocks, so short requests never wait
 * for long ones. Encode-only requests take encoder budget only (no decode slot, no KV blocks)
 * and are done after their encoder step.
 * The encoder cache (runtime/encoder_cache.h, encoder_cache: on): at admission a request whose
 * input ids match a cached entry shares its cross blocks (one more reference) and gets no encode
 * entry, only its decode entry, whose cross table names the filled blocks: every rank follows
 * the plan, so the decision needs no message. A miss allocates and encodes as above and the
 * cache keeps the blocks. A repeat admitted in the same step as its first occurrence shares the
 * blocks that step's encoder pass fills (the encoder pass runs before the decoder step);
 * consecutive requests over one cached input share one cross table in the plan (kv_share). Idle
 * cached blocks count as free for both policies: admission evicts them, least recently used
 * first, whenever it needs the room, so the cache never keeps out a request that would fit
 * without it. Requests with return_encoder_output (and encode-only ones) always run their
 * encoder pass, bypassing the cache (neither looked up nor kept, not counted).
 * Admission grouping (admission_wait_s > 0): while sequences decode, queued requests are held so
 * that several share one encoder pass (a pass has a fixed cost, about that of a decoder step on
 * a GPU, whatever its batch): they are admitted once admission_group of them are queued, or
 * they fill every free decode slot (waiting would add no one), or the oldest has waited
 * admission_wait_s. With nothing decoding they are admitted at once. */
#ifndef ENCDEC_SCHEDULER_H
#define ENCDEC_SCHEDULER_H

#include "common/step_plan.h"
#include "runtime/decoding.h"
#include "runtime/step_batch.h"

typedef struct scheduler_config {
    int max_running;        /* max_batch_size */
    int max_encoder_tokens; /* per step */
    int block_size;         /* tokens per KV block */
    int n_self_blocks, n_cross_blocks;
    int policy;             /* scheduler_policy */
    int vocab;              /* logits row width (sequence scratch) */
    int max_input_len, max_output_len; /* bound the block tables a plan carries */
    int encoder_cache;        /* 1: keep and share cross-KV blocks of repeated inputs */
    int encoder_cache_blocks; /* most idle cached blocks; 0 = no cap (reclaimed on demand) */
    double admission_wait_s;  /* longest hold of a queued request while others decode; 0 = none */
    int admission_group;      /* requests that end the hold early (at least 1) */
    double (*clock)(void);    /* seconds, monotonic; NULL = common/clock.h monotonic_s (tests
                                 pass their own) */
} scheduler_config;

typedef struct scheduler_stats {
    int queued, running;
    long preemptions;
    long held_steps; /* plans built while admissions were held (admission grouping) */
    int self_free, self_total, cross_free, cross_total; /* blocks */
    /* the encoder cache (all 0 when off); cross_free counts its idle blocks as free (admission
     * reclaims them), so cross_total - cross_free is what requests hold */
    long cache_hits, cache_misses, cache_evictions;
    int cache_blocks, cache_idle_blocks; /* held by entries; by idle entries (reclaimable) */
} scheduler_stats;

typedef struct scheduler scheduler;

ed_status scheduler_create(scheduler **out, const scheduler_config *cfg, ed_error *err);
void scheduler_destroy(scheduler *s); /* destroys queued requests and running sequences */

/* ED_ERR (with a message naming the sizes) when r could never run, even alone in empty pools. */
ed_status scheduler_check_fits(const scheduler *s, const request *r, ed_error *err);
/* Queues r; takes ownership on success only. */
ed_status scheduler_submit(scheduler *s, request *r, ed_error *err);

/* Fills p (cleared by the caller, seq set) as described above, and batch (cleared here) with
 * each entry's sequence or encode-only request. Decode entries carry ban = -1 and the plan
 * full logits: token choice (token_choice_plan) decides what the ranks return. */
ed_status scheduler_build_plan(scheduler *s, step_plan *p, step_batch *batch, ed_error *err);

/* After token choice advanced the step's sequences: forks the self-block tables of beams that
 * continue another beam (by sequence.parents), then removes finished sequences, returns their
 * blocks, and hands each to done(ctx, seq), in admission order. */
typedef ed_status (*scheduler_done_fn)(void *ctx, sequence *seq, ed_error *err);
ed_status scheduler_finish_step(scheduler *s, scheduler_done_fn done, void *ctx, ed_error *err);

/* Between steps: removes every queued request and running sequence for which drop(ctx, req)
 * holds (a client gone, a drain that timed out): running ones return their blocks in both pools
 * and go to dropped_seq(ctx, seq), queued ones to dropped_req(ctx, req); both take ownership. */
typedef int (*scheduler_pred_fn)(void *ctx, const request *r);
typedef ed_status (*scheduler_take_fn)(void *ctx, request *r, ed_error *err);
ed_status scheduler_drop_where(scheduler *s, scheduler_pred_fn drop, scheduler_done_fn dropped_seq,
                               scheduler_take_fn dropped_req, void *ctx, ed_error *err);

void scheduler_get_stats(const scheduler *s, scheduler_stats *out);
/* Zeroes the counters of scheduler_stats (preemptions, held_steps): a run's report then leaves
 * out what came before (the server's warm-up). */
void scheduler_reset_counters(scheduler *s);

/* Evicts every idle encoder cache entry (the end of a run, before the pools are checked back to
 * their starting counts); entries still in use stay. No-op with the cache off. */
void scheduler_clear_encoder_cache(scheduler *s);

/* Upper bound of step_plan.n_blocks for any plan this scheduler builds. */
int scheduler_max_plan_blocks(const scheduler_config *cfg);

#endif
