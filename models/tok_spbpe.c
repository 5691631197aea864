#include "models/tok_spbpe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/tok_map.h"

struct tok_spbpe {
    const tok_sp *sp;
    tok_map *ids;
    int unk_id, byte_fallback;
    int byte_id[256];
};

tok_spbpe *tok_spbpe_create(const tok_sp *sp, int byte_fallback) {
    tok_spbpe *b = calloc(1, sizeof *b);
    int n = tok_sp_size(sp);
    if (!b || !(b->ids = tok_map_create((size_t)n))) {
        free(b);
        return NULL;
    }
    b->sp = sp;
    for (int i = 0; i < n; i++) {
        const char *p = tok_sp_piece(sp, i);
        if (tok_map_get(b->ids, p, strlen(p)) < 0 && tok_map_put(b->ids, p, strlen(p), i)) {
            tok_spbpe_destroy(b);
            return NULL;
        }
    }
    b->unk_id = tok_sp_unk_id(sp);
    b->byte_fallback = byte_fallback && tok_sp_byte_fallback(sp);
    for (int k = 0; k < 256; k++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", k);
        b->byte_id[k] = tok_map_get(b->ids, name, 6);
    }
    return b;
}

void tok_spbpe_destroy(tok_spbpe *b) {
    if (!b) return;
    tok_map_destroy(b->ids);
    free(b);
}

typedef struct sym {
    size_t start, len; /* bytes of the pre-token */
    int id;            /* its piece id */
    int unk;           /* 1: an unknown stretch (never merges) */
} sym;

static size_t n_chars(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* 1 when merging (l, r) into m ranks before merging (l2, r2) into m2. */
static int better(const tok_spbpe *b, const char *w, const sym *l, const sym *r, int m,
                  const sym *l2, const sym *r2, int m2) {
    float s = tok_sp_score(b->sp, m), s2 = tok_sp_score(b->sp, m2);
    if (s != s2) return s > s2;
    size_t ll = n_chars(w + l->start, l->len), ll2 = n_chars(w + l2->start, l2->len);
    if (ll != ll2) return ll > ll2;
    size_t rl = n_chars(w + r->start, r->len), rl2 = n_chars(w + r2->start, r2->len);
    if (rl != rl2) return rl > rl2;
    if (m != m2) return m < m2;
    if (l->id != l2->id) return l->id < l2->id;
    return r->id < r2->id;
}

int tok_spbpe_encode(const tok_spbpe *b, const char *w, size_t n, tok_ids *out) {
    if (n == 0) return 0;
    sym *s = malloc(n * sizeof *s);
    if (!s) return -1;
    size_t ns = 0;
    for (size_t i = 0; i < n;) {
        size_t cl = utf8_char_len((const unsigned char *)w + i, n - i);
        if (!cl) cl = 1;
        int id = tok_map_get(b->ids, w + i, cl);
        if (id >= 0) s[ns++] = (sym){i, cl, id, 0};
        else if (ns && s[ns - 1].unk && !b->byte_fallback) s[ns - 1].len += cl; /* fuse_unk */
        else s[ns++] = (sym){i, cl, b->unk_id, 1};
        i += cl;
    }
    for (;;) {
        size_t at = 0;
        int best = -1;
        for (size_t i = 0; i + 1 < ns; i++) {
            if (s[i].unk || s[i + 1].unk) continue;
            int m = tok_map_get(b->ids, w + s[i].start, s[i].len + s[i + 1].len);
            if (m < 0) continue;
            if (best < 0 || better(b, w, &s[i], &s[i + 1], m, &s[at], &s[at + 1], best)) {
                best = m;
                at = i;
            }
        }
        if (best < 0) break;
        s[at].len += s[at + 1].len;
        s[at].id = best;
        memmove(s + at + 1, s + at + 2, (ns - at - 2) * sizeof *s);
        ns--;
    }
    int rc = 0;
    for (size_t i = 0; i < ns && !rc; i++) {
        if (s[i].unk && b->byte_fallback) {
            int all = 1;
            for (size_t k = 0; k < s[i].len; k++) all &= b->byte_id[(unsigned char)w[s[i].start + k]] >= 0;
            if (all) {
                for (size_t k = 0; k < s[i].len && !rc; k++)
                    rc = tok_ids_add(out, b->byte_id[(unsigned char)w[s[i].start + k]]);
                continue;
            }
        }
        rc = tok_ids_add(out, s[i].id);
    }
    free(s);
    return rc;
}
