/* The step plan: what every rank executes in one engine iteration. Rank 0's scheduler fills it;
 * parallel/plan_bcast.c sends it to every rank with a sequence number and a checksum.
 * Capacities are fixed when the engine starts (no allocation per step). */
#ifndef ENCDEC_STEP_PLAN_H
#define ENCDEC_STEP_PLAN_H

#include <stdint.h>

typedef struct plan_encode {
    int32_t len;          /* input tokens */
    int32_t ids_offset;   /* into step_plan.ids */
    int32_t cross_blocks; /* offset into step_plan.blocks: ceil(len / block_size) cross blocks;
                             -1 for an encode-only request (no cross K/V kept) */
    int32_t want_output;  /* 1: rank 0 needs this request's final encoder hidden states */
} plan_encode;

typedef struct plan_decode {
    int32_t pos;          /* decoder position of `token` (0 = the start token) */
    int32_t token;        /* token fed at pos; its self K/V is written at pos */
    int32_t self_blocks;  /* offset into step_plan.blocks: ceil((pos + 1) / block_size) blocks */
    int32_t cross_blocks; /* offset into step_plan.blocks: the request's cross blocks */
    int32_t cross_len;    /* encoder tokens stored in those blocks */
    int32_t ban;          /* argmax_only / topk steps: token excluded from the choice, -1 = none */
} plan_decode;

/* Copy-on-write of a shared self-attention block before a beam writes into it. */
typedef struct plan_copy {
    int32_t src, dst; /* self-pool blocks: dst = src, all layers, K and V */
} plan_copy;

#define STEP_PLAN_TOPK_MAX 32 /* topk plans: 2 x the widest beam (beam_width <= 16) */

typedef struct step_plan {
    uint64_t seq;    /* 0, 1, 2, ... per plan */
    int32_t stop;    /* 1: no more work, every rank leaves the loop */
    int32_t argmax_only; /* 1: every decode entry needs only the argmax of its logits (greedy
                            without processors): ranks return (value, index) per row, not logits */
    int32_t topk;        /* k > 0: every decode entry needs only its row's k best log-softmax
                            scores (beam search without processors: k = 2 x the widest beam;
                            greedy entries take the first): ranks return those, not logits */
    int32_t n_encode, n_decode, n_ids, n_blocks, n_copies;
    plan_encode *enc; /* [cap_encode] */
    plan_decode *dec; /* [cap_decode] */
    int32_t *ids;     /* [cap_ids] packed encoder inputs */
    int32_t *blocks;  /* [cap_blocks] block tables the entries point into */
    plan_copy *copies; /* [cap_decode] executed before the decoder step, in order */
    int32_t cap_encode, cap_decode, cap_ids, cap_blocks;
} step_plan;

step_plan *step_plan_create(int cap_encode, int cap_decode, int cap_ids, int cap_blocks);
/* Appends n block ids; returns their offset. The caller sized cap_blocks for the worst case. */
int32_t step_plan_add_blocks(step_plan *p, const int32_t *blocks, int n);
void step_plan_destroy(step_plan *p);
void step_plan_clear(step_plan *p); /* keeps seq */

/* FNV-1a over the plan's header and live entries. */
uint64_t step_plan_checksum(const step_plan *p);

#endif
