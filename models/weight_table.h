/* The weight table: every tensor of the generic encoder-decoder is declared once, with its name
 * in the converted .h5, its shape in spec terms, when it exists, and how it splits across
 * tensor-parallel ranks. The converter, the loader and the TP checks all read this table.
 *
 * Matrices are stored as [out_features, in_features] (Hugging Face's nn.Linear layout), so
 * y[tokens, out] = x[tokens, in] @ W^T.
 *   SPLIT_DIM0: rank r holds rows [r*n/tp, (r+1)*n/tp)   -- column-parallel (Q, K, V, FFN in)
 *   SPLIT_DIM1: rank r holds columns likewise            -- row-parallel (attn out, FFN out) and
 *                                                           relative-bias tables [buckets, heads]
 *   SPLIT_VOCAB: rows split in chunks of ceil(V/tp) (tp_chunk) when the LM head is
 *              vocab-parallel, else replicated -- the LM head and final_logits_bias
 *   SPLIT_NONE: replicated on every rank
 * Q/K/V rows are head-major (head h owns rows h*d_kv..), so a DIM0 split is a split by heads. */
#ifndef ENCDEC_WEIGHT_TABLE_H
#define ENCDEC_WEIGHT_TABLE_H

#include <stddef.h>
#include <stdint.h>

#include "models/spec.h"

typedef enum { SCOPE_MODEL, SCOPE_STACK, SCOPE_LAYER } weight_scope;
typedef enum {
    DIM_ONE, DIM_VOCAB, DIM_MODEL, DIM_INNER, DIM_FF, DIM_BUCKETS, DIM_HEADS,
    DIM_POSITIONS /* max_positions + pos_offset */
} dim_sym;
typedef enum { SPLIT_NONE, SPLIT_DIM0, SPLIT_DIM1, SPLIT_VOCAB } split_kind;
typedef enum {
    WHEN_ALWAYS,
    WHEN_GATED,        /* gated FFN only */
    WHEN_NOT_GATED,
    WHEN_UNTIED,       /* separate LM head */
    WHEN_REL_SHARED,   /* one relative-bias table per stack (T5) */
    WHEN_REL_PER_LAYER, /* a table in every layer (UMT5) */
    WHEN_NORM_BIAS,     /* LayerNorm (has a bias) */
    WHEN_LINEAR_BIAS,   /* projections with biases */
    WHEN_LEARNED_POS,
    WHEN_EMBED_NORM,
    WHEN_FINAL_NORM,
    WHEN_FINAL_NORM_BIAS,
    WHEN_LOGITS_BIAS
} weight_cond;

typedef struct weight_decl {
    const char *pattern;  /* SCOPE_MODEL: "embed.tokens"; STACK: "%s.final_norm";
                             LAYER: "%s.layers.%d.self_q" (stack name, layer index) */
    weight_scope scope;
    int decoder_only;     /* LAYER scope: exists in decoder layers only (cross-attention) */
    dim_sym dims[2];      /* dims[1] == DIM_ONE: a vector */
    split_kind split;
    weight_cond when;
    size_t field;         /* offset of the float* in model_weights / stack_weights / layer_weights */
} weight_decl;

/* One concrete tensor of a given spec (a declaration instantiated for a stack and layer). */
typedef struct weight_ref {
    const weight_decl *decl;
    char name[96];        /* dataset name in the .h5 */
    int stack;            /* 0 encoder, 1 decoder, -1 model scope */
    int layer;            /* layer index, -1 outside layers */
    int rank;             /* 1 or 2 */
    int64_t shape[2];     /* full (unsplit) shape; shape[1] = 1 for vectors */
} weight_ref;

/* Calls fn for every tensor that exists under spec, in a fixed order. Stops at, and returns,
 * the first non-zero value fn returns. */
typedef int (*weight_visit_fn)(void *ctx, const weight_ref *ref);
int weight_table_foreach(const model_spec *spec, weight_visit_fn fn, void *ctx);

/* The slice of ref that TP rank `rank` of `tp` holds: start and count per dimension
 * (vocab_parallel selects how SPLIT_VOCAB tensors split). Returns -1 if a DIM0/DIM1 split
 * dimension does not divide by tp. */
int weight_local_slice(const weight_ref *ref, int rank, int tp, int vocab_parallel,
                       int64_t start[2], int64_t count[2]);

/* Whether ref's tensor is stored in the run's weight dtype (a `void *` field of models/weights.h):
 * the 2-D tensors the backend multiplies or gathers -- projections, token and position
 * embeddings, LM head. Vectors and relative-bias tables stay fp32 (`float *`). */
int weight_is_matrix(const weight_decl *decl);

static inline const char *stack_name(int stack) { return stack == 0 ? "encoder" : "decoder"; }

/* Whether ref's tensor is a projection inside a layer (Q, K, V, O, FFN in / out): the matrices
 * that quantization (common/quant.h) applies to. Embeddings and the LM head are not. */
int weight_is_projection(const weight_decl *decl);
/* Whether ref's tensor is a vocabulary matrix: the token embedding or the untied LM head, which
 * quantize_embeddings quantizes as the projections are. */
int weight_is_vocab_matrix(const weight_decl *decl);
/* Whether the tensor is stored as codes under quantization quant (ed_quant; QUANT_NONE: none) and
 * quant_embed: a projection, or a vocabulary matrix with quant_embed. The one rule of the
 * converter, the loader and the bench's random files. */
int weight_is_quantized(const weight_decl *decl, int quant, int quant_embed);

#endif
