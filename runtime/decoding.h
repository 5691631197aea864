/* One running sequence and greedy decoding with Hugging Face's semantics:
 * the decoder is fed tokens[n_fed] each step; while a forced prefix (decoder_input_ids) remains,
 * the next token is the prefix's; then the next token is argmax of the raw logits, with EOS
 * masked while fewer than min_new_tokens are generated (HF MinNewTokensLengthLogitsProcessor).
 * The first generated token is forced_bos_id when set and no longer prefix was given, and the
 * last one (max_new_tokens-th) forced_eos_id when set (HF ForcedBOS/ForcedEOS processors).
 * The sequence finishes at EOS ("eos") or after max_new_tokens generated tokens ("length").
 * With return_logits, the raw logits of every position fed are kept. */
#ifndef ENCDEC_DECODING_H
#define ENCDEC_DECODING_H

#include <stdint.h>

#include "runtime/request.h"
#include "runtime/status.h"

typedef struct sequence {
    request *req;          /* owned */
    int32_t *self_blocks;  /* [max_self_blocks] self-pool block table, n_self_blocks in use */
    int n_self_blocks, max_self_blocks;
    int32_t *cross_blocks; /* [n_cross_blocks] cross-pool blocks holding the encoder K/V */
    int n_cross_blocks;
    int self_reserved;     /* self blocks still promised by the scheduler (guaranteed policy) */
    int32_t *tokens;       /* [n_decoder + max_new_tokens]: start, prefix, generated */
    int n_tokens;
    int n_fed;             /* tokens fed to the decoder so far */
    int n_generated;
    float *logits;         /* [n_fed, vocab] when req->return_logits */
    int vocab;
    const char *finish_reason; /* NULL while running */
} sequence;

/* Decoder tokens this request will feed at most (= self K/V rows it needs). */
int request_max_fed(const request *r);

/* block_size: KV block size in tokens (sizes the block tables). */
ed_status sequence_create(sequence **out, request *req, int vocab, int block_size, ed_error *err);
void sequence_destroy(sequence *s); /* destroys its request too */
/* Destroys the sequence but hands its request back (preemption re-queues the request). */
request *sequence_release(sequence *s);

/* The token fed at this step and its position. */
static inline int32_t sequence_next_token(const sequence *s) { return s->tokens[s->n_fed]; }
static inline int sequence_next_pos(const sequence *s) { return s->n_fed; }

/* Consumes the logits [vocab] of the step that fed tokens[n_fed]; may finish the sequence. */
void sequence_advance(sequence *s, const float *logits, int eos_id);

/* Greedy choice: first index of the maximum; EOS excluded when hold_eos. */
int32_t decoding_argmax(const float *logits, int vocab, int eos_id, int hold_eos);

#endif
