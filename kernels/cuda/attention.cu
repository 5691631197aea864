// Encoder (prefill) attention on CUDA cores, fp32 activations: a tiled kernel with online
// softmax, K/V tiles shared by a block of queries (prefill_tiled_kernel), and for heads wider
// than its registers allow one block per (query row, head) (attend). The T5 relative bias is
// computed in the kernel from the bucket table (common/relbias.c's arithmetic), never
// materialized as [heads, q, k]. The TF32 tensor-core prefill is attention_mma.cu; decoder
// attention over the paged pools is attention_decode.cu.
#include <cuda_runtime.h>
#include <float.h>

#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/half_types.cuh"
#include "kernels/cuda/attn_bias.cuh"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/smem.cuh"

#define STREAM ((cudaStream_t)cuda_backend_stream())
#define THREADS 128

/* Keys and values of one sequence: contiguous rows from k and v. */
struct kv_src {
    const float *k, *v;
    int row;
    __device__ size_t at(int j) const { return (size_t)j * row; }
};

/* One query row of one head, by the whole block (THREADS threads): scores of the visible keys in
 * dynamic shared memory, one key per warp at a time with the lanes splitting its dimensions
 * (coalesced reads of each key row); softmax with block reductions; then groups of threads split
 * the keys and each thread of a group owns one output dimension (coalesced value reads). */
__device__ void attend(const attn_params p, const float *q, void *out, size_t out_at,
                       const kv_src src, int n_k, int qpos, int h) {
    extern __shared__ float scores[];
    __shared__ float qh[256];
    __shared__ float partial[THREADS];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, n_warps = THREADS / 32;
    int n_vis = p.causal ? min(qpos + 1, n_k) : n_k;
    for (int d = threadIdx.x; d < p.d_kv; d += THREADS) qh[d] = q[(size_t)h * p.d_kv + d];
    __syncthreads();
    for (int j = warp; j < n_vis; j += n_warps) {
        const float *kj = src.k + src.at(j) + (size_t)h * p.d_kv;
        float s = 0.0f;
        for (int d = lane; d < p.d_kv; d += 32) s += qh[d] * kj[d];
        for (int o = 16; o > 0; o >>= 1) s += __shfl_xor_sync(0xffffffffu, s, o);
        if (lane == 0) {
            s *= p.scale;
            if (p.rel_bias) {
                int b = relbias_bucket_with(j - qpos, p.bidirectional, p.buckets,
                                            p.bucket_log_ratio);
                s += p.rel_bias[(size_t)b * p.rel_ld + h];
            }
            scores[j] = s;
        }
    }
    __syncthreads();
    float mx = -FLT_MAX;
    for (int j = threadIdx.x; j < n_vis; j += THREADS) mx = fmaxf(mx, scores[j]);
    mx = block_reduce<THREADS>(mx, 1);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < n_vis; j += THREADS) {
        float e = __expf(scores[j] - mx);
        scores[j] = e;
        sum += e;
    }
    sum = block_reduce<THREADS>(sum, 0); /* also orders the score writes before the reads below */
    float inv = 1.0f / sum;
    if (p.d_kv > THREADS) { /* wide heads: one thread per dimension over all keys */
        for (int d = threadIdx.x; d < p.d_kv; d += THREADS) {
            float acc = 0.0f;
            for (int j = 0; j < n_vis; j++) acc += scores[j] * src.v[src.at(j) + (size_t)h * p.d_kv + d];
            store_as(out, p.out_type, out_at + (size_t)h * p.d_kv + d, acc * inv);
        }
        return;
    }
    const int groups = THREADS / p.d_kv, g = threadIdx.x / p.d_kv, d = threadIdx.x % p.d_kv;
    float acc = 0.0f;
    if (g < groups)
        for (int j = g; j < n_vis; j += groups)
            acc += scores[j] * src.v[src.at(j) + (size_t)h * p.d_kv + d];
    partial[threadIdx.x] = acc;
    __syncthreads();
    if (threadIdx.x < p.d_kv) {
        for (int k = 1; k < groups; k++) acc += partial[k * p.d_kv + threadIdx.x];
        store_as(out, p.out_type, out_at + (size_t)h * p.d_kv + threadIdx.x, acc * inv);
    }
}

/* Fallback prefill for heads wider than PREFILL_DMAX: one block per (query row, head). */
__global__ void prefill_kernel(attn_params p, const float *q, const float *k, const float *v,
                               void *out, const int32_t *off, const int32_t *len) {
    int t = blockIdx.x, s = blockIdx.y, h = blockIdx.z;
    if (t >= len[s]) return;
    size_t base = (size_t)off[s] * p.row;
    kv_src src = {k + base, v + base, p.row};
    attend(p, q + base + (size_t)t * p.row, out, base + (size_t)t * p.row, src, len[s], t, h);
}

/* Tiled prefill: one block per (PREFILL_QT queries, sequence, head), one thread per query with
 * its query and output accumulator in registers (DMAX >= d_kv; lanes past d_kv hold zeros).
 * K/V tiles of PREFILL_KT rows are staged in shared memory once for all the block's queries;
 * softmax is online (running max and sum). The relative bias of every distance the sequence
 * spans, -(L-1)..(L-1), is computed once per block into shared memory. */
#define PREFILL_QT 64
#define PREFILL_KT 32
#define PREFILL_DMAX 128
#define PREFILL_SUB 8

template <int DMAX>
__global__ void __launch_bounds__(PREFILL_QT)
prefill_tiled_kernel(attn_params p, const float *q, const float *k, const float *v, void *out,
                     const int32_t *off, const int32_t *len) {
    extern __shared__ float smem[];
    const int s = blockIdx.y, h = blockIdx.z, L = len[s], q0 = blockIdx.x * PREFILL_QT;
    if (q0 >= L) return;
    const int d_kv = p.d_kv;
    float *ks = smem, *vs = smem + PREFILL_KT * DMAX, *bias = vs + PREFILL_KT * DMAX;
    const size_t base = (size_t)off[s] * p.row + (size_t)h * d_kv;
    if (p.rel_bias) fill_distance_bias(bias, p, L, h);
    const int t = q0 + threadIdx.x;
    const bool active = t < L;
    float qr[DMAX], o[DMAX];
#pragma unroll
    for (int d = 0; d < DMAX; d++) {
        qr[d] = active && d < d_kv ? q[base + (size_t)t * p.row + d] * p.scale : 0.0f;
        o[d] = 0.0f;
    }
    float m = -FLT_MAX, l = 0.0f;
    const int n_keys = p.causal ? min(L, q0 + PREFILL_QT) : L;
    for (int j0 = 0; j0 < n_keys; j0 += PREFILL_KT) {
        const int nt = min(PREFILL_KT, n_keys - j0);
        __syncthreads(); /* the previous tile is consumed (and the bias table written) */
        for (int e = threadIdx.x; e < nt * DMAX; e += blockDim.x) {
            int jj = e / DMAX, d = e % DMAX;
            size_t at = base + (size_t)(j0 + jj) * p.row + d;
            ks[e] = d < d_kv ? k[at] : 0.0f;
            vs[e] = d < d_kv ? v[at] : 0.0f;
        }
        __syncthreads();
        if (!active) continue;
        const int last = p.causal ? min(nt, t - j0 + 1) : nt;
        /* PREFILL_SUB keys at a time: their scores first (independent dot products), then one
         * rescale to the sub-tile's max, then the value accumulation; the rescale branch is
         * taken at most once per sub-tile, so threads of a warp rarely wait on each other. */
        for (int j1 = 0; j1 < last; j1 += PREFILL_SUB) {
            const int cnt = min(PREFILL_SUB, last - j1);
            float sc[PREFILL_SUB], tmax = -FLT_MAX;
#pragma unroll
            for (int u = 0; u < PREFILL_SUB; u++) {
                sc[u] = -FLT_MAX;
                if (u < cnt) {
                    float dot = 0.0f;
#pragma unroll
                    for (int d = 0; d < DMAX; d++) dot += qr[d] * ks[(j1 + u) * DMAX + d];
                    if (p.rel_bias) dot += bias[j0 + j1 + u - t + L - 1];
                    sc[u] = dot;
                    tmax = fmaxf(tmax, dot);
                }
            }
            if (tmax > m) { /* new running max: rescale what was summed so far */
                float c = __expf(m - tmax);
                l *= c;
#pragma unroll
                for (int d = 0; d < DMAX; d++) o[d] *= c;
                m = tmax;
            }
#pragma unroll
            for (int u = 0; u < PREFILL_SUB; u++) {
                if (u < cnt) {
                    float pj = __expf(sc[u] - m);
                    l += pj;
#pragma unroll
                    for (int d = 0; d < DMAX; d++) o[d] += pj * vs[(j1 + u) * DMAX + d];
                }
            }
        }
    }
    if (!active) return;
    float inv = 1.0f / l;
#pragma unroll
    for (int d = 0; d < DMAX; d++) /* unrolled: o stays in registers */
        if (d < d_kv) store_as(out, p.out_type, base + (size_t)t * p.row + d, o[d] * inv);
}

/* Scores of up to max_keys keys. Padded: the compiler's vectorized reads of the scores may run a
 * few floats past the last visible key (compute-sanitizer reported 12-byte reads just past the
 * end). */
static size_t score_bytes(int max_keys) {
    return (size_t)((max_keys > 0 ? max_keys : 1) + 16) * sizeof(float);
}

template <int DMAX>
static void launch_prefill_tiled(const attn_params *p, const float *q, const float *k,
                                 const float *v, void *out, int n_seqs, const int32_t *off,
                                 const int32_t *len) {
    size_t bytes = (2 * PREFILL_KT * DMAX + 2 * (size_t)p->max_keys) * sizeof(float);
    prepare_smem(prefill_tiled_kernel<DMAX>, bytes);
    dim3 grid((p->max_keys + PREFILL_QT - 1) / PREFILL_QT, n_seqs, p->heads);
    prefill_tiled_kernel<DMAX><<<grid, PREFILL_QT, bytes, STREAM>>>(*p, q, k, v, out, off, len);
    CUDA_LAUNCH_CHECK("attention_prefill");
}

extern "C" void cuda_attention_prefill(const attn_params *p, const float *q, const float *k,
                                       const float *v, void *out, int n_seqs, const int32_t *off,
                                       const int32_t *len) {
    if (fault_op_begin("attention_prefill") ||
        fault_dtype_reject("attention_prefill", "out_type", p->out_type) || !n_seqs ||
        p->max_keys <= 0)
        return;
    if (cuda_attention_prefill_tf32(p, q, k, v, out, n_seqs, off, len)) return;
    if (p->d_kv <= 16) launch_prefill_tiled<16>(p, q, k, v, out, n_seqs, off, len);
    else if (p->d_kv <= 32) launch_prefill_tiled<32>(p, q, k, v, out, n_seqs, off, len);
    else if (p->d_kv <= 64) launch_prefill_tiled<64>(p, q, k, v, out, n_seqs, off, len);
    else if (p->d_kv <= PREFILL_DMAX) launch_prefill_tiled<128>(p, q, k, v, out, n_seqs, off, len);
    else {
        size_t smem = prepare_smem(prefill_kernel, score_bytes(p->max_keys));
        dim3 grid(p->max_keys, n_seqs, p->heads);
        prefill_kernel<<<grid, THREADS, smem, STREAM>>>(*p, q, k, v, out, off, len);
        CUDA_LAUNCH_CHECK("attention_prefill");
    }
}
