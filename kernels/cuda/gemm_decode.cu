// The decode GEMV family: matmul_wt and matmul_gated (kernels/backend.h) for 16-bit weights
// when m <= DECODE_GEMV_ROWS (a decoder step's rows), where cuBLASLt was measured latency-bound
// (docs/PERFORMANCE.md: 3.7 us for a 768 x 768 bf16 matrix at m = 1-8, whatever the algorithm).
//
// y[r, j] = sum_k x[r, k] w[j, k] for r < m, j < n: the weights streamed once, 16 bytes (8
// elements) per lane and load, GEMV_UNROLL loads in flight per lane before any is used; the m
// rows of x read through L1 (they are a few KB). A block is GEMV_WARPS warps; each output
// column j is computed by `splits` warps of a block, each over a contiguous slice of k (split-K
// where n alone would leave SMs idle), their sums added in shared memory in a fixed order:
// the same bits on every run and every graph replay.
//
// x is either fp32, rounded to the weight dtype as it is loaded (what matmul_wt's rounding pass
// does, fp16 saturating: half_types.cuh), or already in the weight dtype (MATMUL_X_IN_WTYPE).
// Products are fp32 sums of the rounded x times the weights, as the CPU twin's; only the order
// of the sums differs. Epilogues: store fp32; add to y (MATMUL_ACCUMULATE); bf16 max(0, .)
// (MATMUL_RELU_TO_BF16); gated: two dot products per column (rows j and f + j of a joint
// [2f, k] matrix), act(gate) * lin written in ytype.
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/half_types.cuh"

#define STREAM ((cudaStream_t)cuda_backend_stream())

enum { GEMV_WARPS = 8, GEMV_UNROLL = 4, GEMV_VEC = 8 /* 16-bit elements per 16-byte load */ };
enum { EPI_STORE, EPI_ACCUMULATE, EPI_RELU_BF16, EPI_GATED };

/* 8 consecutive x values of row r at column c, as the GEMM multiplies them: rounded to WT (from
 * fp32) or read as WT, widened to fp32. */
template <typename WT>
__device__ __forceinline__ void load_x8(const float *x, float *out) {
    const float4 a = *(const float4 *)x, b = *(const float4 *)(x + 4);
    const float v[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
    for (int e = 0; e < 8; e++) out[e] = to_f32(from_f32<WT>(v[e]));
}
template <typename WT>
__device__ __forceinline__ void load_x8(const WT *x, float *out) {
    widen<WT, 8>(*(const vec_of<WT, 8> *)x, out);
}

/* Sums of this warp's slice [kb, ke) of k for weight rows w_rows[t] (NW of them: 1, or gate
 * and lin) against the m rows of x, into acc[t][r] (this lane's part). */
template <typename WT, typename XT, int M, int NW>
__device__ __forceinline__ void gemv_slice(const XT *__restrict__ x, int m, int k,
                                           const WT *const (&w_rows)[NW], int kb, int ke,
                                           float (&acc)[NW][M]) {
    const int lane = threadIdx.x % 32;
    for (int c0 = kb + lane * GEMV_VEC; c0 < ke; c0 += 32 * GEMV_VEC * GEMV_UNROLL) {
        uint4 raw[NW][GEMV_UNROLL];
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            const int c = c0 + u * 32 * GEMV_VEC;
#pragma unroll
            for (int t = 0; t < NW; t++)
                raw[t][u] = c < ke ? __ldcs((const uint4 *)(w_rows[t] + c)) : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            const int c = c0 + u * 32 * GEMV_VEC;
            if (c >= ke) break;
            float wf[NW][GEMV_VEC];
#pragma unroll
            for (int t = 0; t < NW; t++) {
                vec_of<WT, 8> v;
                memcpy(&v, &raw[t][u], sizeof v);
                widen<WT, 8>(v, wf[t]);
            }
#pragma unroll
            for (int r = 0; r < M; r++) {
                if (r >= m) break;
                float xf[GEMV_VEC];
                load_x8<WT>(x + (size_t)r * k + c, xf);
#pragma unroll
                for (int t = 0; t < NW; t++)
#pragma unroll
                    for (int e = 0; e < GEMV_VEC; e++) acc[t][r] = fmaf(wf[t][e], xf[e], acc[t][r]);
            }
        }
    }
}

/* Block b computes columns [b * cols, (b + 1) * cols) of y, cols = GEMV_WARPS / splits; warp w
 * takes column b * cols + w / splits over slice w % splits of k (kchunk elements, a multiple
 * of GEMV_VEC). n: y's columns (gated: f, the matrix has 2f rows). */
template <typename WT, typename XT, int M, int EPI>
__global__ void __launch_bounds__(GEMV_WARPS * 32)
decode_gemv_kernel(const XT *__restrict__ x, int m, const WT *__restrict__ w, void *y,
                   int ytype, int act, int n, int k, int splits, int kchunk) {
    constexpr int NW = EPI == EPI_GATED ? 2 : 1;
    const int warp = threadIdx.x / 32, cols = GEMV_WARPS / splits;
    const int j = blockIdx.x * cols + warp / splits, part = warp % splits;
    float acc[NW][M];
#pragma unroll
    for (int t = 0; t < NW; t++)
#pragma unroll
        for (int r = 0; r < M; r++) acc[t][r] = 0.0f;
    if (j < n) {
        const WT *rows[NW];
        rows[0] = w + (size_t)j * k;
        if (NW == 2) rows[NW - 1] = w + ((size_t)n + j) * k;
        const int kb = part * kchunk, ke = kb + kchunk < k ? kb + kchunk : k;
        gemv_slice<WT, XT, M, NW>(x, m, k, rows, kb, ke, acc);
    }
    __shared__ float partial[GEMV_WARPS][NW][M];
#pragma unroll
    for (int t = 0; t < NW; t++)
#pragma unroll
        for (int r = 0; r < M; r++) {
            const float v = warp_reduce(acc[t][r], 0);
            if (threadIdx.x % 32 == 0) partial[warp][t][r] = v;
        }
    __syncthreads();
    const int i = threadIdx.x, col = i / M, r = i % M, jj = blockIdx.x * cols + col;
    if (col >= cols || r >= m || jj >= n) return;
    float s[NW];
#pragma unroll
    for (int t = 0; t < NW; t++) {
        s[t] = 0.0f;
        for (int p = 0; p < splits; p++) s[t] += partial[col * splits + p][t][r];
    }
    const size_t at = (size_t)r * n + jj;
    if (EPI == EPI_STORE) ((float *)y)[at] = s[0];
    else if (EPI == EPI_ACCUMULATE) ((float *)y)[at] += s[0];
    else if (EPI == EPI_RELU_BF16)
        ((__nv_bfloat16 *)y)[at] = from_f32<__nv_bfloat16>(s[0] > 0.0f ? s[0] : 0.0f);
    else store_as(y, ytype, at, act_apply(act, s[0]) * s[NW - 1]);
}

static int g_sms;      /* the device's SM count */
static int g_enabled = -1; /* -1: not read yet from ENCDEC_DECODE_GEMV */

extern "C" void cuda_decode_gemv_set(int on) { g_enabled = on; }

static int enabled(void) {
    if (g_enabled < 0) {
        const char *e = getenv("ENCDEC_DECODE_GEMV");
        g_enabled = !(e && !strcmp(e, "0"));
    }
    return g_enabled;
}

/* splits: k cut in 1, 2, 4 or 8 slices, more while the blocks would not fill the SMs twice and
 * each slice keeps at least one load per lane. */
static int splits_for(int n, int k) {
    if (!g_sms) {
        int dev = 0;
        cudaGetDevice(&dev);
        if (cudaDeviceGetAttribute(&g_sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess)
            g_sms = 132;
    }
    int splits = 1;
    while (splits < GEMV_WARPS && (long)n * splits / GEMV_WARPS < 2L * g_sms &&
           k / (2 * splits) >= 32 * GEMV_VEC)
        splits *= 2;
    return splits;
}

template <typename WT, typename XT, int M, int EPI>
static void launch(const void *x, int m, const void *w, void *y, int ytype, int act, int n,
                   int k) {
    const int splits = splits_for(n, k), cols = GEMV_WARPS / splits;
    int kchunk = (k / GEMV_VEC + splits - 1) / splits * GEMV_VEC;
    decode_gemv_kernel<WT, XT, M, EPI><<<(n + cols - 1) / cols, GEMV_WARPS * 32, 0, STREAM>>>(
        (const XT *)x, m, (const WT *)w, y, ytype, act, n, k, splits, kchunk);
}

template <typename WT, typename XT, int EPI>
static void by_rows(const void *x, int m, const void *w, void *y, int ytype, int act, int n,
                    int k) {
    if (m <= 1) launch<WT, XT, 1, EPI>(x, m, w, y, ytype, act, n, k);
    else if (m <= 2) launch<WT, XT, 2, EPI>(x, m, w, y, ytype, act, n, k);
    else if (m <= 4) launch<WT, XT, 4, EPI>(x, m, w, y, ytype, act, n, k);
    else if (m <= 8) launch<WT, XT, 8, EPI>(x, m, w, y, ytype, act, n, k);
    else launch<WT, XT, 16, EPI>(x, m, w, y, ytype, act, n, k);
}

template <typename WT, int EPI>
static void by_input(const void *x, int x_in_wtype, int m, const void *w, void *y, int ytype,
                     int act, int n, int k) {
    if (x_in_wtype) by_rows<WT, WT, EPI>(x, m, w, y, ytype, act, n, k);
    else by_rows<WT, float, EPI>(x, m, w, y, ytype, act, n, k);
}

template <int EPI>
static void by_weights(const void *x, int x_in_wtype, int m, const void *w, int wtype, void *y,
                       int ytype, int act, int n, int k) {
    if (wtype == DTYPE_BF16) by_input<__nv_bfloat16, EPI>(x, x_in_wtype, m, w, y, ytype, act, n, k);
    else by_input<__half, EPI>(x, x_in_wtype, m, w, y, ytype, act, n, k);
}

extern "C" int cuda_decode_gemv(const void *x, const void *w, int wtype, void *y, int ytype,
                                int act, int m, int n, int k, int flags, int gated) {
    if (m > DECODE_GEMV_ROWS || m < 1 || !enabled() || wtype == DTYPE_FP32 || k % GEMV_VEC ||
        ((uintptr_t)x | (uintptr_t)w) % 16)
        return 0;
    const int x_in = (flags & MATMUL_X_IN_WTYPE) != 0;
    if (gated) by_weights<EPI_GATED>(x, x_in, m, w, wtype, y, ytype, act, n, k);
    else if (flags & MATMUL_RELU_TO_BF16)
        by_input<__nv_bfloat16, EPI_RELU_BF16>(x, x_in, m, w, y, ytype, act, n, k);
    else if (flags & MATMUL_ACCUMULATE)
        by_weights<EPI_ACCUMULATE>(x, x_in, m, w, wtype, y, ytype, act, n, k);
    else by_weights<EPI_STORE>(x, x_in, m, w, wtype, y, ytype, act, n, k);
    return 1;
}

extern "C" void cuda_matmul_gated(int act, const void *x, const void *w, int wtype, float *prod,
                                  void *y, int ytype, int m, int f, int k, int flags) {
    if (fault_op_begin("matmul_gated") || fault_dtype_reject("matmul_gated", "weight dtype", wtype) ||
        fault_act_reject("matmul_gated", act) || fault_dtype_reject("matmul_gated", "ytype", ytype))
        return;
    if (m == 0 || f == 0) return;
    flags &= MATMUL_SAME_INPUT | MATMUL_X_IN_WTYPE;
    if (cuda_decode_gemv(x, w, wtype, y, ytype, act, m, f, k, flags, 1)) {
        CUDA_LAUNCH_CHECK("matmul_gated");
        return;
    }
    cuda_matmul_wt(x, w, wtype, prod, m, 2 * f, k, flags);
    cuda_gated_activation(act, prod, prod + f, 2 * (size_t)f, y, ytype, (size_t)m, (size_t)f);
}
