/* The text of a sequence's output, and its stop strings (request.stop_strings).
 *
 * Text: output tokens[1, n) (tokens[0] is the decoder start token) decoded by the model's
 * tokenizer with special tokens skipped; ids the tokenizer lacks (a model's vocabulary may hold
 * more rows than its tokenizer: T5's 32128 vs 32100) are skipped too, as HF's fast tokenizers
 * skip them. Stop strings: the earliest occurrence of any of them in that text ends the
 * sequence ("stop"), and its text is cut before it, as OpenAI's API does. */
#ifndef ENCDEC_OUTPUT_TEXT_H
#define ENCDEC_OUTPUT_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "runtime/request.h"

struct tokenizer;

/* The text of tokens[1, n_tokens): malloc'd, NUL-terminated, *len bytes; NULL with err set when
 * the decode fails. */
char *output_text_decode(const struct tokenizer *tok, const int32_t *tokens, int n_tokens,
                         size_t *len, ed_error *err);

/* The byte offset of the earliest stop string of r in text[len], or -1. */
long output_text_find_stop(const request *r, const char *text, size_t len);

/* How many bytes at the end of a streamed text to hold back: a stop string of r may still
 * begin there (the longest one's length - 1; 0 without stop strings). */
size_t output_text_holdback(const request *r);

/* The longest prefix of text[len] that ends on a UTF-8 character boundary. */
size_t output_text_utf8_prefix(const char *text, size_t len);

#endif
