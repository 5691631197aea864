/* Token choice, rank 0: one module owns how the next token of every running sequence is picked.
 *   1. token_choice_plan decides, per step, what the ranks send back for the plan's decode
 *      entries: full logits rows, or only each row's argmax (greedy steps without logits
 *      processors), or each row's best k log-softmax scores (beam search without processors),
 *      with the token a row must not pick (min_new_tokens' EOS ban);
 *   2. token_choice_apply merges what the ranks sent (each TP rank's vocabulary slice gives its
 *      own candidates) and advances every sequence: forced prefixes, logits processors,
 *      sampling, HF's beam-search step (runtime/decoding.c, runtime/beam_search.c), stop
 *      conditions. The scheduler then forks block tables and retires finished sequences.
 * Sequences' decoding state has this module as its only writer (runtime/decoding.h). */
#ifndef ENCDEC_TOKEN_CHOICE_H
#define ENCDEC_TOKEN_CHOICE_H

#include "common/status.h"
#include "common/step_plan.h"
#include "runtime/step_batch.h"

typedef struct token_choice_config {
    int vocab, eos_id;
    int device_argmax; /* 1: plans may ask the ranks for argmax pairs or top-k rows */
    int max_decode;    /* decode entries per step */
    const struct tokenizer *tok; /* the model's tokenizer (stop strings), or NULL */
} token_choice_config;

typedef struct token_choice token_choice;

ed_status token_choice_create(token_choice **out, const token_choice_config *cfg, ed_error *err);
void token_choice_destroy(token_choice *tc);

/* Sets p->argmax_only, p->topk and every decode entry's ban for the plan the scheduler built
 * (batch: its entries' sequences). */
void token_choice_plan(const token_choice *tc, step_plan *p, const step_batch *batch);

/* Advances every sequence of the plan by the step's results. out is rank 0's host output of
 * the decoder step (models/encdec.h, encdec_decode_step):
 *   full logits: [n_decode, vocab];
 *   argmax_only: [n_src, n_decode, 2] each source's (best raw logit, token id), (-inf, -1) none;
 *   topk = k:    [n_src, n_decode, 2 + 2k] each source's max logit, sum of exp(logit - max) over
 *                its slice, then its k best (logit, token) pairs, best first, (-inf, -1) padding;
 * n_src: the vocabulary slices (TP ranks of a vocab-parallel head; 1 when replicated). */
void token_choice_apply(token_choice *tc, const step_plan *p, const step_batch *batch,
                        const float *out, int n_src);

#endif
