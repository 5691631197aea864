#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/fault.h"
#include "common/relbias.h"
#include "common/dtype.h"
#include "common/quant.h"

/* Scores for one (head, query) row live in a stack buffer up to this many keys, else the heap. */
#define ATTN_STACK_KEYS 1024

/* Where the keys and values of one query live: contiguous fp32 rows, or a paged table over a
 * pool of dtype elements (FP8: with their scales, kv_layout's addressing). */
typedef struct kv_source {
    const void *k, *v;      /* contiguous: row 0; paged: block 0 of the layer */
    const int32_t *table;   /* paged block table, or NULL */
    size_t block_stride;
    int block_size, row, dtype;
    const float *k_scale, *v_scale; /* FP8 */
    size_t scale_stride;
    int heads;
} kv_source;

/* Element offset of row j of a paged table (kv_layout's addressing). */
static inline size_t paged_offset(const int32_t *table, int j, int block_size,
                                  size_t block_stride, int row) {
    return (size_t)table[j / block_size] * block_stride + (size_t)(j % block_size) * row;
}

static inline size_t kv_offset(const kv_source *s, int j) {
    if (!s->table) return (size_t)j * s->row;
    return paged_offset(s->table, j, s->block_size, s->block_stride, s->row);
}

/* Where the scale of head h of row pos lives in an FP8 pool's scales (kv_layout). */
static inline size_t scale_offset(const int32_t *table, int pos, int block_size,
                                  size_t scale_stride, int heads, int h) {
    return (size_t)table[pos / block_size] * scale_stride + (size_t)(pos % block_size) * heads + h;
}

/* Head h of key (or value) row j as d_kv fp32 values: a pointer into an fp32 pool, or the
 * 16-bit elements widened into buf, or the FP8 codes times their scale (scales: the FP8 pool's
 * K or V scales, matching base). */
static const float *kv_row(const kv_source *s, const void *base, const float *scales, int j,
                           int h, int d_kv, float *buf) {
    size_t at = kv_offset(s, j) + (size_t)h * d_kv;
    if (s->dtype == DTYPE_FP32) return (const float *)base + at;
    if (s->dtype == DTYPE_FP8) {
        float scale = scales[scale_offset(s->table, j, s->block_size, s->scale_stride, s->heads, h)];
        for (int d = 0; d < d_kv; d++)
            buf[d] = quant_e4m3_to_f32(((const uint8_t *)base)[at + d]) * scale;
        return buf;
    }
    for (int d = 0; d < d_kv; d++) buf[d] = cpu_widen(base, s->dtype, at + d);
    return buf;
}

/* One query row (all local heads) at position qpos over keys [0, n_k), written at element
 * out_at of out in p->out_type. 1 (nothing written) when its scratch could not be allocated. */
static int attend_one(const attn_params *p, const float *q, void *out, size_t out_at,
                       const kv_source *src, int n_k, int qpos) {
    float stack_buf[ATTN_STACK_KEYS], oh_buf[ATTN_STACK_KEYS], row_buf[ATTN_STACK_KEYS];
    float *sc = n_k <= ATTN_STACK_KEYS ? stack_buf : malloc(sizeof(float) * (size_t)n_k);
    float *oh = p->d_kv <= ATTN_STACK_KEYS ? oh_buf : malloc(sizeof(float) * (size_t)p->d_kv);
    float *rb = p->d_kv <= ATTN_STACK_KEYS ? row_buf : malloc(sizeof(float) * (size_t)p->d_kv);
    int failed = !sc || !oh || !rb;
    int n_vis = p->causal ? (qpos + 1 < n_k ? qpos + 1 : n_k) : n_k;
    for (int h = 0; !failed && h < p->heads; h++) {
        const float *qh = q + (size_t)h * p->d_kv;
        float mx = -FLT_MAX;
        for (int j = 0; j < n_vis; j++) {
            const float *kj = kv_row(src, src->k, src->k_scale, j, h, p->d_kv, rb);
            float s = 0.0f;
            for (int d = 0; d < p->d_kv; d++) s += qh[d] * kj[d];
            s *= p->scale;
            if (p->rel_bias) {
                int b = relbias_bucket(j - qpos, p->bidirectional, p->buckets, p->max_distance);
                s += p->rel_bias[(size_t)b * p->rel_ld + h];
            }
            sc[j] = s;
            if (s > mx) mx = s;
        }
        float sum = 0.0f;
        for (int j = 0; j < n_vis; j++) {
            sc[j] = expf(sc[j] - mx);
            sum += sc[j];
        }
        float inv = 1.0f / sum;
        for (int d = 0; d < p->d_kv; d++) oh[d] = 0.0f;
        for (int j = 0; j < n_vis; j++) {
            const float *vj = kv_row(src, src->v, src->v_scale, j, h, p->d_kv, rb);
            float w = sc[j] * inv;
            for (int d = 0; d < p->d_kv; d++) oh[d] += w * vj[d];
        }
        for (int d = 0; d < p->d_kv; d++)
            cpu_store(out, p->out_type, out_at + (size_t)h * p->d_kv + d, oh[d]);
    }
    if (sc != stack_buf) free(sc);
    if (oh != oh_buf) free(oh);
    if (rb != row_buf) free(rb);
    return failed;
}

void cpu_attention_prefill(const attn_params *p, const float *q, const float *k, const float *v,
                           void *out, int n_seqs, const int32_t *off, const int32_t *len) {
    if (fault_op_begin("attention_prefill") ||
        fault_dtype_reject("attention_prefill", "out_type", p->out_type))
        return;
    for (int s = 0; s < n_seqs; s++) {
        size_t base = (size_t)off[s] * p->row;
        kv_source src = {.k = k + base, .v = v + base, .row = p->row, .dtype = DTYPE_FP32};
        for (int t = 0; t < len[s]; t++)
            if (attend_one(p, q + base + (size_t)t * p->row, out, base + (size_t)t * p->row,
                           &src, len[s], t)) {
                fault_record_set("attention_prefill", "out of memory for %d keys", len[s]);
                return;
            }
    }
}

/* Row x (kv->row floats) into the pool's K (which = 0) or V at position pos of table; FP8: per
 * head, its scale and codes (kv_layout). */
static void store_row(const kv_layout *kv, int which, const int32_t *table, int pos,
                      const float *x) {
    size_t at = paged_offset(table, pos, kv->block_size, kv->block_stride, kv->row);
    void *base = which ? kv->v : kv->k;
    if (kv->dtype != DTYPE_FP8) {
        for (int d = 0; d < kv->row; d++) cpu_store(base, kv->dtype, at + d, x[d]);
        return;
    }
    int d_kv = kv->row / kv->heads;
    float *scales = which ? kv->v_scale : kv->k_scale;
    for (int h = 0; h < kv->heads; h++) {
        const float *xh = x + (size_t)h * d_kv;
        float amax = 0.0f;
        for (int d = 0; d < d_kv; d++) amax = fmaxf(amax, fabsf(xh[d])); /* NaN: skipped */
        float scale = amax > 0.0f && isfinite(amax) ? amax / 448.0f : 1.0f;
        scales[scale_offset(table, pos, kv->block_size, kv->scale_stride, kv->heads, h)] = scale;
        quant_row_encode(QUANT_FP8, xh, (size_t)d_kv, scale, (uint8_t *)base + at + (size_t)h * d_kv);
    }
}

/* Records a fault unless dtype is a KV pool dtype this backend stores; 1 when rejected. */
static int kv_dtype_reject(const char *op, int dtype) {
    return dtype != DTYPE_FP8 && fault_dtype_reject(op, "kv dtype", dtype);
}

void cpu_attention_paged(const attn_params *p, const float *q, void *out, int n,
                         const kv_layout *kv, const kv_append *append, const int32_t *blocks,
                         const int32_t *table_off, const int32_t *n_k, const int32_t *q_pos) {
    if (fault_op_begin("attention_paged") ||
        fault_dtype_reject("attention_paged", "out_type", p->out_type) ||
        kv_dtype_reject("attention_paged", kv->dtype))
        return;
    size_t q_ld = p->q_ld ? (size_t)p->q_ld : (size_t)p->row;
    for (int i = 0; append && i < n; i++) {
        store_row(kv, 0, blocks + table_off[i], q_pos[i], append->k + (size_t)i * append->ld);
        store_row(kv, 1, blocks + table_off[i], q_pos[i], append->v + (size_t)i * append->ld);
    }
    for (int i = 0; i < n; i++) {
        kv_source src = {.k = kv->k, .v = kv->v, .table = blocks + table_off[i],
                         .block_stride = kv->block_stride, .block_size = kv->block_size,
                         .row = kv->row, .dtype = kv->dtype, .k_scale = kv->k_scale,
                         .v_scale = kv->v_scale, .scale_stride = kv->scale_stride,
                         .heads = kv->heads};
        if (attend_one(p, q + (size_t)i * q_ld, out, (size_t)i * p->row, &src, n_k[i],
                       q_pos[i])) {
            fault_record_set("attention_paged", "out of memory for %d keys", n_k[i]);
            return;
        }
    }
}

void cpu_kv_scatter(const float *src, int n, const kv_layout *kv, int which,
                    const int32_t *blocks, const int32_t *table_off, const int32_t *pos) {
    if (fault_op_begin("kv_scatter") || kv_dtype_reject("kv_scatter", kv->dtype))
        return;
    for (int i = 0; i < n; i++)
        if (table_off[i] >= 0) /* else a row with no table (encode-only request) */
            store_row(kv, which, blocks + table_off[i], pos[i], src + (size_t)i * kv->row);
}
