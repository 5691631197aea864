#include "runtime/kv_store.h"

#include <stdlib.h>

struct kv_store {
    const backend *be;
    int n_slots, n_layers, kv_dim, self_cap, cross_cap;
    float *self_buf;  /* [n_slots, n_layers, 2, self_cap, kv_dim] */
    float *cross_buf; /* [n_slots, n_layers, 2, cross_cap, kv_dim] */
    int *cross_len;   /* [n_slots] host */
    size_t bytes;
};

ed_status kv_store_create(kv_store **out, const backend *be, int n_slots, int n_layers, int kv_dim,
                          int self_cap, int cross_cap, ed_error *err) {
    kv_store *kv = calloc(1, sizeof *kv);
    if (!kv) return ed_fail(err, "out of memory");
    *kv = (kv_store){.be = be, .n_slots = n_slots, .n_layers = n_layers, .kv_dim = kv_dim,
                     .self_cap = self_cap, .cross_cap = cross_cap};
    size_t per = (size_t)n_slots * n_layers * 2 * kv_dim;
    size_t self_bytes = per * self_cap * sizeof(float), cross_bytes = per * cross_cap * sizeof(float);
    kv->self_buf = be->alloc(self_bytes);
    kv->cross_buf = be->alloc(cross_bytes);
    kv->cross_len = calloc((size_t)n_slots, sizeof(int));
    kv->bytes = self_bytes + cross_bytes;
    if (!kv->self_buf || !kv->cross_buf || !kv->cross_len) {
        kv_store_destroy(kv);
        return ed_fail(err, "cannot allocate %zu bytes of KV storage (%d slots; lower "
                            "max_batch_size, max_input_len or max_output_len)",
                       self_bytes + cross_bytes, n_slots);
    }
    *out = kv;
    return ED_OK;
}

void kv_store_destroy(kv_store *kv) {
    if (!kv) return;
    if (kv->self_buf) kv->be->free(kv->self_buf);
    if (kv->cross_buf) kv->be->free(kv->cross_buf);
    free(kv->cross_len);
    free(kv);
}

static float *region(float *buf, const kv_store *kv, int cap, int slot, int layer, int which) {
    size_t idx = ((size_t)slot * kv->n_layers + layer) * 2 + which;
    return buf + idx * cap * kv->kv_dim;
}

float *kv_self_k(kv_store *kv, int s, int l) { return region(kv->self_buf, kv, kv->self_cap, s, l, 0); }
float *kv_self_v(kv_store *kv, int s, int l) { return region(kv->self_buf, kv, kv->self_cap, s, l, 1); }
float *kv_cross_k(kv_store *kv, int s, int l) { return region(kv->cross_buf, kv, kv->cross_cap, s, l, 0); }
float *kv_cross_v(kv_store *kv, int s, int l) { return region(kv->cross_buf, kv, kv->cross_cap, s, l, 1); }
int kv_cross_len(const kv_store *kv, int slot) { return kv->cross_len[slot]; }
void kv_set_cross_len(kv_store *kv, int slot, int len) { kv->cross_len[slot] = len; }
int kv_kv_dim(const kv_store *kv) { return kv->kv_dim; }
size_t kv_store_bytes(const kv_store *kv) { return kv->bytes; }
