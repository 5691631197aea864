/* One request being decoded: its beams (1 for greedy and sampling), their self-KV block tables,
 * the request's single cross-KV block table, and what has been generated.
 *
 * Each step the decoder is fed tokens[n_fed] of every running beam. While a forced prefix
 * (decoder_input_ids) remains, the next token is the prefix's. Then:
 *   greedy / sampling: the raw logits go through the logits processors (runtime/logits_process.h),
 *     then argmax, or the warpers and a draw from the request's own generator;
 *   beam search: HF's vectorized beam search step (runtime/beam_search.c) on log-softmax scores.
 * A sequence finishes at EOS or a stop token / stop sequence ("eos" / "stop"), or after
 * max_new_tokens ("length"). With return_logits, the raw logits of every position fed are kept
 * (beam_width 1). */
#ifndef ENCDEC_DECODING_H
#define ENCDEC_DECODING_H

#include <stdint.h>

#include "runtime/logits_process.h"
#include "runtime/request.h"
#include "common/status.h"

/* One running beam's tokens (writer: token choice). */
typedef struct beam {
    int32_t *tokens;   /* [cap]: start token, prefix, generated */
    float *logprobs;   /* [cap]: log-prob of the token at each position (return_logprobs) */
    float score;       /* beam search: running sum of processed log-probs (HF's beam score) */
} beam;

/* A KV block table: blocks[0, n) hold positions [0, n * block_size). */
typedef struct block_table {
    int32_t *blocks;   /* [capacity fixed at sequence_create] */
    int n;
} block_table;

/* The KV blocks a sequence holds. Writer: the scheduler (runtime/scheduler.c) alone; the arrays
 * are allocated by sequence_create. Self table b belongs to running beam b. */
typedef struct seq_kv {
    block_table *self;   /* [width] the running beams' tables, [0, n_self) in use */
    block_table *forked; /* [width] after a beam step, beam i's table is forked here from the
                            table of its parent (sequence.parents), then the two swap */
    int n_self;
    int max_self_blocks; /* per beam (set at creation) */
    block_table cross;   /* the request's cross-KV blocks, ceil(n_input / block_size) */
    int held_blocks;     /* distinct self blocks held (guaranteed-policy accounting) */
} seq_kv;

typedef struct hypothesis {
    int32_t *tokens;   /* [cap] */
    float *logprobs;   /* [cap] */
    int n_tokens;
    float score;       /* length-penalized; -1e9 = empty slot */
    int finished;
} hypothesis;

/* A request being decoded. Every field has one writer, named per group:
 *   set by sequence_create, read-only after: req, vocab, block_size, cap, width;
 *   token choice (runtime/token_choice.c with decoding.c, beam_search.c): the decoding state;
 *   the scheduler (runtime/scheduler.c): kv and enc_entry;
 *   the response writer (runtime/response.c): n_streamed, detok, text_streamed;
 *   the engine (runtime/engine.c): encoder_output, encoder_dim. */
typedef struct sequence {
    request *req;              /* owned */
    int vocab, block_size, cap; /* cap = n_decoder + max_new_tokens */
    int width;                 /* beam_width */
    /* token choice */
    beam *beams;               /* [width] running beams, n_beams in use */
    beam *spare;               /* [width] the next step's beams are built here, then swapped */
    int n_beams;
    int parents[16];           /* after each step: the beam each running beam continues (the
                                  identity unless a beam step reordered them); the scheduler
                                  forks the self tables by it */
    hypothesis *done;          /* [width] finished hypotheses, best first (beam search) */
    hypothesis *done_spare;    /* [width] the next finished set is built here, then swapped */
    int heuristic_unsatisfied; /* HF's is_early_stop_heuristic_unsatisfied */
    int n_tokens, n_fed, n_generated; /* shared by all running beams */
    float *logits;             /* [cap, vocab] raw logits per position fed (return_logits) */
    float *scratch;            /* [vocab] */
    sample_rng rng;
    const char *finish_reason; /* NULL while running; "error" when the step's outputs for it were
                                  not finite (failure says where) */
    char failure[160];         /* with finish_reason "error": the message its error record
                                  carries */
    long stop_at;              /* a stop string ended it: its text is kept up to this byte
                                  (the match's start); -1 otherwise */
    /* the scheduler */
    seq_kv kv;
    int enc_entry;             /* index of this request's encode entry in the plan being built */
    /* the response writer */
    int n_streamed;            /* output tokens already sent in stream lines */
    struct tokenizer_stream *detok; /* their text so far (a model with a tokenizer), or NULL */
    size_t text_streamed;      /* with stop strings: bytes of the output's text sent */
    /* the engine */
    float *encoder_output;     /* [n_input, d_model] final encoder states (return_encoder_output) */
    int encoder_dim;
} sequence;

/* Decoder tokens one beam feeds at most (= self K/V rows it needs). */
int request_max_fed(const request *r);

ed_status sequence_create(sequence **out, request *req, int vocab, int block_size, ed_error *err);
void sequence_destroy(sequence *s); /* destroys its request too */
/* Destroys the sequence but hands its request back (preemption re-queues the request). */
request *sequence_release(sequence *s);

static inline int32_t sequence_next_token(const sequence *s, int b) {
    return s->beams[b].tokens[s->n_fed];
}

/* Consumes the logits rows [n_beams, vocab] of the step that fed position n_fed. For beam search
 * the running beams are rebuilt (tokens copied from their parents; s->parents says which parent
 * each continues, so the scheduler can fork the block tables). May finish the sequence. */
void sequence_advance(sequence *s, const float *logits, int eos_id);

/* The result: for beam search the i-th best finished hypothesis, else the single beam. */
const int32_t *sequence_output(const sequence *s, int i, int *n_tokens, float *score,
                               const float **logprobs);
int sequence_n_outputs(const sequence *s);

/* Whether this step of s needs only the argmax of its raw logits, with *ban excluded (-1 =
 * none): one beam, no returned logits, and logits_argmax_suffices. */
int sequence_argmax_suffices(const sequence *s, int eos_id, int32_t *ban);
/* sequence_advance for such a step: argmax is the best token of the raw logits without the
 * banned one; forced tokens still apply. */
void sequence_advance_token(sequence *s, int32_t argmax, int eos_id);
/* Whether this beam-search step of s needs only each beam's best 2 x width log-softmax scores
 * with *ban excluded: returns that count, or 0 (logits processors other than the EOS ban of
 * min_new_tokens, a forced token, returned logits or log-probs, greedy or sampling). */
int sequence_topk_suffices(const sequence *s, int eos_id, int32_t *ban);
/* sequence_advance for such a step: rows[n_beams, k, 2] = each beam's best (score, token). */
void sequence_advance_topk(sequence *s, const float *rows, int k, int eos_id);

/* Greedy choice: first index of the maximum. */
int32_t decoding_argmax(const float *scores, int vocab);

/* One HF beam-search step (runtime/beam_search.c): logits [n_beams, vocab] raw. */
void beam_search_step(sequence *s, const float *logits, int eos_id);
/* The same step from each beam's best k >= 2 x width processed log-softmax scores:
 * rows[n_beams, k, 2] = (score, token), best first. */
void beam_search_step_topk(sequence *s, const float *rows, int k, int eos_id);

#endif
