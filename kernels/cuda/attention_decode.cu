// Decoder attention over the paged KV pools (one query per entry: a decode step; the KV writes
// of the encoder's cross K/V are kv_scatter.cu's). The pools hold fp32, fp16 or bf16 elements
// (kv_layout.dtype), or E4M3 codes with a scale per row and head (DTYPE_FP8: a key's dot product
// with the codes is multiplied by its K scale; after the softmax's sums, each probability by the
// key's V scale); scores, softmax and sums are fp32.
//
// decode_kernel: one *item* per (entry, head), TPI threads per item (a whole 128-thread block, or
// one warp with four items per block when there are enough items to fill the GPU: then the item
// needs no block barriers and four times as many items are resident). Built for short contexts (a
// few hundred keys): every load a thread issues is independent of the others, so a key row costs
// one memory round trip, not one per dimension.
//   0. the entry's new self-attention K/V row, when given (kv_append), is written to its slot
//      first (this head's slice; the slot is the entry's own), then read back like any key.
//   1. scores: thread t of the item takes keys t, t + TPI, ...; each key's head slice is read
//      with 16-byte loads (VEC elements) and dotted with the query held in shared memory; the T5
//      bias is added from the bucket table; all scores stay in shared memory.
//   2. softmax over the scores with two reductions over the item's threads.
//   3. values: the head's d_kv / VEC chunks are split over `lanes` threads, and the item's
//      TPI / lanes groups of such threads split the keys (four keys in flight per thread); the
//      groups' partial sums are added through shared memory.
// Split keys (flash-decoding), for block items whose launch allows over 2 x SPLIT_KEYS keys:
// each item's keys are cut into ranges of SPLIT_KEYS ([0, 128), [128, 256), ... whatever the
// launch's bound, so the result does not depend on it), one block per range; each block leaves
// its range's max, sum and unnormalized output in scratch, and the item's last block to finish
// (a counter per item) merges them in range order. An item with a single non-empty range gets
// the bits of the unsplit kernel: the merge weighs it by exp(0) = 1 and the empty ranges by 0.
// Shared tables (attn_params.kv_share: the beams of one request over its cross K/V): one item
// takes a window of SHARE_MAX consecutive entries, run by run, and reads each key and value row
// once for all the entries of a run; each entry's arithmetic, and so its bits, are the
// single-entry item's.
#include <cuda_runtime.h>
#include <float.h>

#include "kernels/cuda/attn_bias.cuh"
#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/decode_split_scratch.cuh"
#include "kernels/cuda/half_types.cuh"
#include "kernels/cuda/paged_kv.cuh"
#include "kernels/cuda/smem.cuh"
#include "kernels/cuda/pdl.cuh"
#include "common/dtype.h"

#define STREAM ((cudaStream_t)cuda_backend_stream())
#define THREADS 128
static_assert(SPLIT_KEYS == THREADS, "a split range gives each thread of its block one key");
#define SHARE_MAX 4        /* entries per item over a shared table (kv_share) */
#define SHARE_SMEM_MAX (160 * 1024) /* dynamic shared memory a shared-table item may take */
#define PREFETCH_ROWS 128 /* rows per table asked into L2 before the wait (short contexts whole) */

/* VEC elements of T from p (aligned to their size), widened to fp32: one load instruction. */
template <typename T, int VEC>
__device__ __forceinline__ void load_widened(const T *p, float *out) {
    const vec_of<T, VEC> c = *(const vec_of<T, VEC> *)p; /* the copy is the one load */
    widen<T, VEC>(c, out);
}

/* Max or sum over the TPI threads of one item, for each of G values at once (one barrier pair
 * for all of them over a block), returned to all of them; shared-memory writes the item's
 * threads made before it are visible to all of them after it. */
template <int TPI, int G>
__device__ __forceinline__ void item_reduce_all(float (&v)[G], int is_max) {
    if (TPI == THREADS) {
        block_reduce_n<THREADS, G>(v, is_max);
        return;
    }
    __syncwarp();
#pragma unroll
    for (int e = 0; e < G; e++) v[e] = warp_reduce(v[e], is_max);
}

/* A barrier over the TPI threads of one item. */
template <int TPI>
__device__ __forceinline__ void item_sync() {
    if (TPI == THREADS) __syncthreads();
    else __syncwarp();
}

/* The merge of item's `ranges` partial results (split_scratch.part) into out, by the item's
 * last block: the global max M, then sum_r o_r exp(m_r - M) / sum_r l_r exp(m_r - M). */
__device__ void merge_ranges(const attn_params &p, const split_scratch &sp, int item, int i,
                             int h, void *out) {
    const int d_kv = p.d_kv, stride = d_kv + 2;
    const float *part = sp.part + (size_t)item * sp.ranges * stride;
    float mx = -FLT_MAX;
    for (int r = 0; r < sp.ranges; r++) mx = fmaxf(mx, __ldcg(part + (size_t)r * stride));
    float sum = 0.0f;
    for (int r = 0; r < sp.ranges; r++)
        sum += __ldcg(part + (size_t)r * stride + 1) * __expf(__ldcg(part + (size_t)r * stride) - mx);
    const float inv = 1.0f / sum;
    for (int d = threadIdx.x; d < d_kv; d += THREADS) {
        float o = 0.0f;
        for (int r = 0; r < sp.ranges; r++)
            o += __ldcg(part + (size_t)r * stride + 2 + d) *
                 __expf(__ldcg(part + (size_t)r * stride) - mx);
        store_as(out, p.out_type, (size_t)i * p.row + (size_t)h * d_kv + d, o * inv);
    }
}

/* How many entries from entry i on (up to `end`) an item computes at once: G = 1, entry i
 * alone; G > 1, the run of entries that share i's K/V table (the same table offset and key
 * count, next to each other, as the beams of one request are over its cross K/V). */
template <int G>
__device__ __forceinline__ int run_length(int i, int end, const int32_t *table_off,
                                          const int32_t *n_k) {
    if (G == 1) return 1;
    const int off = table_off[i], nk = n_k[i];
    int count = 1;
    while (i + count < end && table_off[i + count] == off && n_k[i + count] == nk) count++;
    return count;
}

/* The appended row of one head into an FP8 pool: the K and V scales (fp8_row_scale of the
 * head's amax, reduced over the item's TPI threads) at scale index si, then the codes of
 * value / scale (round to nearest even, saturating at 448, as the CPU twin encodes). */
template <int TPI>
__device__ __forceinline__ void append_fp8(const float *k, const float *v, int d_kv,
                                           uint8_t *k_codes, uint8_t *v_codes, float *k_scale,
                                           float *v_scale, size_t si, int tid) {
    float amax[2] = {0.0f, 0.0f};
    for (int d = tid; d < d_kv; d += TPI)
        amax[0] = fmaxf(amax[0], fabsf(k[d])), amax[1] = fmaxf(amax[1], fabsf(v[d]));
    item_reduce_all<TPI, 2>(amax, 1);
    const float ks = fp8_row_scale(amax[0]), vs = fp8_row_scale(amax[1]);
    for (int d = tid; d < d_kv; d += TPI) {
        k_codes[d] = __nv_fp8_e4m3(k[d] / ks).__x;
        v_codes[d] = __nv_fp8_e4m3(v[d] / vs).__x;
    }
    if (tid == 0) k_scale[si] = ks, v_scale[si] = vs;
}

/* Items of a block: THREADS / TPI consecutive (entry, head) pairs, entry-major; with SPLIT
 * (TPI = THREADS), block b is range b % sp.ranges of item b / sp.ranges. With G > 1 (no
 * causal mask, bias, append or split) an item is a window of G consecutive entries (entries
 * [w G, w G + G) and one head), taken run by run (run_length: one run when the window holds the
 * beams of one request), each run's keys read once for all its entries; each entry's
 * arithmetic is the G = 1 item's, in the same order.
 * Dynamic shared memory per item: G query heads (d_kv floats each), then G score rows (max_keys
 * floats each; SPLIT_KEYS with SPLIT). Static: the value pass's partial sums, G * THREADS * VEC
 * floats (G * TPI * VEC per item). Requires d_kv % VEC == 0 and TPI either 32 or THREADS. */
template <typename T, int VEC, int TPI, bool SPLIT, int G>
__global__ void __launch_bounds__(THREADS)
decode_kernel(attn_params p, int n, const float *q, void *out, kv_layout kv, kv_append app,
              const int32_t *blocks, const int32_t *table_off, const int32_t *n_k,
              const int32_t *q_pos, split_scratch sp) {
    static_assert(G == 1 || !SPLIT, "a split item holds one entry");
    constexpr bool FP8 = sizeof(T) == 1; /* E4M3 codes with per-(row, head) scales */
    extern __shared__ float smem[];
    __shared__ float partial_all[G * THREADS * VEC];
    const int slot = threadIdx.x / TPI, tid = threadIdx.x % TPI, d_kv = p.d_kv;
    const int item = SPLIT ? blockIdx.x / sp.ranges : blockIdx.x * (THREADS / TPI) + slot;
    /* A whole item (warp) leaves: no barrier is shared. */
    if (item >= (n + G - 1) / G * p.heads) return;
    const int h = item % p.heads, first = item / p.heads * G, end = min(first + G, n);
    /* The first PREFETCH_ROWS key and value rows of each table of the item into L2 while the
     * kernel before finishes (the tables and counts are written by copies before the step; a
     * prefetch returns nothing: pdl.cuh). Block items only (small steps): warp items' prefetches
     * competed with the kernel before (H100, 2026-12-07: t5-base 64 x 4 beams 2.5% and
     * flan-t5-xl batch 64 1% slower per step with them). */
    if constexpr (!SPLIT && TPI == THREADS)
        for (int i = first; i < end; i++)
            if (i == first || table_off[i] != table_off[i - 1])
                prefetch_rows_l2<T>(kv, blocks + table_off[i], (size_t)h * d_kv,
                                    d_kv * (int)sizeof(T), min(n_k[i], PREFETCH_ROWS), tid, TPI);
    pdl_wait();
    pdl_release();
    for (int i = first, led; i < end; i += led) {
        led = run_length<G>(i, end, table_off, n_k);
        const int score_cap = SPLIT ? SPLIT_KEYS : p.max_keys;
        float *qh = smem + (size_t)slot * G * (d_kv + score_cap), *scores = qh + G * d_kv;
        float *partial = partial_all + slot * G * TPI * VEC;
        const int32_t *table = blocks + table_off[i];
        const int qpos = q_pos[i];
        const int n_all = p.causal ? min(qpos + 1, n_k[i]) : n_k[i];
        /* This block's keys [j0, j0 + n_vis); scores[j] is key j0 + j. */
        const int j0 = SPLIT ? (int)(blockIdx.x % sp.ranges) * SPLIT_KEYS : 0;
        const int n_vis = SPLIT ? max(0, min(SPLIT_KEYS, n_all - j0)) : n_all;
        const size_t q_ld = p.q_ld ? p.q_ld : p.row;
        /* This entry's new K/V, this head's slice, by the block whose keys hold it: read back
         * below like any key. */
        if (app.k && (!SPLIT || (qpos >= j0 && qpos < j0 + SPLIT_KEYS))) {
            const size_t at = paged_row(kv, table, qpos) + (size_t)h * d_kv;
            const size_t src = (size_t)i * app.ld + (size_t)h * d_kv;
            if constexpr (FP8)
                append_fp8<TPI>(app.k + src, app.v + src, d_kv, (uint8_t *)kv.k + at,
                                (uint8_t *)kv.v + at, kv.k_scale, kv.v_scale,
                                paged_scale(kv, table, qpos, h), tid);
            else
                for (int d = tid; d < d_kv; d += TPI) {
                    ((T *)kv.k)[at + d] = from_f32<T>(app.k[src + d]);
                    ((T *)kv.v)[at + d] = from_f32<T>(app.v[src + d]);
                }
        }
        const T *kh = (const T *)kv.k + (size_t)h * d_kv;
        const T *vh = (const T *)kv.v + (size_t)h * d_kv;
#pragma unroll
        for (int e = 0; e < G; e++) /* rows past the run: zeros, computed, never stored */
            for (int d = tid; d < d_kv; d += TPI)
                qh[e * d_kv + d] =
                    e < led ? q[(size_t)(i + e) * q_ld + (size_t)h * d_kv + d] : 0.0f;
        item_sync<TPI>(); /* the queries and the appended row are in place */

        float mx[G];
#pragma unroll
        for (int e = 0; e < G; e++) mx[e] = -FLT_MAX;
        for (int j = tid; j < n_vis; j += TPI) {
            const T *kr = kh + paged_row(kv, table, j0 + j);
            float s[G];
#pragma unroll
            for (int e = 0; e < G; e++) s[e] = 0.0f;
#pragma unroll 8
            for (int c = 0; c < d_kv; c += VEC) {
                float kf[VEC];
                load_widened<T, VEC>(kr + c, kf);
#pragma unroll
                for (int e = 0; e < G; e++)
#pragma unroll
                    for (int u = 0; u < VEC; u++) s[e] += qh[e * d_kv + c + u] * kf[u];
            }
            if (FP8) {
                const float ks = kv.k_scale[paged_scale(kv, table, j0 + j, h)];
#pragma unroll
                for (int e = 0; e < G; e++) s[e] *= ks;
            }
#pragma unroll
            for (int e = 0; e < G; e++) {
                float se = s[e] * p.scale;
                if (p.rel_bias)
                    se += p.rel_bias[(size_t)relbias_bucket_with(j0 + j - qpos, p.bidirectional,
                                                                 p.buckets, p.bucket_log_ratio) *
                                         p.rel_ld + h];
                scores[e * score_cap + j] = se;
                mx[e] = fmaxf(mx[e], se);
            }
        }
        float sum[G], inv[G];
        item_reduce_all<TPI, G>(mx, 1);
#pragma unroll
        for (int e = 0; e < G; e++) sum[e] = 0.0f;
        for (int j = tid; j < n_vis; j += TPI)
#pragma unroll
            for (int e = 0; e < G; e++) {
                float x = __expf(scores[e * score_cap + j] - mx[e]);
                scores[e * score_cap + j] = x;
                sum[e] += x;
            }
        item_reduce_all<TPI, G>(sum, 0); /* also publishes the exponentials */
        if (FP8) { /* the V scales into the probabilities, after their sums */
            for (int j = tid; j < n_vis; j += TPI) {
                const float vs = kv.v_scale[paged_scale(kv, table, j0 + j, h)];
#pragma unroll
                for (int e = 0; e < G; e++) scores[e * score_cap + j] *= vs;
            }
            item_sync<TPI>();
        }
#pragma unroll
        for (int e = 0; e < G; e++) /* split: the merge normalizes */
            inv[e] = SPLIT ? 1.0f : 1.0f / sum[e];
        float *mine = SPLIT ? sp.part + ((size_t)item * sp.ranges + blockIdx.x % sp.ranges) *
                                            (d_kv + 2)
                            : NULL;
        if (SPLIT && tid == 0) mine[0] = mx[0], mine[1] = sum[0];

        const int chunks = d_kv / VEC, lanes = min(chunks, TPI), groups = TPI / lanes;
        const int g = tid / lanes, lane = tid % lanes, width = lanes * VEC;
        for (int c0 = 0; c0 < chunks; c0 += lanes) { /* one pass unless d_kv > TPI * VEC */
            const int c = c0 + lane;
            float acc[G][VEC];
#pragma unroll
            for (int e = 0; e < G; e++)
#pragma unroll
                for (int u = 0; u < VEC; u++) acc[e][u] = 0.0f;
            if (g < groups && c < chunks) {
                const T *vc = vh + (size_t)c * VEC;
                int j = g;
                for (; j + 3 * groups < n_vis; j += 4 * groups) {
                    float v0[VEC], v1[VEC], v2[VEC], v3[VEC];
                    load_widened<T, VEC>(vc + paged_row(kv, table, j0 + j), v0);
                    load_widened<T, VEC>(vc + paged_row(kv, table, j0 + j + groups), v1);
                    load_widened<T, VEC>(vc + paged_row(kv, table, j0 + j + 2 * groups), v2);
                    load_widened<T, VEC>(vc + paged_row(kv, table, j0 + j + 3 * groups), v3);
#pragma unroll
                    for (int e = 0; e < G; e++) {
                        const float *se = scores + e * score_cap;
                        const float p0 = se[j], p1 = se[j + groups];
                        const float p2 = se[j + 2 * groups], p3 = se[j + 3 * groups];
#pragma unroll
                        for (int u = 0; u < VEC; u++)
                            acc[e][u] += p0 * v0[u] + p1 * v1[u] + p2 * v2[u] + p3 * v3[u];
                    }
                }
                for (; j < n_vis; j += groups) {
                    float v0[VEC];
                    load_widened<T, VEC>(vc + paged_row(kv, table, j0 + j), v0);
#pragma unroll
                    for (int e = 0; e < G; e++)
#pragma unroll
                        for (int u = 0; u < VEC; u++)
                            acc[e][u] += scores[e * score_cap + j] * v0[u];
                }
            }
            if (g < groups)
#pragma unroll
                for (int e = 0; e < G; e++)
#pragma unroll
                    for (int u = 0; u < VEC; u++)
                        partial[e * TPI * VEC + g * width + lane * VEC + u] = acc[e][u];
            item_sync<TPI>();
#pragma unroll
            for (int e = 0; e < G; e++)
                for (int x = tid; e < led && x < width && c0 * VEC + x < d_kv; x += TPI) {
                    float o = 0.0f;
                    for (int k = 0; k < groups; k++) o += partial[e * TPI * VEC + k * width + x];
                    if (SPLIT) mine[2 + c0 * VEC + x] = o;
                    else store_as(out, p.out_type,
                                  (size_t)(i + e) * p.row + (size_t)h * d_kv + c0 * VEC + x,
                                  o * inv[e]);
                }
            item_sync<TPI>(); /* partial is reused by the next pass (and the next run) */
        }
    }
    if (!SPLIT) return;
    const int i = first;
    /* The last of the item's blocks merges: every block's writes are made visible device-wide
     * before it counts itself done. */
    __shared__ int last;
    __threadfence();
    __syncthreads();
    if (threadIdx.x == 0) last = atomicAdd(&sp.done[item], 1) == sp.ranges - 1;
    __syncthreads();
    if (!last) return;
    __threadfence();
    merge_ranges(p, sp, item, i, h, out);
    if (threadIdx.x == 0) sp.done[item] = 0;
}

/* Threads per item: a warp when there are at least DECODE_WARP_ITEMS (entry, head) items and
 * four items' scores fit the default shared memory, else a whole block. Measured on an H100 (132
 * SMs; docs/PERFORMANCE.md): 2,048-4,096 items ran 5-14% faster per step as warps (t5-base 256
 * greedy and 64 x 4 beams, flan-t5-xl 64 and 128), 1,024 items 8% slower (flan-t5-xl 32). */
static int decode_tpi(int items, size_t warp_smem_bytes) {
    return items >= DECODE_WARP_ITEMS && warp_smem_bytes <= 48 * 1024 ? 32 : THREADS;
}

template <typename T, int VEC, int TPI, bool SPLIT, int G>
static void launch_decode_items(const attn_params *p, const float *q, void *out, int n,
                                const kv_layout *kv, const kv_append *app, const int32_t *blocks,
                                const int32_t *table_off, const int32_t *n_k, const int32_t *q_pos,
                                split_scratch sp) {
    const int per_block = THREADS / TPI;
    attn_params pk = *p;
    if (pk.max_keys < 1) pk.max_keys = 1;
    size_t bytes = (size_t)per_block * G * (pk.d_kv + (SPLIT ? SPLIT_KEYS : pk.max_keys)) *
                   sizeof(float);
    prepare_smem(decode_kernel<T, VEC, TPI, SPLIT, G>, bytes);
    const int items = (n + G - 1) / G * pk.heads; /* G > 1: windows of G entries */
    const int grid = SPLIT ? items * sp.ranges : (items + per_block - 1) / per_block;
    kv_append none = {NULL, NULL, 0};
    pdl_launch(decode_kernel<T, VEC, TPI, SPLIT, G>, grid, THREADS, bytes, pk, n, q, out, *kv,
               app ? *app : none, blocks, table_off, n_k, q_pos, sp);
    CUDA_LAUNCH_CHECK("attention_paged");
}

/* Entries sharing a table (attn_params.kv_share > 1, without causal mask, bias or append: the
 * beams of a request over its cross K/V): items of SHARE_MAX consecutive entries each, reading
 * every key once for all the entries of a run, as warps or blocks by the count of such items (a
 * grid over the windows: no block leaves at once). Otherwise warp items for large steps
 * (decode_tpi); block items split into MIN_RANGES to MAX_RANGES key ranges when the launch's
 * bound needs that many; else block items over all keys. Unshared cross-attention over 16-bit
 * pools of the usual head widths takes attention_cross_warp.cu's single-pass kernel instead (the
 * choice depends on the call, never on the launch's key bound). */
template <typename T, int VEC>
static void launch_decode(const attn_params *p, const float *q, void *out, int n,
                          const kv_layout *kv, const kv_append *app, const int32_t *blocks,
                          const int32_t *table_off, const int32_t *n_k, const int32_t *q_pos) {
    const int items = n * p->heads, max_keys = p->max_keys > 0 ? p->max_keys : 1;
    const size_t item_bytes = (size_t)(p->d_kv + max_keys) * sizeof(float);
    const split_scratch unsplit = {NULL, NULL, 0};
    /* SHARE_MAX score rows per item must fit a block's shared memory (past about 10,000 keys
     * they would not: such launches read per entry, as before). */
    if (p->kv_share > 1 && !app && !p->causal && !p->rel_bias &&
        SHARE_MAX * item_bytes <= SHARE_SMEM_MAX) {
        const int led = (n + SHARE_MAX - 1) / SHARE_MAX * p->heads;
        if (decode_tpi(led, (THREADS / 32) * SHARE_MAX * item_bytes) == 32)
            launch_decode_items<T, VEC, 32, false, SHARE_MAX>(p, q, out, n, kv, app, blocks,
                                                              table_off, n_k, q_pos, unsplit);
        else
            launch_decode_items<T, VEC, THREADS, false, SHARE_MAX>(p, q, out, n, kv, app, blocks,
                                                                   table_off, n_k, q_pos, unsplit);
        return;
    }
    if (!app && cuda_attention_cross_warp(p, q, out, n, kv, blocks, table_off, n_k)) return;
    if (decode_tpi(items, (THREADS / 32) * item_bytes) == 32) {
        launch_decode_items<T, VEC, 32, false, 1>(p, q, out, n, kv, app, blocks, table_off, n_k,
                                                  q_pos, unsplit);
        return;
    }
    const int ranges = (max_keys + SPLIT_KEYS - 1) / SPLIT_KEYS;
    split_scratch sp;
    if (ranges >= MIN_RANGES && ranges <= MAX_RANGES &&
        decode_split_scratch(items, ranges, p->d_kv, &sp)) {
        sp.ranges = ranges;
        launch_decode_items<T, VEC, THREADS, true, 1>(p, q, out, n, kv, app, blocks, table_off,
                                                      n_k, q_pos, sp);
        return;
    }
    launch_decode_items<T, VEC, THREADS, false, 1>(p, q, out, n, kv, app, blocks, table_off, n_k,
                                                   q_pos, unsplit);
}

/* 16-byte loads when d_kv allows them, else loads of one fp32 or two 16-bit elements (an odd
 * 16-bit head width takes one element at a time). */
template <typename T>
static void dispatch_decode(const attn_params *p, const float *q, void *out, int n,
                            const kv_layout *kv, const kv_append *app, const int32_t *blocks,
                            const int32_t *table_off, const int32_t *n_k, const int32_t *q_pos) {
    /* FP8 codes: 8-byte loads at most, so the value pass's partial sums (VEC floats a thread)
     * take no more shared memory than 16-bit pools' do. */
    constexpr int WIDE = sizeof(T) == 1 ? 8 : 16 / sizeof(T), NARROW = 4 / sizeof(T);
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
    if (fault_op_begin("attention_paged") ||
        fault_dtype_reject("attention_paged", "out_type", p->out_type) ||
        (kv->dtype != DTYPE_FP8 && fault_dtype_reject("attention_paged", "kv dtype", kv->dtype)) ||
        !n)
        return;
    if (kv->dtype == DTYPE_FP8)
        dispatch_decode<__nv_fp8_e4m3>(p, q, out, n, kv, app, blocks, table_off, n_k, q_pos);
    else if (kv->dtype == DTYPE_BF16)
        dispatch_decode<__nv_bfloat16>(p, q, out, n, kv, app, blocks, table_off, n_k, q_pos);
    else if (kv->dtype == DTYPE_FP16)
        dispatch_decode<__half>(p, q, out, n, kv, app, blocks, table_off, n_k, q_pos);
    else
        dispatch_decode<float>(p, q, out, n, kv, app, blocks, table_off, n_k, q_pos);
}
