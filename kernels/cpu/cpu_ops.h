/* The CPU backend's ops (fp32 activations; weights fp32, or 16-bit for tests), one file per op family; collected in backend_cpu.c. */
#ifndef ENCDEC_CPU_OPS_H
#define ENCDEC_CPU_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"

/* Element i of a weight buffer in wtype, as fp32. */
float cpu_widen(const void *w, int wtype, size_t i);
/* v rounded to wtype and back (fp16 saturating at +-65504), as GEMM inputs are. */
float cpu_round_to(float v, int wtype);
/* y[i] = v in ytype: fp32, or rounded to a 16-bit dtype as cpu_round_to rounds (the bits). */
void cpu_store(void *y, int ytype, size_t i, float v);
void cpu_matmul_wt(const void *x, const void *w, int wtype, const float *bias, float *y,
                  int m, int n, int k, int flags);
void cpu_matmul_wq(const void *x, int xtype, const uint8_t *q, int quant, const float *scale,
                   float *y, int m, int n, int k, int flags);
void cpu_matmul_wq_gated(int act, const void *x, int xtype, const uint8_t *q_gate,
                         const float *s_gate, const uint8_t *q_lin, const float *s_lin, int quant,
                         float *prod, void *y, int ytype, int m, int f, int k, int flags);
void cpu_embed(const void *table, int wtype, const int32_t *ids, int n, int d, float *y);
void cpu_embed_q(const uint8_t *table, int quant, const float *scale, const int32_t *ids, int n,
                 int d, float *y);
void cpu_rms_norm(float *x, const float *delta, const float *w, float eps, int rows, int d, void *y, int ytype);
/* One RMSNorm row: y[y0 + i] = w[i] * (xr[i] * inv) in ytype (cpu_store), inv from the row's
 * mean square (summed in double) and eps. */
void cpu_rms_row(const float *xr, const float *w, float eps, int d, void *y, int ytype, size_t y0);
void cpu_layer_norm(float *x, const float *delta, const float *w, const float *b, float eps,
                    int rows, int d, void *y, int ytype);
void cpu_activation(int act, const float *x, void *y, int ytype, size_t n);
void cpu_matmul_gated(int act, const void *x, const void *w, int wtype, float *prod, void *y,
                      int ytype, int m, int f, int k, int flags);
void cpu_rms_matmul(const normed_input *in, const void *w, int wtype, const float *bias, float *y,
                    int m, int n, int k, int flags);
void cpu_rms_matmul_gated(int act, const normed_input *in, const void *w, int wtype, float *prod,
                          void *y, int ytype, int m, int f, int k);
void cpu_gated_activation(int act, const float *gate, const float *lin, size_t ld,
                          void *y, int ytype, size_t rows, size_t cols);
void cpu_argmax_rows(const float *x, int rows, int n, int index_base, const int32_t *ban,
                     float *out);
void cpu_topk_rows(const float *x, int rows, int n, int index_base, const int32_t *ban, int k,
                  float *out);
void cpu_attention_prefill(const attn_params *p, const float *q, const float *k, const float *v,
                           void *out, int n_seqs, const int32_t *off, const int32_t *len);
void cpu_attention_paged(const attn_params *p, const float *q, void *out, int n,
                         const kv_layout *kv, const kv_append *append, const int32_t *blocks,
                         const int32_t *table_off, const int32_t *n_k, const int32_t *q_pos);
void cpu_kv_scatter(const float *src, int n, const kv_layout *kv, int which,
                    const int32_t *blocks, const int32_t *table_off, const int32_t *pos);

#endif
