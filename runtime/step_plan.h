/* The step plan: what every rank executes in one engine iteration. Rank 0's scheduler fills it;
 * parallel/plan_bcast.c sends it to every rank with a sequence number and a checksum.
 * Capacities are fixed when the engine starts (no allocation per step). */
#ifndef ENCDEC_STEP_PLAN_H
#define ENCDEC_STEP_PLAN_H

#include <stdint.h>

typedef struct plan_encode {
    int32_t slot;       /* KV slot receiving this request's cross K/V */
    int32_t len;        /* input tokens */
    int32_t ids_offset; /* into step_plan.ids */
} plan_encode;

typedef struct plan_decode {
    int32_t slot;  /* KV slot of the sequence */
    int32_t pos;   /* decoder position of `token` (0 = the start token) */
    int32_t token; /* token fed at pos */
} plan_decode;

typedef struct step_plan {
    uint64_t seq;    /* 0, 1, 2, ... per plan */
    int32_t stop;    /* 1: no more work, every rank leaves the loop */
    int32_t n_encode, n_decode, n_ids;
    plan_encode *enc; /* [cap_encode] */
    plan_decode *dec; /* [cap_decode] */
    int32_t *ids;     /* [cap_ids] packed encoder inputs */
    int32_t cap_encode, cap_decode, cap_ids;
} step_plan;

step_plan *step_plan_create(int cap_encode, int cap_decode, int cap_ids);
void step_plan_destroy(step_plan *p);
void step_plan_clear(step_plan *p); /* keeps seq */

/* FNV-1a over the plan's header and live entries. */
uint64_t step_plan_checksum(const step_plan *p);

#endif
