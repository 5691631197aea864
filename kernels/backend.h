/* The backend: a table of function pointers that the model code calls for every op. Model code
 * never includes a CUDA header; the CPU backend (kernels/cpu/) is plain C + OpenBLAS, and the
 * CUDA backend (kernels/cuda/, its own issue) fills the same table with launchers.
 * Buffers are backend memory obtained from alloc(); in the CPU backend they hold fp32.
 * All shapes are row-major; "[m, k]" means m rows of k contiguous floats. */
#ifndef ENCDEC_BACKEND_H
#define ENCDEC_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/status.h"

/* One attention call for one sequence over the local heads of this rank.
 * Row i of q/out and row j of k/v hold all local heads: head h at columns [h*d_kv, (h+1)*d_kv).
 * score(i, j) = scale * q_i . k_j + bias(h, bucket(j - (q_pos0 + i)))  (bias only if rel_bias)
 * causal: key j is visible to query i iff j <= q_pos0 + i.
 * K/V are contiguous rows (kv_blocks NULL) or paged: row j lives in block kv_blocks[j / block_size]
 * at k + kv_blocks[..] * block_stride + (j % block_size) * kv_stride (runtime/kv_store.h). */
typedef struct attn_desc {
    const float *q;      /* [n_q, q_stride], first heads*d_kv columns used */
    const float *k, *v;  /* [n_k, kv_stride], or block 0 of a paged layer */
    const int32_t *kv_blocks; /* block table (host memory), or NULL for contiguous K/V */
    int block_size;
    size_t block_stride; /* floats between consecutive blocks */
    float *out;          /* [n_q, out_stride] */
    int q_stride, kv_stride, out_stride;
    int n_q, n_k, heads, d_kv;
    float scale;
    int q_pos0;
    int causal;
    const float *rel_bias; /* [buckets, rel_ld]: bucket table; this rank's head 0 is column 0 */
    int rel_ld;            /* row stride of rel_bias (= local heads) */
    int buckets, max_distance, bidirectional;
} attn_desc;

typedef struct backend {
    const char *name;
    void *(*alloc)(size_t bytes);                /* zero-filled; NULL when out of memory */
    void (*free)(void *buf);
    size_t (*free_memory)(void);                 /* bytes free for new buffers, for kv_memory */
    void (*upload)(void *dst, const float *src, size_t n);   /* host fp32 -> buffer */
    void (*download)(float *dst, const void *src, size_t n); /* buffer -> host fp32 */
    void (*copy)(float *dst, const float *src, size_t n);    /* buffer -> buffer */
    /* y[m, n] = x[m, k] @ w[n, k]^T, or y += that when accumulate. */
    void (*matmul_wt)(const float *x, const float *w, float *y, int m, int n, int k,
                      int accumulate);
    /* y[i, :] = table[ids[i], :] for i < n; table is [V, d]; ids in host memory. */
    void (*embed)(const float *table, const int32_t *ids, int n, int d, float *y);
    /* y[r, :] = x[r, :] * rsqrt(mean(x[r, :]^2) + eps) * w  (T5LayerNorm / RMSNorm).
     * x and y may be the same buffer (as for layer_norm). */
    void (*rms_norm)(const float *x, const float *w, float eps, int rows, int d, float *y);
    /* y[r, :] = (x[r, :] - mean) * rsqrt(var + eps) * w + b  (nn.LayerNorm, biased variance). */
    void (*layer_norm)(const float *x, const float *w, const float *b, float eps, int rows, int d,
                       float *y);
    /* y[r, :] += b for r < rows; y is [rows, n]. */
    void (*add_bias)(float *y, const float *b, int rows, int n);
    void (*add)(float *y, const float *x, size_t n);   /* y += x */
    void (*scale)(float *y, float s, size_t n);        /* y *= s */
    void (*activation)(int act, float *x, size_t n);   /* in place, act_kind */
    /* y = act(gate) * lin, elementwise. */
    void (*gated_activation)(int act, const float *gate, const float *lin, float *y, size_t n);
    void (*attention)(const attn_desc *a);
} backend;

/* The backend for a config's backend_kind; an error names the key when it is not built in. */
const backend *backend_get(int backend_kind, ed_error *err);

extern const backend backend_cpu;

#endif
