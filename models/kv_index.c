#include "models/kv_index.h"

#include <stdlib.h>
#include <string.h>

struct kv_index {
    const backend *be;
    size_t len;       /* int32s in h and d: the tables, then the owner's region */
    size_t extra_at;  /* offset of the owner's region in h and d */
    int32_t *h;       /* [len] host: the plan's arrays, built by kv_index_upload */
    int32_t *d;       /* [len] backend int buffer: h as last uploaded (owned) */
    uint64_t plan_seq; /* seq of the plan whose arrays d holds; UINT64_MAX = none yet */
    kv_tables t;      /* pointers into d set by create; plan facts set by kv_index_upload */
};

ed_status kv_index_create(kv_index **out, const backend *be, int max_blocks, int max_rows,
                          int max_dec, size_t extra, ed_error *err) {
    kv_index *ix = calloc(1, sizeof *ix);
    if (!ix) return ed_fail(err, "out of memory");
    size_t R = (size_t)max_rows, B = (size_t)max_dec;
    ix->be = be;
    ix->extra_at = (size_t)max_blocks + 2 * R + 5 * B;
    ix->len = ix->extra_at + extra;
    ix->plan_seq = UINT64_MAX;
    ix->h = calloc(ix->len ? ix->len : 1, sizeof(int32_t));
    ix->d = be->alloc(ix->len * sizeof(int32_t));
    if (!ix->h || !ix->d) {
        size_t bytes = ix->len * sizeof(int32_t);
        kv_index_destroy(ix);
        return ed_fail(err, "cannot allocate %zu bytes of plan index tables", bytes);
    }
    const int32_t *d = ix->d;
    ix->t.blocks = d;
    ix->t.row_tab = ix->t.blocks + max_blocks;
    ix->t.row_pos = ix->t.row_tab + R;
    ix->t.self_tab = ix->t.row_pos + R;
    ix->t.cross_tab = ix->t.self_tab + B;
    ix->t.self_nk = ix->t.cross_tab + B;
    ix->t.cross_nk = ix->t.self_nk + B;
    ix->t.pos = ix->t.cross_nk + B;
    *out = ix;
    return ED_OK;
}

void kv_index_destroy(kv_index *ix) {
    if (!ix) return;
    if (ix->d) ix->be->free(ix->d);
    free(ix->h);
    free(ix);
}

/* Offset in h of a table, from its device pointer. */
static int32_t *host_of(kv_index *ix, const int32_t *dev) { return ix->h + (dev - ix->d); }

void kv_index_upload(kv_index *ix, const step_plan *p, kv_index_fill_fn fill, const void *ctx) {
    if (ix->plan_seq == p->seq) return;
    kv_tables *t = &ix->t;
    memcpy(host_of(ix, t->blocks), p->blocks, sizeof(int32_t) * (size_t)p->n_blocks);
    int32_t *row_tab = host_of(ix, t->row_tab), *row_pos = host_of(ix, t->row_pos);
    for (int e = 0; e < p->n_encode; e++)
        for (int i = 0; i < p->enc[e].len; i++) {
            row_tab[p->enc[e].ids_offset + i] = p->enc[e].cross_blocks;
            row_pos[p->enc[e].ids_offset + i] = i;
        }
    int32_t *self_tab = host_of(ix, t->self_tab), *cross_tab = host_of(ix, t->cross_tab);
    int32_t *self_nk = host_of(ix, t->self_nk), *cross_nk = host_of(ix, t->cross_nk);
    int32_t *pos = host_of(ix, t->pos);
    t->cross_run = t->max_self_keys = t->max_cross_keys = 0;
    for (int i = 0, run = 0; i < p->n_decode; i++) {
        const plan_decode *d = &p->dec[i], *prev = i ? &p->dec[i - 1] : NULL;
        run = prev && prev->cross_blocks == d->cross_blocks && prev->cross_len == d->cross_len
                  ? run + 1 : 1;
        if (run > t->cross_run) t->cross_run = run;
        self_tab[i] = d->self_blocks;
        cross_tab[i] = d->cross_blocks;
        self_nk[i] = d->pos + 1;
        cross_nk[i] = d->cross_len;
        pos[i] = d->pos;
        if (self_nk[i] > t->max_self_keys) t->max_self_keys = self_nk[i];
        if (cross_nk[i] > t->max_cross_keys) t->max_cross_keys = cross_nk[i];
    }
    if (fill) fill(ctx, p, ix->h + ix->extra_at);
    ix->be->upload_i32(ix->d, ix->h, ix->len);
    ix->plan_seq = p->seq;
}

const kv_tables *kv_index_tables(const kv_index *ix) { return &ix->t; }

const int32_t *kv_index_extra(const kv_index *ix) { return ix->d + ix->extra_at; }
