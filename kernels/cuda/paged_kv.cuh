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

/* The scale of the FP8 codes of one head's row: amax over its values / 448 (the largest E4M3
 * value), 1 for zeros or a non-finite amax (NaN values are skipped by fmaxf), as the CPU twin. */
__device__ __forceinline__ float fp8_row_scale(float amax) {
    return amax > 0.0f && isfinite(amax) ? amax / 448.0f : 1.0f;
}

#endif
