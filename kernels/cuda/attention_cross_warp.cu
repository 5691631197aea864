// Decoder cross-attention over 16-bit KV pools in a single pass over the keys (online softmax),
// for head widths of 32, 64 or 128; no causal mask, relative bias or appended row
// (self-attention and shared tables keep attention_decode.cu). Built to keep the memory system
// busy: every load a warp issues reads whole 128-byte rows, and each chunk's key and value rows
// are all requested before any of them is used. Large launches (DECODE_WARP_ITEMS items on: one
// wave of warps with a few hundred keys each, as flan-t5-xl's cross-attention at batch 64-128
// is) take one warp per (entry, head) item; smaller ones a block of WARPS warps per item, warp w
// taking chunks w, w + WARPS, ..., their running max, sum and columns merged through shared
// memory at the end.
//
// Lanes: lane = g * C + c, C = d_kv / 8 (lanes per row: 16 bytes, 8 elements each), R = 32 / C
// rows per load instruction. A chunk is KC = 8 R consecutive keys; lane (g, c) reads elements
// [8c, 8c + 8) of the key and value rows g, g + R, ..., g + 7R of the chunk (16 loads, all
// issued before the first is used), dots its key slices with the same slice of the query (held
// in registers), sums the C partial dots of a row by shuffles, and keeps a running max, sum and
// 8 output columns over its rows. The R row groups' results are combined once at the end.
// Scores, softmax and sums are fp32.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <float.h>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/half_types.cuh"
#include "kernels/cuda/paged_kv.cuh"
#include "kernels/cuda/pdl.cuh"

#define STREAM ((cudaStream_t)cuda_backend_stream())
#define WARPS 4 /* items per 128-thread block */
#define ROWS_PER_LANE 8 /* key and value rows each lane reads per chunk */

/* A lane's key and value slices of one chunk: rows j, j + R, ..., j + 7R (zeros past n_all),
 * all requested before any is used. */
template <typename T, int R>
__device__ __forceinline__ void load_chunk(const T *kh, const T *vh, const kv_layout &kv,
                                           const int32_t *table, int j, int n_all,
                                           uint4 (&kr)[ROWS_PER_LANE], uint4 (&vr)[ROWS_PER_LANE]) {
#pragma unroll
    for (int r = 0; r < ROWS_PER_LANE; r++) {
        if (j + R * r < n_all) {
            const size_t at = paged_row(kv, table, j + R * r);
            kr[r] = *(const uint4 *)(kh + at);
            vr[r] = *(const uint4 *)(vh + at);
        } else {
            kr[r] = make_uint4(0, 0, 0, 0), vr[r] = make_uint4(0, 0, 0, 0);
        }
    }
}

/* SPLIT = 1: WARPS items per block, a warp each; SPLIT = WARPS: one item per block. */
template <typename T, int C, int SPLIT>
__global__ void __launch_bounds__(WARPS * 32)
cross_warp_kernel(attn_params p, int n, const float *q, void *out, kv_layout kv,
                  const int32_t *blocks, const int32_t *table_off, const int32_t *n_k) {
    static_assert(SPLIT == 1 || SPLIT == WARPS, "a warp per item, or a block per item");
    constexpr int R = 32 / C, KC = ROWS_PER_LANE * R;
    const int lane = threadIdx.x & 31, g = lane / C, c = lane % C, d_kv = 8 * C;
    const int warp = threadIdx.x / 32, part = SPLIT > 1 ? warp : 0;
    const int item = SPLIT > 1 ? blockIdx.x : blockIdx.x * WARPS + warp;
    /* Whole warps (SPLIT = 1) or whole blocks (SPLIT > 1) leave: no barrier is missed. */
    if (item >= n * p.heads) return;
    const int i = item / p.heads, h = item % p.heads;
    /* The tables and the cross K/V are written by copies before the step and by the encoder's
     * KV writes, never by the kernel before this one: with a block per item (small steps) the
     * first chunk is requested before the wait (pdl.cuh), the query, written by that kernel,
     * after it. Warp items (large steps) load it after the wait: their early loads competed
     * with the kernel before (H100, 2026-12-07: t5-base 64 x 4 beams 2.5% and flan-t5-xl batch
     * 64 1% slower per step with every step's loads early). */
    const int32_t *table = blocks + table_off[i];
    const int n_all = n_k[i];
    const T *kh = (const T *)kv.k + (size_t)h * d_kv + 8 * c;
    const T *vh = (const T *)kv.v + (size_t)h * d_kv + 8 * c;
    uint4 kr[ROWS_PER_LANE], vr[ROWS_PER_LANE]; /* 16 bytes: 8 elements each */
    const int first = part * KC, stride = SPLIT * KC;
    constexpr bool EARLY = SPLIT > 1;
    if constexpr (EARLY) load_chunk<T, R>(kh, vh, kv, table, first + g, n_all, kr, vr);
    pdl_wait();
    pdl_release();
    if constexpr (!EARLY) load_chunk<T, R>(kh, vh, kv, table, first + g, n_all, kr, vr);
    const size_t q_ld = p.q_ld ? p.q_ld : p.row;
    float qf[8];
    {
        const float4 *q4 = (const float4 *)(q + (size_t)i * q_ld + (size_t)h * d_kv + 8 * c);
        const float4 a = q4[0], b = q4[1];
        qf[0] = a.x, qf[1] = a.y, qf[2] = a.z, qf[3] = a.w;
        qf[4] = b.x, qf[5] = b.y, qf[6] = b.z, qf[7] = b.w;
    }

    float run_max = -FLT_MAX, run_sum = 0.0f, acc[8];
#pragma unroll
    for (int u = 0; u < 8; u++) acc[u] = 0.0f;
    for (int j0 = first; j0 < n_all; j0 += stride) {
        float s[ROWS_PER_LANE], chunk_max = -FLT_MAX;
#pragma unroll
        for (int r = 0; r < ROWS_PER_LANE; r++) {
            float kf[8], dot = 0.0f;
            widen<T, 8>(*(const vec_of<T, 8> *)&kr[r], kf);
#pragma unroll
            for (int u = 0; u < 8; u++) dot += qf[u] * kf[u];
            dot = lanes_reduce<1, C>(dot, 0) * p.scale;
            s[r] = j0 + g + R * r < n_all ? dot : -FLT_MAX;
            chunk_max = fmaxf(chunk_max, s[r]);
        }
        const float new_max = fmaxf(run_max, lanes_reduce<C, 32>(chunk_max, 1));
        const float rescale = __expf(run_max - new_max);
        run_max = new_max, run_sum *= rescale;
#pragma unroll
        for (int u = 0; u < 8; u++) acc[u] *= rescale;
#pragma unroll
        for (int r = 0; r < ROWS_PER_LANE; r++) {
            const float w = j0 + g + R * r < n_all ? __expf(s[r] - new_max) : 0.0f;
            float vf[8];
            widen<T, 8>(*(const vec_of<T, 8> *)&vr[r], vf);
            run_sum += w;
#pragma unroll
            for (int u = 0; u < 8; u++) acc[u] += w * vf[u];
        }
        if (j0 + stride < n_all) load_chunk<T, R>(kh, vh, kv, table, j0 + stride + g, n_all, kr, vr);
    }
    /* Every lane of the warp holds the same run_max; the row groups' sums and columns add up. */
    run_sum = lanes_reduce<C, 32>(run_sum, 0);
#pragma unroll
    for (int u = 0; u < 8; u++) acc[u] = lanes_reduce<C, 32>(acc[u], 0);
    if constexpr (SPLIT == 1) {
        const float inv = 1.0f / run_sum;
        if (g == 0)
#pragma unroll
            for (int u = 0; u < 8; u++)
                store_as(out, p.out_type, (size_t)i * p.row + (size_t)h * d_kv + 8 * c + u,
                         acc[u] * inv);
    } else {
        /* The warps' parts (a warp without keys: max -FLT_MAX, sum and columns 0, weighed 0). */
        __shared__ float part_max[SPLIT], part_sum[SPLIT], part_out[SPLIT][8 * C];
        if (lane == 0) part_max[warp] = run_max, part_sum[warp] = run_sum;
        if (g == 0)
#pragma unroll
            for (int u = 0; u < 8; u++) part_out[warp][8 * c + u] = acc[u];
        __syncthreads();
        for (int d = threadIdx.x; d < d_kv; d += WARPS * 32) {
            float mx = -FLT_MAX, sum = 0.0f, o = 0.0f;
#pragma unroll
            for (int w = 0; w < SPLIT; w++) mx = fmaxf(mx, part_max[w]);
#pragma unroll
            for (int w = 0; w < SPLIT; w++) {
                const float wt = __expf(part_max[w] - mx);
                sum += part_sum[w] * wt, o += part_out[w][d] * wt;
            }
            store_as(out, p.out_type, (size_t)i * p.row + (size_t)h * d_kv + d, o / sum);
        }
    }
}

template <typename T, int C>
static void launch_warp(const attn_params *p, const float *q, void *out, int n, const kv_layout *kv,
                        const int32_t *blocks, const int32_t *table_off, const int32_t *n_k) {
    const int items = n * p->heads;
    if (items >= DECODE_WARP_ITEMS)
        pdl_launch(cross_warp_kernel<T, C, 1>, (items + WARPS - 1) / WARPS, WARPS * 32, 0, *p, n,
                   q, out, *kv, blocks, table_off, n_k);
    else
        pdl_launch(cross_warp_kernel<T, C, WARPS>, items, WARPS * 32, 0, *p, n, q, out, *kv,
                   blocks, table_off, n_k);
    CUDA_LAUNCH_CHECK("attention_paged");
}

template <typename T>
static int dispatch_width(const attn_params *p, const float *q, void *out, int n,
                          const kv_layout *kv, const int32_t *blocks, const int32_t *table_off,
                          const int32_t *n_k) {
    switch (p->d_kv) {
    case 32: launch_warp<T, 4>(p, q, out, n, kv, blocks, table_off, n_k); return 1;
    case 64: launch_warp<T, 8>(p, q, out, n, kv, blocks, table_off, n_k); return 1;
    case 128: launch_warp<T, 16>(p, q, out, n, kv, blocks, table_off, n_k); return 1;
    default: return 0;
    }
}

extern "C" int cuda_attention_cross_warp(const attn_params *p, const float *q, void *out, int n,
                                         const kv_layout *kv, const int32_t *blocks,
                                         const int32_t *table_off, const int32_t *n_k) {
    const size_t q_ld = p->q_ld ? (size_t)p->q_ld : (size_t)p->row;
    if (p->causal || p->rel_bias) return 0;
    if (q_ld % 4 || (uintptr_t)q % 16) return 0; /* the query slices are read as float4 */
    if (kv->dtype == DTYPE_BF16)
        return dispatch_width<__nv_bfloat16>(p, q, out, n, kv, blocks, table_off, n_k);
    if (kv->dtype == DTYPE_FP16)
        return dispatch_width<__half>(p, q, out, n, kv, blocks, table_off, n_k);
    return 0;
}
