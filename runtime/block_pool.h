/* A fixed set of KV blocks and the free list that hands them out. Only rank 0's scheduler owns
 * block pools; the step plan names the blocks each sequence uses, so every rank's storage
 * (models/kv_store.h) stays in step without allocators of its own. */
#ifndef ENCDEC_BLOCK_POOL_H
#define ENCDEC_BLOCK_POOL_H

#include <stdint.h>

#include "common/status.h"

typedef struct block_pool block_pool;

ed_status block_pool_create(block_pool **out, int n_blocks, ed_error *err);
void block_pool_destroy(block_pool *p);

/* Takes n blocks into out[n], each with one reference: all of them, or none (returns ED_ERR,
 * pool unchanged). */
ed_status block_pool_alloc(block_pool *p, int n, int32_t *out);
/* Adds a reference (a beam forked from another shares its blocks). */
void block_pool_ref(block_pool *p, int32_t block);
/* Drops one reference to each of n blocks; a block whose count reaches 0 is free again.
 * Returns how many blocks became free. */
int block_pool_free(block_pool *p, const int32_t *blocks, int n);
int block_pool_refcount(const block_pool *p, int32_t block);

int block_pool_total(const block_pool *p);
int block_pool_free_count(const block_pool *p);

#endif
