// Attention kernels, fp32. One thread block per (query row, head): scores of all visible keys in
// dynamic shared memory (p->max_keys of them), softmax with block reductions, then each thread
// accumulates output dimensions. The T5 relative bias is computed in the kernel from the bucket
// table (models/relbias.c's arithmetic), never materialized as [heads, q, k].
#include <cuda_runtime.h>
#include <float.h>

#include "kernels/cuda/cuda_ops.h"

#define STREAM ((cudaStream_t)cuda_backend_stream())
#define THREADS 128

__device__ int bucket_of(int relative_position, int bidirectional, int num_buckets, int max_distance) {
    int bucket = 0, n = num_buckets, rp;
    if (bidirectional) {
        n /= 2;
        if (relative_position > 0) bucket += n;
        rp = relative_position < 0 ? -relative_position : relative_position;
    } else {
        rp = relative_position < 0 ? -relative_position : 0;
    }
    int max_exact = n / 2;
    if (rp < max_exact) return bucket + rp;
    float denom = (float)log((double)max_distance / (double)max_exact);
    float v = logf((float)rp / (float)max_exact) / denom * (float)(n - max_exact);
    int large = max_exact + (int)v;
    if (large > n - 1) large = n - 1;
    return bucket + large;
}

__device__ float block_reduce(float v, int is_max) {
    __shared__ float part[THREADS / 32];
    for (int o = 16; o > 0; o >>= 1) {
        float other = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, other) : v + other;
    }
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    float r = part[0];
    for (int i = 1; i < THREADS / 32; i++) r = is_max ? fmaxf(r, part[i]) : r + part[i];
    __syncthreads();
    return r;
}

/* Keys and values of one query: contiguous rows from base, or through a paged table. */
struct kv_src {
    const float *k, *v;
    const int32_t *table; /* NULL: contiguous */
    size_t block_stride;
    int block_size, row;
    __device__ size_t at(int j) const {
        if (!table) return (size_t)j * row;
        return (size_t)table[j / block_size] * block_stride + (size_t)(j % block_size) * row;
    }
};

__device__ void attend(const attn_params p, const float *q, float *out, const kv_src src, int n_k,
                       int qpos, int h) {
    extern __shared__ float scores[];
    __shared__ float qh[256];
    int n_vis = p.causal ? min(qpos + 1, n_k) : n_k;
    for (int d = threadIdx.x; d < p.d_kv; d += THREADS) qh[d] = q[(size_t)h * p.d_kv + d];
    __syncthreads();
    float mx = -FLT_MAX;
    for (int j = threadIdx.x; j < n_vis; j += THREADS) {
        const float *kj = src.k + src.at(j) + (size_t)h * p.d_kv;
        float s = 0.0f;
        for (int d = 0; d < p.d_kv; d++) s += qh[d] * kj[d];
        s *= p.scale;
        if (p.rel_bias) {
            int b = bucket_of(j - qpos, p.bidirectional, p.buckets, p.max_distance);
            s += p.rel_bias[(size_t)b * p.rel_ld + h];
        }
        scores[j] = s;
        mx = fmaxf(mx, s);
    }
    mx = block_reduce(mx, 1);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < n_vis; j += THREADS) {
        float e = __expf(scores[j] - mx);
        scores[j] = e;
        sum += e;
    }
    sum = block_reduce(sum, 0); /* also orders the score writes before the reads below */
    float inv = 1.0f / sum;
    for (int d = threadIdx.x; d < p.d_kv; d += THREADS) {
        float acc = 0.0f;
        for (int j = 0; j < n_vis; j++) acc += scores[j] * src.v[src.at(j) + (size_t)h * p.d_kv + d];
        out[(size_t)h * p.d_kv + d] = acc * inv;
    }
}

__global__ void prefill_kernel(attn_params p, const float *q, const float *k, const float *v,
                               float *out, const int32_t *off, const int32_t *len) {
    int t = blockIdx.x, s = blockIdx.y, h = blockIdx.z;
    if (t >= len[s]) return;
    size_t base = (size_t)off[s] * p.row;
    kv_src src = {k + base, v + base, NULL, 0, 0, p.row};
    attend(p, q + base + (size_t)t * p.row, out + base + (size_t)t * p.row, src, len[s], t, h);
}

__global__ void paged_kernel(attn_params p, const float *q, float *out, kv_layout kv,
                             const int32_t *blocks, const int32_t *table_off, const int32_t *n_k,
                             const int32_t *q_pos) {
    int i = blockIdx.x, h = blockIdx.y;
    kv_src src = {kv.k, kv.v, blocks + table_off[i], kv.block_stride, kv.block_size, kv.row};
    attend(p, q + (size_t)i * p.row, out + (size_t)i * p.row, src, n_k[i], q_pos[i], h);
}

template <typename K>
static size_t prepare_smem(K kernel, int max_keys) {
    /* Padded: the compiler's vectorized reads of the scores may run a few floats past the last
     * visible key (compute-sanitizer reported 12-byte reads just past the end). */
    size_t bytes = (size_t)((max_keys > 0 ? max_keys : 1) + 16) * sizeof(float);
    if (bytes > 48 * 1024)
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes);
    return bytes;
}

extern "C" void cuda_attention_prefill(const attn_params *p, const float *q, const float *k,
                                       const float *v, float *out, int n_seqs, const int32_t *off,
                                       const int32_t *len) {
    if (!n_seqs) return;
    size_t smem = prepare_smem(prefill_kernel, p->max_keys);
    dim3 grid(p->max_keys, n_seqs, p->heads);
    prefill_kernel<<<grid, THREADS, smem, STREAM>>>(*p, q, k, v, out, off, len);
}

extern "C" void cuda_attention_paged(const attn_params *p, const float *q, float *out, int n,
                                     const kv_layout *kv, const int32_t *blocks,
                                     const int32_t *table_off, const int32_t *n_k,
                                     const int32_t *q_pos) {
    if (!n) return;
    size_t smem = prepare_smem(paged_kernel, p->max_keys);
    dim3 grid(n, p->heads);
    paged_kernel<<<grid, THREADS, smem, STREAM>>>(*p, q, out, *kv, blocks, table_off, n_k, q_pos);
}

__global__ void scatter_kernel(const float *src, float *base, kv_layout kv, const int32_t *blocks,
                               const int32_t *table_off, const int32_t *pos) {
    int i = blockIdx.x;
    if (table_off[i] < 0) return; /* a row with no table (encode-only request) */
    const int32_t *table = blocks + table_off[i];
    size_t at = (size_t)table[pos[i] / kv.block_size] * kv.block_stride +
                (size_t)(pos[i] % kv.block_size) * kv.row;
    for (int d = threadIdx.x; d < kv.row; d += blockDim.x) base[at + d] = src[(size_t)i * kv.row + d];
}

extern "C" void cuda_kv_scatter(const float *src, int n, const kv_layout *kv, int which,
                                const int32_t *blocks, const int32_t *table_off,
                                const int32_t *pos) {
    if (n) scatter_kernel<<<n, 256, 0, STREAM>>>(src, which ? kv->v : kv->k, *kv, blocks, table_off, pos);
}
