/* Rank 0's scheduler: a FIFO queue of validated requests and a fixed set of KV slots. Each step it
 * admits queued requests into free slots (first come, first served, within the step's encoder
 * token budget), and plans the encoder pass of the admitted ones and one decoder step for every
 * running sequence, the admitted ones included. Finished sequences leave at once, so short
 * requests never wait for long ones. (Policies over paged KV pools come with their own issue.) */
#ifndef ENCDEC_SCHEDULER_H
#define ENCDEC_SCHEDULER_H

#include "runtime/decoding.h"
#include "runtime/step_plan.h"

typedef struct scheduler scheduler;

ed_status scheduler_create(scheduler **out, int n_slots, int max_encoder_tokens, ed_error *err);
void scheduler_destroy(scheduler *s); /* destroys queued requests and running sequences */

/* Queues r; takes ownership on success only. */
ed_status scheduler_submit(scheduler *s, request *r, ed_error *err);
int scheduler_queued(const scheduler *s);
int scheduler_running(const scheduler *s);

/* Fills p (cleared by the caller, seq set) with admissions and decode entries. Admitting creates
 * each request's sequence; failure to allocate it is an error. */
ed_status scheduler_build_plan(scheduler *s, step_plan *p, int vocab, ed_error *err);

/* The sequence decoded by plan entry i of the last plan built. */
sequence *scheduler_plan_sequence(scheduler *s, int i);

/* Removes finished sequences from their slots and hands each to done(ctx, seq), which owns it. */
typedef ed_status (*scheduler_done_fn)(void *ctx, sequence *seq, ed_error *err);
ed_status scheduler_retire(scheduler *s, scheduler_done_fn done, void *ctx, ed_error *err);

#endif
