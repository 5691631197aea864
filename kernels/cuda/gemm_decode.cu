// The decode GEMV family: matmul_wt, matmul_gated and matmul_wq (kernels/backend.h) for
// decode steps of m <= DECODE_GEMV_ROWS rows, where cuBLASLt was measured latency-bound
// (docs/PERFORMANCE.md: 3.7 us for a 768 x 768 bf16 matrix at m = 1-8, whatever the algorithm).
// Off by default (ENCDEC_DECODE_GEMV=1 turns it on) and, when on, taken only where it measured
// faster (applies(), below).
//
// y[r, j] = sum_k x[r, k] w[j, k] for r < m, j < n, on tensor cores (mma.sync m16n8k16, fp32
// accumulation): a warp takes a tile of 16 weight rows over a slice of k, 32 columns at a time.
// Lane t loads 16 bytes (8 consecutive elements) of weight rows t / 4 and t / 4 + 8 at column
// 8 (t % 4) of the 32, and 16 bytes of x row t / 4 (and t / 4 + 8 for m > 8) at the same
// columns: a dot product may visit k in any order, so these registers are used as the A and B
// fragments of two mma steps as they are (the same permutation of k on both sides), with no
// shuffle or shared memory. GEMV_UNROLL column groups are loaded before any is used. A block is
// GEMV_WARPS warps: `tiles` row tiles, each split over `splits` slices of k (split-K where the
// row tiles alone would leave SMs idle), whose sums are added in shared memory in a fixed
// order: the same bits on every run and every graph replay.
//
// x is either fp32, rounded to the weight dtype as it is loaded (what matmul_wt's rounding pass
// does, fp16 saturating: half_types.cuh), or already in the weight dtype (MATMUL_X_IN_WTYPE).
// Weights are 16-bit, or int8 / fp8 codes (matmul_wq) widened exactly to the 16-bit xtype in
// registers (8 bytes per load). Products of the rounded x and the weights are exact in fp32 and
// summed in fp32, as the CPU twin's; only the order of the sums differs. Epilogues: codes' row
// scale; store fp32 or add to y (MATMUL_ACCUMULATE), either with a bias [n] on the sums; bf16
// max(0, .) (MATMUL_RELU_TO_BF16); gated: two tiles per warp (rows j and f + j of a joint
// [2f, k] matrix), act(gate) * lin written in ytype.
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/half_types.cuh"
#include "kernels/cuda/quant_codes.cuh"

#define STREAM ((cudaStream_t)cuda_backend_stream())

enum { GEMV_WARPS = 8, GEMV_UNROLL = 4, GEMV_VEC = 8 /* 16-bit elements per 16-byte load */ };
enum { TILE_ROWS = 16, GROUP_COLS = 32 /* k columns a warp covers per step (4 lanes x 8) */ };
enum { EPI_STORE, EPI_ACCUMULATE, EPI_RELU_BF16, EPI_GATED };

/* D[16, 8] += A[16, 16] B[16, 8] in fp32 with WT (bf16 or fp16) A and B fragments. */
#define MMA16816(types)                                                                       \
    asm volatile("mma.sync.aligned.m16n8k16.row.col.f32." types ".f32 {%0,%1,%2,%3}, "         \
                 "{%4,%5,%6,%7}, {%8,%9}, {%0,%1,%2,%3};"                                      \
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])                              \
                 : "r"(a0), "r"(a1), "r"(a2), "r"(a3), "r"(b0), "r"(b1))
template <typename WT>
__device__ __forceinline__ void mma16816(float (&d)[4], uint32_t a0, uint32_t a1, uint32_t a2,
                                         uint32_t a3, uint32_t b0, uint32_t b1) {
    if constexpr (__is_same(WT, __nv_bfloat16)) MMA16816("bf16.bf16");
    else MMA16816("f16.f16");
}
#undef MMA16816

/* 8 consecutive x values as the GEMM multiplies them, packed in WT: rounded from fp32, or read
 * as they are. */
template <typename WT> __device__ __forceinline__ uint4 load_x8(const float *x) {
    const float4 a = *(const float4 *)x, b = *(const float4 *)(x + 4);
    union { WT h[8]; uint4 u; } p;
    p.h[0] = from_f32<WT>(a.x), p.h[1] = from_f32<WT>(a.y), p.h[2] = from_f32<WT>(a.z);
    p.h[3] = from_f32<WT>(a.w), p.h[4] = from_f32<WT>(b.x), p.h[5] = from_f32<WT>(b.y);
    p.h[6] = from_f32<WT>(b.z), p.h[7] = from_f32<WT>(b.w);
    return p.u;
}
template <typename WT> __device__ __forceinline__ uint4 load_x8(const WT *x) {
    return *(const uint4 *)x;
}

/* The storage of weights: WT itself (Q = 0), or one byte per code (Q = QUANT_INT8, QUANT_FP8). */
template <typename WT, int Q> struct weight_store { typedef uint8_t type; };
template <typename WT> struct weight_store<WT, 0> { typedef WT type; };

/* 8 consecutive weights, streamed (read once), packed in WT: 16-bit weights as they are, codes
 * widened to their exact values. */
template <typename WT, int Q>
__device__ __forceinline__ uint4 load_w8(const typename weight_store<WT, Q>::type *p) {
    if constexpr (Q == 0) {
        return __ldcs((const uint4 *)p);
    } else {
        union { uint2 u; uint8_t b[8]; } raw;
        raw.u = __ldcs((const uint2 *)p);
        union { WT h[8]; uint4 u; } out;
#pragma unroll
        for (int e = 0; e < 8; e++) out.h[e] = from_f32<WT>(code_value(raw.b[e], Q));
        return out.u;
    }
}

/* This warp's sums over columns [kb, ke) (multiples of 8) for NW row tiles of 16 weight rows
 * (w_tile[t]: the tile's first row; rows at or past row_end[t] read as zeros) against x rows
 * 0..m-1 (NT = 1 or 2 groups of 8): acc[t][g] is the mma accumulator of tile t, x group g. */
template <typename WT, int Q, typename XT, int NT, int NW>
__device__ __forceinline__ void gemv_tiles(const XT *__restrict__ x, int m, int k,
                                           const typename weight_store<WT, Q>::type *const (&w_tile)[NW],
                                           const int (&rows)[NW], int kb, int ke,
                                           float (&acc)[NW][NT][4]) {
    typedef typename weight_store<WT, Q>::type ST;
    const int lane = threadIdx.x % 32, g = lane / 4, q = lane % 4;
    const ST *w_lo[NW], *w_hi[NW];
#pragma unroll
    for (int t = 0; t < NW; t++) {
        /* rows past the matrix read row 0 of the tile instead; their sums are never stored */
        w_lo[t] = w_tile[t] + (size_t)(g < rows[t] ? g : 0) * k;
        w_hi[t] = w_tile[t] + (size_t)(g + 8 < rows[t] ? g + 8 : 0) * k;
    }
    for (int c0 = kb + q * GEMV_VEC; c0 < ke; c0 += GROUP_COLS * GEMV_UNROLL) {
        uint4 lo[NW][GEMV_UNROLL], hi[NW][GEMV_UNROLL], xv[NT][GEMV_UNROLL];
        const uint4 zero = make_uint4(0, 0, 0, 0);
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++) {
            const int c = c0 + u * GROUP_COLS;
#pragma unroll
            for (int t = 0; t < NW; t++) {
                lo[t][u] = c < ke ? load_w8<WT, Q>(w_lo[t] + c) : zero;
                hi[t][u] = c < ke ? load_w8<WT, Q>(w_hi[t] + c) : zero;
            }
#pragma unroll
            for (int n = 0; n < NT; n++) {
                const int r = g + 8 * n;
                xv[n][u] = c < ke && r < m ? load_x8<WT>(x + (size_t)r * k + c) : zero;
            }
        }
#pragma unroll
        for (int u = 0; u < GEMV_UNROLL; u++)
#pragma unroll
            for (int t = 0; t < NW; t++)
#pragma unroll
                for (int n = 0; n < NT; n++) {
                    mma16816<WT>(acc[t][n], lo[t][u].x, hi[t][u].x, lo[t][u].y, hi[t][u].y,
                                 xv[n][u].x, xv[n][u].y);
                    mma16816<WT>(acc[t][n], lo[t][u].z, hi[t][u].z, lo[t][u].w, hi[t][u].w,
                                 xv[n][u].z, xv[n][u].w);
                }
    }
}

/* Block b computes weight rows [b * tiles * 16, (b + 1) * tiles * 16) of y's columns, tiles =
 * GEMV_WARPS / splits; warp w takes row tile w / splits over slice w % splits of k (kchunk
 * columns, a multiple of GEMV_VEC). n: y's columns (gated: f, the matrix has 2f rows). NT: x
 * row groups of 8 (m <= 8 NT). */
template <typename WT, int Q, typename XT, int NT, int EPI>
__global__ void __launch_bounds__(GEMV_WARPS * 32)
decode_gemv_kernel(const XT *__restrict__ x, int m,
                   const typename weight_store<WT, Q>::type *__restrict__ w,
                   const float *__restrict__ scale, const float *__restrict__ bias, void *y,
                   int ytype, int act, int n, int k, int splits, int kchunk) {
    typedef typename weight_store<WT, Q>::type ST;
    constexpr int NW = EPI == EPI_GATED ? 2 : 1, M = 8 * NT;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, tiles = GEMV_WARPS / splits;
    const int tile = warp / splits, part = warp % splits;
    const int j0 = (blockIdx.x * tiles + tile) * TILE_ROWS; /* the tile's first column of y */
    float acc[NW][NT][4];
#pragma unroll
    for (int t = 0; t < NW; t++)
#pragma unroll
        for (int g = 0; g < NT; g++) acc[t][g][0] = acc[t][g][1] = acc[t][g][2] = acc[t][g][3] = 0;
    if (j0 < n) {
        const ST *w_tile[NW];
        int rows[NW];
        w_tile[0] = w + (size_t)j0 * k;
        rows[0] = n - j0;
        if (NW == 2) w_tile[NW - 1] = w + ((size_t)n + j0) * k, rows[NW - 1] = n - j0;
        const int kb = part * kchunk, ke = kb + kchunk < k ? kb + kchunk : k;
        gemv_tiles<WT, Q, XT, NT, NW>(x, m, k, w_tile, rows, kb, ke, acc);
    }
    /* partial[warp][t][row of the tile][x row]: c0, c1 at (row g, x rows 2q, 2q + 1), c2, c3 at
     * row g + 8, per x group. */
    __shared__ float partial[GEMV_WARPS][NW][TILE_ROWS][M];
    const int g = lane / 4, q = lane % 4;
#pragma unroll
    for (int t = 0; t < NW; t++)
#pragma unroll
        for (int gr = 0; gr < NT; gr++) {
            partial[warp][t][g][8 * gr + 2 * q] = acc[t][gr][0];
            partial[warp][t][g][8 * gr + 2 * q + 1] = acc[t][gr][1];
            partial[warp][t][g + 8][8 * gr + 2 * q] = acc[t][gr][2];
            partial[warp][t][g + 8][8 * gr + 2 * q + 1] = acc[t][gr][3];
        }
    __syncthreads();
    for (int i = threadIdx.x; i < tiles * TILE_ROWS * M; i += GEMV_WARPS * 32) {
        const int r = i % M, row = i / M % TILE_ROWS, tl = i / (M * TILE_ROWS);
        const int jj = (blockIdx.x * tiles + tl) * TILE_ROWS + row;
        if (r >= m || jj >= n) continue;
        float s[NW];
#pragma unroll
        for (int t = 0; t < NW; t++) {
            s[t] = 0.0f;
            for (int p = 0; p < splits; p++) s[t] += partial[tl * splits + p][t][row][r];
        }
        if (Q) s[0] *= scale[jj];
        if (bias) s[0] += bias[jj];
        const size_t at = (size_t)r * n + jj;
        if (EPI == EPI_STORE) ((float *)y)[at] = s[0];
        else if (EPI == EPI_ACCUMULATE) ((float *)y)[at] += s[0];
        else if (EPI == EPI_RELU_BF16)
            ((__nv_bfloat16 *)y)[at] = from_f32<__nv_bfloat16>(s[0] > 0.0f ? s[0] : 0.0f);
        else store_as(y, ytype, at, act_apply(act, s[0]) * s[NW - 1]);
    }
}

static int g_sms;      /* the device's SM count */
static int g_enabled = -1; /* -1: not read yet from ENCDEC_DECODE_GEMV; 2: every shape */

extern "C" void cuda_decode_gemv_set(int on) { g_enabled = on; }

/* Off unless ENCDEC_DECODE_GEMV=1: whole decode steps with it were not yet measured faster
 * than with cuBLASLt (docs/PERFORMANCE.md). */
static int enabled(void) {
    if (g_enabled < 0) {
        const char *e = getenv("ENCDEC_DECODE_GEMV");
        g_enabled = e && !strcmp(e, "1");
    }
    return g_enabled;
}

/* splits: k cut in 1, 2, 4 or 8 slices, more while the blocks would not fill the SMs twice and
 * each slice keeps at least a full unrolled step of columns. */
static int splits_for(int n, int k) {
    if (!g_sms) {
        int dev = 0;
        cudaGetDevice(&dev);
        if (cudaDeviceGetAttribute(&g_sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess)
            g_sms = 132;
    }
    int splits = 1;
    const long tiles = (n + TILE_ROWS - 1) / TILE_ROWS;
    while (splits < GEMV_WARPS && tiles * splits / GEMV_WARPS < 2L * g_sms &&
           k / (2 * splits) >= GROUP_COLS * GEMV_UNROLL)
        splits *= 2;
    return splits;
}

/* One call's operands: y = x w^T (codes: times scale) + bias, as cuda_decode_gemv takes them. */
struct gemv_args {
    const void *x;
    int m;
    const void *w;
    const float *scale, *bias;
    void *y;
    int ytype, act, n, k;
};

template <typename WT, int Q, typename XT, int NT, int EPI>
static void launch(const gemv_args &a) {
    const int splits = splits_for(a.n, a.k), rows = GEMV_WARPS / splits * TILE_ROWS;
    const int kchunk = (a.k / GEMV_VEC + splits - 1) / splits * GEMV_VEC;
    decode_gemv_kernel<WT, Q, XT, NT, EPI><<<(a.n + rows - 1) / rows, GEMV_WARPS * 32, 0, STREAM>>>(
        (const XT *)a.x, a.m, (const typename weight_store<WT, Q>::type *)a.w, a.scale, a.bias,
        a.y, a.ytype, a.act, a.n, a.k, splits, kchunk);
}

template <typename WT, int Q, int EPI> static void by_rows(const gemv_args &a, int x_in_wtype) {
    if (x_in_wtype) {
        if (a.m <= 8) launch<WT, Q, WT, 1, EPI>(a);
        else launch<WT, Q, WT, 2, EPI>(a);
    } else {
        if (a.m <= 8) launch<WT, Q, float, 1, EPI>(a);
        else launch<WT, Q, float, 2, EPI>(a);
    }
}

/* By the storage of the weights: quant 0 = 16-bit (WT), else codes. */
template <typename WT, int EPI>
static void by_storage(const gemv_args &a, int quant, int x_in_wtype) {
    if (quant == QUANT_INT8) by_rows<WT, QUANT_INT8, EPI>(a, x_in_wtype);
    else if (quant == QUANT_FP8) by_rows<WT, QUANT_FP8, EPI>(a, x_in_wtype);
    else by_rows<WT, 0, EPI>(a, x_in_wtype);
}

template <int EPI> static void by_type(const gemv_args &a, int wtype, int quant, int x_in) {
    if (wtype == DTYPE_BF16) by_storage<__nv_bfloat16, EPI>(a, quant, x_in);
    else by_storage<__half, EPI>(a, quant, x_in);
}

/* Whether the family takes this call (see cuda_ops.h). Measured on an H200 (decode_gemv_probe,
 * docs/PERFORMANCE.md): 1.4-1.9x cuBLASLt's speed for matrices of up to a few MB at every m
 * <= 16, parity at 8 MB, 0.6-0.8x for larger ones (the 32128-row LM heads, a 2048 x 5120
 * matrix): 16-bit matrices above GEMV_MAX_BYTES stay with cuBLASLt. Codes (matmul_wq): faster
 * than gemm_wq.cu's SIMT kernel from 8 rows on, slower below (8-byte loads keep too few bytes in
 * flight): from GEMV_MIN_CODE_ROWS rows. */
enum : size_t { GEMV_MAX_BYTES = (size_t)8 << 20 };
enum { GEMV_MIN_CODE_ROWS = 8 };
static int applies(const void *x, const void *w, int wtype, int m, int n, int k, int codes) {
    if (!enabled() || m < 1 || m > DECODE_GEMV_ROWS || wtype == DTYPE_FP32 || k % GEMV_VEC ||
        ((uintptr_t)x | (uintptr_t)w) % 16)
        return 0;
    /* mode 2 (probes, tests): whatever the measured limits */
    return g_enabled == 2 ||
           (codes ? m >= GEMV_MIN_CODE_ROWS : (size_t)n * k * 2 <= GEMV_MAX_BYTES);
}

extern "C" int cuda_decode_gemv(const void *x, const void *w, int wtype, const float *bias,
                                void *y, int ytype, int act, int m, int n, int k, int flags,
                                int gated) {
    if (!applies(x, w, wtype, m, gated ? 2 * n : n, k, 0)) return 0;
    const gemv_args a = {x, m, w, NULL, bias, y, ytype, act, n, k};
    const int x_in = (flags & MATMUL_X_IN_WTYPE) != 0;
    if (gated) by_type<EPI_GATED>(a, wtype, 0, x_in);
    else if (flags & MATMUL_RELU_TO_BF16) by_rows<__nv_bfloat16, 0, EPI_RELU_BF16>(a, x_in);
    else if (flags & MATMUL_ACCUMULATE) by_type<EPI_ACCUMULATE>(a, wtype, 0, x_in);
    else by_type<EPI_STORE>(a, wtype, 0, x_in);
    return 1;
}

extern "C" int cuda_decode_gemv_q(const void *x, int xtype, const uint8_t *q, int quant,
                                  const float *scale, float *y, int m, int n, int k, int flags) {
    if (!applies(x, q, xtype, m, n, k, 1)) return 0;
    const gemv_args a = {x, m, q, scale, NULL, y, DTYPE_FP32, 0, n, k};
    const int x_in = (flags & MATMUL_X_IN_WTYPE) != 0;
    if (flags & MATMUL_ACCUMULATE) by_type<EPI_ACCUMULATE>(a, xtype, quant, x_in);
    else by_type<EPI_STORE>(a, xtype, quant, x_in);
    return 1;
}

extern "C" void cuda_matmul_gated(int act, const void *x, const void *w, int wtype, float *prod,
                                  void *y, int ytype, int m, int f, int k, int flags) {
    if (fault_op_begin("matmul_gated") || fault_dtype_reject("matmul_gated", "weight dtype", wtype) ||
        fault_act_reject("matmul_gated", act) || fault_dtype_reject("matmul_gated", "ytype", ytype))
        return;
    if (m == 0 || f == 0) return;
    flags &= MATMUL_SAME_INPUT | MATMUL_X_IN_WTYPE;
    if (cuda_decode_gemv(x, w, wtype, NULL, y, ytype, act, m, f, k, flags, 1)) {
        CUDA_LAUNCH_CHECK("matmul_gated");
        return;
    }
    cuda_matmul_wt(x, w, wtype, NULL, prod, m, 2 * f, k, flags);
    cuda_gated_activation(act, prod, prod + f, 2 * (size_t)f, y, ytype, (size_t)m, (size_t)f);
}
