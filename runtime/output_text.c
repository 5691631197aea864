#include "runtime/output_text.h"

#include <stdlib.h>
#include <string.h>

#include "models/tokenizer.h"

char *output_text_decode(const tokenizer *tok, const int32_t *tokens, int n_tokens, size_t *len,
                         ed_error *err) {
    int32_t *ids = malloc(sizeof(int32_t) * (size_t)(n_tokens > 1 ? n_tokens : 1));
    if (!ids) {
        ed_fail(err, "out of memory");
        return NULL;
    }
    size_t k = 0;
    const int known = tokenizer_vocab_size(tok);
    for (int i = 1; i < n_tokens; i++)
        if (tokens[i] >= 0 && tokens[i] < known) ids[k++] = tokens[i];
    char *text = NULL;
    ed_status st = tokenizer_decode(tok, ids, k, 1, &text, len, err);
    free(ids);
    return st ? NULL : text;
}

long output_text_find_stop(const request *r, const char *text, size_t len) {
    long best = -1;
    for (int i = 0; i < r->n_stop_strings; i++) {
        const char *s = r->stop_strings[i];
        size_t n = strlen(s);
        for (size_t at = 0; n <= len && at <= len - n; at++)
            if (!memcmp(text + at, s, n)) {
                if (best < 0 || (long)at < best) best = (long)at;
                break;
            }
    }
    return best;
}

size_t output_text_holdback(const request *r) {
    size_t most = 0;
    for (int i = 0; i < r->n_stop_strings; i++) {
        size_t n = strlen(r->stop_strings[i]);
        if (n > most) most = n;
    }
    return most ? most - 1 : 0;
}

size_t output_text_utf8_prefix(const char *text, size_t len) {
    size_t i = len;
    while (i > 0 && ((unsigned char)text[i - 1] & 0xC0) == 0x80) i--; /* continuation bytes */
    if (i == 0) return 0;
    unsigned char lead = (unsigned char)text[i - 1];
    size_t need = lead < 0x80 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
    return len - (i - 1) >= need ? len : i - 1; /* the last character complete, or cut before it */
}
