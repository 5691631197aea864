// matmul_wq and embed_q (kernels/backend.h) on the GPU: weight-only int8 / fp8 (E4M3FN) codes
// with an fp32 scale per weight row (common/quant.h). Every code's value is exact in fp32, bf16
// and fp16, so both paths compute what the CPU twin does: the sum over k of value(code[j, k])
// times x[r, k] rounded to xtype, in fp32, times scale[j]; only the order of the sums differs.
//   m <= WQ_GEMV_ROWS (decode steps): wq_gemv_kernel, one warp per weight row j (an output
//     column), its lanes striding over k 16 codes at a time (one 16-byte load), the codes
//     widened in registers and dotted with the m input rows (x in xtype, read through L1/L2):
//     the weights are read once, one byte each.
//   larger m (encoder, big batches): the codes of a chunk of weight rows widened exactly into
//     xtype, multiplied by cuBLASLt (matmul_wt) into an fp32 [m, chunk] scratch, then scaled
//     into y's columns. The scratch (WQ_WIDE_ELEMS + WQ_PROD_ELEMS elements, 128 MB; with the
//     FP8 path's x codes and scales below, 160 MB) is allocated at the first matmul_wq call,
//     which is an encoder's (decode steps, the only recorded ones, come after): a first call
//     inside a graph capture is refused as a fault.
//   larger m, fp8 codes and 16-bit x (bf16 / fp16 runs; ENCDEC_FP8_GEMM=0 turns it off): FP8
//     tensor cores instead (fp8_path). x's rows, rounded to xtype as every GEMM input is, are
//     quantized as the converter quantizes weight rows (common/quant.h: scale = amax(row) / 448,
//     E4M3 codes rounded to nearest even), cuda_matmul_fp8 multiplies codes by codes into the
//     fp32 product scratch, and the rows' scales are applied as it is added into y:
//     y[r, j] = sx[r] sw[j] sum_k e4m3(x[r, k] / sx[r]) q[j, k]. x's own rounding to E4M3
//     (3 mantissa bits) is the error this adds; fp32 runs keep the exact widened path. Where
//     cuBLASLt has no FP8 algorithm (before compute capability 9.0) the widened path runs.
//     Chunks of encoder size (fp8_scaled_mode) have both scales applied by cuBLASLt instead,
//     as it writes y (cuda_matmul_fp8_scaled): one kernel and one pass over [m, n] fewer.
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/quant.h"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/half_types.cuh"
#include "kernels/cuda/quant_codes.cuh"

#define STREAM ((cudaStream_t)cuda_backend_stream())
#define WQ_GEMV_ROWS 16
#define WQ_WARPS 8 /* weight rows (warps) per block of wq_gemv_kernel */
enum : size_t { WQ_WIDE_ELEMS = (size_t)16 << 20, WQ_PROD_ELEMS = (size_t)16 << 20 };

static void *g_wide;  /* widened codes: [chunk, k] in xtype (room for fp32) */
static float *g_prod; /* [m, chunk] products before the scales */
/* fp8_path: x's E4M3 codes [rows, k] (WQ_XQ_BYTES) and row scales [rows] (WQ_XQ_ROWS); what
 * they hold (x, m, k, xtype, x_in; x NULL: nothing), for MATMUL_SAME_INPUT calls to reuse. */
enum : size_t { WQ_XQ_BYTES = (size_t)32 << 20, WQ_XQ_ROWS = (size_t)1 << 16 };
static uint8_t *g_xq;
static float *g_sx;
static struct { const void *x; int m, k, xtype, x_in; } g_xq_of;
static long g_fp8_calls, g_fp8_scaled_chunks;

extern "C" long cuda_wq_fp8_calls(void) { return g_fp8_calls; }
extern "C" long cuda_wq_fp8_scaled_chunks(void) { return g_fp8_scaled_chunks; }

/* 16 consecutive elements of T at p (16-byte aligned), widened to fp32. */
template <typename T> __device__ __forceinline__ void load16(const T *p, float *out) {
    constexpr int PER = 16 / sizeof(T); /* elements per 16-byte load */
#pragma unroll
    for (int v = 0; v < 16 / PER; v++) {
        const vec_of<T, PER> c = *(const vec_of<T, PER> *)(p + v * PER);
        widen<T, PER>(c, out + v * PER);
    }
}

/* y[r, j] (+)= scale[j] * sum_k value(q[j, k]) x[r, k] for r < m <= M, j < n: warp w of block b
 * takes row j = b * WQ_WARPS + w. V16: q, x 16-byte aligned and k % 16 == 0 (16 codes per load),
 * else one code per lane and step. */
template <typename XT, int M, bool V16>
__global__ void __launch_bounds__(WQ_WARPS * 32)
wq_gemv_kernel(const XT *x, int m, const uint8_t *q, int quant, const float *scale, float *y,
               int n, int k, int accumulate) {
    const int lane = threadIdx.x % 32, j = blockIdx.x * WQ_WARPS + threadIdx.x / 32;
    if (j >= n) return;
    const uint8_t *row = q + (size_t)j * k;
    float acc[M];
#pragma unroll
    for (int r = 0; r < M; r++) acc[r] = 0.0f;
    if (V16) {
        for (int c = lane * 16; c < k; c += 32 * 16) {
            union { uint4 u; uint8_t b[16]; } raw;
            raw.u = *(const uint4 *)(row + c);
            float w[16], xv[16];
#pragma unroll
            for (int u = 0; u < 16; u++) w[u] = code_value(raw.b[u], quant);
#pragma unroll
            for (int r = 0; r < M; r++) {
                if (r >= m) break;
                load16(x + (size_t)r * k + c, xv);
#pragma unroll
                for (int u = 0; u < 16; u++) acc[r] = fmaf(w[u], xv[u], acc[r]);
            }
        }
    } else {
        for (int c = lane; c < k; c += 32) {
            const float w = code_value(row[c], quant);
#pragma unroll
            for (int r = 0; r < M; r++) {
                if (r >= m) break;
                acc[r] = fmaf(w, to_f32(x[(size_t)r * k + c]), acc[r]);
            }
        }
    }
#pragma unroll
    for (int r = 0; r < M; r++) acc[r] = warp_reduce(acc[r], 0);
    if (lane) return;
    const float s = scale[j];
#pragma unroll
    for (int r = 0; r < M; r++) {
        if (r >= m) break;
        float *o = y + (size_t)r * n + j;
        *o = accumulate ? *o + acc[r] * s : acc[r] * s;
    }
}

template <typename XT, int M>
static void launch_gemv(const void *x, int m, const uint8_t *q, int quant, const float *scale,
                        float *y, int n, int k, int accumulate) {
    const unsigned blocks = (unsigned)((n + WQ_WARPS - 1) / WQ_WARPS);
    const int v16 = k % 16 == 0 && (uintptr_t)q % 16 == 0 && (uintptr_t)x % 16 == 0;
    if (v16)
        wq_gemv_kernel<XT, M, true><<<blocks, WQ_WARPS * 32, 0, STREAM>>>(
            (const XT *)x, m, q, quant, scale, y, n, k, accumulate);
    else
        wq_gemv_kernel<XT, M, false><<<blocks, WQ_WARPS * 32, 0, STREAM>>>(
            (const XT *)x, m, q, quant, scale, y, n, k, accumulate);
}

template <typename XT>
static void gemv(const void *x, int m, const uint8_t *q, int quant, const float *scale, float *y,
                 int n, int k, int accumulate) {
    if (m <= 1) launch_gemv<XT, 1>(x, m, q, quant, scale, y, n, k, accumulate);
    else if (m <= 2) launch_gemv<XT, 2>(x, m, q, quant, scale, y, n, k, accumulate);
    else if (m <= 4) launch_gemv<XT, 4>(x, m, q, quant, scale, y, n, k, accumulate);
    else if (m <= 8) launch_gemv<XT, 8>(x, m, q, quant, scale, y, n, k, accumulate);
    else launch_gemv<XT, 16>(x, m, q, quant, scale, y, n, k, accumulate);
}

/* out[i] = value(q[i]) in T (exact) for i < count. */
template <typename T>
__global__ void widen_codes_kernel(const uint8_t *q, int quant, T *out, size_t count) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    const size_t stride = (size_t)gridDim.x * blockDim.x;
    for (; i < count; i += stride) out[i] = from_f32<T>(code_value(q[i], quant));
}

/* y[r, n0 + c] (+)= prod[r, c] * scale[n0 + c] (* row_scale[r] where given) for r < m,
 * c < nc (prod is [m, nc]). */
__global__ void scale_columns_kernel(const float *prod, int m, int nc, const float *scale,
                                     const float *row_scale, float *y, int n, int n0,
                                     int accumulate) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    const size_t stride = (size_t)gridDim.x * blockDim.x, count = (size_t)m * nc;
    for (; i < count; i += stride) {
        const int r = (int)(i / nc), c = (int)(i % nc);
        const float p = row_scale ? prod[i] * row_scale[r] : prod[i];
        const float v = p * scale[n0 + c];
        float *o = y + (size_t)r * n + n0 + c;
        *o = accumulate ? *o + v : v;
    }
}

static unsigned grid_for(size_t count) {
    size_t b = (count + 255) / 256;
    return (unsigned)(b < 65536 ? b : 65536);
}

/* The chunked widen + cuBLASLt path (m > WQ_GEMV_ROWS). 1 (a fault recorded) on a failure. */
static int wide_path(const void *x, int xtype, const uint8_t *q, int quant, const float *scale,
                     float *y, int m, int n, int k, int flags) {
    size_t nc = WQ_WIDE_ELEMS / (size_t)k;
    if (WQ_PROD_ELEMS / (size_t)m < nc) nc = WQ_PROD_ELEMS / (size_t)m;
    if (nc >= (size_t)n) nc = (size_t)n;
    else nc -= nc % 16;
    if (nc == 0) {
        fault_record_set("matmul_wq", "shape %dx%dx%d exceeds the scratch of %zu elements", m,
                         n, k, (size_t)WQ_WIDE_ELEMS);
        return 1;
    }
    const int accumulate = (flags & MATMUL_ACCUMULATE) != 0;
    int in_flags = flags & (MATMUL_SAME_INPUT | MATMUL_X_IN_WTYPE);
    for (size_t n0 = 0; n0 < (size_t)n; n0 += nc) {
        const int rows = (int)((size_t)n - n0 < nc ? (size_t)n - n0 : nc);
        const size_t count = (size_t)rows * k;
        const uint8_t *qc = q + n0 * (size_t)k;
        if (xtype == DTYPE_BF16)
            widen_codes_kernel<<<grid_for(count), 256, 0, STREAM>>>(qc, quant,
                                                                     (__nv_bfloat16 *)g_wide, count);
        else if (xtype == DTYPE_FP16)
            widen_codes_kernel<<<grid_for(count), 256, 0, STREAM>>>(qc, quant, (__half *)g_wide,
                                                                     count);
        else
            widen_codes_kernel<<<grid_for(count), 256, 0, STREAM>>>(qc, quant, (float *)g_wide,
                                                                     count);
        if (CUDA_LAUNCH_CHECK("matmul_wq")) return 1;
        cuda_matmul_wt(x, g_wide, xtype, NULL, g_prod, m, rows, k, in_flags);
        in_flags |= MATMUL_SAME_INPUT; /* the next chunks multiply the same x */
        scale_columns_kernel<<<grid_for((size_t)m * rows), 256, 0, STREAM>>>(
            g_prod, m, rows, scale, NULL, y, n, (int)n0, accumulate);
        if (CUDA_LAUNCH_CHECK("matmul_wq")) return 1;
    }
    return 0;
}

/* Row r of x [rows, k] quantized to E4M3 (block r), x's values first rounded to XT as every
 * GEMM input is (fp16 saturating; IN = XT: as they are): sx[r] = amax / 448 (1 for a row of
 * zeros), codes[r, i] = e4m3(x[r, i] / sx[r]) rounded to nearest even, saturating: the bits
 * common/quant.h's quant_rows gives a weight row. */
template <typename XT, typename IN>
__global__ void quantize_rows_e4m3_kernel(const IN *x, int k, uint8_t *codes, float *sx) {
    const IN *row = x + (size_t)blockIdx.x * k;
    float amax = 0.0f;
    for (int i = threadIdx.x; i < k; i += blockDim.x)
        amax = fmaxf(amax, fabsf(to_f32(from_f32<XT>(to_f32(row[i])))));
    amax = block_reduce<256>(amax, 1);
    const float s = amax == 0.0f ? 1.0f : amax / 448.0f;
    uint8_t *out = codes + (size_t)blockIdx.x * k;
    for (int i = threadIdx.x; i < k; i += blockDim.x)
        out[i] = (uint8_t)__nv_cvt_float_to_fp8(to_f32(from_f32<XT>(to_f32(row[i]))) / s,
                                                __NV_SATFINITE, __NV_E4M3);
    if (threadIdx.x == 0) sx[blockIdx.x] = s;
}

template <typename XT>
static void quantize_rows(const void *x, int x_in, int rows, int k) {
    if (x_in)
        quantize_rows_e4m3_kernel<XT, XT><<<rows, 256, 0, STREAM>>>((const XT *)x, k, g_xq, g_sx);
    else
        quantize_rows_e4m3_kernel<XT, float><<<rows, 256, 0, STREAM>>>((const float *)x, k, g_xq,
                                                                       g_sx);
}

/* Which chunks of the FP8 path have their scales applied by cuBLASLt (cuda_matmul_fp8_scaled)
 * rather than by scale_columns_kernel over the fp32 product: FP8_SCALED_OFF none; FP8_SCALED_LARGE
 * (the default) chunks of at least FP8_SCALED_MIN_ROWS rows, i.e. encoder passes, where it was
 * measured faster (H100, 2026-12-08: flan-t5-xl fp8 batch 64's encoder 151.6 ms against 202.5);
 * FP8_SCALED_ALL every chunk. ENCDEC_FP8_SCALED=0|1|2 sets it (a bad value is named on stderr
 * and the default kept); cuda_fp8_scaled_set too (tests; -1: the variable again). */
enum { FP8_SCALED_OFF = 0, FP8_SCALED_LARGE = 1, FP8_SCALED_ALL = 2, FP8_SCALED_MIN_ROWS = 512 };
static int g_fp8_scaled = -1;
extern "C" void cuda_fp8_scaled_set(int mode) { g_fp8_scaled = mode; }
static int fp8_scaled_mode(void) {
    if (g_fp8_scaled < 0) {
        const char *e = getenv("ENCDEC_FP8_SCALED");
        g_fp8_scaled = FP8_SCALED_LARGE;
        if (e && e[0] >= '0' && e[0] <= '2' && !e[1]) g_fp8_scaled = e[0] - '0';
        else if (e)
            fprintf(stderr, "encdec: ENCDEC_FP8_SCALED=%s is not 0, 1 or 2: 1 is used\n", e);
    }
    return g_fp8_scaled;
}

/* Whether a chunk of `rows` rows asks for cuBLASLt's scales (fp8_scaled_mode). */
static int chunk_scaled(int rows) {
    const int mode = fp8_scaled_mode();
    return mode == FP8_SCALED_ALL || (mode == FP8_SCALED_LARGE && rows >= FP8_SCALED_MIN_ROWS);
}

/* Whether the plan a chunk of `rows` rows will use has an algorithm: the scaled one where the
 * chunk asks for it and it has one (the plain plan is then made only if a call refuses it),
 * else the plain one. 1 yes, 0 no, -1 failed (a fault recorded). */
static int chunk_ready(int rows, int n, int k) {
    const int scaled = chunk_scaled(rows) ? cuda_fp8_scaled_ready(rows, n, k) : 0;
    return scaled ? scaled : cuda_fp8_gemm_ready(rows, n, k);
}

static int fp8_enabled(void) {
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("ENCDEC_FP8_GEMM");
        on = !(e && e[0] == '0' && !e[1]);
    }
    return on;
}

/* The FP8 tensor-core path (above), rows of x in chunks that fit the code and product scratch
 * (a multiple of 64 rows where more fit). 0 done, 1 not taken (nothing launched: the widened
 * path runs), -1 failed (a fault recorded). */
static int fp8_path(const void *x, int xtype, const uint8_t *q, const float *scale, float *y,
                    int m, int n, int k, int flags) {
    if (!fp8_enabled() || xtype == DTYPE_FP32 || k % 16 || n % 16 || (uintptr_t)q % 16)
        return 1;
    const int x_in = (flags & MATMUL_X_IN_WTYPE) != 0; /* else x is fp32 */
    const size_t xsize = x_in ? 2 : 4;
    size_t chunk = WQ_XQ_BYTES / (size_t)k;
    if (chunk > WQ_XQ_ROWS) chunk = WQ_XQ_ROWS;
    if (chunk > WQ_PROD_ELEMS / (size_t)n) chunk = WQ_PROD_ELEMS / (size_t)n;
    if (chunk > 64) chunk -= chunk % 64;
    if (chunk == 0) return 1;
    const int first = (int)((size_t)m < chunk ? (size_t)m : chunk), last = (int)((size_t)m % chunk);
    int ready = chunk_ready(first, n, k);
    if (ready == 1 && last && last != first) ready = chunk_ready(last, n, k);
    if (ready != 1) return ready < 0 ? -1 : 1;
    for (size_t r0 = 0; r0 < (size_t)m; r0 += chunk) {
        const int rows = (int)((size_t)m - r0 < chunk ? (size_t)m - r0 : chunk);
        const char *xc = (const char *)x + r0 * (size_t)k * xsize;
        const int same = (flags & MATMUL_SAME_INPUT) && rows == m && g_xq_of.x == x &&
                         g_xq_of.m == m && g_xq_of.k == k && g_xq_of.xtype == xtype &&
                         g_xq_of.x_in == x_in;
        if (!same) {
            g_xq_of.x = NULL;
            if (xtype == DTYPE_BF16) quantize_rows<__nv_bfloat16>(xc, x_in, rows, k);
            else quantize_rows<__half>(xc, x_in, rows, k);
            if (CUDA_LAUNCH_CHECK("matmul_wq")) return -1;
            if (rows == m) g_xq_of = {x, m, k, xtype, x_in};
        }
        float *yc = y + r0 * (size_t)n;
        const int acc = (flags & MATMUL_ACCUMULATE) != 0;
        int r = 1;
        if (chunk_scaled(rows))
            r = cuda_matmul_fp8_scaled(g_xq, g_sx, q, scale, yc, rows, n, k, acc, g_prod);
        if (r == 0) {
            g_fp8_scaled_chunks++;
            continue;
        }
        if (r == 1) r = cuda_matmul_fp8(g_xq, q, g_prod, rows, n, k);
        if (r) { /* the chunk's plan was ready above: a refusal now is a failure */
            if (r == 1) fault_record_set("matmul_wq", "no FP8 algorithm for %dx%dx%d", rows, n, k);
            g_xq_of.x = NULL;
            return -1;
        }
        scale_columns_kernel<<<grid_for((size_t)rows * n), 256, 0, STREAM>>>(
            g_prod, rows, n, scale, g_sx, yc, n, 0, acc);
        if (CUDA_LAUNCH_CHECK("matmul_wq")) return -1;
    }
    g_fp8_calls++;
    return 0;
}

/* The wide path's scratch, allocated once; 1 (a fault recorded) when it cannot be. */
static int reserve_scratch(void) {
    if (g_wide) return 0;
    cudaStreamCaptureStatus cap = cudaStreamCaptureStatusNone;
    cudaStreamIsCapturing(STREAM, &cap);
    if (cap != cudaStreamCaptureStatusNone) {
        fault_record_set("matmul_wq", "first call inside a graph capture: its scratch cannot be "
                                      "allocated there");
        return 1;
    }
    if (CUDA_CALL_CHECK("matmul_wq", cudaMalloc(&g_wide, WQ_WIDE_ELEMS * sizeof(float)))) {
        g_wide = NULL;
        return 1;
    }
    if (CUDA_CALL_CHECK("matmul_wq", cudaMalloc((void **)&g_prod, WQ_PROD_ELEMS * sizeof(float))) ||
        CUDA_CALL_CHECK("matmul_wq", cudaMalloc((void **)&g_xq, WQ_XQ_BYTES)) ||
        CUDA_CALL_CHECK("matmul_wq", cudaMalloc((void **)&g_sx, WQ_XQ_ROWS * sizeof(float)))) {
        cudaFree(g_wide), cudaFree(g_prod), cudaFree(g_xq), cudaFree(g_sx);
        g_wide = NULL, g_prod = NULL, g_xq = NULL, g_sx = NULL;
        return 1;
    }
    return 0;
}

/* The x whose rounding into gemm.cu's GEMM-input scratch the previous call made (the widened
 * path, the SIMT kernel), else NULL: MATMUL_SAME_INPUT lets a call reuse that rounding only when
 * the call before it made one of this x (the FP8 path and the GEMV family round x in their own
 * kernels, so after them the scratch may hold an older rounding of the same buffer). */
static const void *g_rounded_x;

extern "C" void cuda_matmul_wq(const void *x, int xtype, const uint8_t *q, int quant,
                               const float *scale, float *y, int m, int n, int k, int flags) {
    if (fault_op_begin("matmul_wq") || fault_wq_reject(xtype, quant, flags))
        return;
    if (m == 0 || n == 0) return;
    if (reserve_scratch()) return;
    if (!(flags & MATMUL_SAME_INPUT)) g_xq_of.x = NULL; /* x may have changed since */
    const int round_flags = g_rounded_x == x ? flags : flags & ~MATMUL_SAME_INPUT;
    g_rounded_x = NULL;
    if (m > WQ_GEMV_ROWS) {
        if (quant != QUANT_FP8 || fp8_path(x, xtype, q, scale, y, m, n, k, flags) == 1) {
            wide_path(x, xtype, q, quant, scale, y, m, n, k, round_flags);
            g_rounded_x = x;
        }
        return;
    }
    if (cuda_decode_gemv_q(x, xtype, q, quant, scale, y, m, n, k, flags)) {
        CUDA_LAUNCH_CHECK("matmul_wq");
        return;
    }
    g_rounded_x = x;
    const void *xr = cuda_gemm_input(x, xtype, (size_t)m * k, round_flags);
    if (!xr) return;
    const int accumulate = (flags & MATMUL_ACCUMULATE) != 0;
    if (xtype == DTYPE_BF16) gemv<__nv_bfloat16>(xr, m, q, quant, scale, y, n, k, accumulate);
    else if (xtype == DTYPE_FP16) gemv<__half>(xr, m, q, quant, scale, y, n, k, accumulate);
    else gemv<float>(xr, m, q, quant, scale, y, n, k, accumulate);
    CUDA_LAUNCH_CHECK("matmul_wq");
}

/* backend.h's matmul_wq_gated: one decode GEMV kernel (both matrices' sums, their scales and
 * the activation in its epilogue) where the family takes the call, else matmul_wq twice into
 * prod and the activation kernel. */
extern "C" void cuda_matmul_wq_gated(int act, const void *x, int xtype, const uint8_t *q_gate,
                                     const float *s_gate, const uint8_t *q_lin,
                                     const float *s_lin, int quant, float *prod, void *y,
                                     int ytype, int m, int f, int k, int flags) {
    if (fault_op_begin("matmul_wq_gated") || fault_wq_gated_reject(act, xtype, quant, ytype, flags))
        return;
    if (m == 0 || f == 0) return;
    if (m <= WQ_GEMV_ROWS && cuda_decode_gemv_q_gated(act, x, xtype, q_gate, s_gate, q_lin, s_lin,
                                                      quant, y, ytype, m, f, k, flags)) {
        g_rounded_x = NULL; /* x rounded in the kernel: no rounding made in gemm.cu's scratch */
        CUDA_LAUNCH_CHECK("matmul_wq_gated");
        return;
    }
    backend_matmul_wq_gated_parts(&backend_cuda, act, x, xtype, q_gate, s_gate, q_lin, s_lin,
                                  quant, prod, y, ytype, m, f, k, flags);
}

/* y[i, :] = value(table[ids[i], :]) * scale[ids[i]]: block i, threads over d. */
__global__ void embed_q_kernel(const uint8_t *table, int quant, const float *scale,
                               const int32_t *ids, int d, float *y) {
    const int i = blockIdx.x, id = ids[i];
    const float s = scale[id];
    for (int c = threadIdx.x; c < d; c += blockDim.x)
        y[(size_t)i * d + c] = code_value(table[(size_t)id * d + c], quant) * s;
}

extern "C" void cuda_embed_q(const uint8_t *table, int quant, const float *scale,
                             const int32_t *ids, int n, int d, float *y) {
    if (fault_op_begin("embed_q")) return;
    if (quant != QUANT_INT8 && quant != QUANT_FP8) {
        fault_record_set("embed_q", "unknown quantization %d (int8 1 or fp8 2)", quant);
        return;
    }
    if (n == 0) return;
    embed_q_kernel<<<n, 256, 0, STREAM>>>(table, quant, scale, ids, d, y);
    CUDA_LAUNCH_CHECK("embed_q");
}
