#include "models/tok_utf8.h"

#include <stdlib.h>
#include <string.h>

/* Unicode's table 3-7 of well-formed byte sequences: the allowed range of the second byte
 * depends on the first. */
static int second_ok(unsigned char c0, unsigned char c1) {
    if (c0 == 0xE0) return c1 >= 0xA0 && c1 <= 0xBF;
    if (c0 == 0xED) return c1 >= 0x80 && c1 <= 0x9F;
    if (c0 == 0xF0) return c1 >= 0x90 && c1 <= 0xBF;
    if (c0 == 0xF4) return c1 >= 0x80 && c1 <= 0x8F;
    return c1 >= 0x80 && c1 <= 0xBF;
}

static size_t expected_len(unsigned char c0) {
    if (c0 < 0x80) return 1;
    if (c0 >= 0xC2 && c0 <= 0xDF) return 2;
    if (c0 >= 0xE0 && c0 <= 0xEF) return 3;
    if (c0 >= 0xF0 && c0 <= 0xF4) return 4;
    return 0;
}

/* How many bytes of s[n] form a valid (possibly incomplete) start of a character: the maximal
 * subpart Unicode's substitution rule speaks of. */
static size_t valid_prefix(const unsigned char *s, size_t n, size_t *need) {
    size_t want = expected_len(s[0]);
    *need = want;
    if (want <= 1) return want;
    size_t k = 1;
    if (k < n && second_ok(s[0], s[1])) {
        k = 2;
        while (k < want && k < n && s[k] >= 0x80 && s[k] <= 0xBF) k++;
    }
    return k;
}

size_t utf8_char_len(const unsigned char *s, size_t n) {
    if (n == 0) return 0;
    size_t need, k = valid_prefix(s, n, &need);
    return need && k == need ? need : 0;
}

uint32_t utf8_decode(const unsigned char *s, size_t len) {
    if (len == 1) return s[0];
    uint32_t cp = s[0] & (0x7F >> len);
    for (size_t i = 1; i < len; i++) cp = (cp << 6) | (s[i] & 0x3F);
    return cp;
}

size_t utf8_encode(uint32_t cp, char out[4]) {
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

size_t utf8_complete_prefix(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    /* A character starts at most 3 bytes before the end. */
    for (size_t back = 1; back <= 3 && back <= n; back++) {
        size_t start = n - back;
        if ((s[start] & 0xC0) == 0x80) continue; /* continuation byte: look further back */
        size_t need, k = valid_prefix(s + start, back, &need);
        if (need > back && k == back) return start; /* valid so far, cut short by the end */
        return n;
    }
    return n;
}

int tok_buf_add(tok_buf *b, const void *data, size_t n) {
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n + 1) cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d) return -1;
        b->data = d;
        b->cap = cap;
    }
    if (n) memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = 0;
    return 0;
}

static int add_decoded(tok_buf *b, const unsigned char *s, size_t n, int lossy) {
    static const char fffd[] = "\xEF\xBF\xBD";
    size_t i = 0;
    while (i < n) {
        size_t need, k = valid_prefix(s + i, n - i, &need);
        if (need && k == need) {
            if (tok_buf_add(b, s + i, k)) return -1;
            i += k;
            continue;
        }
        if (lossy && tok_buf_add(b, fffd, 3)) return -1;
        i += k ? k : 1;
    }
    return tok_buf_add(b, "", 0);
}

int tok_buf_add_lossy(tok_buf *b, const unsigned char *s, size_t n) { return add_decoded(b, s, n, 1); }
int tok_buf_add_ignore(tok_buf *b, const unsigned char *s, size_t n) { return add_decoded(b, s, n, 0); }

int tok_ids_add(tok_ids *v, int32_t id) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? 2 * v->cap : 64;
        int32_t *d = realloc(v->data, cap * sizeof *d);
        if (!d) return -1;
        v->data = d;
        v->cap = cap;
    }
    v->data[v->len++] = id;
    return 0;
}
