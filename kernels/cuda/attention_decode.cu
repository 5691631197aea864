// Decoder attention over the paged KV pools (one query per entry: a decode step), and the KV
// writes that fill them. The pools hold fp32, fp16 or bf16 elements (kv_layout.dtype); scores,
// softmax and sums are fp32.
//
// decode_kernel: one thread block per (entry, head), 128 or 256 threads. Built for short contexts (a few hundred
// keys): every load a thread issues is independent of the others, so a key row costs one memory
// round trip, not one per dimension.
//   0. the entry's new self-attention K/V row, when given (kv_append), is written to its slot
//      first (this head's slice; the slot is the entry's own), then read back like any key.
//   1. scores: thread t takes keys t, t + THREADS, ...; each key's head slice is read with
//      16-byte loads (VEC elements) and dotted with the query held in shared memory; the T5
//      bias is added from the bucket table; all scores stay in shared memory.
//   2. softmax over the scores with two block reductions.
//   3. values: the head's d_kv / VEC chunks are split over `lanes` threads, and the block's
//      THREADS / lanes groups of such threads split the keys (four keys in flight per thread);
//      the groups' partial sums are added through shared memory.
#include <cuda_runtime.h>
#include <float.h>

#include "kernels/cuda/attn_bias.cuh"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/half_types.cuh"
#include "kernels/cuda/smem.cuh"
#include "runtime/config.h"

#define STREAM ((cudaStream_t)cuda_backend_stream())

/* VEC elements of T from p (aligned to their size), widened to fp32: one load instruction. */
template <typename T, int VEC>
__device__ __forceinline__ void load_widened(const T *p, float *out) {
    struct alignas(VEC * sizeof(T)) chunk { T e[VEC]; };
    chunk c = *(const chunk *)p;
#pragma unroll
    for (int u = 0; u < VEC; u++) out[u] = to_f32(c.e[u]);
}

/* Element offset of key row j of a paged table (kv_layout's addressing). */
__device__ __forceinline__ size_t paged_row(const kv_layout &kv, const int32_t *table, int j) {
    return (size_t)table[j / kv.block_size] * kv.block_stride + (size_t)(j % kv.block_size) * kv.row;
}

/* THREADS threads per block (128, or 256 for contexts past 128 keys). MEMBERS = 1: block x is
 * entry x. MEMBERS > 1 (p.sets given: non-causal, no append): block x takes the set at
 * p.sets[2x] (first entry, count <= MEMBERS; count 0: nothing), entries that share one table
 * and key count (the beams of a request over its cross K/V): each key and value row is read
 * once for all of them. Dynamic shared memory: MEMBERS query heads (d_kv floats each), then
 * MEMBERS rows of scores (max_keys floats each). Static: the value pass's partial sums,
 * THREADS * VEC floats. Requires d_kv % VEC == 0. */
template <typename T, int VEC, int THREADS, int MEMBERS>
__global__ void __launch_bounds__(THREADS)
decode_kernel(attn_params p, const float *q, void *out, kv_layout kv, kv_append app,
              const int32_t *blocks, const int32_t *table_off, const int32_t *n_k,
              const int32_t *q_pos) {
    extern __shared__ float smem[];
    __shared__ float partial[THREADS * VEC];
    const int h = blockIdx.y, d_kv = p.d_kv, tid = threadIdx.x;
    int e0 = blockIdx.x, cnt = 1;
    if (MEMBERS > 1) {
        e0 = p.sets[2 * blockIdx.x], cnt = p.sets[2 * blockIdx.x + 1];
        if (cnt == 0) return;
    }
    const int mk = p.max_keys > 0 ? p.max_keys : 1;
    float *qh = smem, *scores = smem + MEMBERS * d_kv;
    const int32_t *table = blocks + table_off[e0];
    const int qpos = q_pos[e0];
    const int n_vis = p.causal ? min(qpos + 1, n_k[e0]) : n_k[e0];
    const size_t q_ld = p.q_ld ? p.q_ld : p.row;
    if (app.k) { /* this entry's new K/V, this head's slice: read back below like any key */
        const size_t at = paged_row(kv, table, qpos) + (size_t)h * d_kv;
        const size_t src = (size_t)e0 * app.ld + (size_t)h * d_kv;
        for (int d = tid; d < d_kv; d += THREADS) {
            ((T *)kv.k)[at + d] = from_f32<T>(app.k[src + d]);
            ((T *)kv.v)[at + d] = from_f32<T>(app.v[src + d]);
        }
    }
    const T *kh = (const T *)kv.k + (size_t)h * d_kv, *vh = (const T *)kv.v + (size_t)h * d_kv;
    for (int g = 0; g < cnt; g++)
        for (int d = tid; d < d_kv; d += THREADS)
            qh[g * d_kv + d] = q[(size_t)(e0 + g) * q_ld + (size_t)h * d_kv + d];
    __syncthreads(); /* the queries and the appended row are in place */

    float mx[MEMBERS];
#pragma unroll
    for (int g = 0; g < MEMBERS; g++) mx[g] = -FLT_MAX;
    for (int j = tid; j < n_vis; j += THREADS) {
        const T *kr = kh + paged_row(kv, table, j);
        float s[MEMBERS];
#pragma unroll
        for (int g = 0; g < MEMBERS; g++) s[g] = 0.0f;
#pragma unroll 8
        for (int c = 0; c < d_kv; c += VEC) {
            float kf[VEC];
            load_widened<T, VEC>(kr + c, kf);
#pragma unroll
            for (int g = 0; g < MEMBERS; g++)
                if (g < cnt)
#pragma unroll
                    for (int u = 0; u < VEC; u++) s[g] += qh[g * d_kv + c + u] * kf[u];
        }
#pragma unroll
        for (int g = 0; g < MEMBERS; g++) {
            if (g >= cnt) break;
            float v = s[g] * p.scale;
            if (p.rel_bias)
                v += p.rel_bias[(size_t)relbias_bucket_with(j - qpos, p.bidirectional, p.buckets,
                                                            p.bucket_log_ratio) * p.rel_ld + h];
            scores[g * mk + j] = v;
            mx[g] = fmaxf(mx[g], v);
        }
    }
    float inv[MEMBERS];
#pragma unroll
    for (int g = 0; g < MEMBERS; g++) {
        if (g >= cnt) break; /* cnt is the block's: every thread takes the same branches */
        const float m = block_reduce<THREADS>(mx[g], 1);
        float sum = 0.0f;
        for (int j = tid; j < n_vis; j += THREADS) {
            float e = __expf(scores[g * mk + j] - m);
            scores[g * mk + j] = e;
            sum += e;
        }
        inv[g] = 1.0f / block_reduce<THREADS>(sum, 0); /* also publishes the exponentials */
    }

    const int chunks = d_kv / VEC, lanes = min(chunks, THREADS), key_groups = THREADS / lanes;
    const int kg = tid / lanes, lane = tid % lanes, width = lanes * VEC;
    for (int c0 = 0; c0 < chunks; c0 += lanes) { /* one pass unless d_kv > THREADS * VEC */
        const int c = c0 + lane;
        float acc[MEMBERS][VEC];
#pragma unroll
        for (int g = 0; g < MEMBERS; g++)
#pragma unroll
            for (int u = 0; u < VEC; u++) acc[g][u] = 0.0f;
        if (kg < key_groups && c < chunks) {
            const T *vc = vh + (size_t)c * VEC;
            const int G = key_groups;
            int j = kg;
            for (; j + 3 * G < n_vis; j += 4 * G) { /* four value rows in flight */
                float v0[VEC], v1[VEC], v2[VEC], v3[VEC];
                load_widened<T, VEC>(vc + paged_row(kv, table, j), v0);
                load_widened<T, VEC>(vc + paged_row(kv, table, j + G), v1);
                load_widened<T, VEC>(vc + paged_row(kv, table, j + 2 * G), v2);
                load_widened<T, VEC>(vc + paged_row(kv, table, j + 3 * G), v3);
#pragma unroll
                for (int g = 0; g < MEMBERS; g++) {
                    if (g >= cnt) break;
                    const float *sg = scores + g * mk;
                    const float p0 = sg[j], p1 = sg[j + G], p2 = sg[j + 2 * G], p3 = sg[j + 3 * G];
#pragma unroll
                    for (int u = 0; u < VEC; u++)
                        acc[g][u] += p0 * v0[u] + p1 * v1[u] + p2 * v2[u] + p3 * v3[u];
                }
            }
            for (; j < n_vis; j += G) {
                float v0[VEC];
                load_widened<T, VEC>(vc + paged_row(kv, table, j), v0);
#pragma unroll
                for (int g = 0; g < MEMBERS; g++) {
                    if (g >= cnt) break;
#pragma unroll
                    for (int u = 0; u < VEC; u++) acc[g][u] += scores[g * mk + j] * v0[u];
                }
            }
        }
#pragma unroll
        for (int g = 0; g < MEMBERS; g++) {
            if (g >= cnt) break;
            if (kg < key_groups)
#pragma unroll
                for (int u = 0; u < VEC; u++) partial[kg * width + lane * VEC + u] = acc[g][u];
            __syncthreads();
            for (int e = tid; e < width && c0 * VEC + e < d_kv; e += THREADS) {
                float o = 0.0f;
                for (int k = 0; k < key_groups; k++) o += partial[k * width + e];
                store_as(out, p.out_type,
                         (size_t)(e0 + g) * p.row + (size_t)h * d_kv + c0 * VEC + e, o * inv[g]);
            }
            __syncthreads(); /* partial is reused by the next member or pass */
        }
    }
}

/* Sets of up to SET_MEMBERS entries per block when p->sets is given and their scores fit. */
#define SET_MEMBERS ATTN_SET_MAX
#define SET_SMEM_MAX (64 * 1024)

template <typename T, int VEC, int THREADS, int MEMBERS>
static void launch_members(const attn_params *p, const float *q, void *out, int n,
                           const kv_layout *kv, const kv_append &a, const int32_t *blocks,
                           const int32_t *table_off, const int32_t *n_k, const int32_t *q_pos,
                           size_t bytes) {
    prepare_smem(decode_kernel<T, VEC, THREADS, MEMBERS>, bytes);
    dim3 grid(n, p->heads);
    decode_kernel<T, VEC, THREADS, MEMBERS><<<grid, THREADS, bytes, STREAM>>>(
        *p, q, out, *kv, a, blocks, table_off, n_k, q_pos);
}

template <typename T, int VEC>
static void launch_decode(const attn_params *p, const float *q, void *out, int n,
                          const kv_layout *kv, const kv_append *app, const int32_t *blocks,
                          const int32_t *table_off, const int32_t *n_k, const int32_t *q_pos) {
    const size_t per = (size_t)(p->d_kv + (p->max_keys > 0 ? p->max_keys : 1)) * sizeof(float);
    kv_append a = app ? *app : kv_append{NULL, NULL, 0};
    const bool sets = p->sets && !app && !p->causal && SET_MEMBERS * per <= SET_SMEM_MAX;
    attn_params one = *p;
    if (!sets) one.sets = NULL;
    if (sets && p->max_keys > 128)
        launch_members<T, VEC, 256, SET_MEMBERS>(&one, q, out, n, kv, a, blocks, table_off, n_k,
                                                 q_pos, SET_MEMBERS * per);
    else if (sets)
        launch_members<T, VEC, 128, SET_MEMBERS>(&one, q, out, n, kv, a, blocks, table_off, n_k,
                                                 q_pos, SET_MEMBERS * per);
    else if (p->max_keys > 128) /* more keys and value rows in flight per (entry, head) */
        launch_members<T, VEC, 256, 1>(&one, q, out, n, kv, a, blocks, table_off, n_k, q_pos, per);
    else
        launch_members<T, VEC, 128, 1>(&one, q, out, n, kv, a, blocks, table_off, n_k, q_pos, per);
}

/* 16-byte loads when d_kv allows them, else loads of one fp32 or two 16-bit elements (an odd
 * 16-bit head width takes one element at a time). */
template <typename T>
static void dispatch_decode(const attn_params *p, const float *q, void *out, int n,
                            const kv_layout *kv, const kv_append *app, const int32_t *blocks,
                            const int32_t *table_off, const int32_t *n_k, const int32_t *q_pos) {
    constexpr int WIDE = 16 / sizeof(T), NARROW = 4 / sizeof(T);
    if (p->d_kv % WIDE == 0)
        launch_decode<T, WIDE>(p, q, out, n, kv, app, blocks, table_off, n_k, q_pos);
    else if (p->d_kv % NARROW == 0)
        launch_decode<T, NARROW>(p, q, out, n, kv, app, blocks, table_off, n_k, q_pos);
    else
        launch_decode<T, 1>(p, q, out, n, kv, app, blocks, table_off, n_k, q_pos);
}

extern "C" void cuda_attention_paged(const attn_params *p, const float *q, void *out, int n,
                                     const kv_layout *kv, const kv_append *app,
                                     const int32_t *blocks, const int32_t *table_off,
                                     const int32_t *n_k, const int32_t *q_pos) {
    if (!n) return;
    if (kv->dtype == DTYPE_BF16)
        dispatch_decode<__nv_bfloat16>(p, q, out, n, kv, app, blocks, table_off, n_k, q_pos);
    else if (kv->dtype == DTYPE_FP16)
        dispatch_decode<__half>(p, q, out, n, kv, app, blocks, table_off, n_k, q_pos);
    else
        dispatch_decode<float>(p, q, out, n, kv, app, blocks, table_off, n_k, q_pos);
}

/* Row i of src into its slot, converted to T (fp16 saturating, as from_f32 does). */
template <typename T>
__global__ void scatter_kernel(const float *src, T *base, kv_layout kv, const int32_t *blocks,
                               const int32_t *table_off, const int32_t *pos) {
    int i = blockIdx.x;
    if (table_off[i] < 0) return; /* a row with no table (encode-only request) */
    size_t at = paged_row(kv, blocks + table_off[i], pos[i]);
    for (int d = threadIdx.x; d < kv.row; d += blockDim.x)
        base[at + d] = from_f32<T>(src[(size_t)i * kv.row + d]);
}

extern "C" void cuda_kv_scatter(const float *src, int n, const kv_layout *kv, int which,
                                const int32_t *blocks, const int32_t *table_off,
                                const int32_t *pos) {
    if (!n) return;
    void *base = which ? kv->v : kv->k;
    if (kv->dtype == DTYPE_BF16)
        scatter_kernel<<<n, 256, 0, STREAM>>>(src, (__nv_bfloat16 *)base, *kv, blocks, table_off, pos);
    else if (kv->dtype == DTYPE_FP16)
        scatter_kernel<<<n, 256, 0, STREAM>>>(src, (__half *)base, *kv, blocks, table_off, pos);
    else
        scatter_kernel<<<n, 256, 0, STREAM>>>(src, (float *)base, *kv, blocks, table_off, pos);
}
