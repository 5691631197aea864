// Row-wise argmax (greedy steps without logits processors) and top-k with the log-softmax terms
// (beam search without them) of the LM head's logits on the device:
// one block per row; ties go to the lower index, as the host's decoding_argmax does.
#include <cuda_runtime.h>
#include <float.h>
#include <limits.h>
#include <math.h>

#include "kernels/cuda/cuda_ops.h"

#define STREAM ((cudaStream_t)cuda_backend_stream())
#define THREADS 256

__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
    return bi < 0 || v > bv || (v == bv && i < bi);
}

/* Block-wide best (value, index) by `better`, in place of every thread's (v, i). */
__device__ void block_best(float &v, int &i) {
    __shared__ float sv[THREADS];
    __shared__ int si[THREADS];
    sv[threadIdx.x] = v, si[threadIdx.x] = i;
    __syncthreads();
    for (int s = THREADS / 2; s > 0; s >>= 1) {
        if (threadIdx.x < s) {
            int j = threadIdx.x + s;
            if (si[j] >= 0 && better(sv[j], si[j], sv[threadIdx.x], si[threadIdx.x]))
                sv[threadIdx.x] = sv[j], si[threadIdx.x] = si[j];
        }
        __syncthreads();
    }
    v = sv[0], i = si[0];
    __syncthreads();
}

__global__ void argmax_kernel(const float *x, int n, int index_base, const int32_t *ban,
                              float *out) {
    const float *row = x + (size_t)blockIdx.x * n;
    int skip = ban[blockIdx.x] - index_base, bi = -1;
    float bv = -INFINITY;
    for (int i = threadIdx.x; i < n; i += THREADS) {
        float v = row[i];
        if (i != skip && !isnan(v) && better(v, i, bv, bi)) bv = v, bi = i;
    }
    block_best(bv, bi);
    if (threadIdx.x == 0) {
        out[2 * blockIdx.x] = bi < 0 ? -INFINITY : bv;
        out[2 * blockIdx.x + 1] = bi < 0 ? -1.0f : (float)(bi + index_base);
    }
}

extern "C" void cuda_argmax_rows(const float *x, int rows, int n, int index_base,
                                 const int32_t *ban, float *out) {
    if (rows) argmax_kernel<<<rows, THREADS, 0, STREAM>>>(x, n, index_base, ban, out);
}

/* Top-k of one row per block (cuda_topk_rows), in one pass over the row: each thread keeps the
 * max and sum of exp(x - max) of its elements (online) and its own k best in a sorted list;
 * then k rounds of block_best over the lists' heads, the winner's thread popping its head
 * (indices are distinct, so exactly one thread owns the winner). k <= TOPK_MAX. */
#define TOPK_MAX 32
__global__ void __launch_bounds__(THREADS)
topk_kernel(const float *x, int n, int index_base, const int32_t *ban, int k, float *out) {
    __shared__ float sm[THREADS], ss[THREADS];
    float lv[TOPK_MAX];
    int li[TOPK_MAX], cnt = 0;
    const float *row = x + (size_t)blockIdx.x * n;
    float *o = out + (size_t)blockIdx.x * (2 + 2 * k);
    const int skip = ban[blockIdx.x] - index_base;
    float m = -INFINITY, s = 0.0f;
    for (int i = threadIdx.x; i < n; i += THREADS) {
        float v = row[i];
        if (v > -INFINITY) { /* NaN, -inf: nothing to add */
            if (v > m) s = s * __expf(m - v) + 1.0f, m = v;
            else s += __expf(v - m);
        }
        if (i == skip || isnan(v) || (cnt == k && !better(v, i, lv[k - 1], li[k - 1]))) continue;
        int at = cnt < k ? cnt++ : k - 1; /* insert, dropping the last when full */
        while (at > 0 && better(v, i, lv[at - 1], li[at - 1])) {
            lv[at] = lv[at - 1], li[at] = li[at - 1];
            at--;
        }
        lv[at] = v, li[at] = i;
    }
    sm[threadIdx.x] = m, ss[threadIdx.x] = s;
    __syncthreads();
    for (int h = THREADS / 2; h > 0; h >>= 1) {
        if (threadIdx.x < h) {
            float m2 = sm[threadIdx.x + h], s2 = ss[threadIdx.x + h], m1 = sm[threadIdx.x];
            float mm = fmaxf(m1, m2);
            if (mm > -INFINITY) {
                ss[threadIdx.x] = ss[threadIdx.x] * __expf(m1 - mm) + s2 * __expf(m2 - mm);
                sm[threadIdx.x] = mm;
            }
        }
        __syncthreads();
    }
    if (threadIdx.x == 0) o[0] = sm[0], o[1] = ss[0];
    int head = 0;
    for (int j = 0; j < k; j++) {
        float bv = head < cnt ? lv[head] : -INFINITY;
        int bi = head < cnt ? li[head] : -1;
        block_best(bv, bi);
        if (head < cnt && li[head] == bi) head++;
        if (threadIdx.x == 0) {
            o[2 + 2 * j] = bi < 0 ? -INFINITY : bv;
            o[3 + 2 * j] = bi < 0 ? -1.0f : (float)(bi + index_base);
        }
    }
}

extern "C" void cuda_topk_rows(const float *x, int rows, int n, int index_base,
                               const int32_t *ban, int k, float *out) {
    if (rows) topk_kernel<<<rows, THREADS, 0, STREAM>>>(x, n, index_base, ban, k, out);
}
