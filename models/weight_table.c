#include "models/weight_table.h"

#include <stdio.h>

#include "models/weights.h"
#include "common/quant.h"
#include "common/tp_chunk.h"

#define M(f) offsetof(model_weights, f)
#define S(f) offsetof(stack_weights, f)
#define L(f) offsetof(layer_weights, f)
#define MAT(a, b) {a, b}
#define VEC(a) {a, DIM_ONE}

/* Shorthands: a layer matrix split by rows (column-parallel) or by columns (row-parallel), a
 * replicated vector, and a bias. */
#define LAYER_COL(name, field, dec_only, when) \
    {"%s.layers.%d." name, SCOPE_LAYER, dec_only, MAT(DIM_INNER, DIM_MODEL), SPLIT_DIM0, when, L(field)}
#define LAYER_VEC(name, field, dec_only, dim, split, when) \
    {"%s.layers.%d." name, SCOPE_LAYER, dec_only, VEC(dim), split, when, L(field)}

static const weight_decl weight_table[] = {
    {"embed.tokens", SCOPE_MODEL, 0, MAT(DIM_VOCAB, DIM_MODEL), SPLIT_NONE, WHEN_ALWAYS, M(embed)},
    {"lm_head", SCOPE_MODEL, 0, MAT(DIM_VOCAB, DIM_MODEL), SPLIT_VOCAB, WHEN_UNTIED, M(lm_head)},
    {"logits_bias", SCOPE_MODEL, 0, VEC(DIM_VOCAB), SPLIT_VOCAB, WHEN_LOGITS_BIAS, M(logits_bias)},
    {"%s.rel_bias", SCOPE_STACK, 0, MAT(DIM_BUCKETS, DIM_HEADS), SPLIT_DIM1, WHEN_REL_SHARED,
     S(rel_bias)},
    {"%s.pos_embed", SCOPE_STACK, 0, MAT(DIM_POSITIONS, DIM_MODEL), SPLIT_NONE, WHEN_LEARNED_POS,
     S(pos_embed)},
    {"%s.embed_norm", SCOPE_STACK, 0, VEC(DIM_MODEL), SPLIT_NONE, WHEN_EMBED_NORM, S(embed_norm)},
    {"%s.embed_norm_b", SCOPE_STACK, 0, VEC(DIM_MODEL), SPLIT_NONE, WHEN_EMBED_NORM,
     S(embed_norm_b)},
    {"%s.final_norm", SCOPE_STACK, 0, VEC(DIM_MODEL), SPLIT_NONE, WHEN_FINAL_NORM, S(final_norm)},
    {"%s.final_norm_b", SCOPE_STACK, 0, VEC(DIM_MODEL), SPLIT_NONE, WHEN_FINAL_NORM_BIAS,
     S(final_norm_b)},
    {"%s.layers.%d.rel_bias", SCOPE_LAYER, 0, MAT(DIM_BUCKETS, DIM_HEADS), SPLIT_DIM1,
     WHEN_REL_PER_LAYER, L(rel_bias)},
    LAYER_VEC("self_norm", self_norm, 0, DIM_MODEL, SPLIT_NONE, WHEN_ALWAYS),
    LAYER_VEC("self_norm_b", self_norm_b, 0, DIM_MODEL, SPLIT_NONE, WHEN_NORM_BIAS),
    LAYER_COL("self_q", self_q, 0, WHEN_ALWAYS),
    LAYER_COL("self_k", self_k, 0, WHEN_ALWAYS),
    LAYER_COL("self_v", self_v, 0, WHEN_ALWAYS),
    LAYER_VEC("self_q_b", self_q_b, 0, DIM_INNER, SPLIT_DIM0, WHEN_LINEAR_BIAS),
    LAYER_VEC("self_k_b", self_k_b, 0, DIM_INNER, SPLIT_DIM0, WHEN_LINEAR_BIAS),
    LAYER_VEC("self_v_b", self_v_b, 0, DIM_INNER, SPLIT_DIM0, WHEN_LINEAR_BIAS),
    {"%s.layers.%d.self_o", SCOPE_LAYER, 0, MAT(DIM_MODEL, DIM_INNER), SPLIT_DIM1, WHEN_ALWAYS,
     L(self_o)},
    LAYER_VEC("self_o_b", self_o_b, 0, DIM_MODEL, SPLIT_NONE, WHEN_LINEAR_BIAS),
    LAYER_VEC("cross_norm", cross_norm, 1, DIM_MODEL, SPLIT_NONE, WHEN_ALWAYS),
    LAYER_VEC("cross_norm_b", cross_norm_b, 1, DIM_MODEL, SPLIT_NONE, WHEN_NORM_BIAS),
    LAYER_COL("cross_q", cross_q, 1, WHEN_ALWAYS),
    LAYER_COL("cross_k", cross_k, 1, WHEN_ALWAYS),
    LAYER_COL("cross_v", cross_v, 1, WHEN_ALWAYS),
    LAYER_VEC("cross_q_b", cross_q_b, 1, DIM_INNER, SPLIT_DIM0, WHEN_LINEAR_BIAS),
    LAYER_VEC("cross_k_b", cross_k_b, 1, DIM_INNER, SPLIT_DIM0, WHEN_LINEAR_BIAS),
    LAYER_VEC("cross_v_b", cross_v_b, 1, DIM_INNER, SPLIT_DIM0, WHEN_LINEAR_BIAS),
    {"%s.layers.%d.cross_o", SCOPE_LAYER, 1, MAT(DIM_MODEL, DIM_INNER), SPLIT_DIM1, WHEN_ALWAYS,
     L(cross_o)},
    LAYER_VEC("cross_o_b", cross_o_b, 1, DIM_MODEL, SPLIT_NONE, WHEN_LINEAR_BIAS),
    LAYER_VEC("ffn_norm", ffn_norm, 0, DIM_MODEL, SPLIT_NONE, WHEN_ALWAYS),
    LAYER_VEC("ffn_norm_b", ffn_norm_b, 0, DIM_MODEL, SPLIT_NONE, WHEN_NORM_BIAS),
    {"%s.layers.%d.ffn_wi", SCOPE_LAYER, 0, MAT(DIM_FF, DIM_MODEL), SPLIT_DIM0, WHEN_NOT_GATED,
     L(ffn_wi)},
    LAYER_VEC("ffn_wi_b", ffn_wi_b, 0, DIM_FF, SPLIT_DIM0, WHEN_LINEAR_BIAS),
    {"%s.layers.%d.ffn_wi0", SCOPE_LAYER, 0, MAT(DIM_FF, DIM_MODEL), SPLIT_DIM0, WHEN_GATED,
     L(ffn_wi0)},
    {"%s.layers.%d.ffn_wi1", SCOPE_LAYER, 0, MAT(DIM_FF, DIM_MODEL), SPLIT_DIM0, WHEN_GATED,
     L(ffn_wi1)},
    {"%s.layers.%d.ffn_wo", SCOPE_LAYER, 0, MAT(DIM_MODEL, DIM_FF), SPLIT_DIM1, WHEN_ALWAYS,
     L(ffn_wo)},
    LAYER_VEC("ffn_wo_b", ffn_wo_b, 0, DIM_MODEL, SPLIT_NONE, WHEN_LINEAR_BIAS),
};
#define N_DECLS (sizeof weight_table / sizeof weight_table[0])

static int64_t dim_value(const model_spec *s, dim_sym d) {
    switch (d) {
    case DIM_ONE: return 1;
    case DIM_VOCAB: return s->vocab_size;
    case DIM_MODEL: return s->d_model;
    case DIM_INNER: return spec_inner(s);
    case DIM_FF: return s->d_ff;
    case DIM_BUCKETS: return s->rel_buckets;
    case DIM_HEADS: return s->num_heads;
    case DIM_POSITIONS: return s->max_positions + s->pos_offset;
    }
    return 0;
}

int weight_is_matrix(const weight_decl *d) {
    return d->dims[1] != DIM_ONE && d->dims[0] != DIM_BUCKETS;
}

int weight_is_projection(const weight_decl *d) {
    return d->scope == SCOPE_LAYER && weight_is_matrix(d);
}

int weight_is_vocab_matrix(const weight_decl *d) {
    return d->scope == SCOPE_MODEL && weight_is_matrix(d);
}

int weight_is_quantized(const weight_decl *d, int quant, int quant_embed) {
    return quant != QUANT_NONE &&
           (weight_is_projection(d) || (quant_embed && weight_is_vocab_matrix(d)));
}

static int decl_exists(const model_spec *s, const weight_decl *d) {
    switch (d->when) {
    case WHEN_ALWAYS: return 1;
    case WHEN_GATED: return s->gated_ffn;
    case WHEN_NOT_GATED: return !s->gated_ffn;
    case WHEN_UNTIED: return !s->tied_head;
    case WHEN_REL_SHARED: return s->rel_buckets > 0 && !s->rel_bias_per_layer;
    case WHEN_REL_PER_LAYER: return s->rel_buckets > 0 && s->rel_bias_per_layer;
    case WHEN_NORM_BIAS: return s->norm == NORM_LAYER;
    case WHEN_LINEAR_BIAS: return s->linear_bias;
    case WHEN_LEARNED_POS: return s->learned_pos;
    case WHEN_EMBED_NORM: return s->embed_norm;
    case WHEN_FINAL_NORM: return s->final_norm;
    case WHEN_FINAL_NORM_BIAS: return s->final_norm && s->norm == NORM_LAYER;
    case WHEN_LOGITS_BIAS: return s->logits_bias;
    }
    return 0;
}

static int visit(const model_spec *s, const weight_decl *d, int stack, int layer,
                 weight_visit_fn fn, void *ctx) {
    weight_ref r = {.decl = d, .stack = stack, .layer = layer};
    if (d->scope == SCOPE_MODEL) snprintf(r.name, sizeof r.name, "%s", d->pattern);
    else if (d->scope == SCOPE_STACK) snprintf(r.name, sizeof r.name, d->pattern, stack_name(stack));
    else snprintf(r.name, sizeof r.name, d->pattern, stack_name(stack), layer);
    r.shape[0] = dim_value(s, d->dims[0]);
    r.shape[1] = dim_value(s, d->dims[1]);
    r.rank = d->dims[1] == DIM_ONE ? 1 : 2;
    return fn(ctx, &r);
}

int weight_table_foreach(const model_spec *s, weight_visit_fn fn, void *ctx) {
    int rc;
    for (size_t i = 0; i < N_DECLS; i++) {
        const weight_decl *d = &weight_table[i];
        if (!decl_exists(s, d) || d->scope != SCOPE_MODEL) continue;
        if ((rc = visit(s, d, -1, -1, fn, ctx))) return rc;
    }
    for (int stack = 0; stack < 2; stack++) {
        int n_layers = stack == 0 ? s->enc_layers : s->dec_layers;
        for (size_t i = 0; i < N_DECLS; i++) {
            const weight_decl *d = &weight_table[i];
            if (!decl_exists(s, d) || d->scope != SCOPE_STACK) continue;
            if ((rc = visit(s, d, stack, -1, fn, ctx))) return rc;
        }
        for (int l = 0; l < n_layers; l++)
            for (size_t i = 0; i < N_DECLS; i++) {
                const weight_decl *d = &weight_table[i];
                if (!decl_exists(s, d) || d->scope != SCOPE_LAYER) continue;
                if (d->decoder_only && stack == 0) continue;
                if ((rc = visit(s, d, stack, l, fn, ctx))) return rc;
            }
    }
    return 0;
}

int weight_local_slice(const weight_ref *ref, int rank, int tp, int vocab_parallel,
                       int64_t start[2], int64_t count[2]) {
    start[0] = start[1] = 0;
    count[0] = ref->shape[0];
    count[1] = ref->shape[1];
    if (ref->decl->split == SPLIT_VOCAB) {
        if (!vocab_parallel) return 0;
        int s0, n0;
        tp_chunk((int)ref->shape[0], rank, tp, &s0, &n0);
        start[0] = s0;
        count[0] = n0;
        return 0;
    }
    int dim = ref->decl->split == SPLIT_DIM0 ? 0 : ref->decl->split == SPLIT_DIM1 ? 1 : -1;
    if (dim < 0) return 0;
    if (count[dim] % tp) return -1;
    count[dim] /= tp;
    start[dim] = count[dim] * rank;
    return 0;
}
