/* The HTTP API's request and answer shapes (docs/SERVING.md): an OpenAI completions or
 * embeddings body, or a native /generate body, becomes native request objects (the fields of a
 * JSON Lines line, validated afterwards by request_parse: one code path); the native records the
 * engine posts for them (runtime/response.h) become OpenAI's answers and stream chunks. Pure
 * functions of their inputs: no I/O, no threads. */
#ifndef ENCDEC_OPENAI_API_H
#define ENCDEC_OPENAI_API_H

#include <stddef.h>

#include "runtime/request.h"

typedef enum { API_COMPLETIONS, API_EMBEDDINGS, API_GENERATE } api_kind;

/* An error answer: HTTP status, message, OpenAI type and the offending parameter ("" = none). */
typedef struct api_error {
    int status;
    char message[1024];
    char param[64];
} api_error;

/* What one API call asks for. Requests are ordered prompt-major: prompt p's j-th request is
 * native[p * per_prompt + j]. Choice index of request i's k-th sequence: i * seqs_per_request
 * + k (beam search returns n sequences from one request; sampling makes n requests). */
typedef struct api_plan {
    api_kind kind;
    char call_id[48];       /* "cmpl-N", "embd-N", or the native id */
    int stream, include_usage, want_logprobs;
    int n_prompts, per_prompt, seqs_per_request;
    int n_requests;
    cJSON **native;         /* [n_requests] native request objects (owned) */
    int *prompt_len;        /* [n_requests] encoder tokens */
    int *prefix_len;        /* [n_requests] decoder prefix tokens after the start token: not part
                               of the completion */
    size_t *text_sent;      /* [n_requests] streaming: bytes of each request's text sent */
} api_plan;

/* The model-side facts translation needs. */
typedef struct api_context {
    const char *model_name;
    const request_limits *lim;
    long call_no;           /* unique per call: ids and default seeds derive from it */
    unsigned long long default_seed; /* for requests without a seed */
    int has_tokenizer;      /* text prompts and text answers */
} api_context;

/* Translates body (a parsed JSON value) into *plan; ED_ERR with *e (400, or 404 for another
 * model). */
ed_status api_plan_build(api_kind kind, const cJSON *body, const api_context *ctx, api_plan *plan,
                         api_error *e);
void api_plan_free(api_plan *plan);

/* A request_parse message ("line 0: field max_new_tokens must be ...") as an API error naming
 * the API's parameter (max_tokens). */
void api_error_from_native(api_kind kind, const char *message, api_error *e);

/* The error body {"error": {"message", "type", "param", "code"}} (malloc'd text). */
char *api_error_body(const api_error *e);

/* A whole answer from every request's final record (records[n_requests], native): malloc'd
 * JSON text, or NULL with *e set when a record is an error (400 for a refused request, 500 for
 * one that failed while running). */
char *api_answer(const api_plan *plan, const api_context *ctx, cJSON *const *records, long created,
                 api_error *e);

/* Streaming: the SSE events ("data: {...}\n\n", possibly several, malloc'd; "" for none) for
 * one native record of request `index` (final: its last). streamed[n_requests] counts the
 * generated tokens already sent per request (updated). */
char *api_stream_event(const api_plan *plan, const api_context *ctx, int index, const cJSON *record,
                       int final, int *streamed, long created);
/* The events that close a stream: the usage chunk when asked for (usage from every request's
 * token count: completion_tokens = sum of streamed), then "data: [DONE]". */
char *api_stream_end(const api_plan *plan, const api_context *ctx, const int *streamed,
                     long created);

#endif
