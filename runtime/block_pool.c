#include "runtime/block_pool.h"

#include <assert.h>
#include <stdlib.h>

struct block_pool {
    int n_blocks;
    int n_free;
    int32_t *free_list;  /* [n_blocks], the first n_free are free (LIFO: reuse warm blocks) */
    int32_t *refs;       /* [n_blocks] references; 0 = free */
};

ed_status block_pool_create(block_pool **out, int n_blocks, ed_error *err) {
    block_pool *p = calloc(1, sizeof *p);
    if (!p) return ed_fail(err, "out of memory");
    p->n_blocks = n_blocks;
    p->free_list = malloc(sizeof(int32_t) * (size_t)(n_blocks ? n_blocks : 1));
    p->refs = calloc((size_t)(n_blocks ? n_blocks : 1), sizeof(int32_t));
    if (!p->free_list || !p->refs) {
        block_pool_destroy(p);
        return ed_fail(err, "out of memory");
    }
    /* Hand out low block ids first. */
    for (int i = 0; i < n_blocks; i++) p->free_list[i] = n_blocks - 1 - i;
    p->n_free = n_blocks;
    *out = p;
    return ED_OK;
}

void block_pool_destroy(block_pool *p) {
    if (!p) return;
    free(p->free_list);
    free(p->refs);
    free(p);
}

ed_status block_pool_alloc(block_pool *p, int n, int32_t *out) {
    if (n > p->n_free) return ED_ERR;
    for (int i = 0; i < n; i++) {
        int32_t b = p->free_list[--p->n_free];
        p->refs[b] = 1;
        out[i] = b;
    }
    return ED_OK;
}

void block_pool_ref(block_pool *p, int32_t b) {
    assert(b >= 0 && b < p->n_blocks && p->refs[b] > 0 && "reference to a free block");
    p->refs[b]++;
}

int block_pool_free(block_pool *p, const int32_t *blocks, int n) {
    int freed = 0;
    for (int i = 0; i < n; i++) {
        int32_t b = blocks[i];
        assert(b >= 0 && b < p->n_blocks && p->refs[b] > 0 && "block freed twice or not ours");
        if (--p->refs[b] == 0) {
            p->free_list[p->n_free++] = b;
            freed++;
        }
    }
    return freed;
}

int block_pool_refcount(const block_pool *p, int32_t b) { return p->refs[b]; }

int block_pool_total(const block_pool *p) { return p->n_blocks; }
int block_pool_free_count(const block_pool *p) { return p->n_free; }
