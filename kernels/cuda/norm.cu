// Embedding lookup (table in the weight dtype), RMSNorm, LayerNorm (output fp32 or a 16-bit GEMM
// input) and elementwise adds/scales; fp32 activations, one stream. Every kernel is a PDL kernel
// (pdl.cuh) that waits for its predecessors before anything else.
#include <cuda_runtime.h>
#include <stdint.h>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/half_types.cuh"
#include "kernels/cuda/pdl.cuh"

static inline unsigned blocks_for(size_t n, unsigned t) { return (unsigned)((n + t - 1) / t); }

template <typename T>
__global__ void embed_kernel(const T *table, const int32_t *ids, int d, float *y) {
    pdl_wait();
    pdl_release();
    int row = blockIdx.x;
    const T *src = table + (size_t)ids[row] * d;
    for (int i = threadIdx.x; i < d; i += blockDim.x) y[(size_t)row * d + i] = to_f32(src[i]);
}

extern "C" void cuda_embed(const void *table, int wtype, const int32_t *ids, int n, int d,
                           float *y) {
    if (fault_op_begin("embed") || fault_dtype_reject("embed", "weight dtype", wtype) || !n)
        return;
    if (wtype == DTYPE_BF16)
        pdl_launch(embed_kernel<__nv_bfloat16>, n, 256, 0, (const __nv_bfloat16 *)table, ids, d, y);
    else if (wtype == DTYPE_FP16)
        pdl_launch(embed_kernel<__half>, n, 256, 0, (const __half *)table, ids, d, y);
    else
        pdl_launch(embed_kernel<float>, n, 256, 0, (const float *)table, ids, d, y);
    CUDA_LAUNCH_CHECK("embed");
}

/* Block-wide sum of v (blockDim.x a multiple of 32, at most 1024: unlike block_reduce, the
 * block size is a launch value; the warps' sums are added by warp 0's shuffles). */
__device__ float block_sum(float v) {
    __shared__ float warp_sums[32];
    v = warp_reduce(v, 0);
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) warp_sums[warp] = v;
    __syncthreads();
    int n_warps = blockDim.x >> 5;
    v = threadIdx.x < n_warps ? warp_sums[threadIdx.x] : 0.0f;
    if (warp == 0) v = warp_reduce(v, 0);
    __shared__ float total;
    if (threadIdx.x == 0) total = v;
    __syncthreads();
    float r = total;
    __syncthreads();
    return r;
}

/* Row x[r] (+= delta[r] when delta is given: each thread writes and later reads only its own
 * elements, so no barrier is needed between the add and the statistics). */
__device__ __forceinline__ float residual_in(float *xr, const float *dr, int i) {
    if (!dr) return xr[i];
    float v = xr[i] + dr[i];
    xr[i] = v;
    return v;
}

/* The norms write y in T: fp32, or a GEMM input in a 16-bit dtype (from_f32's rounding). */
template <typename T>
__global__ void rms_norm_kernel(float *x, const float *delta, const float *w, float eps, int d,
                                T *y) {
    pdl_wait();
    pdl_release();
    float *xr = x + (size_t)blockIdx.x * d;
    const float *dr = delta ? delta + (size_t)blockIdx.x * d : NULL;
    T *yr = y + (size_t)blockIdx.x * d;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        float v = residual_in(xr, dr, i);
        ss += v * v;
    }
    float inv = rsqrtf(block_sum(ss) / d + eps);
    for (int i = threadIdx.x; i < d; i += blockDim.x) yr[i] = from_f32<T>(w[i] * (xr[i] * inv));
}

/* rms_norm_kernel with 16-byte accesses: d % 4 == 0 and every pointer 16-byte aligned. */
template <typename T>
__global__ void rms_norm_kernel4(float *x, const float *delta, const float *w, float eps, int d,
                                 T *y) {
    pdl_wait();
    pdl_release();
    float4 *xr = (float4 *)(x + (size_t)blockIdx.x * d);
    const float4 *dr = delta ? (const float4 *)(delta + (size_t)blockIdx.x * d) : NULL;
    const float4 *w4 = (const float4 *)w;
    const int d4 = d / 4;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < d4; i += blockDim.x) {
        float4 v = xr[i];
        if (dr) {
            float4 e = dr[i];
            v.x += e.x, v.y += e.y, v.z += e.z, v.w += e.w;
            xr[i] = v;
        }
        ss += v.x * v.x + v.y * v.y + v.z * v.z + v.w * v.w;
    }
    float inv = rsqrtf(block_sum(ss) / d + eps);
    T *yr = y + (size_t)blockIdx.x * d;
    for (int i = threadIdx.x; i < d4; i += blockDim.x) {
        float4 v = xr[i], g = w4[i];
        store4(yr, 4 * (size_t)i, make_float4(g.x * (v.x * inv), g.y * (v.y * inv),
                                              g.z * (v.z * inv), g.w * (v.w * inv)));
    }
}

template <typename T>
static void launch_rms_norm(float *x, const float *delta, const float *w, float eps, int rows,
                            int d, T *y) {
    if (d % 4 == 0 && ((uintptr_t)x | (uintptr_t)delta | (uintptr_t)w | (uintptr_t)y) % 16 == 0)
        pdl_launch(rms_norm_kernel4<T>, rows, 256, 0, x, delta, w, eps, d, y);
    else
        pdl_launch(rms_norm_kernel<T>, rows, 256, 0, x, delta, w, eps, d, y);
    CUDA_LAUNCH_CHECK("rms_norm");
}

extern "C" void cuda_rms_norm(float *x, const float *delta, const float *w, float eps, int rows,
                              int d, void *y, int ytype) {
    if (fault_op_begin("rms_norm") || fault_dtype_reject("rms_norm", "ytype", ytype) || !rows)
        return;
    if (ytype == DTYPE_BF16) launch_rms_norm(x, delta, w, eps, rows, d, (__nv_bfloat16 *)y);
    else if (ytype == DTYPE_FP16) launch_rms_norm(x, delta, w, eps, rows, d, (__half *)y);
    else launch_rms_norm(x, delta, w, eps, rows, d, (float *)y);
}

template <typename T>
__global__ void layer_norm_kernel(float *x, const float *delta, const float *w, const float *b,
                                  float eps, int d, T *y) {
    pdl_wait();
    pdl_release();
    float *xr = x + (size_t)blockIdx.x * d;
    const float *dr = delta ? delta + (size_t)blockIdx.x * d : NULL;
    T *yr = y + (size_t)blockIdx.x * d;
    float s = 0.0f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) s += residual_in(xr, dr, i);
    float mean = block_sum(s) / d;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < d; i += blockDim.x) ss += (xr[i] - mean) * (xr[i] - mean);
    float inv = rsqrtf(block_sum(ss) / d + eps);
    for (int i = threadIdx.x; i < d; i += blockDim.x)
        yr[i] = from_f32<T>((xr[i] - mean) * inv * w[i] + b[i]);
}

extern "C" void cuda_layer_norm(float *x, const float *delta, const float *w, const float *b,
                                float eps, int rows, int d, void *y, int ytype) {
    if (fault_op_begin("layer_norm") || fault_dtype_reject("layer_norm", "ytype", ytype) || !rows)
        return;
    if (ytype == DTYPE_BF16)
        pdl_launch(layer_norm_kernel<__nv_bfloat16>, rows, 256, 0, x, delta, w, b, eps, d, (__nv_bfloat16 *)y);
    else if (ytype == DTYPE_FP16)
        pdl_launch(layer_norm_kernel<__half>, rows, 256, 0, x, delta, w, b, eps, d, (__half *)y);
    else
        pdl_launch(layer_norm_kernel<float>, rows, 256, 0, x, delta, w, b, eps, d, (float *)y);
    CUDA_LAUNCH_CHECK("layer_norm");
}

__global__ void add_kernel(float *y, const float *x, size_t n) {
    pdl_wait();
    pdl_release();
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] += x[i];
}
extern "C" void cuda_add(float *y, const float *x, size_t n) {
    if (fault_op_begin("add") || !n) return;
    pdl_launch(add_kernel, blocks_for(n, 256), 256, 0, y, x, n);
    CUDA_LAUNCH_CHECK("add");
}

__global__ void scale_kernel(float *y, float s, size_t n) {
    pdl_wait();
    pdl_release();
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] *= s;
}
extern "C" void cuda_scale(float *y, float s, size_t n) {
    if (fault_op_begin("scale") || !n) return;
    pdl_launch(scale_kernel, blocks_for(n, 256), 256, 0, y, s, n);
    CUDA_LAUNCH_CHECK("scale");
}

__global__ void add_bias_kernel(float *y, const float *b, size_t total, int n) {
    pdl_wait();
    pdl_release();
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < total) y[i] += b[i % n];
}
extern "C" void cuda_add_bias(float *y, const float *b, int rows, int n) {
    size_t total = (size_t)rows * n;
    if (fault_op_begin("add_bias") || !total) return;
    pdl_launch(add_bias_kernel, blocks_for(total, 256), 256, 0, y, b, total, n);
    CUDA_LAUNCH_CHECK("add_bias");
}
