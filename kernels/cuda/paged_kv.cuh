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

#endif
