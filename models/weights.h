/* Read-only weights of one TP rank (run state lives elsewhere: runtime/kv_store.h and the
 * activations of models/encdec.h). All tensors sit in one arena owned by the backend; each
 * pointer below is a view into it, NULL when the spec has no such tensor.
 * Shapes are this rank's local shapes; H_l = num_heads / tp, I_l = H_l * d_kv, F_l = d_ff / tp. */
#ifndef ENCDEC_WEIGHTS_H
#define ENCDEC_WEIGHTS_H

#include <stddef.h>

#include "kernels/backend.h"
#include "models/spec.h"
#include "runtime/status.h"

typedef struct layer_weights {
    float *self_norm;              /* [D] */
    float *self_q, *self_k, *self_v; /* [I_l, D] */
    float *self_o;                 /* [D, I_l] */
    float *rel_bias;               /* [buckets, H_l], per-layer tables (UMT5) only */
    float *cross_norm;             /* [D] decoder only */
    float *cross_q, *cross_k, *cross_v; /* [I_l, D] decoder only */
    float *cross_o;                /* [D, I_l] decoder only */
    float *ffn_norm;               /* [D] */
    float *ffn_wi;                 /* [F_l, D] non-gated */
    float *ffn_wi0, *ffn_wi1;      /* [F_l, D] gated: act(x wi0^T) * (x wi1^T) */
    float *ffn_wo;                 /* [D, F_l] */
} layer_weights;

typedef struct stack_weights {
    float *rel_bias;   /* [buckets, H_l], shared by all layers (T5), else NULL */
    float *final_norm; /* [D] */
    layer_weights *layers;
    int n_layers;
} stack_weights;

typedef struct model_weights {
    model_spec spec;
    int tp_rank, tp_size;
    float *embed;      /* [V, D] replicated */
    float *lm_head;    /* [V, D] replicated; == embed when spec.tied_head */
    stack_weights enc, dec;
    const backend *be;
    void *arena;       /* backend buffer holding every tensor */
    size_t arena_bytes;
} model_weights;

/* Loads this rank's shard from a converted .h5: each tensor's hyperslab is read, converted to
 * fp32 and uploaded. Errors name the file and tensor. */
ed_status model_weights_load(model_weights **out, const char *path, int tp_rank, int tp_size,
                             const backend *be, ed_error *err);
void model_weights_destroy(model_weights *w);

/* Checks that spec splits over tp ranks (heads, d_ff); the message names the field. */
ed_status model_weights_check_tp(const model_spec *spec, int tp, ed_error *err);

#endif
