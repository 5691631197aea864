#include "runtime/encoder_cache.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

typedef struct cache_entry {
    uint64_t hash;
    int32_t *ids;    /* [n_ids] the key, owned */
    int32_t *blocks; /* [n_blocks] owned table; the cache holds one reference to each */
    int n_ids, n_blocks;
    int users;       /* sequences sharing the blocks now */
    int prev, next;  /* idle LRU list (users == 0), head = least recently used; -1 ends */
    int chain;       /* next entry in the same bucket, -1 ends; in the free slot list: next free */
} cache_entry;

struct encoder_cache {
    block_pool *pool;
    int max_idle_blocks;
    cache_entry *e;     /* [cap] slots */
    int cap, free_slot; /* free slots chained through .chain */
    int *bucket;        /* [n_buckets] first entry, -1 = none */
    uint64_t mask;      /* n_buckets - 1 */
    int32_t *by_block;  /* [pool blocks] the entry whose table starts with the block, -1 */
    int lru, mru;       /* idle list ends */
    encoder_cache_stats st;
};

ed_status encoder_cache_create(encoder_cache **out, block_pool *pool, int max_idle_blocks,
                               ed_error *err) {
    encoder_cache *c = calloc(1, sizeof *c);
    if (!c) return ed_fail(err, "out of memory for the encoder cache");
    int n = block_pool_total(pool) > 0 ? block_pool_total(pool) : 1;
    size_t nb = 1;
    while (nb < (size_t)n && nb < (1u << 20)) nb <<= 1;
    c->pool = pool;
    c->max_idle_blocks = max_idle_blocks;
    c->mask = nb - 1;
    c->bucket = malloc(nb * sizeof *c->bucket);
    c->by_block = malloc((size_t)n * sizeof *c->by_block);
    if (!c->bucket || !c->by_block) {
        encoder_cache_destroy(c);
        return ed_fail(err, "out of memory for the encoder cache");
    }
    for (size_t i = 0; i < nb; i++) c->bucket[i] = -1;
    for (int i = 0; i < n; i++) c->by_block[i] = -1;
    c->free_slot = c->lru = c->mru = -1;
    *out = c;
    return ED_OK;
}

void encoder_cache_destroy(encoder_cache *c) {
    if (!c) return;
    for (int i = 0; i < c->cap; i++) {
        free(c->e[i].ids);
        free(c->e[i].blocks);
    }
    free(c->e);
    free(c->bucket);
    free(c->by_block);
    free(c);
}

static uint64_t key_hash(const int32_t *ids, int n) {
    return hash_fnv1a(HASH_FNV1A_SEED, ids, (size_t)n * sizeof *ids);
}

/* The entry for ids[n] whose key hashes to h, or -1. */
static int find_hashed(const encoder_cache *c, uint64_t h, const int32_t *ids, int n) {
    for (int i = c->bucket[h & c->mask]; i >= 0; i = c->e[i].chain) {
        const cache_entry *x = &c->e[i];
        if (x->hash == h && x->n_ids == n && !memcmp(x->ids, ids, (size_t)n * sizeof *ids))
            return i;
    }
    return -1;
}

int encoder_cache_find(const encoder_cache *c, const int32_t *ids, int n) {
    return find_hashed(c, key_hash(ids, n), ids, n);
}

static void idle_unlink(encoder_cache *c, int i) {
    cache_entry *x = &c->e[i];
    if (x->prev >= 0) c->e[x->prev].next = x->next;
    else c->lru = x->next;
    if (x->next >= 0) c->e[x->next].prev = x->prev;
    else c->mru = x->prev;
    x->prev = x->next = -1;
    c->st.idle_blocks -= x->n_blocks;
}

static void idle_push_mru(encoder_cache *c, int i) {
    cache_entry *x = &c->e[i];
    x->prev = c->mru;
    x->next = -1;
    if (c->mru >= 0) c->e[c->mru].next = i;
    else c->lru = i;
    c->mru = i;
    c->st.idle_blocks += x->n_blocks;
}

/* Removes idle entry i: its blocks go back to the pool (the cache held their last reference). */
static void evict(encoder_cache *c, int i) {
    cache_entry *x = &c->e[i];
    idle_unlink(c, i);
    int *link = &c->bucket[x->hash & c->mask];
    while (*link != i) link = &c->e[*link].chain;
    *link = x->chain;
    c->by_block[x->blocks[0]] = -1;
    block_pool_free(c->pool, x->blocks, x->n_blocks);
    c->st.entries--;
    c->st.cached_blocks -= x->n_blocks;
    c->st.evictions++;
    free(x->ids);
    free(x->blocks);
    *x = (cache_entry){.chain = c->free_slot, .prev = -1, .next = -1};
    c->free_slot = i;
}

int encoder_cache_take(encoder_cache *c, int h, int32_t *out) {
    cache_entry *x = &c->e[h];
    if (x->users++ == 0) idle_unlink(c, h);
    for (int k = 0; k < x->n_blocks; k++) {
        block_pool_ref(c->pool, x->blocks[k]);
        out[k] = x->blocks[k];
    }
    c->st.hits++;
    return x->n_blocks;
}

/* A free slot index, growing the slot array; -1 when out of memory. */
static int new_slot(encoder_cache *c) {
    if (c->free_slot < 0) {
        int cap = c->cap ? 2 * c->cap : 16;
        cache_entry *e = realloc(c->e, (size_t)cap * sizeof *e);
        if (!e) return -1;
        c->e = e;
        for (int i = c->cap; i < cap; i++)
            e[i] = (cache_entry){.chain = i + 1 < cap ? i + 1 : -1, .prev = -1, .next = -1};
        c->free_slot = c->cap;
        c->cap = cap;
    }
    int i = c->free_slot;
    c->free_slot = c->e[i].chain;
    return i;
}

ed_status encoder_cache_insert(encoder_cache *c, const int32_t *ids, int n, const int32_t *blocks,
                               int n_blocks, ed_error *err) {
    c->st.misses++;
    uint64_t h = key_hash(ids, n);
    if (n_blocks < 1 || find_hashed(c, h, ids, n) >= 0) return ED_OK;
    int i = new_slot(c);
    if (i < 0) return ed_fail(err, "out of memory for the encoder cache");
    cache_entry *x = &c->e[i];
    x->ids = malloc((size_t)n * sizeof *ids);
    x->blocks = malloc((size_t)n_blocks * sizeof *blocks);
    if (!x->ids || !x->blocks) {
        free(x->ids);
        free(x->blocks);
        *x = (cache_entry){.chain = c->free_slot, .prev = -1, .next = -1};
        c->free_slot = i;
        return ed_fail(err, "out of memory for the encoder cache");
    }
    memcpy(x->ids, ids, (size_t)n * sizeof *ids);
    memcpy(x->blocks, blocks, (size_t)n_blocks * sizeof *blocks);
    x->n_ids = n;
    x->n_blocks = n_blocks;
    x->hash = h;
    x->users = 1;
    x->prev = x->next = -1;
    x->chain = c->bucket[x->hash & c->mask];
    c->bucket[x->hash & c->mask] = i;
    c->by_block[blocks[0]] = i;
    for (int k = 0; k < n_blocks; k++) block_pool_ref(c->pool, blocks[k]);
    c->st.entries++;
    c->st.cached_blocks += n_blocks;
    return ED_OK;
}

void encoder_cache_release(encoder_cache *c, int32_t first_block) {
    int i = c->by_block[first_block];
    if (i < 0 || --c->e[i].users > 0) return;
    idle_push_mru(c, i);
    while (c->max_idle_blocks > 0 && c->st.idle_blocks > c->max_idle_blocks) evict(c, c->lru);
}

int encoder_cache_make_room(encoder_cache *c, int need) {
    int have = block_pool_free_count(c->pool);
    if (have >= need) return 1;
    if (have + c->st.idle_blocks < need) return 0;
    while (block_pool_free_count(c->pool) < need) evict(c, c->lru);
    return 1;
}

void encoder_cache_clear(encoder_cache *c) {
    while (c->lru >= 0) evict(c, c->lru);
}

void encoder_cache_get_stats(const encoder_cache *c, encoder_cache_stats *out) { *out = c->st; }
