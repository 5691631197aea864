/* The checkpoint names of the BART-derived Hugging Face models that keep BART's module layout
 * (M2M100 / NLLB, Marian, Pegasus): model.{encoder,decoder}.layers.N.{self_attn,encoder_attn,
 * fc1, fc2, *_layer_norm}, model.shared, model.S.layer_norm, model.S.embed_positions,
 * final_logits_bias, lm_head. */
#ifndef ENCDEC_FAMILY_BART_NAMES_H
#define ENCDEC_FAMILY_BART_NAMES_H

#include <stddef.h>

#include "models/hf_config.h"
#include "models/spec.h"
#include "models/weight_table.h"

/* model_family.hf_names for these layouts. A computed position table (models/pos_table.h) names
 * model.S.embed_positions.weight only when `positions_in_checkpoint`: the converter then checks
 * the checkpoint's copy against the computed one. */
void bart_layout_hf_names(const model_spec *s, const weight_ref *r, int positions_in_checkpoint,
                          char *buf, size_t cap);

/* The shape checks BART-layout configs share, refused naming the key and the config at path:
 * the decoder's heads and FFN width equal the encoder's (s->num_heads, s->d_ff; unequal ones are
 * not implemented), the heads divide d_model, the activation (swish = silu) is implemented.
 * Sets s->act and s->d_kv. */
ed_status bart_layout_check_shape(const char *path, int dec_heads, int dec_ffn, const char *act,
                                  model_spec *s, ed_error *err);

/* 1 for the tied copies of model.shared.weight HF may save (lm_head.weight when the head is
 * tied, model.S.embed_tokens.weight) and for model.S.embed_positions.weight(s) (a table HF
 * recomputes), else 0. */
int bart_layout_may_leave_unused(const model_spec *s, const char *name);

/* A boolean key that, when present, must equal `built` (keys of the fairseq-era configs that
 * HF's modeling code for these architectures fixes, kept in old config.json files). */
ed_status bart_layout_require_bool(const hf_config *cfg, const char *key, int built,
                                   ed_error *err);

/* The config class's defaults (used for keys absent from config.json). */
typedef struct bart_layout_defaults {
    int vocab_size, d_model, layers, heads, ffn_dim, max_positions;
    int pad, eos, decoder_start, forced_eos; /* forced_eos -1 = none */
    const char *act;
    int scale_embedding, tie_word_embeddings;
} bart_layout_defaults;
/* The keys these architectures share: sizes, heads, FFN, max_position_embeddings,
 * activation_function (swish = silu), scale_embedding, tie_word_embeddings (an untied head reads
 * lm_head.weight), ids and forced ids; decoder heads / FFN must equal the encoder's; the
 * fairseq-era keys normalize_before, add_final_layer_norm (both = pre_norm),
 * normalize_embedding (false), static_position_embeddings (true) and add_bias_logits (false)
 * must agree with what is built. The caller sets pre_norm first. Sets the BART-derived rest:
 * LayerNorm (eps 1e-5), biases on every projection, attention scaled by d_kv**-0.5, no
 * layernorm_embedding, a position table (learned_pos = 1). */
ed_status bart_layout_common_spec(const hf_config *cfg, const bart_layout_defaults *d,
                                  model_spec *s, ed_error *err);

#endif
