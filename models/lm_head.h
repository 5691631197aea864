/* The LM head of a decoder step: projects the final hidden states onto this rank's vocabulary
 * slice and delivers what the plan asks for to rank 0's host buffer, as per-source outputs
 * (source r = TP rank r's vocabulary slice with a vocab-parallel head; one source, rank 0's
 * full vocabulary, with a replicated one). It merges nothing: choosing tokens across sources
 * is the runtime's token choice. The contract of the host output is encdec_decode_step's
 * (models/encdec.h). */
#ifndef ENCDEC_LM_HEAD_H
#define ENCDEC_LM_HEAD_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "common/step_plan.h"
#include "models/weights.h"
#include "parallel/comm.h"

/* Floats per row of the per-source candidate buffers, at most: topk_rows' [2 + 2k]. */
#define LM_HEAD_PAIR_ROW (2 + 2 * STEP_PLAN_TOPK_MAX)

typedef struct lm_head lm_head;

/* logits [max_rows, v_local] and pairs [max_rows, LM_HEAD_PAIR_ROW] are backend buffers the
 * caller owns (views into its activation arena) and keeps while the head lives. */
ed_status lm_head_create(lm_head **out, const model_weights *w, comm *c, int max_rows,
                         float *logits, float *pairs, ed_error *err);
void lm_head_destroy(lm_head *h);

/* hidden [n, D] (backend fp32, n <= max_rows) -> out_host on rank 0 per the plan (full logits,
 * argmax_only or topk; ban [n] backend int32, plan_decode.ban per row). Every rank calls it
 * with a vocab-parallel head (non-root ranks pass out_host NULL and take part in the gather);
 * with a replicated head only rank 0 need call it. */
ed_status lm_head_run(lm_head *h, const float *hidden, int n, const step_plan *p,
                      const int32_t *ban, float *out_host, ed_error *err);

/* Sources of the argmax / top-k outputs: tp with a vocab-parallel head, else 1. */
int lm_head_sources(const lm_head *h);
/* Floats out_host needs for any plan of up to max_rows rows. */
size_t lm_head_host_floats(const lm_head *h);

#endif
