#include "models/tok_unigram.h"

#include <float.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/tok_map.h"

struct tok_unigram {
    const tok_sp *sp;
    tok_map *ids;       /* piece -> id */
    size_t max_len;     /* longest piece in bytes */
    double unk_score;   /* min score - 10 */
    int unk_id, byte_fallback;
    int byte_id[256];   /* <0xXX> -> id, -1 when absent */
};

tok_unigram *tok_unigram_create(const tok_sp *sp, int byte_fallback) {
    tok_unigram *u = calloc(1, sizeof *u);
    int n = tok_sp_size(sp);
    if (!u || !(u->ids = tok_map_create((size_t)n))) {
        free(u);
        return NULL;
    }
    u->sp = sp;
    double min_score = DBL_MAX;
    for (int i = 0; i < n; i++) {
        const char *p = tok_sp_piece(sp, i);
        size_t len = strlen(p);
        if (tok_map_get(u->ids, p, len) < 0 && tok_map_put(u->ids, p, len, i)) {
            tok_unigram_destroy(u);
            return NULL;
        }
        if (len > u->max_len) u->max_len = len;
        double s = tok_sp_score(sp, i);
        if (s < min_score) min_score = s;
    }
    u->unk_score = (n ? min_score : 0.0) - 10.0;
    u->unk_id = tok_sp_unk_id(sp);
    u->byte_fallback = byte_fallback && tok_sp_byte_fallback(sp);
    for (int b = 0; b < 256; b++) {
        char name[8];
        snprintf(name, sizeof name, "<0x%02X>", b);
        u->byte_id[b] = tok_map_get(u->ids, name, 6);
    }
    return u;
}

void tok_unigram_destroy(tok_unigram *u) {
    if (!u) return;
    tok_map_destroy(u->ids);
    free(u);
}

typedef struct node {
    double score;
    size_t from; /* start byte of the best piece ending here */
    int id;      /* its id; -2: unreached */
} node;

static int emit_unknown(const tok_unigram *u, const char *w, size_t a, size_t b, tok_ids *out) {
    if (u->byte_fallback) {
        int all = 1;
        for (size_t i = a; i < b; i++) all &= u->byte_id[(unsigned char)w[i]] >= 0;
        if (all) {
            for (size_t i = a; i < b; i++)
                if (tok_ids_add(out, u->byte_id[(unsigned char)w[i]])) return -1;
            return 0;
        }
    }
    return tok_ids_add(out, u->unk_id);
}

int tok_unigram_encode(const tok_unigram *u, const char *w, size_t n, tok_ids *out) {
    if (n == 0) return 0;
    node *best = malloc((n + 1) * sizeof *best);
    size_t *starts = malloc((n + 1) * sizeof *starts);
    if (!best || !starts) {
        free(best);
        free(starts);
        return -1;
    }
    for (size_t i = 0; i <= n; i++) best[i] = (node){0.0, 0, -2};
    best[0].id = -1;
    for (size_t at = 0; at < n;) {
        size_t cl = utf8_char_len((const unsigned char *)w + at, n - at);
        if (!cl) cl = 1;
        if (best[at].id != -2) {
            double base = best[at].score;
            int single = 0;
            for (size_t end = at + 1; end <= n && end - at <= u->max_len; end++) {
                int id = tok_map_get(u->ids, w + at, end - at);
                if (id < 0) continue;
                double cand = base + tok_sp_score(u->sp, id);
                if (best[end].id == -2 || cand > best[end].score)
                    best[end] = (node){cand, at, id};
                if (end - at == cl) single = 1;
            }
            if (!single) {
                double cand = base + u->unk_score;
                if (best[at + cl].id == -2 || cand > best[at + cl].score)
                    best[at + cl] = (node){cand, at, u->unk_id};
            }
        }
        at += cl;
    }
    /* Backtrack the piece boundaries, then emit left to right fusing unknown runs. */
    size_t k = 0;
    for (size_t e = n; e > 0; e = best[e].from) starts[k++] = e;
    int rc = 0;
    size_t unk_from = 0;
    int in_unk = 0;
    for (size_t j = k; j-- > 0 && !rc;) {
        size_t end = starts[j], from = best[end].from;
        int id = best[end].id;
        if (id == u->unk_id) {
            if (!in_unk) unk_from = from;
            in_unk = 1;
            continue;
        }
        if (in_unk) {
            rc = emit_unknown(u, w, unk_from, from, out);
            in_unk = 0;
        }
        if (!rc) rc = tok_ids_add(out, id);
    }
    if (!rc && in_unk) rc = emit_unknown(u, w, unk_from, n, out);
    free(best);
    free(starts);
    return rc;
}
