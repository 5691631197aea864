// Addressing of the paged KV pools (kernels/backend.h's kv_layout) on the device, shared by the
// decode attention kernels and the KV writes.
#ifndef ENCDEC_PAGED_KV_CUH
#define ENCDEC_PAGED_KV_CUH

#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"

/* Element offset of key row j of a paged table (kv_layout's addressing). */
__device__ __forceinline__ size_t paged_row(const kv_layout &kv, const int32_t *table, int j) {
    return (size_t)table[j / kv.block_size] * kv.block_stride + (size_t)(j % kv.block_size) * kv.row;
}

/* Index of the scale of head h of row j in an FP8 pool, relative to kv.k_scale (or v_scale). */
__device__ __forceinline__ size_t paged_scale(const kv_layout &kv, const int32_t *table, int j,
                                              int h) {
    return (size_t)table[j / kv.block_size] * kv.scale_stride +
           (size_t)(j % kv.block_size) * kv.heads + h;
}

/* Asks L2 for the head slices (slice_bytes from head_off elements into each row) of key and
 * value rows [0, rows) of a table, spread over `threads` threads from thread `tid`: a hint that
 * returns no data, so it may be issued before pdl_wait() (pdl.cuh) whatever the rows hold. */
template <typename T>
__device__ __forceinline__ void prefetch_rows_l2(const kv_layout &kv, const int32_t *table,
                                                 size_t head_off, int slice_bytes, int rows,
                                                 int tid, int threads) {
    const int lines = (slice_bytes + 127) / 128;
    for (int x = tid; x < 2 * rows * lines; x += threads) {
        const int j = x / (2 * lines), line = x % lines;
        const T *base = (const T *)(x / lines % 2 ? kv.v : kv.k);
        const char *at = (const char *)(base + paged_row(kv, table, j) + head_off) + 128 * line;
        asm volatile("prefetch.global.L2 [%0];" ::"l"(at));
    }
}

/* The scale of the FP8 codes of one head's row: amax over its values / 448 (the largest E4M3
 * value), 1 for zeros or a non-finite amax (NaN values are skipped by fmaxf), as the CPU twin. */
__device__ __forceinline__ float fp8_row_scale(float amax) {
    return amax > 0.0f && isfinite(amax) ? amax / 448.0f : 1.0f;
}

#endif
