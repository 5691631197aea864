/* The CUDA backend's launchers (extern "C", defined in the .cu files of this folder, one per op
 * family, named like their CPU twins) and the backend's shared state. All launches go to the
 * backend's one stream; buffers are device memory: fp32 activations, weight matrices in their
 * wtype (kernels/backend.h). */
#ifndef ENCDEC_CUDA_OPS_H
#define ENCDEC_CUDA_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"
#include "kernels/fault.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The stream every op and the NCCL communicator use (a cudaStream_t). */
void *cuda_backend_stream(void);

/* Programmatic dependent launch (pdl.cuh) for the kernels that follow its contract: on from
 * compute capability 9.0 unless ENCDEC_PDL=0 (read by cuda_backend_init); cuda_pdl_set is the
 * A/B switch of probes and tests (0 off, 1 on; on needs a 9.0 device). */
int cuda_pdl_enabled(void);
void cuda_pdl_set(int on);

/* Faults (kernels/fault.h): every op starts with `if (fault_op_begin("<op>")) return;` (its
 * name in the backend table) and follows every <<<>>> launch with CUDA_LAUNCH_CHECK("<op>"),
 * every runtime call with CUDA_CALL_CHECK("<op>", call): a failure records "<op>: [<call>: ]
 * <CUDA error string>" (plus the last op launched when that is another one: a sticky fault of
 * an earlier kernel) and clears the runtime's last error; both are 1 on a failure, else 0.
 * cudaGetLastError is a host call: no synchronization is added. */
int cuda_fault_record(int cuda_error, const char *op, const char *call);
static inline int cuda_fault_check(int cuda_error, const char *op, const char *call) {
    return cuda_error ? cuda_fault_record(cuda_error, op, call) : 0;
}
#define CUDA_LAUNCH_CHECK(op) cuda_fault_check((int)cudaGetLastError(), op, NULL)
#define CUDA_CALL_CHECK(op, call) cuda_fault_check((int)(call), op, #call)

/* cuBLASLt's handle and workspace; ED_ERR naming the call that failed. */
ed_status cuda_gemm_init(ed_error *err);
void cuda_reserve_gemm_input(size_t n); /* GEMM-input scratch for n elements, allocated now */
/* Since start: cuBLASLt plans whose candidates were timed (m >= 512), and plans that took the
 * algorithm timed for their class of m instead (tests). */
void cuda_gemm_tuning_counts(long *timed, long *adopted);
void cuda_matmul_wt(const void *x, const void *w, int wtype, const float *bias, float *y,
                   int m, int n, int k, int flags);
void cuda_matmul_gated(int act, const void *x, const void *w, int wtype, float *prod, void *y,
                       int ytype, int m, int f, int k, int flags);
/* The decode GEMV family (gemm_decode.cu): y = x w^T for 16-bit weights and m <= DECODE_GEMV_ROWS,
 * as matmul_wt (bias or NULL, ytype fp32, act unused; flags MATMUL_ACCUMULATE, MATMUL_X_IN_WTYPE,
 * MATMUL_RELU_TO_BF16 with bf16 weights) or, gated, as matmul_gated (n = f: y [m, f] in ytype).
 * Returns 1 when it launched the kernel (the caller checks the launch), 0 when the shape or
 * operands are not its own (m, fp32 weights, k not a multiple of 8, x or w not 16-byte
 * aligned, a shape where it was measured slower than cuBLASLt) or it is off (the default
 * without PDL, ENCDEC_DECODE_GEMV=0): the caller then uses cuBLASLt. */
#define DECODE_GEMV_ROWS 16
int cuda_decode_gemv(const void *x, const void *w, int wtype, const float *bias, void *y,
                     int ytype, int act, int m, int n, int k, int flags, int gated);
/* The same for matmul_wq's codes (quant: QUANT_INT8, QUANT_FP8) with a 16-bit xtype: each
 * code widened exactly to xtype in registers, the sums times scale[j] (flags MATMUL_ACCUMULATE,
 * MATMUL_X_IN_WTYPE); 0 where it does not apply (fewer rows than it takes, xtype fp32, k not a
 * multiple of 16, among the reasons above). */
int cuda_decode_gemv_q(const void *x, int xtype, const uint8_t *q, int quant, const float *scale,
                       float *y, int m, int n, int k, int flags);
/* The same as matmul_wq_gated computes it (the gate and lin matrices' sums, their row scales
 * and the activation in one kernel; y [m, f] in ytype; flags MATMUL_X_IN_WTYPE); 0 where it
 * does not apply. */
int cuda_decode_gemv_q_gated(int act, const void *x, int xtype, const uint8_t *q_gate,
                             const float *s_gate, const uint8_t *q_lin, const float *s_lin,
                             int quant, void *y, int ytype, int m, int f, int k, int flags);
/* A/B switch for probes and tests, as ENCDEC_DECODE_GEMV: 0 off, 1 16-bit matrices of up to
 * 8 MB, 2 every shape it can take, 3 the default with PDL (gemm_decode.cu's applies()). */
void cuda_decode_gemv_set(int on);
/* The family's cross-block scratch (a few MB), allocated now if it is not yet: before a graph
 * is recorded (cuda_reserve_gemm_input calls it). Without it, launches do not split k over
 * blocks. */
void cuda_decode_gemv_reserve(void);
/* x [n elements] as a GEMM input in wtype, as matmul_wt takes it under `flags`: x itself (fp32
 * wtype, or MATMUL_X_IN_WTYPE), else its rounding into the GEMM-input scratch (reused under
 * MATMUL_SAME_INPUT when it still holds x's). NULL (a fault recorded) on a failure. */
const void *cuda_gemm_input(const void *x, int wtype, size_t n, int flags);
/* The GEMM-input scratch for n 16-bit values its caller writes itself (a GEMM input made by a
 * producer, used with MATMUL_X_IN_WTYPE); it no longer holds any x's rounding. NULL (a fault
 * recorded) when it cannot hold n. */
void *cuda_gemm_input_scratch(size_t n);
/* backend.h's rms_matmul and rms_matmul_gated (gemm_decode.cu). */
void cuda_rms_matmul(const normed_input *in, const void *w, int wtype, const float *bias,
                     float *y, int m, int n, int k, int flags);
void cuda_rms_matmul_gated(int act, const normed_input *in, const void *w, int wtype,
                           float *prod, void *y, int ytype, int m, int f, int k);
/* prod[m, n] = sum_k value(xq[r, k]) value(wq[j, k]): E4M3 codes of x [m, k] and w [n, k],
 * unscaled, fp32 sums on FP8 tensor cores (gemm.cu). 0 done; 1 not available for this shape or
 * GPU (nothing launched, no fault); -1 failed (a fault recorded). */
int cuda_matmul_fp8(const uint8_t *xq, const uint8_t *wq, float *prod, int m, int n, int k);
/* y [m, n] (+)= sx[r] sw[j] (xq wq^T)[r, j]: the same codes times both rows' scales, applied by
 * cuBLASLt (outer-vector scales) into y (accumulate: beta 1). Its algorithms, where several, are
 * timed into tune_into (fp32 [m, n] scratch, beta 0) at the first call of the shape. 0 done; 1
 * not available for this shape or cuBLAS (nothing written: the caller's other path); -1 failed
 * (a fault recorded). */
int cuda_matmul_fp8_scaled(const uint8_t *xq, const float *sx, const uint8_t *wq, const float *sw,
                           float *y, int m, int n, int k, int accumulate, float *tune_into);
/* Whether cuda_matmul_fp8 has an algorithm for this shape on this GPU: 1 yes, 0 no, -1 failed
 * (a fault recorded). Its plan is made once per shape, here or at the first call. */
int cuda_fp8_gemm_ready(int m, int n, int k);
/* The same for cuda_matmul_fp8_scaled (0 also where this cuBLAS has no outer-vector scales). */
int cuda_fp8_scaled_ready(int m, int n, int k);
/* What cuBLASLt answered for the last FP8 plan made (shape, heuristic status, results): tests. */
const char *cuda_fp8_gemm_why(void);
/* matmul_wq's calls that took the FP8 tensor-core path so far (tests). */
long cuda_wq_fp8_calls(void);
/* Chunks of x's rows whose FP8 GEMM had its scales applied by cuBLASLt so far (tests). */
long cuda_wq_fp8_scaled_chunks(void);
/* Which FP8 chunks take cuBLASLt's scales: 0 none, 1 encoder-size ones (>= 512 rows), 2 all;
 * -1: ENCDEC_FP8_SCALED again (unset: 1). */
void cuda_fp8_scaled_set(int mode);
/* Weight-only int8 / fp8 matrices and tables (gemm_wq.cu): kernels/backend.h's matmul_wq and
 * embed_q. */
void cuda_matmul_wq(const void *x, int xtype, const uint8_t *q, int quant, const float *scale,
                    float *y, int m, int n, int k, int flags);
void cuda_matmul_wq_gated(int act, const void *x, int xtype, const uint8_t *q_gate,
                          const float *s_gate, const uint8_t *q_lin, const float *s_lin,
                          int quant, float *prod, void *y, int ytype, int m, int f, int k,
                          int flags);
void cuda_embed_q(const uint8_t *table, int quant, const float *scale, const int32_t *ids, int n,
                  int d, float *y);
void cuda_embed(const void *table, int wtype, const int32_t *ids, int n, int d, float *y);
void cuda_rms_norm(float *x, const float *delta, const float *w, float eps, int rows, int d, void *y, int ytype);
void cuda_layer_norm(float *x, const float *delta, const float *w, const float *b, float eps,
                     int rows, int d, void *y, int ytype);
void cuda_add(float *y, const float *x, size_t n);
void cuda_scale(float *y, float s, size_t n);
void cuda_add_bias(float *y, const float *b, int rows, int n);
void cuda_activation(int act, const float *x, void *y, int ytype, size_t n);
void cuda_gated_activation(int act, const float *gate, const float *lin, size_t ld,
                           void *y, int ytype, size_t rows, size_t cols);
void cuda_argmax_rows(const float *x, int rows, int n, int index_base, const int32_t *ban,
                      float *out);
void cuda_topk_rows(const float *x, int rows, int n, int index_base, const int32_t *ban, int k,
                   float *out);
void cuda_attention_prefill(const attn_params *p, const float *q, const float *k, const float *v,
                            void *out, int n_seqs, const int32_t *off, const int32_t *len);
/* The tensor-core prefill (attention_mma.cu); 0 when p does not allow it (no tf32, causal,
 * heads wider than 128) and nothing was launched. */
int cuda_attention_prefill_tf32(const attn_params *p, const float *q, const float *k,
                                const float *v, void *out, int n_seqs, const int32_t *off,
                                const int32_t *len);
/* Decoder attention; from DECODE_WARP_ITEMS (entry, head) items on, one warp per item instead of
 * one 128-thread block (attention_decode.cu). */
#define DECODE_WARP_ITEMS 2048
void cuda_attention_paged(const attn_params *p, const float *q, void *out, int n,
                          const kv_layout *kv, const kv_append *append, const int32_t *blocks,
                          const int32_t *table_off, const int32_t *n_k, const int32_t *q_pos);
/* Its cross-attention (no causal mask, bias or appended row, no shared tables) over 16-bit pools
 * with heads 32, 64 or 128 wide, in a single pass over the keys (attention_cross_warp.cu): one
 * warp per item from DECODE_WARP_ITEMS items on, a block of four warps per item below; 0 when
 * it does not apply and nothing was launched. Measured on an H100 (docs/PERFORMANCE.md): 3-13%
 * faster than the two-pass warps from 128 keys (up to 9% slower below 64 keys at some shapes),
 * 20-33% faster than the two-pass blocks for flan-t5-xl batch 1-32. */
int cuda_attention_cross_warp(const attn_params *p, const float *q, void *out, int n,
                              const kv_layout *kv, const int32_t *blocks, const int32_t *table_off,
                              const int32_t *n_k);
/* Decode attention's split-key scratch for steps of up to `entries` entries of `heads` heads
 * over at most max_keys keys, allocated now and kept (recorded graphs hold its address). */
void cuda_reserve_decode_split(int entries, int heads, int max_keys, int d_kv);
void cuda_kv_scatter(const float *src, int n, const kv_layout *kv, int which,
                     const int32_t *blocks, const int32_t *table_off, const int32_t *pos);

#ifdef __cplusplus
}
#endif

#endif
