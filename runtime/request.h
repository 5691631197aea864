/* A generation or scoring request, parsed from one JSON Lines line and validated against the
 * model and the run config. Its JSON fields (name, type, destination, default, range, what each
 * does) are the rows of request_schema[] in runtime/request_schema.c and nowhere else; decoding
 * options follow HF generate()'s semantics and defaults where HF has the option. Unknown fields
 * are errors, so a misspelt option is never silently ignored. Every field of `request` is written
 * by request_parse only; the other modules read it. */
#ifndef ENCDEC_REQUEST_H
#define ENCDEC_REQUEST_H

#include <stddef.h>
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
    const struct tokenizer *tok; /* the model's tokenizer (models/tokenizer.h), or NULL: requests
                                    must then give ids, not text */
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
    int32_t *input_ids;     /* given, or encoded from text */
    int n_input;
    char *text;             /* the encoder input as text (NULL: input_ids given) */
    char **stop_strings;    /* [n_stop_strings] generation finishes once the output's text
                               holds one (needs the tokenizer); the text ends before it */
    int n_stop_strings;
    char *src_lang, *tgt_lang; /* language codes (mBART-50, NLLB): the source code placed by the
                                  tokenizer; the target code forced as the first token */
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
    float temperature, top_p; /* temperature > 0: a request's 0 (greedy) clears do_sample */
    int top_k;
    uint64_t seed;
    float repetition_penalty;
    int no_repeat_ngram_size;
    id_lists bad_words;     /* token sequences that must not be generated */
    int32_t *stop_ids;      /* [n_stop_ids] */
    int n_stop_ids;
    id_lists stop_sequences;
    int return_logprobs, stream;
    int return_encoder_output, encode_only; /* encode_only implies return_encoder_output */
    int pool_mean;          /* pooling "mean": one vector, the mean over the input tokens */
    int output_base64;      /* encoder_output_format "base64-f32" (else JSON numbers) */
    /* Where its records go: NULL for JSON Lines (the run's output), else the HTTP call's reply
     * channel (runtime/reply.h; one reference owned) and this request's index in it. Set once by
     * the HTTP front end (request_set_reply) before it is queued; not a JSON field. */
    struct reply *reply;
    int reply_index;
    /* A streamed request preempted and queued again (runtime/scheduler.h) resumes its stream:
     * what its first run had sent, so the rerun (the same tokens: greedy, or the request's own
     * generator) sends nothing twice. Written by sequence_release. */
    int streamed_before;       /* output tokens */
    size_t text_streamed_before; /* text bytes (stop strings) */
    /* 1: made by the engine itself (runtime/warmup.h), not a JSON field: its records are dropped,
     * the encoder cache and the serving metrics skip it. Set once, by its maker. */
    int internal;
} request;

/* Parses and validates one line: text[0, len), which may hold any bytes (NULs included; no
 * terminator needed). The line must be valid UTF-8 with no NUL byte and no \u0000 escape, hold
 * exactly one JSON object (only whitespace after it) whose keys are distinct, and pass the schema
 * and the checks against lim. On error, *id_out is set (if the id could be read, else NULL) so
 * the error response can carry it, and the message, which starts "line LINE: ", names the field
 * or the column. */
ed_status request_parse(const char *text, size_t len, long line, const request_limits *lim,
                        request **out, cJSON **id_out, ed_error *err);
void request_destroy(request *r); /* releases its reply reference */
/* Routes r's records to `to` (a reference is taken) under `index`. */
void request_set_reply(request *r, struct reply *to, int index);

#endif
