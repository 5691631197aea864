/* Hugging Face's logits processors and sampling warpers for one hypothesis, on host fp32 scores.
 * Processors, in HF's order: repetition_penalty, no_repeat_ngram_size, bad_words_ids,
 * min_new_tokens (EOS held off), forced BOS (first generated token), forced EOS (last one).
 * Greedy and sampling apply them to raw logits, beam search to log-softmax scores, as HF does.
 * Warpers (sampling only), in HF's order: temperature, top_k, top_p. */
#ifndef ENCDEC_LOGITS_PROCESS_H
#define ENCDEC_LOGITS_PROCESS_H

#include <stdint.h>

#include "runtime/request.h"

/* tokens[n]: the hypothesis's decoder tokens so far (start token and forced prefix included);
 * n - r->n_decoder of them are generated. scores[vocab] is modified in place. */
void logits_process(const request *r, const int32_t *tokens, int n, int eos_id, float *scores,
                    int vocab);

/* The token forced at this step (forced EOS at the last step, else forced BOS at the first), or
 * -1: what logits_process leaves as the only finite score. n as for logits_process. */
int32_t logits_forced_token(const request *r, int n);

/* Whether greedy choice for this hypothesis needs only the argmax of its raw logits with at most
 * one token excluded (*ban, -1 = none), so the logits can stay on the device: no sampling, no
 * processor other than min_new_tokens' EOS ban (without stop_token_ids) and forced tokens
 * (applied afterwards with logits_forced_token). n as for logits_process. */
int logits_argmax_suffices(const request *r, int n, int eos_id, int32_t *ban);

/* scores[vocab] = log_softmax(scores), in place. */
void logits_log_softmax(float *scores, int vocab);

/* A per-request random generator (splitmix64): the same seed gives the same draws whatever else
 * runs in the batch. */
typedef struct sample_rng {
    uint64_t state;
} sample_rng;

void sample_rng_seed(sample_rng *g, uint64_t seed);
double sample_rng_uniform(sample_rng *g); /* [0, 1) */

/* Applies temperature, top_k, top_p to scores (in place), draws a token from the softmax.
 * Tokens removed by a warper get -inf. */
int32_t sample_token(const request *r, float *scores, int vocab, sample_rng *g);

/* True if t ends a sequence: EOS or one of the request's stop_token_ids. */
int logits_is_stop_token(const request *r, int32_t t, int eos_id);

/* True if the generated tail of tokens[n] (after the prefix) ends with any stop sequence. */
int logits_hits_stop_sequence(const request *r, const int32_t *tokens, int n);

#endif
