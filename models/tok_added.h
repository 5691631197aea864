/* Added tokens (special tokens, <extra_id_N>, <mask>, language codes, added_tokens.json) and how
 * the tokenizers library finds them in text before the model sees it: leftmost-longest matches
 * over the raw text; lstrip / rstrip widen a match over the whitespace beside it (which then
 * belongs to no segment); single_word refuses a match inside a word. */
#ifndef ENCDEC_TOK_ADDED_H
#define ENCDEC_TOK_ADDED_H

#include <stddef.h>
#include <stdint.h>

typedef struct tok_added {
    char *content;
    size_t len;
    int32_t id;
    int special, lstrip, rstrip, single_word;
} tok_added;

typedef struct tok_added_set {
    tok_added *items;
    size_t n, cap;
    size_t by_first[257]; /* items sorted by first byte: [by_first[b], by_first[b+1]) */
} tok_added_set;

/* Adds (or updates, when the content is already there) one token. 0 or -1 (out of memory). */
int tok_added_put(tok_added_set *s, const char *content, int32_t id, int special, int lstrip,
                  int rstrip, int single_word);
/* Sorts for matching; call once after the last put. 0 or -1. */
int tok_added_finish(tok_added_set *s);
void tok_added_free(tok_added_set *s);
const tok_added *tok_added_find(const tok_added_set *s, const char *content, size_t len);

/* Splits text[len]: calls seg(ctx, start, n) for each stretch of plain text (possibly empty
 * stretches are skipped) and tok(ctx, token) for each added token found, in order. A callback
 * returning nonzero stops the walk and is returned. */
int tok_added_split(const tok_added_set *s, const char *text, size_t len,
                    int (*seg)(void *ctx, const char *start, size_t n),
                    int (*tok)(void *ctx, const tok_added *t), void *ctx);

#endif
