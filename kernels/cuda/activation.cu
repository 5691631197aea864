// ReLU, GELU (erf), gelu_new (tanh), SiLU; plain and gated (act(gate) * lin), each written fp32
// or as a 16-bit GEMM input. PDL kernels (pdl.cuh).
#include <cuda_runtime.h>
#include <stdint.h>

#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/activation.cuh"
#include "kernels/cuda/half_types.cuh"
#include "kernels/cuda/pdl.cuh"

template <typename T>
__global__ void act_kernel(int act, const float *x, T *y, size_t n) {
    pdl_wait();
    pdl_release();
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = from_f32<T>(act_apply(act, x[i]));
}

/* W consecutive floats, read as one load (W = 4: 16 bytes, 16-byte aligned). */
template <int W> struct alignas(4 * W) float_group { float v[W]; };

/* Group i of W elements per thread of y [rows, cols]: row i / cols, group column i % cols of
 * gate and lin (rows ld apart); cols, ld and n (= rows * cols) count groups of W here. W = 4
 * needs the element counts cols and ld to be multiples of 4 and 16-byte aligned pointers. */
template <int W, typename T>
__global__ void gated_kernel(int act, const float *gate, const float *lin, size_t ld, T *y,
                             size_t cols, size_t n) {
    pdl_wait();
    pdl_release();
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    size_t at = i / cols * ld + i % cols;
    float_group<W> g = ((const float_group<W> *)gate)[at], l = ((const float_group<W> *)lin)[at];
    float o[W];
#pragma unroll
    for (int u = 0; u < W; u++) o[u] = act_apply(act, g.v[u]) * l.v[u];
    if constexpr (W == 4) store4(y, 4 * i, make_float4(o[0], o[1], o[2], o[3]));
    else y[i] = from_f32<T>(o[0]);
}

template <int W, typename T>
static void launch_gated_by(int act, const float *gate, const float *lin, size_t ld, T *y,
                            size_t rows, size_t cols) {
    size_t n = rows * cols / W;
    pdl_launch(gated_kernel<W, T>, (unsigned)((n + 255) / 256), 256, 0, act, gate, lin, ld / W, y,
               cols / W, n);
    CUDA_LAUNCH_CHECK("gated_activation");
}

template <typename T>
static void launch_gated(int act, const float *gate, const float *lin, size_t ld, T *y,
                         size_t rows, size_t cols) {
    if (cols % 4 == 0 && ld % 4 == 0 &&
        ((uintptr_t)gate | (uintptr_t)lin | (uintptr_t)y) % 16 == 0)
        launch_gated_by<4>(act, gate, lin, ld, y, rows, cols);
    else
        launch_gated_by<1>(act, gate, lin, ld, y, rows, cols);
}

extern "C" void cuda_activation(int act, const float *x, void *y, int ytype, size_t n) {
    if (fault_op_begin("activation") || fault_act_reject("activation", act) ||
        fault_dtype_reject("activation", "ytype", ytype) || !n)
        return;
    unsigned blocks = (unsigned)((n + 255) / 256);
    if (ytype == DTYPE_BF16)
        pdl_launch(act_kernel<__nv_bfloat16>, blocks, 256, 0, act, x, (__nv_bfloat16 *)y, n);
    else if (ytype == DTYPE_FP16) pdl_launch(act_kernel<__half>, blocks, 256, 0, act, x, (__half *)y, n);
    else pdl_launch(act_kernel<float>, blocks, 256, 0, act, x, (float *)y, n);
    CUDA_LAUNCH_CHECK("activation");
}

extern "C" void cuda_gated_activation(int act, const float *gate, const float *lin, size_t ld,
                                      void *y, int ytype, size_t rows, size_t cols) {
    if (fault_op_begin("gated_activation") || fault_act_reject("gated_activation", act) ||
        fault_dtype_reject("gated_activation", "ytype", ytype) || !rows || !cols)
        return;
    if (ytype == DTYPE_BF16) launch_gated(act, gate, lin, ld, (__nv_bfloat16 *)y, rows, cols);
    else if (ytype == DTYPE_FP16) launch_gated(act, gate, lin, ld, (__half *)y, rows, cols);
    else launch_gated(act, gate, lin, ld, (float *)y, rows, cols);
}
