// The decode GEMV family: matmul_wt, matmul_gated and matmul_wq (kernels/backend.h) for
// decode steps of m <= DECODE_GEMV_ROWS rows, where cuBLASLt was measured latency-bound
// (docs/PERFORMANCE.md: 3.7 us for a 768 x 768 bf16 matrix at m = 1-8, whatever the algorithm).
// On by default where kernels are launched with PDL (compute capability 9.0 on), taken where it
// measured faster (applies(), below); ENCDEC_DECODE_GEMV=0 turns it off.
//
// y[r, j] = sum_k x[r, k] w[j, k] for r < m, j < n, on tensor cores (mma.sync m16n8k16, fp32
// accumulation). A *tile* is 16 weight rows (two, rows j and f + j, for the gated form); its k
// is cut into GEMV_WARPS * kblocks slices of `kchunk` columns, one warp each: block b takes tile
// b / kblocks and its warp w slice (b % kblocks) * GEMV_WARPS + w. Within a slice, lane t loads
// 16 bytes (8 consecutive elements) of weight rows t / 4 and t / 4 + 8 at column 8 (t % 4) of
// each group of 32 columns, and 16 bytes of x row t / 4 (and t / 4 + 8 for m > 8) at the same
// columns: a dot product may visit k in any order, so these registers are the A and B fragments
// of two mma steps as they are (the same permutation of k on both sides), with no shuffle or
// shared memory. Columns go in *sets* of GEMV_SET_GROUPS groups, D sets in flight per warp
// (sets_in_flight: 3-4 register sets): the loads of set s + D are issued as soon as set s is
// multiplied, and the x values of D sets are requested together.
//
// PDL (pdl.cuh): the first D sets of weights are loaded before pdl_wait(), so a GEMV's first
// memory round trip overlaps the kernel before it (a slice of at most D sets: its only weight
// round trip); x, y, bias-free outputs and the scratch are touched only after it. Weights,
// scales and biases are never written by a step.
//
// Sums: the block's warps add their slices in shared memory in warp order; with kblocks > 1 each
// block leaves that sum in scratch and the tile's last block to finish (a counter per tile, reset
// by that block) adds the kblocks sums in block order: the same bits on every run, whatever the
// order the blocks ran in, and on every graph replay.
//
// x is either fp32, rounded to the weight dtype as it is loaded (what matmul_wt's rounding pass
// does, fp16 saturating: half_types.cuh), or already in the weight dtype (MATMUL_X_IN_WTYPE).
// Weights are 16-bit, or int8 / fp8 codes (matmul_wq) loaded 16 per lane and load (group_col)
// and widened exactly to the 16-bit xtype in registers, two at a time, as they are multiplied.
// Products of the rounded x and the weights are exact in fp32 and summed in fp32, as the CPU
// twin's; only the order of the sums differs. Epilogues: codes' row scale; store fp32 or add to
// y (MATMUL_ACCUMULATE), either with a bias [n] on the sums; bf16 max(0, .)
// (MATMUL_RELU_TO_BF16); gated: act(gate) * lin written in ytype.
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/quant.h"
#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/half_types.cuh"
#include "kernels/cuda/pdl.cuh"

#define STREAM ((cudaStream_t)cuda_backend_stream())

enum {
    GEMV_WARPS = 4,
    GEMV_SET_GROUPS = 2,
    GEMV_VEC = 8,  /* 16-bit elements per 16-byte load */
    CODE_VEC = 16, /* codes per 16-byte load */
};
enum { TILE_ROWS = 16, GROUP_COLS = 32 /* k columns a warp covers per group (4 lanes x 8) */ };
enum { SET_COLS = GROUP_COLS * GEMV_SET_GROUPS, KBLOCKS_MAX = 8 };
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

/* 8 consecutive values of a pre-norm's output, g[c] * (x[c] * inv) rounded to WT: the bits
 * rms_norm writes for a row whose rsqrt(mean square + eps) is inv. */
template <typename WT>
__device__ __forceinline__ uint4 load_x8_normed(const float *x, const float *g, float inv) {
    const float4 a = *(const float4 *)x, b = *(const float4 *)(x + 4);
    const float4 ga = *(const float4 *)g, gb = *(const float4 *)(g + 4);
    union { WT h[8]; uint4 u; } p;
    p.h[0] = from_f32<WT>(ga.x * (a.x * inv)), p.h[1] = from_f32<WT>(ga.y * (a.y * inv));
    p.h[2] = from_f32<WT>(ga.z * (a.z * inv)), p.h[3] = from_f32<WT>(ga.w * (a.w * inv));
    p.h[4] = from_f32<WT>(gb.x * (b.x * inv)), p.h[5] = from_f32<WT>(gb.y * (b.y * inv));
    p.h[6] = from_f32<WT>(gb.z * (b.z * inv)), p.h[7] = from_f32<WT>(gb.w * (b.w * inv));
    return p.u;
}

/* The storage of weights: WT itself (Q = 0), or one byte per code (Q = QUANT_INT8, QUANT_FP8). */
template <typename WT, int Q> struct weight_store { typedef uint8_t type; };
template <typename WT> struct weight_store<WT, 0> { typedef WT type; };

/* Where group u of a set starts for lane q (t % 4), from the set's first column. 16-bit weights:
 * a group is 32 consecutive columns, 8 of them the lane's (8 q + 32 u). Codes: the lane loads 16
 * consecutive codes, 8 for each group (16 q + 8 u). Weights and x use the same columns, so the
 * dot products visit k in another order, not other values. */
template <int Q> __device__ __forceinline__ int group_col(int q, int u) {
    return Q ? 16 * q + 8 * u : 8 * q + GROUP_COLS * u;
}

/* Two codes (low byte first) as the f16x2 of their exact values: E4M3 by the hardware's paired
 * conversion; int8 by the 1024 + u trick: the byte b ^ 0x80 = b + 128 becomes the low mantissa
 * bits of 1024.0, and 1152 is subtracted (exact: integers below 2048). */
template <int Q> __device__ __forceinline__ uint32_t codes2_to_f16x2(uint32_t four, int pair) {
    if constexpr (Q == QUANT_FP8) {
        const __half2_raw h = __nv_cvt_fp8x2_to_halfraw2(
            (__nv_fp8x2_storage_t)(pair ? four >> 16 : four & 0xFFFFu), __NV_E4M3);
        return (uint32_t)h.x | (uint32_t)h.y << 16;
    } else {
        const uint32_t biased =
            __byte_perm(four ^ 0x80808080u, 0x64646464u, pair ? 0x4342 : 0x4140);
        union { uint32_t u; __half2 h; } v;
        v.u = biased;
        v.h = __hsub2(v.h, __floats2half2_rn(1152.0f, 1152.0f));
        return v.u;
    }
}

/* f16x2 values of at most 8 significant bits (codes' values: E4M3's 4, int8's 8 less the sign;
 * normal or zero) as bf16x2, exactly: the f16 bits shifted right by 3 are a bf16 of the value
 * times 2^-112 (exponent field e of the f16 kept as e of the bf16, mantissa's top 7 bits), and
 * one multiply by 2^112 (exact: the product is a normal bf16) puts the value back. */
__device__ __forceinline__ uint32_t f16x2_to_bf16x2(uint32_t h) {
    union { uint32_t u; __nv_bfloat162 b; } v, two112;
    v.u = ((h >> 3) & 0x0FFF0FFFu) | (h & 0x80008000u);
    two112.u = 0x77807780u; /* bf16 2^112 twice */
    v.b = __hmul2(v.b, two112.b);
    return v.u;
}

/* 8 codes (bytes of raw, low first) widened to their exact values in WT. */
template <typename WT, int Q> __device__ __forceinline__ uint4 widen_codes8(uint2 raw) {
    uint32_t h[4] = {codes2_to_f16x2<Q>(raw.x, 0), codes2_to_f16x2<Q>(raw.x, 1),
                     codes2_to_f16x2<Q>(raw.y, 0), codes2_to_f16x2<Q>(raw.y, 1)};
    if constexpr (__is_same(WT, __nv_bfloat16)) {
#pragma unroll
        for (int i = 0; i < 4; i++) h[i] = f16x2_to_bf16x2(h[i]);
    }
    return make_uint4(h[0], h[1], h[2], h[3]);
}

/* One set's weights in a lane's registers, tile t, rows g (lo) and g + 8 (hi): 16-bit weights
 * per group u as the mma fragments take them; codes as loaded (16 bytes: both groups), widened
 * only when multiplied (half the registers, so more sets fit in flight). */
template <int NW, int Q> struct wset { uint4 lo[NW][GEMV_SET_GROUPS], hi[NW][GEMV_SET_GROUPS]; };
template <int NW> struct wset<NW, QUANT_INT8> { uint4 lo[NW], hi[NW]; };
template <int NW> struct wset<NW, QUANT_FP8> { uint4 lo[NW], hi[NW]; };

/* A warp's view of its slice: the lane's weight rows, the columns [kb, ke) (multiples of 8, of
 * 16 for codes; warp-uniform), the lane's q = t % 4 (group_col). */
template <typename ST, int NW> struct slice {
    const ST *lo[NW], *hi[NW];
    int kb, ke, q;
};

/* Loads the set starting at warp-uniform column c (lanes past ke load zeros): streamed, read
 * once. Codes: ke and the lane's 16 columns are multiples of 16, all in or all out. */
template <typename WT, int Q, typename ST, int NW>
__device__ __forceinline__ void load_set(const slice<ST, NW> &s, int c, wset<NW, Q> &w) {
    const uint4 zero = make_uint4(0, 0, 0, 0);
    if constexpr (Q != 0) {
        const int cc = c + group_col<Q>(s.q, 0);
#pragma unroll
        for (int t = 0; t < NW; t++) {
            w.lo[t] = cc < s.ke ? __ldcs((const uint4 *)(s.lo[t] + cc)) : zero;
            w.hi[t] = cc < s.ke ? __ldcs((const uint4 *)(s.hi[t] + cc)) : zero;
        }
    } else {
#pragma unroll
        for (int u = 0; u < GEMV_SET_GROUPS; u++) {
            const int cc = c + group_col<Q>(s.q, u);
#pragma unroll
            for (int t = 0; t < NW; t++) {
                w.lo[t][u] = cc < s.ke ? __ldcs((const uint4 *)(s.lo[t] + cc)) : zero;
                w.hi[t][u] = cc < s.ke ? __ldcs((const uint4 *)(s.hi[t] + cc)) : zero;
            }
        }
    }
}

/* The x values set c multiplies, packed in WT: rows g and g + 8 n of the lane (NT groups of 8
 * rows), its 8 columns of each group (zeros past ke or m: no load). NORM: x is a pre-norm's fp32
 * input, normalized as it is loaded (gain gain, row r's factor inv[r]). */
template <typename WT, int Q, bool NORM, typename XT, int NT, int NW, typename ST>
__device__ __forceinline__ void load_xset(const slice<ST, NW> &s, const XT *__restrict__ x, int m,
                                          int k, int c, uint4 (&xv)[NT][GEMV_SET_GROUPS],
                                          const float *gain, const float *inv) {
    const int g = threadIdx.x % 32 / 4;
    const uint4 zero = make_uint4(0, 0, 0, 0);
#pragma unroll
    for (int u = 0; u < GEMV_SET_GROUPS; u++) {
        const int cc = c + group_col<Q>(s.q, u);
#pragma unroll
        for (int n = 0; n < NT; n++) {
            const int r = g + 8 * n;
            if constexpr (NORM)
                xv[n][u] = cc < s.ke && r < m
                               ? load_x8_normed<WT>(x + (size_t)r * k + cc, gain + cc, inv[r])
                               : zero;
            else
                xv[n][u] = cc < s.ke && r < m ? load_x8<WT>(x + (size_t)r * k + cc) : zero;
        }
    }
}

/* acc += one set of weights times its x values (load_xset), group by group, in k order; codes
 * widened here, group by group. */
template <typename WT, int Q, int NT, int NW>
__device__ __forceinline__ void mma_set(const wset<NW, Q> &w,
                                        const uint4 (&xv)[NT][GEMV_SET_GROUPS],
                                        float (&acc)[NW][NT][4]) {
#pragma unroll
    for (int u = 0; u < GEMV_SET_GROUPS; u++)
#pragma unroll
        for (int t = 0; t < NW; t++) {
            uint4 lo, hi;
            if constexpr (Q != 0) {
                lo = widen_codes8<WT, Q>(u ? make_uint2(w.lo[t].z, w.lo[t].w)
                                           : make_uint2(w.lo[t].x, w.lo[t].y));
                hi = widen_codes8<WT, Q>(u ? make_uint2(w.hi[t].z, w.hi[t].w)
                                           : make_uint2(w.hi[t].x, w.hi[t].y));
            } else {
                lo = w.lo[t][u], hi = w.hi[t][u];
            }
#pragma unroll
            for (int n = 0; n < NT; n++) {
                mma16816<WT>(acc[t][n], lo.x, hi.x, lo.y, hi.y, xv[n][u].x, xv[n][u].y);
                mma16816<WT>(acc[t][n], lo.z, hi.z, lo.w, hi.w, xv[n][u].z, xv[n][u].w);
            }
        }
}

/* Sets of weights a warp keeps in flight, all loaded before the wait: a slice of up to this
 * many sets (every matrix of t5-base, flan-t5-xl's 2048-wide ones) has no weight load left
 * after it. Fewer where the weights of two matrices (gated), x of 16 rows or a pre-norm's
 * row_factors take the registers: three for normalized rows, two for 16 of them (ptxas: no
 * spills at these depths, sm_90a; four with row_factors spilled 4 bytes). Codes (CODES) hold a
 * set in half the registers of 16-bit weights: half again as many sets. */
template <int NW, int NT, bool NORM, bool CODES = false> struct sets_in_flight {
    static constexpr int base = NW * NT == 1 && !NORM ? 4 : NORM && NT > 1 ? 2 : 3;
    static constexpr int value = CODES ? base * 3 / 2 : base;
};

/* inv[r] = rsqrt(mean of x[r, :]^2 + eps) for r < m, by the whole block (tpr threads a
 * row: all 128 for one row, 8 each for 16 rows), each thread's float4 loads issued in batches of
 * ROW_BATCH (one memory round trip for a row of up to 128 * 4 * ROW_BATCH / ROW_THREADS floats:
 * every row of t5-base and flan-t5-xl at batch 1); sums in a fixed order (the same bits in every
 * block). Ends with a barrier: inv is then visible to the block. */
enum { ROW_BATCH = 4 };
template <int M>
__device__ __forceinline__ void row_factors(const float *__restrict__ x, int m, int k, float eps,
                                            float (&inv)[M]) {
    constexpr int THREADS = GEMV_WARPS * 32;
    int tpr = THREADS; /* threads a row: THREADS over m rounded up to a power of two */
    while (tpr > 8 && (THREADS / tpr) < m) tpr /= 2;
    const int row = threadIdx.x / tpr, sub = threadIdx.x % tpr;
    const float *xr = x + (size_t)row * k;
    float ss = 0.0f;
    if (row < m) {
        for (int base = sub * 4; base < k; base += ROW_BATCH * tpr * 4) {
            float4 v[ROW_BATCH];
#pragma unroll
            for (int b = 0; b < ROW_BATCH; b++) {
                const int i = base + b * tpr * 4;
                v[b] = i < k ? *(const float4 *)(xr + i) : make_float4(0.f, 0.f, 0.f, 0.f);
            }
#pragma unroll
            for (int b = 0; b < ROW_BATCH; b++)
                ss += v[b].x * v[b].x + v[b].y * v[b].y + v[b].z * v[b].z + v[b].w * v[b].w;
        }
    }
    for (int o = 1; o < 32 && o < tpr; o <<= 1) ss += __shfl_xor_sync(0xffffffffu, ss, o);
    __shared__ float part[GEMV_WARPS];
    if (tpr > 32) {
        if (threadIdx.x % 32 == 0) part[threadIdx.x / 32] = ss;
        __syncthreads();
        if (sub == 0) {
            ss = 0.0f;
            for (int w = row * tpr / 32; w < (row + 1) * tpr / 32; w++) ss += part[w];
        }
    }
    if (sub == 0 && row < m) inv[row] = rsqrtf(ss / k + eps);
    __syncthreads();
}

/* The kernel's operands (one struct: a launch argument). */
template <typename XT, typename ST> struct gemv_params {
    const XT *x;
    const ST *w;
    const float *scale, *bias; /* scale: codes' row scales, else NULL; bias [n] or NULL */
    const ST *w_lin;           /* gated: the lin rows [n, k] (a joint matrix: w + n k) */
    const float *scale_lin;    /* gated codes: the lin rows' scales */
    void *y;
    float *scratch; /* kblocks > 1: [kblocks][NW][tiles * 16][16] block sums */
    int *done;      /* kblocks > 1: [tiles] blocks finished, back to 0 after each launch */
    const float *norm_g; /* NORM: the pre-norm's gain [k] */
    float norm_eps;
    int m, n, k, ytype, act, kchunk, kblocks;
};

/* y's element (r, jj) from the tile's sums s (s[NW - 1]: the lin rows when gated). */
template <int Q, int NW, int EPI, typename XT, typename ST>
__device__ __forceinline__ void epilogue(const gemv_params<XT, ST> &p, int r, int jj,
                                         const float (&s)[NW]) {
    float v = s[0];
    if (Q) v *= p.scale[jj];
    if (p.bias) v += p.bias[jj];
    const size_t at = (size_t)r * p.n + jj;
    if (EPI == EPI_STORE) ((float *)p.y)[at] = v;
    else if (EPI == EPI_ACCUMULATE) ((float *)p.y)[at] += v;
    else if (EPI == EPI_RELU_BF16)
        ((__nv_bfloat16 *)p.y)[at] = from_f32<__nv_bfloat16>(v > 0.0f ? v : 0.0f);
    else { /* gated */
        const float lin = Q ? s[NW - 1] * p.scale_lin[jj] : s[NW - 1];
        store_as(p.y, p.ytype, at, act_apply(p.act, v) * lin);
    }
}

/* Block b: tile b / kblocks, slices (b % kblocks) * GEMV_WARPS + warp. n: y's columns (gated:
 * f, the matrix has 2f rows). NT: x row groups of 8 (m <= 8 NT). NORM (XT float): x holds a
 * pre-norm's input rows; each block computes their factors rsqrt(mean square + eps) after the
 * wait (a warp per row: the same sums in every block) and normalizes x as it loads it. */
template <typename WT, int Q, typename XT, int NT, int EPI, bool NORM>
__global__ void __launch_bounds__(GEMV_WARPS * 32)
decode_gemv_kernel(gemv_params<XT, typename weight_store<WT, Q>::type> p) {
    typedef typename weight_store<WT, Q>::type ST;
    constexpr int NW = EPI == EPI_GATED ? 2 : 1, M = 8 * NT;
    const int warp = threadIdx.x / 32, lane = threadIdx.x % 32, g = lane / 4, q = lane % 4;
    const int tile = blockIdx.x / p.kblocks, kb = blockIdx.x % p.kblocks;
    const int j0 = tile * TILE_ROWS, rows = p.n - j0; /* rows >= 1 */
    slice<ST, NW> s;
    s.kb = (kb * GEMV_WARPS + warp) * p.kchunk;
    s.ke = min(s.kb + p.kchunk, p.k);
    s.q = q;
#pragma unroll
    for (int t = 0; t < NW; t++) {
        /* rows past the matrix read row 0 of the tile instead; their sums are never stored */
        const ST *tile_w = (t ? p.w_lin : p.w) + (size_t)j0 * p.k;
        s.lo[t] = tile_w + (size_t)(g < rows ? g : 0) * p.k;
        s.hi[t] = tile_w + (size_t)(g + 8 < rows ? g + 8 : 0) * p.k;
    }
    float acc[NW][NT][4];
#pragma unroll
    for (int t = 0; t < NW; t++)
#pragma unroll
        for (int n = 0; n < NT; n++) acc[t][n][0] = acc[t][n][1] = acc[t][n][2] = acc[t][n][3] = 0;
    constexpr int D = sets_in_flight<NW, NT, NORM, Q != 0>::value;
    wset<NW, Q> w[D];
#pragma unroll
    for (int d = 0; d < D; d++) load_set<WT, Q>(s, s.kb + d * SET_COLS, w[d]); /* before the wait */
    pdl_wait();
    pdl_release();
    __shared__ float inv[M];
    if constexpr (NORM) {
        static_assert(__is_same(XT, float), "a pre-norm's input is fp32");
        row_factors<M>(p.x, p.m, p.k, p.norm_eps, inv);
    }
    /* D sets at a time: their x values in one round trip, then each set multiplied and the set
     * D further on requested into its registers. */
    for (int c = s.kb; c < s.ke; c += D * SET_COLS) {
        uint4 xv[D][NT][GEMV_SET_GROUPS];
#pragma unroll
        for (int d = 0; d < D; d++)
            load_xset<WT, Q, NORM, XT, NT>(s, p.x, p.m, p.k, c + d * SET_COLS, xv[d], p.norm_g,
                                           inv);
#pragma unroll
        for (int d = 0; d < D; d++) {
            const int cd = c + d * SET_COLS;
            if (cd >= s.ke) break;
            mma_set<WT, Q>(w[d], xv[d], acc);
            if (cd + D * SET_COLS < s.ke) load_set<WT, Q>(s, cd + D * SET_COLS, w[d]);
        }
    }
    /* partial[warp][t][row of the tile][x row]: c0, c1 at (row g, x rows 2q, 2q + 1), c2, c3 at
     * row g + 8, per x group. */
    __shared__ float partial[GEMV_WARPS][NW][TILE_ROWS][M];
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
    const size_t rows_pad = (size_t)gridDim.x / p.kblocks * TILE_ROWS;
    for (int i = threadIdx.x; i < TILE_ROWS * M; i += GEMV_WARPS * 32) {
        const int r = i % M, row = i / M;
        float sum[NW];
#pragma unroll
        for (int t = 0; t < NW; t++) {
            sum[t] = 0.0f;
#pragma unroll
            for (int w = 0; w < GEMV_WARPS; w++) sum[t] += partial[w][t][row][r];
        }
        if (p.kblocks == 1) {
            if (r < p.m && j0 + row < p.n) epilogue<Q, NW, EPI>(p, r, j0 + row, sum);
        } else {
#pragma unroll
            for (int t = 0; t < NW; t++)
                p.scratch[(((size_t)kb * NW + t) * rows_pad + j0 + row) * 16 + r] = sum[t];
        }
    }
    if (p.kblocks == 1) return;
    /* The tile's last block adds the kblocks sums in block order: every block's scratch writes
     * are made visible device-wide before it counts itself done. */
    __shared__ int last;
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(&p.done[tile], 1) == p.kblocks - 1;
    __syncthreads();
    if (!last) return;
    __threadfence();
    for (int i = threadIdx.x; i < TILE_ROWS * M; i += GEMV_WARPS * 32) {
        const int r = i % M, row = i / M;
        if (r >= p.m || j0 + row >= p.n) continue;
        float sum[NW];
#pragma unroll
        for (int t = 0; t < NW; t++) {
            sum[t] = 0.0f;
            for (int b = 0; b < p.kblocks; b++)
                sum[t] += __ldcg(&p.scratch[(((size_t)b * NW + t) * rows_pad + j0 + row) * 16 + r]);
        }
        epilogue<Q, NW, EPI>(p, r, j0 + row, sum);
    }
    if (threadIdx.x == 0) p.done[tile] = 0;
}

static int g_sms;          /* the device's SM count */
/* The modes of cuda_decode_gemv_set / ENCDEC_DECODE_GEMV (-1: not read yet). */
enum { GEMV_OFF = 0, GEMV_SMALL = 1, GEMV_EVERY = 2, GEMV_AUTO = 3 };
static int g_enabled = -1;

extern "C" void cuda_decode_gemv_set(int on) { g_enabled = on; }

/* ENCDEC_DECODE_GEMV=0|1|2|3 as cuda_decode_gemv_set takes it; unset: GEMV_AUTO where kernels
 * are launched with PDL (pdl.cuh), else off. Measured on an H100 (docs/PERFORMANCE.md, 2026-12-06
 * 22:05 UTC): with PDL, t5-base batch 1 0.506-0.510 ms per step against cuBLASLt's 0.575-0.579,
 * batch 8 0.564-0.567 against 0.596-0.599, flan-t5-xl batch 1 1.918 against 2.000; without PDL
 * slower than cuBLASLt (0.595-0.597, 0.647-0.649, 2.045). */
static int enabled(void) {
    if (g_enabled < 0) {
        const char *e = getenv("ENCDEC_DECODE_GEMV");
        if (e && e[0] >= '0' && e[0] <= '3' && !e[1]) g_enabled = e[0] - '0';
        else g_enabled = cuda_pdl_enabled() ? GEMV_AUTO : GEMV_OFF;
    }
    return g_enabled;
}

static int sm_count(void) {
    if (!g_sms) {
        int dev = 0;
        cudaGetDevice(&dev);
        if (cudaDeviceGetAttribute(&g_sms, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess)
            g_sms = 132;
    }
    return g_sms;
}

/* The cross-block sums of launches with kblocks > 1: only tiles < 2 SMs ever split (below), so
 * one fixed scratch serves every shape. Allocated by cuda_decode_gemv_reserve (the model's
 * reserve, before any graph is recorded) or at the first split launch outside a recording;
 * never moved or freed after (recorded graphs hold its address). */
static float *g_scratch;
static int *g_done;
static int max_split_tiles(void) { return 2 * sm_count(); }

extern "C" void cuda_decode_gemv_reserve(void) {
    if (g_scratch) return;
    const size_t tiles = (size_t)max_split_tiles();
    float *scratch = NULL;
    int *done = NULL;
    if (cudaMalloc(&scratch, (size_t)KBLOCKS_MAX * 2 * tiles * TILE_ROWS * 16 * sizeof(float)) !=
            cudaSuccess ||
        cudaMalloc(&done, tiles * sizeof(int)) != cudaSuccess ||
        cudaMemset(done, 0, tiles * sizeof(int)) != cudaSuccess) {
        cudaGetLastError(); /* cleared: launches then run unsplit */
        cudaFree(scratch);
        cudaFree(done);
        return;
    }
    g_scratch = scratch, g_done = done;
}

static int scratch_ready(void) {
    if (g_scratch) return 1;
    cudaStreamCaptureStatus cap;
    if (cudaStreamIsCapturing(STREAM, &cap) != cudaSuccess || cap != cudaStreamCaptureStatusNone)
        return 0;
    cuda_decode_gemv_reserve();
    return g_scratch != NULL;
}

/* kblocks: the blocks a tile's k is cut over: 1, 2, 4 or 8, more while the tiles' blocks would
 * not fill the SMs twice and each warp's slice keeps at least a set of columns; kchunk: a
 * warp's slice, a multiple of `unit` (GEMV_VEC; CODE_VEC for codes: one 16-byte load). Slices
 * of up to sets_in_flight sets are loaded whole before the kernel waits for its predecessor
 * (at batch 1: t5-base's every matrix, flan-t5-xl's 2048 x 2048 ones). */
struct gemv_plan {
    int kblocks, kchunk;
};
static int kblocks_max(void) { /* ENCDEC_GEMV_KBLOCKS=1|2|4|8 (probes' A/B), else KBLOCKS_MAX */
    static int max = 0;
    if (!max) {
        const char *e = getenv("ENCDEC_GEMV_KBLOCKS");
        const int v = e ? atoi(e) : 0;
        max = v == 1 || v == 2 || v == 4 ? v : KBLOCKS_MAX;
    }
    return max;
}

static gemv_plan plan_for(int n, int k, int unit) {
    const long tiles = (n + TILE_ROWS - 1) / TILE_ROWS;
    int kb = 1;
    while (kb < kblocks_max() && tiles * kb < 2L * sm_count() &&
           k >= GEMV_WARPS * 2 * kb * SET_COLS)
        kb *= 2;
    if (kb > 1 && !scratch_ready()) kb = 1; /* (kb > 1 only for tiles < max_split_tiles()) */
    const int slices = GEMV_WARPS * kb;
    return gemv_plan{kb, (k / unit + slices - 1) / slices * unit};
}

/* One call's operands: y = x w^T (codes: times scale) + bias, as cuda_decode_gemv takes them. */
struct gemv_args {
    const void *x;
    int m;
    const void *w;
    const float *scale, *bias;
    const void *w_lin;       /* gated: the lin rows (NULL: w + n k, a joint matrix) */
    const float *scale_lin;  /* gated codes: their scales */
    void *y;
    int ytype, act, n, k;
    const normed_input *norm; /* x is this pre-norm's input (x = norm->x), or NULL */
};

template <typename WT, int Q, typename XT, int NT, int EPI, bool NORM = false>
static void launch(const gemv_args &a) {
    typedef typename weight_store<WT, Q>::type ST;
    const gemv_plan pl = plan_for(a.n, a.k, Q ? CODE_VEC : GEMV_VEC);
    const int tiles = (a.n + TILE_ROWS - 1) / TILE_ROWS;
    gemv_params<XT, ST> p;
    p.x = (const XT *)a.x, p.w = (const ST *)a.w, p.scale = a.scale, p.bias = a.bias, p.y = a.y;
    p.w_lin = a.w_lin ? (const ST *)a.w_lin : p.w + (size_t)a.n * a.k;
    p.scale_lin = a.scale_lin;
    p.scratch = g_scratch, p.done = g_done;
    p.m = a.m, p.n = a.n, p.k = a.k, p.ytype = a.ytype, p.act = a.act;
    p.kchunk = pl.kchunk, p.kblocks = pl.kblocks;
    p.norm_g = a.norm ? a.norm->g : NULL, p.norm_eps = a.norm ? a.norm->eps : 0.0f;
    pdl_launch(decode_gemv_kernel<WT, Q, XT, NT, EPI, NORM>, tiles * pl.kblocks, GEMV_WARPS * 32,
               0, p);
}

template <typename WT, int Q, int EPI> static void by_rows(const gemv_args &a, int x_in_wtype) {
    if (a.norm) {
        if (a.m <= 8) launch<WT, 0, float, 1, EPI, true>(a);
        else launch<WT, 0, float, 2, EPI, true>(a);
    } else if (x_in_wtype) {
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

/* The gated form of a joint 16-bit matrix (codes: cuda_decode_gemv_q_gated, gate and lin
 * matrices apart, as the loader keeps them). */
static void by_type_16bit_gated(const gemv_args &a, int wtype, int x_in) {
    if (wtype == DTYPE_BF16) by_rows<__nv_bfloat16, 0, EPI_GATED>(a, x_in);
    else by_rows<__half, 0, EPI_GATED>(a, x_in);
}

/* Whether the family takes this call (see cuda_ops.h), by mode:
 *   GEMV_EVERY (probes, tests): every shape it can take;
 *   GEMV_SMALL: 16-bit matrices of at most GEMV_MAX_BYTES; codes from GEMV_MIN_CODE_ROWS rows;
 *   GEMV_AUTO (the default with PDL): 16-bit matrices of any size up to GEMV_ANY_SIZE_ROWS rows
 *     (whole steps measured faster with the LM heads and flan-t5-xl's large matrices on it at
 *     batch 1 and 8), of at most GEMV_MAX_BYTES above (decode_gemv_probe, H100, 2026-12-06: at
 *     16 rows cuBLASLt was faster for flan-t5-xl's 6144 x 2048 and 32128-row heads); codes as
 *     GEMV_SMALL, from code_rows_min() rows (H100, 2026-12-07, flan-t5-xl fp8, ms per step:
 *     batch 1 gemm_wq.cu's SIMT kernel 1.68, this family 1.73 (2.45 with its earlier 8-byte
 *     loads); batch 4 SIMT 2.43, family 1.80; batch 8 family 1.86, 2.67 with 8-byte loads;
 *     batch 2 (12:54-13:00 UTC) SIMT 1.869-1.876, family 1.764: the family from 2 rows).
 *   Codes need k % CODE_VEC == 0 (a lane's 16-byte load). */
enum : size_t { GEMV_MAX_BYTES = (size_t)8 << 20 };
enum { GEMV_MIN_CODE_ROWS = 2, GEMV_ANY_SIZE_ROWS = 8 };
static int code_rows_min(void) { /* ENCDEC_GEMV_CODE_ROWS=1..16 (probes' A/B), else the above */
    static int rows = 0;
    if (!rows) {
        const char *e = getenv("ENCDEC_GEMV_CODE_ROWS");
        const int v = e ? atoi(e) : 0;
        rows = v >= 1 && v <= DECODE_GEMV_ROWS ? v : GEMV_MIN_CODE_ROWS;
    }
    return rows;
}
static int applies(const void *x, const void *w, int wtype, int m, int n, int k, int codes) {
    const int mode = enabled();
    if (mode == GEMV_OFF || m < 1 || m > DECODE_GEMV_ROWS || wtype == DTYPE_FP32 ||
        k % (codes ? CODE_VEC : GEMV_VEC) || ((uintptr_t)x | (uintptr_t)w) % 16)
        return 0;
    if (mode == GEMV_EVERY) return 1;
    if (codes) return m >= code_rows_min();
    return (mode == GEMV_AUTO && m <= GEMV_ANY_SIZE_ROWS) || (size_t)n * k * 2 <= GEMV_MAX_BYTES;
}

/* cuda_decode_gemv, x given as it is or (norm) as a pre-norm's input. */
static int decode_gemv(const void *x, const normed_input *norm, const void *w, int wtype,
                       const float *bias, void *y, int ytype, int act, int m, int n, int k,
                       int flags, int gated) {
    if (!applies(x, w, wtype, m, gated ? 2 * n : n, k, 0) ||
        (norm && (flags & MATMUL_X_IN_WTYPE || (uintptr_t)norm->g % 16)))
        return 0;
    const gemv_args a = {x, m, w, NULL, bias, NULL, NULL, y, ytype, act, n, k, norm};
    const int x_in = (flags & MATMUL_X_IN_WTYPE) != 0;
    if (gated) by_type_16bit_gated(a, wtype, x_in);
    else if (flags & MATMUL_RELU_TO_BF16) by_rows<__nv_bfloat16, 0, EPI_RELU_BF16>(a, x_in);
    else if (flags & MATMUL_ACCUMULATE) by_type<EPI_ACCUMULATE>(a, wtype, 0, x_in);
    else by_type<EPI_STORE>(a, wtype, 0, x_in);
    return 1;
}

extern "C" int cuda_decode_gemv(const void *x, const void *w, int wtype, const float *bias,
                                void *y, int ytype, int act, int m, int n, int k, int flags,
                                int gated) {
    return decode_gemv(x, NULL, w, wtype, bias, y, ytype, act, m, n, k, flags, gated);
}

extern "C" int cuda_decode_gemv_q(const void *x, int xtype, const uint8_t *q, int quant,
                                  const float *scale, float *y, int m, int n, int k, int flags) {
    if (!applies(x, q, xtype, m, n, k, 1)) return 0;
    const gemv_args a = {x, m, q, scale, NULL, NULL, NULL, y, DTYPE_FP32, 0, n, k, NULL};
    const int x_in = (flags & MATMUL_X_IN_WTYPE) != 0;
    if (flags & MATMUL_ACCUMULATE) by_type<EPI_ACCUMULATE>(a, xtype, quant, x_in);
    else by_type<EPI_STORE>(a, xtype, quant, x_in);
    return 1;
}

extern "C" int cuda_decode_gemv_q_gated(int act, const void *x, int xtype, const uint8_t *q_gate,
                                        const float *s_gate, const uint8_t *q_lin,
                                        const float *s_lin, int quant, void *y, int ytype, int m,
                                        int f, int k, int flags) {
    if (!applies(x, q_gate, xtype, m, 2 * f, k, 1) || (uintptr_t)q_lin % 16) return 0;
    const gemv_args a = {x, m, q_gate, s_gate, NULL, q_lin, s_lin, y, ytype, act, f, k, NULL};
    by_type<EPI_GATED>(a, xtype, quant, (flags & MATMUL_X_IN_WTYPE) != 0);
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

/* The pre-norm's rows in wtype, by the norm kernel, into the GEMM-input scratch: the input of
 * rms_matmul's library path. NULL (a fault recorded) on a failure. */
static const void *normed_rows(const normed_input *in, int wtype, int m, int k) {
    void *h = cuda_gemm_input_scratch((size_t)m * k);
    if (!h) return NULL;
    cuda_rms_norm((float *)in->x, NULL, in->g, in->eps, m, k, h, wtype);
    return h;
}

/* The norm folded into the decode GEMV where the family takes the call, else the norm kernel
 * and then matmul_wt / matmul_gated (backend.h's rms_matmul contract). */
extern "C" void cuda_rms_matmul(const normed_input *in, const void *w, int wtype,
                                const float *bias, float *y, int m, int n, int k, int flags) {
    if (fault_op_begin("rms_matmul") || fault_wtype16_reject("rms_matmul", wtype)) return;
    if (m == 0 || n == 0 || fault_relu_reject(wtype, flags, bias)) return;
    flags &= MATMUL_ACCUMULATE | MATMUL_RELU_TO_BF16;
    if (decode_gemv(in->x, in, w, wtype, bias, y, DTYPE_FP32, 0, m, n, k, flags, 0)) {
        CUDA_LAUNCH_CHECK("rms_matmul");
        return;
    }
    const void *h = normed_rows(in, wtype, m, k);
    if (h) cuda_matmul_wt(h, w, wtype, bias, y, m, n, k, flags | MATMUL_X_IN_WTYPE);
}

extern "C" void cuda_rms_matmul_gated(int act, const normed_input *in, const void *w, int wtype,
                                      float *prod, void *y, int ytype, int m, int f, int k) {
    if (fault_op_begin("rms_matmul_gated") || fault_wtype16_reject("rms_matmul_gated", wtype) ||
        fault_act_reject("rms_matmul_gated", act) ||
        fault_dtype_reject("rms_matmul_gated", "ytype", ytype))
        return;
    if (m == 0 || f == 0) return;
    if (decode_gemv(in->x, in, w, wtype, NULL, y, ytype, act, m, f, k, 0, 1)) {
        CUDA_LAUNCH_CHECK("rms_matmul_gated");
        return;
    }
    const void *h = normed_rows(in, wtype, m, k);
    if (h) cuda_matmul_gated(act, h, w, wtype, prod, y, ytype, m, f, k, MATMUL_X_IN_WTYPE);
}
