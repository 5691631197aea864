#include "models/kv_store.h"

#include <stdlib.h>

#include "common/dtype.h"

struct kv_store {
    const backend *be;
    int n_layers, heads, d_kv, block_size, dtype;
    void *pool[2]; /* KV_SELF, KV_CROSS */
    size_t bytes;
};

/* Bytes of one block's elements (all layers, K and V); FP8 pools keep them 16-byte aligned, their
 * scales following. */
static size_t element_bytes(int n_layers, int kv_dim, int block_size, int dtype) {
    size_t b = (size_t)n_layers * 2 * block_size * kv_dim * dtype_bytes(dtype);
    return dtype == DTYPE_FP8 ? (b + 15) & ~(size_t)15 : b;
}

size_t kv_block_bytes(int n_layers, int heads, int d_kv, int block_size, int dtype) {
    size_t b = element_bytes(n_layers, heads * d_kv, block_size, dtype);
    if (dtype == DTYPE_FP8) b += (size_t)n_layers * 2 * block_size * heads * sizeof(float);
    return b;
}

ed_status kv_store_create(kv_store **out, const backend *be, int n_layers, int heads, int d_kv,
                          int block_size, int dtype, int n_self_blocks, int n_cross_blocks,
                          ed_error *err) {
    kv_store *kv = calloc(1, sizeof *kv);
    if (!kv) return ed_fail(err, "out of memory");
    *kv = (kv_store){.be = be, .n_layers = n_layers, .heads = heads, .d_kv = d_kv,
                     .block_size = block_size, .dtype = dtype};
    size_t per = kv_block_bytes(n_layers, heads, d_kv, block_size, dtype);
    size_t self_bytes = per * n_self_blocks, cross_bytes = per * n_cross_blocks;
    kv->pool[KV_SELF] = be->alloc(self_bytes);
    kv->pool[KV_CROSS] = be->alloc(cross_bytes);
    kv->bytes = self_bytes + cross_bytes;
    if (!kv->pool[KV_SELF] || !kv->pool[KV_CROSS]) {
        kv_store_destroy(kv);
        return ed_fail(err, "cannot allocate %zu bytes of KV pools (lower kv_memory)",
                       self_bytes + cross_bytes);
    }
    *out = kv;
    return ED_OK;
}

void kv_store_destroy(kv_store *kv) {
    if (!kv) return;
    for (int i = 0; i < 2; i++)
        if (kv->pool[i]) kv->be->free(kv->pool[i]);
    free(kv);
}

kv_layout kv_store_layout(kv_store *kv, kv_pool_id pool, int layer) {
    int kv_dim = kv->heads * kv->d_kv;
    size_t part = (size_t)kv->block_size * kv_dim; /* elements of one K (or V) block part */
    size_t esize = dtype_bytes(kv->dtype);
    size_t block = kv_block_bytes(kv->n_layers, kv->heads, kv->d_kv, kv->block_size, kv->dtype);
    char *k = (char *)kv->pool[pool] + (size_t)layer * 2 * part * esize;
    kv_layout l = {.k = k, .v = k + part * esize, .block_stride = block / esize,
                   .block_size = kv->block_size, .row = kv_dim, .dtype = kv->dtype,
                   .heads = kv->heads};
    if (kv->dtype == DTYPE_FP8) {
        size_t scale_part = (size_t)kv->block_size * kv->heads; /* floats */
        float *scales = (float *)((char *)kv->pool[pool] +
                                  element_bytes(kv->n_layers, kv_dim, kv->block_size, kv->dtype));
        l.k_scale = scales + (size_t)layer * 2 * scale_part;
        l.v_scale = l.k_scale + scale_part;
        l.scale_stride = block / sizeof(float);
    }
    return l;
}

size_t kv_store_bytes(const kv_store *kv) { return kv->bytes; }

void kv_store_copy_block(kv_store *kv, kv_pool_id pool, int32_t src, int32_t dst) {
    size_t bytes = kv_block_bytes(kv->n_layers, kv->heads, kv->d_kv, kv->block_size, kv->dtype);
    char *base = kv->pool[pool];
    /* The backend copies 4-byte words; a block holds an even number of 16-bit elements (K and
     * V), and an FP8 block 16-byte aligned codes and fp32 scales. */
    kv->be->copy((float *)(base + (size_t)dst * bytes), (const float *)(base + (size_t)src * bytes),
                 bytes / sizeof(float));
}
