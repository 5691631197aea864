/* KV storage of one rank, paged: two pools of fixed-size blocks for this rank's heads only.
 *   self pool:  decoder self-attention K/V, block_size decoder tokens per block
 *   cross pool: the encoder output projected to K/V for every decoder layer, computed once per
 *               request at its encoder step and read by all its decoder steps
 * Layout of either pool: [n_blocks][n_layers][2 (K, V)][block_size][kv_dim] in the store's
 * dtype (fp32, fp16 or bf16: kv_cache_dtype), kv_dim = local heads * d_kv; an fp8 block holds
 * those E4M3 codes (padded to 16 bytes), then [n_layers][2][block_size][heads] fp32 scales
 * (kv_layout in kernels/backend.h). Which blocks a
 * sequence uses is decided by rank 0 and carried in the step plan (block tables), so this module
 * has no allocator; kv_index.h turns a plan's tables into the index arrays the attention and
 * scatter kernels read. */
#ifndef ENCDEC_KV_STORE_H
#define ENCDEC_KV_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "kernels/backend.h"
#include "common/status.h"

typedef struct kv_store kv_store;

typedef enum { KV_SELF = 0, KV_CROSS = 1 } kv_pool_id;

/* dtype: ed_dtype of the stored elements (DTYPE_FP32, DTYPE_FP16, DTYPE_BF16 or DTYPE_FP8);
 * heads: this rank's heads, of d_kv each. */
ed_status kv_store_create(kv_store **out, const backend *be, int n_layers, int heads, int d_kv,
                          int block_size, int dtype, int n_self_blocks, int n_cross_blocks,
                          ed_error *err);
void kv_store_destroy(kv_store *kv);

/* The paged layout of one layer of a pool, as the attention kernels take it. */
kv_layout kv_store_layout(kv_store *kv, kv_pool_id pool, int layer);

/* Copies block src to block dst of a pool (all layers, K and V): copy-on-write of a shared
 * self-attention block. */
void kv_store_copy_block(kv_store *kv, kv_pool_id pool, int32_t src, int32_t dst);

/* Bytes one block takes in a pool (all layers, K and V), on this rank. */
size_t kv_block_bytes(int n_layers, int heads, int d_kv, int block_size, int dtype);
size_t kv_store_bytes(const kv_store *kv);

#endif
