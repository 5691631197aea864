/* A generation or scoring request, parsed from one JSON Lines line and validated against the
 * model and the run config. Fields:
 *   id                 string or integer, required; echoed in the response
 *   input_ids          array of token ids, required, 1..max_input_len, each in [0, vocab)
 *   max_new_tokens     integer >= 0; default: what max_output_len leaves after the prefix
 *   min_new_tokens     integer >= 0, default 0: EOS is held off until this many are generated
 *   decoder_input_ids  optional forced decoder prefix, starting with the decoder start token
 *   return_logits      bool, default false: raw logits of every decoder position fed
 *   forced_bos_id      token forced as the first generated token (mBART-50's target language);
 *                      default: the model config's forced_bos_token_id, if any
 * Decoding options (HF generate() semantics and defaults where HF has the option):
 *   beam_width 1..16 (num_beams), num_return_sequences 1..beam_width, length_penalty (1.0),
 *   early_stopping true | false | "never" (false)
 *   do_sample (false), temperature > 0 (1.0), top_k >= 0 (50; 0 = off), top_p in (0, 1] (1.0),
 *   seed >= 0 (0): sampling draws come from a per-request generator, so a seed reproduces the
 *   output whatever the batch composition and TP size
 *   repetition_penalty > 0 (1.0), no_repeat_ngram_size >= 0 (0), bad_words_ids [[ids], ...],
 *   stop_token_ids [ids] (act like EOS), stop_sequences [[ids], ...] (finish when generated)
 *   return_logprobs (false): log-probability of each generated token
 *   stream (false): a line per step with the new ids, then a final line (beam_width 1 only)
 * Encoder outputs:
 *   return_encoder_output (false): the final encoder hidden states [input length, d_model]
 *   encode_only (false): run the encoder only and return its hidden states (no decoder, no
 *     cross-KV); pooling "none" | "mean" (mean over the input tokens)
 *   encoder_output_format "json" (default) | "base64-f32" (little-endian fp32, row-major)
 * Unknown fields are errors, so a misspelt option is never silently ignored. */
#ifndef ENCDEC_REQUEST_H
#define ENCDEC_REQUEST_H

#include <stdint.h>

#include "common/status.h"

typedef struct cJSON cJSON;

typedef struct request_limits {
    int vocab_size;
    int decoder_start_id;
    int max_input_len;
    int max_output_len; /* decoder tokens after the start token: prefix - 1 + max_new_tokens */
    int forced_bos_id;  /* model defaults, -1 = none */
    int forced_eos_id;
    int max_beams;      /* max_batch_size: a request's beams decode side by side */
} request_limits;

/* A list of token-id sequences, flattened: sequence i is ids[offsets[i] .. offsets[i + 1]). */
typedef struct id_lists {
    int32_t *ids;
    int *offsets; /* [n + 1] */
    int n;
} id_lists;

typedef enum { EARLY_STOP_FALSE = 0, EARLY_STOP_TRUE = 1, EARLY_STOP_NEVER = 2 } early_stopping_kind;

typedef struct request {
    cJSON *id;              /* owned copy of the id value */
    long line;              /* 1-based line in the request stream */
    int32_t *input_ids;
    int n_input;
    int32_t *decoder_ids;   /* forced prefix, [0] = decoder start; at least 1 token */
    int n_decoder;
    int max_new_tokens, min_new_tokens;
    int return_logits;
    int forced_bos_id;      /* -1 = none */
    int forced_eos_id;      /* -1 = none (from the model config only) */
    int beam_width, num_return_sequences;
    float length_penalty;
    int early_stopping;     /* early_stopping_kind */
    int do_sample;
    float temperature, top_p;
    int top_k;
    uint64_t seed;
    float repetition_penalty;
    int no_repeat_ngram_size;
    id_lists bad_words;     /* token sequences that must not be generated */
    int32_t *stop_ids;      /* [n_stop_ids] */
    int n_stop_ids;
    id_lists stop_sequences;
    int return_logprobs, stream;
    int return_encoder_output, encode_only, pool_mean, output_base64;
} request;

/* Parses and validates one line. On error, *id_out (if the id could be read, else NULL) is set so
 * the error response can carry it; the message names the field. */
ed_status request_parse(const char *text, long line, const request_limits *lim, request **out,
                        cJSON **id_out, ed_error *err);
void request_destroy(request *r);

#endif
