#include <float.h>
#include <math.h>
#include <stdlib.h>

#include "kernels/cpu/cpu_ops.h"
#include "models/relbias.h"

/* Scores for one (head, query) row live in a stack buffer up to this many keys, else the heap. */
#define ATTN_STACK_KEYS 1024

/* Row j of K or V (base = a->k or a->v), contiguous or paged. */
static inline const float *kv_row(const attn_desc *a, const float *base, int j) {
    if (!a->kv_blocks) return base + (size_t)j * a->kv_stride;
    return base + (size_t)a->kv_blocks[j / a->block_size] * a->block_stride +
           (size_t)(j % a->block_size) * a->kv_stride;
}

void cpu_attention(const attn_desc *a) {
    float stack_buf[ATTN_STACK_KEYS];
    float *p = a->n_k <= ATTN_STACK_KEYS ? stack_buf : malloc(sizeof(float) * (size_t)a->n_k);
    for (int h = 0; h < a->heads; h++) {
        for (int i = 0; i < a->n_q; i++) {
            const float *qi = a->q + (size_t)i * a->q_stride + (size_t)h * a->d_kv;
            int qpos = a->q_pos0 + i;
            int n_vis = a->causal ? (qpos + 1 < a->n_k ? qpos + 1 : a->n_k) : a->n_k;
            float mx = -FLT_MAX;
            for (int j = 0; j < n_vis; j++) {
                const float *kj = kv_row(a, a->k, j) + (size_t)h * a->d_kv;
                float s = 0.0f;
                for (int d = 0; d < a->d_kv; d++) s += qi[d] * kj[d];
                s *= a->scale;
                if (a->rel_bias) {
                    int b = relbias_bucket(j - qpos, a->bidirectional, a->buckets, a->max_distance);
                    s += a->rel_bias[(size_t)b * a->rel_ld + h];
                }
                p[j] = s;
                if (s > mx) mx = s;
            }
            float sum = 0.0f;
            for (int j = 0; j < n_vis; j++) {
                p[j] = expf(p[j] - mx);
                sum += p[j];
            }
            float inv = 1.0f / sum;
            float *oi = a->out + (size_t)i * a->out_stride + (size_t)h * a->d_kv;
            for (int d = 0; d < a->d_kv; d++) oi[d] = 0.0f;
            for (int j = 0; j < n_vis; j++) {
                const float *vj = kv_row(a, a->v, j) + (size_t)h * a->d_kv;
                float w = p[j] * inv;
                for (int d = 0; d < a->d_kv; d++) oi[d] += w * vj[d];
            }
        }
    }
    if (p != stack_buf) free(p);
}
