// Row-wise argmax (greedy steps without logits processors) and top-k with the log-softmax terms
// (beam search without them) of the LM head's logits on the device: one block of THREADS
// threads per row, reading the row once (16-byte loads where the row allows); ties go to the
// lower index, as the host's decoding_argmax does (kernels/backend.h's rank_pair_before).
// Merges of (value, index) pairs run through warp shuffles, a warp's result through shared
// memory to warp 0.
#include <cuda_runtime.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>

#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/pdl.cuh"

#define STREAM ((cudaStream_t)cuda_backend_stream())
#define THREADS 512
#define WARPS (THREADS / 32)
#define FULL 0xffffffffu
#define TOPK_MAX 32 /* common/step_plan.h's STEP_PLAN_TOPK_MAX */

/* rank_pair_before on the device: (v, i) ranks before (bv, bi); bi < 0 = empty (last). */
__device__ __forceinline__ bool better(float v, int i, float bv, int bi) {
    return bi < 0 || v > bv || (v == bv && i < bi);
}

/* The best (v, i) over the warp, on every lane (a strict order: the lanes agree). */
__device__ __forceinline__ void warp_best(float &v, int &i) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1) {
        float ov = __shfl_xor_sync(FULL, v, o);
        int oi = __shfl_xor_sync(FULL, i, o);
        if (oi >= 0 && better(ov, oi, v, i)) v = ov, i = oi;
    }
}

/* Calls visit(v, column) for the columns of row[0, n) this thread owns: float4 loads when the
 * row is 16-byte aligned and n % 4 == 0 (row r of [rows, n] then is), else plain ones. */
template <typename F>
__device__ __forceinline__ void for_my_columns(const float *row, int n, F visit) {
    if (n % 4 == 0 && (uintptr_t)row % 16 == 0) {
        const float4 *r4 = (const float4 *)row;
#pragma unroll 4
        for (int i = threadIdx.x; i < n / 4; i += THREADS) {
            const float4 v = r4[i];
            visit(v.x, 4 * i), visit(v.y, 4 * i + 1), visit(v.z, 4 * i + 2), visit(v.w, 4 * i + 3);
        }
    } else {
#pragma unroll 4
        for (int i = threadIdx.x; i < n; i += THREADS) visit(row[i], i);
    }
}

__global__ void __launch_bounds__(THREADS)
argmax_kernel(const float *x, int n, int index_base, const int32_t *ban, float *out) {
    pdl_wait();
    pdl_release();
    __shared__ float wv[WARPS];
    __shared__ int wi[WARPS];
    const int skip = ban[blockIdx.x] - index_base;
    float bv = -INFINITY;
    int bi = -1, nan_seen = 0;
    for_my_columns(x + (size_t)blockIdx.x * n, n, [&](float v, int i) {
        if (i == skip) return;
        if (isnan(v)) nan_seen = 1;
        else if (better(v, i, bv, bi)) bv = v, bi = i;
    });
    warp_best(bv, bi);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) wv[warp] = bv, wi[warp] = bi;
    const int any_nan = __syncthreads_or(nan_seen); /* also the barrier for wv / wi */
    if (warp) return;
    bv = lane < WARPS ? wv[lane] : -INFINITY, bi = lane < WARPS ? wi[lane] : -1;
    warp_best(bv, bi);
    if (lane == 0) {
        out[2 * blockIdx.x] = any_nan ? NAN : bi < 0 ? -INFINITY : bv;
        out[2 * blockIdx.x + 1] = any_nan ? -2.0f : bi < 0 ? -1.0f : (float)(bi + index_base);
    }
}

extern "C" void cuda_argmax_rows(const float *x, int rows, int n, int index_base,
                                 const int32_t *ban, float *out) {
    if (fault_op_begin("argmax_rows") || !rows) return;
    pdl_launch(argmax_kernel, rows, THREADS, 0, x, n, index_base, ban, out);
    CUDA_LAUNCH_CHECK("argmax_rows");
}

/* A warp's k best (value, index) pairs, best first: lane j < k holds entry j ((-inf, -1) while
 * empty; lanes past k hold nothing of use); (tv, ti), on every lane, is entry k - 1, the one a
 * candidate must rank before to enter. */
struct warp_list {
    float v, tv;
    int i, ti;
};

__device__ __forceinline__ void warp_list_clear(warp_list &l) {
    l.v = l.tv = -INFINITY, l.i = l.ti = -1;
}

/* Offers every lane's (x, c) where `ok` (a call by the whole warp, k <= 32): the few that rank
 * before the list's last entry are inserted one at a time (a shuffle shift past the entries
 * that rank before them); the rest cost one comparison and a ballot. */
__device__ __forceinline__ void warp_list_offer(warp_list &l, int k, float x, int c, bool ok) {
    const int lane = threadIdx.x & 31;
    unsigned want = __ballot_sync(FULL, ok && better(x, c, l.tv, l.ti));
    while (want) {
        const int src = __ffs(want) - 1;
        want &= want - 1;
        const float cv = __shfl_sync(FULL, x, src);
        const int ci = __shfl_sync(FULL, c, src);
        if (!better(cv, ci, l.tv, l.ti)) continue; /* the list moved on since the ballot */
        const bool ahead = lane < k && l.i >= 0 && better(l.v, l.i, cv, ci);
        const int at = __popc(__ballot_sync(FULL, ahead)); /* entries ranking before it */
        const float uv = __shfl_up_sync(FULL, l.v, 1);
        const int ui = __shfl_up_sync(FULL, l.i, 1);
        if (lane > at) l.v = uv, l.i = ui;
        else if (lane == at) l.v = cv, l.i = ci;
        l.tv = __shfl_sync(FULL, l.v, k - 1), l.ti = __shfl_sync(FULL, l.i, k - 1);
    }
}

/* The running (max, sum of exp(x - max)) of two parts, into (m, s). */
__device__ __forceinline__ void merge_softmax(float &m, float &s, float m2, float s2) {
    const float mm = fmaxf(m, m2);
    if (mm == -INFINITY) return; /* both empty */
    s = s * __expf(m - mm) + s2 * __expf(m2 - mm), m = mm;
}

__device__ __forceinline__ void warp_merge_softmax(float &m, float &s) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        merge_softmax(m, s, __shfl_xor_sync(FULL, m, o), __shfl_xor_sync(FULL, s, o));
}

/* Top-k of one row per block (cuda_topk_rows), in one pass over the row: each lane keeps the
 * running max and sum of exp(x - max) of its columns, each warp a list of its columns' k best
 * (warp_list); warp 0 then merges the warps' lists the same way. Columns as for_my_columns
 * assigns them, visited in warp-wide steps (the offers are warp-wide). k <= 32. */
__global__ void __launch_bounds__(THREADS)
topk_kernel(const float *x, int n, int index_base, const int32_t *ban, int k, float *out) {
    pdl_wait();
    pdl_release();
    __shared__ float cv[WARPS][TOPK_MAX], wm[WARPS], ws[WARPS];
    __shared__ int ci[WARPS][TOPK_MAX];
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    const int skip = ban[blockIdx.x] - index_base;
    const float *row = x + (size_t)blockIdx.x * n;
    warp_list l;
    warp_list_clear(l);
    float m = -INFINITY, s = 0.0f;
    int nan_seen = 0;
    auto visit = [&](float v, int i, bool in) {
        if (in && i != skip && isnan(v)) nan_seen = 1;
        if (in && v > -INFINITY) { /* NaN, -inf: nothing to add */
            if (v > m) s = s * __expf(m - v) + 1.0f, m = v;
            else s += __expf(v - m);
        }
        warp_list_offer(l, k, v, i, in && i != skip && !isnan(v));
    };
    if (n % 4 == 0 && (uintptr_t)row % 16 == 0) {
        const float4 *r4 = (const float4 *)row;
        for (int base = warp * 32; base < n / 4; base += 2 * THREADS) { /* two loads in flight */
            const int i0 = base + lane, i1 = i0 + THREADS;
            const bool in0 = i0 < n / 4, in1 = i1 < n / 4;
            const float4 a = in0 ? r4[i0] : make_float4(0, 0, 0, 0);
            const float4 b = in1 ? r4[i1] : make_float4(0, 0, 0, 0);
            visit(a.x, 4 * i0, in0), visit(a.y, 4 * i0 + 1, in0);
            visit(a.z, 4 * i0 + 2, in0), visit(a.w, 4 * i0 + 3, in0);
            visit(b.x, 4 * i1, in1), visit(b.y, 4 * i1 + 1, in1);
            visit(b.z, 4 * i1 + 2, in1), visit(b.w, 4 * i1 + 3, in1);
        }
    } else {
        for (int base = warp * 32; base < n; base += THREADS) {
            const int i = base + lane;
            visit(i < n ? row[i] : 0.0f, i, i < n);
        }
    }
    warp_merge_softmax(m, s);
    if (lane == 0) wm[warp] = m, ws[warp] = s;
    if (lane < k) cv[warp][lane] = l.v, ci[warp][lane] = l.i;
    const int any_nan = __syncthreads_or(nan_seen); /* also the barrier for the shared lists */
    if (warp) return;
    m = lane < WARPS ? wm[lane] : -INFINITY, s = lane < WARPS ? ws[lane] : 0.0f;
    warp_merge_softmax(m, s);
    float *o = out + (size_t)blockIdx.x * (2 + 2 * k);
    if (lane == 0) o[0] = any_nan ? NAN : m, o[1] = s;
    warp_list_clear(l);
    for (int c0 = 0; c0 < WARPS * k; c0 += 32) {
        const int c = c0 + lane;
        const bool in = c < WARPS * k;
        const int from = in ? c / k : 0, at = in ? c % k : 0;
        const int idx = in ? ci[from][at] : -1;
        warp_list_offer(l, k, in ? cv[from][at] : 0.0f, idx, idx >= 0);
    }
    if (lane < k) {
        o[2 + 2 * lane] = l.i < 0 ? -INFINITY : l.v;
        o[3 + 2 * lane] = l.i < 0 ? -1.0f : (float)(l.i + index_base);
    }
}

extern "C" void cuda_topk_rows(const float *x, int rows, int n, int index_base,
                               const int32_t *ban, int k, float *out) {
    if (fault_op_begin("topk_rows")) return;
    if (k < 1 || k > TOPK_MAX) {
        fault_record_set("topk_rows", "k %d outside [1, %d]", k, TOPK_MAX);
        return;
    }
    if (!rows) return;
    pdl_launch(topk_kernel, rows, THREADS, 0, x, n, index_base, ban, k, out);
    CUDA_LAUNCH_CHECK("topk_rows");
}
