/* The generic encoder-decoder forward pass, driven by model_spec and executed through the backend
 * ops table and the TP communicator. Activation buffers are planned once at creation for the
 * largest step (max_enc_tokens encoder tokens, max_dec_tokens decoder tokens); a forward step
 * allocates nothing. Inputs are packed: sequences one after another, no padding. */
#ifndef ENCDEC_ENCDEC_H
#define ENCDEC_ENCDEC_H

#include <stdint.h>

#include "models/weights.h"
#include "parallel/comm.h"
#include "models/kv_store.h"
#include "common/step_plan.h"

typedef struct encdec_model encdec_model;

/* The largest step the model is planned for, and how decoder steps run. */
typedef struct encdec_limits {
    int max_enc_tokens;  /* packed encoder tokens per step */
    int max_dec_tokens;  /* decode entries per step */
    int max_plan_blocks; /* the largest step_plan.n_blocks (scheduler_max_plan_blocks) */
    int max_input_len;   /* longest input: keys of cross-attention */
    int max_output_len;  /* decoder tokens after the start token: keys of self-attention - 1 */
    int graphs;          /* 1: the decoder layers of a step are captured once per batch size into
                            a backend graph and replayed, where the backend has graphs and the
                            communicator's collectives can be captured */
    int joint_gemms;     /* 1: Q/K/V and both gated-FFN inputs each in one GEMM where the layer's
                            weights are joint (layer_weights), and a bf16 model's plain ReLU FFN
                            activation in its GEMM's epilogue; 0: separate GEMMs and kernels */
    int fused_norms;     /* 1: the decoder's pre-norms folded into the GEMMs after them, each
                            sublayer's output added to the residual by its output projection,
                            where the model allows it (encdec_internal.h: fused_norms) */
} encdec_limits;

ed_status encdec_create(encdec_model **out, const model_weights *w, comm *c,
                        const encdec_limits *lim, ed_error *err);
/* Whether decoder steps fold their pre-norms into the GEMMs (encdec_limits.fused_norms taken). */
int encdec_fused_norms(const encdec_model *m);
void encdec_destroy(encdec_model *m);

/* Runs the encoder over the plan's encode entries and stores each generation request's
 * cross-attention K/V for every decoder layer into its cross blocks (encode-only entries have
 * none). When hidden_host is non-NULL (rank 0) and an entry wants its output, the final encoder
 * states of all packed rows are copied there: [n_ids, d_model] host fp32. */
ed_status encdec_encode(encdec_model *m, kv_store *kv, const step_plan *p, float *hidden_host,
                        ed_error *err);

/* One decoder step over the plan's decode entries: appends each token's self K/V at its position
 * and writes the LM head's output for the plan into logits_host on rank 0, the only rank that
 * passes a non-NULL logits_host (host fp32, at least encdec_host_output_floats(m) floats).
 * With a vocab-parallel head every rank computes its vocabulary slice and takes part in the
 * gather to rank 0; with a replicated head only rank 0 computes it. What rank 0 receives, for
 * n = p->n_decode rows and n_src = encdec_candidate_sources(m) sources (source r: TP rank r's
 * vocabulary slice when the head is vocab-parallel; the one full vocabulary when replicated):
 *   full-logits plans: [n, vocab] logits.
 *   argmax_only plans: [n_src, n, 2]: per source and row, the slice's (best raw logit, token
 *     id), plan_decode.ban excluded, taken on the backend; (-inf, -1) from a rank with no
 *     vocabulary slice or a row with nothing to pick.
 *   topk = k plans (k <= STEP_PLAN_TOPK_MAX): [n_src, n, 2 + 2k]: per source and row, the
 *     slice's max logit, the sum of exp(logit - max) over the slice (every column, ban
 *     included), then its k best (raw logit, token id) pairs best first (ban excluded; ties to
 *     the lower token), (-inf, -1) padding; a rank with no slice gives max -inf, sum 0.
 * Token ids are floats, exact below 2^24. Nothing is merged across sources here: the caller
 * picks the best over sources (rank_pair_before order) or takes the log-softmax over them. */
ed_status encdec_decode_step(encdec_model *m, kv_store *kv, const step_plan *p, float *logits_host,
                             ed_error *err);

/* Sources of the argmax / top-k outputs above: tp with a vocab-parallel LM head, else 1. */
int encdec_candidate_sources(const encdec_model *m);
/* Floats rank 0's logits_host needs for any plan: max(max_dec_tokens * vocab,
 * n_src * max_dec_tokens * (2 + 2 * STEP_PLAN_TOPK_MAX)). */
size_t encdec_host_output_floats(const encdec_model *m);

size_t encdec_workspace_bytes(const encdec_model *m);
/* How many decoder layers take Q/K/V from one GEMM (qkv) and both gated-FFN inputs from one
 * GEMM (wi), as this run computes them. */
void encdec_joint_layers(const encdec_model *m, int *qkv, int *wi);
/* Decoder steps replayed from a captured graph, and graphs captured, since creation. */
void encdec_graph_counts(const encdec_model *m, long *replays, long *captures);

#endif
