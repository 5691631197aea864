// ReLU, GELU (erf), gelu_new (tanh), SiLU; plain (fp32, in place) and gated (act(gate) * lin,
// written fp32 or as a 16-bit GEMM input).
#include <cuda_runtime.h>

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

__global__ void act_kernel(int act, float *x, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) x[i] = act_apply(act, x[i]);
}

template <typename T>
__global__ void gated_kernel(int act, const float *gate, const float *lin, T *y, size_t n) {
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = from_f32<T>(act_apply(act, gate[i]) * lin[i]);
}

extern "C" void cuda_activation(int act, float *x, size_t n) {
    if (n) act_kernel<<<(unsigned)((n + 255) / 256), 256, 0, STREAM>>>(act, x, n);
}

extern "C" void cuda_gated_activation(int act, const float *gate, const float *lin, void *y,
                                      int ytype, size_t n) {
    if (!n) return;
    unsigned blocks = (unsigned)((n + 255) / 256);
    if (ytype == DTYPE_BF16)
        gated_kernel<<<blocks, 256, 0, STREAM>>>(act, gate, lin, (__nv_bfloat16 *)y, n);
    else if (ytype == DTYPE_FP16)
        gated_kernel<<<blocks, 256, 0, STREAM>>>(act, gate, lin, (__half *)y, n);
    else
        gated_kernel<<<blocks, 256, 0, STREAM>>>(act, gate, lin, (float *)y, n);
}
