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
 * Unknown fields are errors, so a misspelt option is never silently ignored. */
#ifndef ENCDEC_REQUEST_H
#define ENCDEC_REQUEST_H

#include <stdint.h>

#include "runtime/status.h"

typedef struct cJSON cJSON;

typedef struct request_limits {
    int vocab_size;
    int decoder_start_id;
    int max_input_len;
    int max_output_len; /* decoder tokens after the start token: prefix - 1 + max_new_tokens */
    int forced_bos_id;  /* model defaults, -1 = none */
    int forced_eos_id;
} request_limits;

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
} request;

/* Parses and validates one line. On error, *id_out (if the id could be read, else NULL) is set so
 * the error response can carry it; the message names the field. */
ed_status request_parse(const char *text, long line, const request_limits *lim, request **out,
                        cJSON **id_out, ed_error *err);
void request_destroy(request *r);

#endif
