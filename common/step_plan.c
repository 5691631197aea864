#include "common/step_plan.h"

#include <stdlib.h>
#include <string.h>

#include "common/hash.h"

step_plan *step_plan_create(int cap_encode, int cap_decode, int cap_ids, int cap_blocks) {
    step_plan *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->enc = calloc((size_t)cap_encode, sizeof *p->enc);
    p->dec = calloc((size_t)cap_decode, sizeof *p->dec);
    p->ids = calloc((size_t)cap_ids, sizeof *p->ids);
    p->blocks = calloc((size_t)(cap_blocks ? cap_blocks : 1), sizeof *p->blocks);
    p->copies = calloc((size_t)cap_decode, sizeof *p->copies);
    p->cap_encode = cap_encode;
    p->cap_decode = cap_decode;
    p->cap_ids = cap_ids;
    p->cap_blocks = cap_blocks;
    if (!p->enc || !p->dec || !p->ids || !p->blocks || !p->copies) {
        step_plan_destroy(p);
        return NULL;
    }
    return p;
}

void step_plan_destroy(step_plan *p) {
    if (!p) return;
    free(p->enc);
    free(p->dec);
    free(p->ids);
    free(p->blocks);
    free(p->copies);
    free(p);
}

int32_t step_plan_add_blocks(step_plan *p, const int32_t *blocks, int n) {
    int32_t off = p->n_blocks;
    memcpy(p->blocks + off, blocks, sizeof(int32_t) * (size_t)n);
    p->n_blocks += n;
    return off;
}

void step_plan_clear(step_plan *p) {
    p->stop = p->argmax_only = p->topk = 0;
    p->n_encode = p->n_decode = p->n_ids = p->n_blocks = p->n_copies = 0;
}

uint64_t step_plan_checksum(const step_plan *p) {
    uint64_t h = HASH_FNV1A_SEED;
    h = hash_fnv1a(h, &p->seq, sizeof p->seq);
    h = hash_fnv1a(h, &p->stop, sizeof p->stop);
    h = hash_fnv1a(h, &p->argmax_only, sizeof p->argmax_only);
    h = hash_fnv1a(h, &p->topk, sizeof p->topk);
    h = hash_fnv1a(h, &p->n_encode, sizeof p->n_encode);
    h = hash_fnv1a(h, &p->n_decode, sizeof p->n_decode);
    h = hash_fnv1a(h, &p->n_ids, sizeof p->n_ids);
    h = hash_fnv1a(h, &p->n_blocks, sizeof p->n_blocks);
    h = hash_fnv1a(h, &p->n_copies, sizeof p->n_copies);
    h = hash_fnv1a(h, p->enc, sizeof *p->enc * (size_t)p->n_encode);
    h = hash_fnv1a(h, p->dec, sizeof *p->dec * (size_t)p->n_decode);
    h = hash_fnv1a(h, p->ids, sizeof *p->ids * (size_t)p->n_ids);
    h = hash_fnv1a(h, p->blocks, sizeof *p->blocks * (size_t)p->n_blocks);
    h = hash_fnv1a(h, p->copies, sizeof *p->copies * (size_t)p->n_copies);
    return h;
}
