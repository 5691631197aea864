/* Read-only weights of one TP rank (run state lives elsewhere: models/kv_store.h and the
 * activations of models/encdec.h). All tensors sit in one arena owned by the backend; each
 * pointer below is a view into it, NULL when the spec has no such tensor.
 * Shapes are this rank's local shapes; H_l = num_heads / tp, I_l = H_l * d_kv, F_l = d_ff / tp.
 * Matrices (`void *`) are stored in the run's weight dtype (model_weights.wtype: fp32, fp16 or
 * bf16), except the projections (weight_is_projection) of a quantized load (model_weights.quant
 * int8 or fp8): those hold [rows, cols] 1-byte codes, their row scales after them
 * (model_weights_scales); with quant_embed, embed and lm_head likewise (their scales at
 * embed_scale / lm_head_scale). Vectors and relative-bias tables (`float *`) are always fp32. */
#ifndef ENCDEC_WEIGHTS_H
#define ENCDEC_WEIGHTS_H

#include <stddef.h>

#include "kernels/backend.h"
#include "models/spec.h"
#include "common/status.h"

/* Suffix _b: the bias of the tensor named before it (LayerNorm or linear), NULL when absent.
 * Biases of column-parallel projections are split like their rows ([I_l], [F_l]); those of
 * row-parallel ones ([D]) are replicated and added once, after the all-reduce. */
typedef struct layer_weights {
    float *self_norm, *self_norm_b;  /* [D] */
    void *self_q, *self_k, *self_v;  /* [I_l, D] */
    float *self_q_b, *self_k_b, *self_v_b; /* [I_l] */
    void *self_o;                    /* [D, I_l] */
    float *self_o_b;                 /* [D] */
    float *rel_bias;                 /* [buckets, H_l], per-layer tables (UMT5) only */
    float *cross_norm, *cross_norm_b; /* [D] decoder only */
    void *cross_q, *cross_k, *cross_v; /* [I_l, D] decoder only */
    float *cross_q_b, *cross_k_b, *cross_v_b; /* [I_l] */
    void *cross_o;                   /* [D, I_l] decoder only */
    float *cross_o_b;                /* [D] */
    float *ffn_norm, *ffn_norm_b;    /* [D] */
    void *ffn_wi;                    /* [F_l, D] non-gated */
    float *ffn_wi_b;                 /* [F_l] */
    void *ffn_wi0, *ffn_wi1;         /* [F_l, D] gated: act(x wi0^T) * (x wi1^T) */
    void *ffn_wo;                    /* [D, F_l] */
    float *ffn_wo_b;                 /* [D] */
    /* Set at load when tensors lie back to back in the arena, so that one GEMM can take them:
     * self_qkv_joint: self_q, self_k, self_v form one [3 I_l, D] matrix at self_q (and their
     * biases one [3 I_l] vector at self_q_b, or there are none); ffn_wi_joint: ffn_wi0 and
     * ffn_wi1 form one [2 F_l, D] matrix at ffn_wi0. */
    int self_qkv_joint, ffn_wi_joint;
} layer_weights;

typedef struct stack_weights {
    float *rel_bias;   /* [buckets, H_l], shared by all layers (T5), else NULL */
    void *pos_embed;   /* [max_positions + pos_offset, D] learned positions (BART) */
    float *embed_norm, *embed_norm_b; /* [D] layernorm_embedding (BART) */
    float *final_norm, *final_norm_b; /* [D] */
    layer_weights *layers;
    int n_layers;
} stack_weights;

typedef struct model_weights {
    model_spec spec;
    int tp_rank, tp_size;
    int wtype;         /* ed_dtype of the matrices (runtime/config.h), never auto */
    int quant;         /* ed_quant of the projections (common/quant.h): none, int8 or fp8 */
    int quant_embed;   /* 1: embed and lm_head are quantized too (as `quant`; never with none) */
    void *embed;       /* [V, D] replicated */
    int vocab_parallel; /* 1: LM head split by vocabulary rows over ranks */
    int v0, v_local;    /* this rank's vocabulary rows [v0, v0 + v_local) (all rows if not) */
    void *lm_head;      /* [v_local, D]; a view into embed when spec.tied_head */
    const float *embed_scale;   /* [V] row scales of a quantized embed (quant_embed), else NULL */
    const float *lm_head_scale; /* [v_local] likewise for lm_head (a view when tied) */
    float *logits_bias; /* [v_local] final_logits_bias (BART) */
    stack_weights enc, dec;
    const backend *be;
    void *arena;       /* backend buffer holding every tensor */
    size_t arena_bytes;
} model_weights;

/* Loads this rank's shard from a converted .h5: each tensor's hyperslab is read, converted to
 * its storage dtype (wtype for matrices, fp32 for the rest) and uploaded. quant (ed_quant, auto =
 * as the file stores its projections) quantizes the projections, at load when the file holds
 * them unquantized (a row's scale over the whole row, whatever the TP split); a file quantized
 * otherwise is refused, and a backend without matmul_wq gets them dequantized to wtype (a
 * warning says so). quant_embed (on_off_auto of runtime/config.h: 0 off, 1 on, 2 auto = as the
 * file stores embed.tokens) does the same for embed and lm_head; on needs quant int8 or fp8.
 * Errors name the file and tensor, or the config key. */
ed_status model_weights_load(model_weights **out, const char *path, int tp_rank, int tp_size,
                             int vocab_parallel, int wtype, int quant, int quant_embed,
                             const backend *be, ed_error *err);

/* The row scales of a quantized projection of `rows` x `cols` (this rank's local shape) whose
 * codes are at `matrix` (a field of layer_weights): rows fp32 values on the backend. */
const float *model_weights_scales(const void *matrix, int rows, int cols);

void model_weights_destroy(model_weights *w);

/* Checks that spec splits over tp ranks (heads, d_ff); the message names the field. */
ed_status model_weights_check_tp(const model_spec *spec, int tp, ed_error *err);

#endif
