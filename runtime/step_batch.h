/* Rank 0's host companion of a step plan: which sequence or request each plan entry belongs to.
 * Writer: the scheduler (scheduler_build_plan fills it with the plan); readers: token choice
 * (decode entries) and the engine (encode entries). Capacities equal the plan's. */
#ifndef ENCDEC_STEP_BATCH_H
#define ENCDEC_STEP_BATCH_H

#include "runtime/decoding.h"

typedef struct step_batch {
    sequence **dec_seq;  /* [cap_decode] decode entry i -> its sequence (a request's beams are
                            consecutive entries) */
    sequence **enc_seq;  /* [cap_encode] encode entry i -> its sequence, NULL for encode-only */
    request **enc_only;  /* [cap_encode] encode entry i -> its encode-only request, owned by the
                            batch until the engine takes it (step_batch_take_encode_only) */
    int cap_encode, cap_decode;
} step_batch;

step_batch *step_batch_create(int cap_encode, int cap_decode);
void step_batch_destroy(step_batch *b); /* destroys encode-only requests not taken */
/* Forgets the last plan's entries (destroying encode-only requests not taken). */
void step_batch_clear(step_batch *b);
/* Hands the encode-only request of encode entry i to the caller (which answers and destroys it);
 * NULL when the entry belongs to a generation request. */
request *step_batch_take_encode_only(step_batch *b, int i);

#endif
