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
//     into y's columns. The scratch (WQ_WIDE_ELEMS + WQ_PROD_ELEMS elements, 128 MB) is allocated
//     at the first matmul_wq call, which is an encoder's (decode steps, the only recorded ones,
//     come after): a first call inside a graph capture is refused as a fault.
#include <cuda_fp8.h>
#include <cuda_runtime.h>
#include <stdint.h>

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

/* y[r, n0 + c] (+)= prod[r, c] * scale[n0 + c] for r < m, c < nc (prod is [m, nc]). */
__global__ void scale_columns_kernel(const float *prod, int m, int nc, const float *scale,
                                     float *y, int n, int n0, int accumulate) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    const size_t stride = (size_t)gridDim.x * blockDim.x, count = (size_t)m * nc;
    for (; i < count; i += stride) {
        const int r = (int)(i / nc), c = (int)(i % nc);
        const float v = prod[i] * scale[n0 + c];
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
            g_prod, m, rows, scale, y, n, (int)n0, accumulate);
        if (CUDA_LAUNCH_CHECK("matmul_wq")) return 1;
    }
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
    if (CUDA_CALL_CHECK("matmul_wq", cudaMalloc((void **)&g_prod, WQ_PROD_ELEMS * sizeof(float)))) {
        cudaFree(g_wide);
        g_wide = NULL;
        return 1;
    }
    return 0;
}

extern "C" void cuda_matmul_wq(const void *x, int xtype, const uint8_t *q, int quant,
                               const float *scale, float *y, int m, int n, int k, int flags) {
    if (fault_op_begin("matmul_wq") || fault_wq_reject(xtype, quant, flags))
        return;
    if (m == 0 || n == 0) return;
    if (reserve_scratch()) return;
    if (m > WQ_GEMV_ROWS) {
        wide_path(x, xtype, q, quant, scale, y, m, n, k, flags);
        return;
    }
    if (cuda_decode_gemv_q(x, xtype, q, quant, scale, y, m, n, k, flags)) {
        CUDA_LAUNCH_CHECK("matmul_wq");
        return;
    }
    const void *xr = cuda_gemm_input(x, xtype, (size_t)m * k, flags);
    if (!xr) return;
    const int accumulate = (flags & MATMUL_ACCUMULATE) != 0;
    if (xtype == DTYPE_BF16) gemv<__nv_bfloat16>(xr, m, q, quant, scale, y, n, k, accumulate);
    else if (xtype == DTYPE_FP16) gemv<__half>(xr, m, q, quant, scale, y, n, k, accumulate);
    else gemv<float>(xr, m, q, quant, scale, y, n, k, accumulate);
    CUDA_LAUNCH_CHECK("matmul_wq");
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
