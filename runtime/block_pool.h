/* A fixed set of KV blocks and the free list that hands them out. Only rank 0's scheduler owns
 * block pools; the step plan names the blocks each sequence uses, so every rank's storage
 * (runtime/kv_store.h) stays in step without allocators of its own. */
#ifndef ENCDEC_BLOCK_POOL_H
#define ENCDEC_BLOCK_POOL_H

#include <stdint.h>

#include "runtime/status.h"

typedef struct block_pool block_pool;

ed_status block_pool_create(block_pool **out, int n_blocks, ed_error *err);
void block_pool_destroy(block_pool *p);

/* Takes n blocks into out[n]: all of them, or none (returns ED_ERR, pool unchanged). */
ed_status block_pool_alloc(block_pool *p, int n, int32_t *out);
/* Returns n blocks taken from this pool. */
void block_pool_free(block_pool *p, const int32_t *blocks, int n);

int block_pool_total(const block_pool *p);
int block_pool_free_count(const block_pool *p);

#endif
