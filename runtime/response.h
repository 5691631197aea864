/* Responses as JSON Lines, written by rank 0 only, one line per request, flushed as each request
 * finishes (completion order; each line carries its id). A request that came over HTTP has its
 * records posted to its reply channel (runtime/reply.h) instead, as the same JSON objects. A file target is written under a
 * temporary name and renamed when the run completes, so a failed run leaves no partial file.
 *   result: {"id", "output_ids", "finish_reason": "eos"|"stop"|"length",
 *            "score"? (beam search), "logprobs"? (per generated token),
 *            "sequences"? [{"output_ids", "score", "logprobs"?}] (num_return_sequences > 1),
 *            "logits"? [[...], ...]}
 *   stream: {"id", "new_ids": [...], "logprobs"?} one per step with new tokens; the final line is
 *           the result above with "stream_end": true
 *   error:  {"id", "error": {"message", "line"}}
 * JSON has no NaN or infinity: a result or encoding that would print one (a logprob, a score, a
 * logit, an encoder state or their mean) is replaced by an error record naming the request (its
 * id and line) and the output, and where in it; a stream stops at the first such logprob (no
 * more stream lines) and its final record is that error. Other requests are not affected. */
#ifndef ENCDEC_RESPONSE_H
#define ENCDEC_RESPONSE_H

#include <stdint.h>

#include "common/status.h"

typedef struct cJSON cJSON;
typedef struct response_sink response_sink;

/* path "-" is stdout. */
ed_status response_sink_open(response_sink **out, const char *path, ed_error *err);
/* With the model's tokenizer (models/tokenizer.h; NULL: ids only), results carry "text" (each
 * sequence's output ids decoded, special tokens skipped) and stream records the "text" their
 * new ids add (never part of a UTF-8 character; the pieces concatenate to the result's text). */
struct tokenizer;
void response_sink_set_tokenizer(response_sink *s, const struct tokenizer *tok);
/* With a courier (runtime/reply_courier.h; NULL: none), records of HTTP requests are queued on
 * it instead of posted by the calling thread. */
typedef struct reply_courier reply_courier;
void response_sink_set_courier(response_sink *s, reply_courier *c);
/* Makes the output final (renames the temporary file) and frees the sink. */
ed_status response_sink_commit(response_sink *s, ed_error *err);
/* The temporary file being written (NULL for stdout), for cleanup on a fatal signal. */
const char *response_sink_temp_path(const response_sink *s);
/* Removes the temporary file and frees the sink. NULL is a no-op. */
void response_sink_discard(response_sink *s);

typedef struct sequence sequence;
typedef struct request request;

/* The result of a finished sequence (runtime/decoding.h), or the error record of one whose
 * outputs are not finite (ED_OK: the request failed, the sink did not). */
ed_status response_write_result(response_sink *s, const sequence *seq, ed_error *err);
/* The answer to an encode-only request: its final encoder states rows[len, dim] (host), pooled
 * and formatted as the request asks:
 *   {"id", "encoder_output": [[...], ...] | [...] (mean), "encoder_output_shape": [len, dim]}
 *   or "encoder_output_b64" (base64 of little-endian fp32, row-major) instead of the array. */
ed_status response_write_encoding(response_sink *s, const request *r, const float *rows, int len,
                                  int dim, ed_error *err);
/* A stream line with the sequence's output tokens not yet streamed; updates seq->n_streamed. */
ed_status response_write_stream(response_sink *s, sequence *seq, ed_error *err);
/* r: the request the error answers, or NULL for a line that never became one (then id, which
 * may be NULL for an unreadable one, written as null). */
ed_status response_write_error(response_sink *s, const request *r, const cJSON *id, long line,
                               const char *message, ed_error *err);
/* The answer to a request ended before it finished (its client gone, or the drain timeout):
 *   {"id", "output_ids": tokens[1, n_tokens) (what its first beam has so far; tokens[0] is the
 *    start token), "finish_reason": "abort"} */
ed_status response_write_abort(response_sink *s, const request *r, const int32_t *tokens,
                               int n_tokens, ed_error *err);

#endif
