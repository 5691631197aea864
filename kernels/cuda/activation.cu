// ReLU, GELU (erf), gelu_new (tanh), SiLU; plain and gated (act(gate) * lin), each written fp32
// or as a 16-bit GEMM input.
#include <cuda_runtime.h>
#include <stdint.h>

#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/half_types.cuh"
#include "models/spec.h"

#define STREAM ((cudaStream_t)cuda_backend_stream())

__device__ __forceinline__ float act_apply(int act, float x) {
    switch (act) {
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_GELU_NEW:
        return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    case ACT_SILU: return x / (1.0f + expf(-x));
    }
    return x;
}

template <typename T>
__global__ void act_kernel(int act, const float *x, T *y, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = from_f32<T>(act_apply(act, x[i]));
}

/* Element i of y [rows, cols]: row i / cols, column i % cols of gate and lin (rows ld apart). */
template <typename T>
__global__ void gated_kernel(int act, const float *gate, const float *lin, size_t ld, T *y,
                             size_t cols, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    size_t at = i / cols * ld + i % cols;
    y[i] = from_f32<T>(act_apply(act, gate[at]) * lin[at]);
}

/* Four elements per thread (cols and ld multiples of 4, 16-byte aligned inputs): 16-byte loads;
 * cols4 = cols / 4, ld4 = ld / 4, n4 = rows * cols4. */
template <typename T>
__global__ void gated_kernel4(int act, const float4 *gate, const float4 *lin, size_t ld4, T *y,
                              size_t cols4, size_t n4) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n4) return;
    size_t at = i / cols4 * ld4 + i % cols4;
    float4 g = gate[at], l = lin[at];
    store4(y, 4 * i, make_float4(act_apply(act, g.x) * l.x, act_apply(act, g.y) * l.y,
                                 act_apply(act, g.z) * l.z, act_apply(act, g.w) * l.w));
}

template <typename T>
static void launch_gated(int act, const float *gate, const float *lin, size_t ld, T *y,
                         size_t rows, size_t cols) {
    size_t n = rows * cols;
    if (cols % 4 == 0 && ld % 4 == 0 &&
        ((uintptr_t)gate | (uintptr_t)lin | (uintptr_t)y) % 16 == 0) {
        size_t n4 = n / 4;
        gated_kernel4<<<(unsigned)((n4 + 255) / 256), 256, 0, STREAM>>>(
            act, (const float4 *)gate, (const float4 *)lin, ld / 4, y, cols / 4, n4);
    } else {
        gated_kernel<<<(unsigned)((n + 255) / 256), 256, 0, STREAM>>>(act, gate, lin, ld, y, cols,
                                                                      n);
    }
}

extern "C" void cuda_activation(int act, const float *x, void *y, int ytype, size_t n) {
    if (!n) return;
    unsigned blocks = (unsigned)((n + 255) / 256);
    if (ytype == DTYPE_BF16) act_kernel<<<blocks, 256, 0, STREAM>>>(act, x, (__nv_bfloat16 *)y, n);
    else if (ytype == DTYPE_FP16) act_kernel<<<blocks, 256, 0, STREAM>>>(act, x, (__half *)y, n);
    else act_kernel<<<blocks, 256, 0, STREAM>>>(act, x, (float *)y, n);
}

extern "C" void cuda_gated_activation(int act, const float *gate, const float *lin, size_t ld,
                                      void *y, int ytype, size_t rows, size_t cols) {
    if (!rows || !cols) return;
    if (ytype == DTYPE_BF16) launch_gated(act, gate, lin, ld, (__nv_bfloat16 *)y, rows, cols);
    else if (ytype == DTYPE_FP16) launch_gated(act, gate, lin, ld, (__half *)y, rows, cols);
    else launch_gated(act, gate, lin, ld, (float *)y, rows, cols);
}
