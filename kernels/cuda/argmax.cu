// Row-wise argmax of the LM head's logits on the device (greedy steps without logits processors):
// one block per row; ties go to the lower index, as the host's decoding_argmax does.
#include <cuda_runtime.h>
#include <float.h>
#include <math.h>

#include "kernels/cuda/cuda_ops.h"

#define STREAM ((cudaStream_t)cuda_backend_stream())
#define THREADS 256

__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
    return bi < 0 || v > bv || (v == bv && i < bi);
}

__global__ void argmax_kernel(const float *x, int n, int index_base, const int32_t *ban,
                              float *out) {
    __shared__ float sv[THREADS];
    __shared__ int si[THREADS];
    const float *row = x + (size_t)blockIdx.x * n;
    int skip = ban[blockIdx.x] - index_base, bi = -1;
    float bv = -INFINITY;
    for (int i = threadIdx.x; i < n; i += THREADS) {
        float v = row[i];
        if (i != skip && !isnan(v) && better(v, i, bv, bi)) bv = v, bi = i;
    }
    sv[threadIdx.x] = bv, si[threadIdx.x] = bi;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            int j = threadIdx.x + s;
            if (si[j] >= 0 && better(sv[j], si[j], sv[threadIdx.x], si[threadIdx.x]))
                sv[threadIdx.x] = sv[j], si[threadIdx.x] = si[j];
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) {
        out[2 * blockIdx.x] = si[0] < 0 ? -INFINITY : sv[0];
        out[2 * blockIdx.x + 1] = si[0] < 0 ? -1.0f : (float)(si[0] + index_base);
    }
}

extern "C" void cuda_argmax_rows(const float *x, int rows, int n, int index_base,
                                 const int32_t *ban, float *out) {
    if (rows) argmax_kernel<<<rows, THREADS, 0, STREAM>>>(x, n, index_base, ban, out);
}
