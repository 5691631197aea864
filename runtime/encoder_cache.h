/* The encoder cache: rank 0 keeps the cross-KV blocks of encoder inputs it has seen, so a request
 * whose encoder input repeats one (a source translated into several languages, n samples of a
 * prompt, a retry) shares those blocks and skips its encoder pass.
 *
 * The key is the request's input ids, compared exactly (FNV-1a from common/hash.h only picks the
 * bucket). Nothing else changes the encoder output today: the model is fixed per engine, the
 * encoder reads only the ids (src_lang is already in them), and packing several inputs into one
 * pass does not mix them. A field that ever changes the encoder output must join the key.
 *
 * Blocks and references: an entry holds one pool reference to each of its blocks, besides the
 * references of the sequences using them (its users). An entry with users is never evicted; an
 * idle one (no users) sits on an LRU list and its blocks count as reclaimable: they are freed,
 * least recently used first, whenever the pool must make room (encoder_cache_make_room) or the
 * idle blocks exceed the cap. Every entry's blocks are distinct (each was allocated at a miss),
 * so entries never outnumber the pool's blocks. */
#ifndef ENCDEC_ENCODER_CACHE_H
#define ENCDEC_ENCODER_CACHE_H

#include <stdint.h>

#include "common/status.h"
#include "runtime/block_pool.h"

typedef struct encoder_cache encoder_cache;

typedef struct encoder_cache_stats {
    long hits;      /* requests that took cached blocks (their encoder pass skipped) */
    long misses;    /* looked up, not found: encoded, and their blocks kept */
    long evictions; /* idle entries whose blocks went back to the pool */
    int entries, cached_blocks; /* blocks held by entries, in use or idle */
    int idle_blocks;            /* blocks held by idle entries only: reclaimable */
} encoder_cache_stats;

/* A cache over pool (not owned). max_idle_blocks > 0 caps the idle entries' blocks (the least
 * recently used beyond it are evicted when an entry turns idle); 0 = no cap (they may fill the
 * free pool, and are reclaimed on demand). */
ed_status encoder_cache_create(encoder_cache **out, block_pool *pool, int max_idle_blocks,
                               ed_error *err);
/* Frees the cache's memory; its pool references are not returned (the pool dies with it). */
void encoder_cache_destroy(encoder_cache *c);

/* The entry for ids[n], or -1. Counts nothing; the handle stays valid until the next call that
 * may evict (make_room, release, clear). */
int encoder_cache_find(const encoder_cache *c, const int32_t *ids, int n);
/* A hit: the caller becomes one more user of entry h, takes one pool reference to each of its
 * blocks and gets them in out[] (room for the entry's blocks); returns their count. */
int encoder_cache_take(encoder_cache *c, int h, int32_t *out);
/* A miss: the caller just allocated blocks[n_blocks] for ids[n] and holds one reference to each;
 * the cache keeps them under that key with a reference of its own, the caller its first user.
 * Counts a miss. An input already cached is left as it is (returns ED_OK, nothing kept). */
ed_status encoder_cache_insert(encoder_cache *c, const int32_t *ids, int n, const int32_t *blocks,
                               int n_blocks, ed_error *err);
/* A user of the entry whose first block is first_block stops using it (call before dropping the
 * user's own references): the entry turns idle with its last user (most recently used), and idle
 * entries beyond the cap are evicted. No-op when no entry starts with first_block. */
void encoder_cache_release(encoder_cache *c, int32_t first_block);

/* Evicts idle entries, least recently used first, until the pool has `need` free blocks: 1 when
 * it has them then; 0 (nothing evicted) when even every idle entry would not be enough. */
int encoder_cache_make_room(encoder_cache *c, int need);
/* Evicts every idle entry (the end of a run: the pools go back to their starting counts). */
void encoder_cache_clear(encoder_cache *c);

void encoder_cache_get_stats(const encoder_cache *c, encoder_cache_stats *out);

#endif
