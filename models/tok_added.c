#include "models/tok_added.h"

#include <stdlib.h>
#include <string.h>

#include "models/tok_utf8.h"

int tok_added_put(tok_added_set *s, const char *content, int32_t id, int special, int lstrip,
                  int rstrip, int single_word) {
    size_t len = strlen(content);
    tok_added *t = NULL;
    for (size_t i = 0; i < s->n && !t; i++)
        if (s->items[i].len == len && !memcmp(s->items[i].content, content, len)) t = &s->items[i];
    if (!t) {
        if (s->n == s->cap) {
            size_t cap = s->cap ? 2 * s->cap : 16;
            tok_added *d = realloc(s->items, cap * sizeof *d);
            if (!d) return -1;
            s->items = d;
            s->cap = cap;
        }
        t = &s->items[s->n];
        if (!(t->content = strdup(content))) return -1;
        t->len = len;
        s->n++;
    }
    t->id = id;
    t->special = special;
    t->lstrip = lstrip;
    t->rstrip = rstrip;
    t->single_word = single_word;
    return 0;
}

static int by_first_byte(const void *a, const void *b) {
    const tok_added *x = a, *y = b;
    unsigned char cx = x->len ? (unsigned char)x->content[0] : 0;
    unsigned char cy = y->len ? (unsigned char)y->content[0] : 0;
    return (cx > cy) - (cx < cy);
}

int tok_added_finish(tok_added_set *s) {
    if (s->n) qsort(s->items, s->n, sizeof *s->items, by_first_byte);
    size_t count[257] = {0};
    for (size_t i = 0; i < s->n; i++)
        count[(s->items[i].len ? (unsigned char)s->items[i].content[0] : 0) + 1]++;
    s->by_first[0] = 0;
    for (int b = 1; b <= 256; b++) s->by_first[b] = s->by_first[b - 1] + count[b];
    return 0;
}

void tok_added_free(tok_added_set *s) {
    for (size_t i = 0; i < s->n; i++) free(s->items[i].content);
    free(s->items);
    memset(s, 0, sizeof *s);
}

const tok_added *tok_added_find(const tok_added_set *s, const char *content, size_t len) {
    for (size_t i = 0; i < s->n; i++)
        if (s->items[i].len == len && !memcmp(s->items[i].content, content, len))
            return &s->items[i];
    return NULL;
}

/* Unicode White_Space, as Rust's char::is_whitespace (the tokenizers library's test). */
static int is_space_cp(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* Whitespace length ending at text[end) going left / starting at text[start] going right. */
static size_t space_before(const char *t, size_t from, size_t end) {
    size_t e = end;
    while (e > from) {
        size_t b = e - 1;
        while (b > from && ((unsigned char)t[b] & 0xC0) == 0x80) b--;
        size_t cl = utf8_char_len((const unsigned char *)t + b, e - b);
        if (!cl || !is_space_cp(utf8_decode((const unsigned char *)t + b, cl))) break;
        e = b;
    }
    return end - e;
}
static size_t space_after(const char *t, size_t start, size_t len) {
    size_t s = start;
    while (s < len) {
        size_t cl = utf8_char_len((const unsigned char *)t + s, len - s);
        if (!cl || !is_space_cp(utf8_decode((const unsigned char *)t + s, cl))) break;
        s += cl;
    }
    return s - start;
}

static int is_word_byte(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_' || c >= 0x80;
}

int tok_added_split(const tok_added_set *s, const char *text, size_t len,
                    int (*seg)(void *ctx, const char *start, size_t n),
                    int (*tok)(void *ctx, const tok_added *t), void *ctx) {
    size_t plain = 0; /* start of the pending plain stretch */
    size_t pos = 0;
    int rc;
    while (pos < len) {
        unsigned char c = (unsigned char)text[pos];
        const tok_added *best = NULL;
        for (size_t i = s->by_first[c]; i < s->by_first[c + 1]; i++) {
            const tok_added *t = &s->items[i];
            if (t->len == 0 || t->len > len - pos || memcmp(text + pos, t->content, t->len))
                continue;
            if (t->single_word && ((pos > 0 && is_word_byte((unsigned char)text[pos - 1])) ||
                                   (pos + t->len < len &&
                                    is_word_byte((unsigned char)text[pos + t->len]))))
                continue;
            if (!best || t->len > best->len) best = t;
        }
        if (!best) {
            pos++;
            continue;
        }
        size_t start = pos, end = pos + best->len;
        if (best->lstrip) start -= space_before(text, plain, start);
        if (best->rstrip) end += space_after(text, end, len);
        if (start > plain && (rc = seg(ctx, text + plain, start - plain))) return rc;
        if ((rc = tok(ctx, best))) return rc;
        plain = pos = end;
    }
    if (len > plain && (rc = seg(ctx, text + plain, len - plain))) return rc;
    return 0;
}
