/* T5 v1.0, T5 v1.1 / Flan-T5, mT5, ByT5 and UMT5 (T5ForConditionalGeneration,
 * MT5ForConditionalGeneration, UMT5ForConditionalGeneration): RMSNorm pre-norm blocks, no
 * attention scaling, relative position buckets shared by all layers of a stack (UMT5: a table in
 * every layer), ReLU or gated-GELU FFN.
 *
 * The LM head follows Hugging Face transformers 5.x: with tie_word_embeddings true (the default)
 * the head is the shared embedding and a stored lm_head.weight is ignored; decoder outputs are
 * scaled by d_model**-0.5 when scale_decoder_outputs (written by 5.x) or, for configs written
 * before it existed, tie_word_embeddings is true. A config with tie_word_embeddings false (Flan-T5,
 * T5 v1.1 and mT5 as published) uses its own lm_head.weight. mT5 scales only when
 * scale_decoder_outputs is present and true: transformers 5.17's MT5 does not rescale for a config
 * that merely says tie_word_embeddings, while T5 and UMT5 do (checked by the mt5_small and
 * umt5_small fixtures). */
#include <stdio.h>
#include <string.h>

#include "models/family.h"

static const char *const t5_architectures[] = {"T5ForConditionalGeneration",
                                               "MT5ForConditionalGeneration",
                                               "UMT5ForConditionalGeneration", NULL};

static ed_status parse_ffn(const hf_config *cfg, model_spec *s, ed_error *err) {
    char proj[64];
    if (hf_get_string(cfg, "feed_forward_proj", "relu", proj, sizeof proj, err)) return ED_ERR;
    const char *act = proj;
    s->gated_ffn = 0;
    if (!strncmp(proj, "gated-", 6)) {
        s->gated_ffn = 1;
        act = proj + 6;
    }
    if (strchr(act, '-'))
        return ed_fail(err, "%s: key feed_forward_proj: '%s' is not of the form [gated-]ACT",
                       hf_config_path(cfg), proj);
    /* HF maps "gated-gelu" to gelu_new (tanh approximation) for backward compatibility. */
    if (!strcmp(proj, "gated-gelu")) act = "gelu_new";
    else if (!strcmp(act, "swish")) act = "silu";
    s->act = act_from_name(act);
    if (s->act < 0)
        return ed_fail(err, "%s: key feed_forward_proj: activation '%s' is not implemented "
                            "(relu, gelu, gelu_new, silu are)", hf_config_path(cfg), act);
    return ED_OK;
}

static ed_status t5_spec_from_config(const hf_config *cfg, model_spec *s, ed_error *err) {
    spec_init_defaults(s);
    snprintf(s->family, sizeof s->family, "t5");
    double eps;
    int is_decoder, tie, scale;
    char model_type[32];
    if (hf_get_int(cfg, "vocab_size", 32128, &s->vocab_size, err) ||
        hf_get_int(cfg, "d_model", 512, &s->d_model, err) ||
        hf_get_int(cfg, "d_kv", 64, &s->d_kv, err) ||
        hf_get_int(cfg, "num_heads", 8, &s->num_heads, err) ||
        hf_get_int(cfg, "d_ff", 2048, &s->d_ff, err) ||
        hf_get_int(cfg, "num_layers", 6, &s->enc_layers, err) ||
        hf_get_int(cfg, "num_decoder_layers", s->enc_layers, &s->dec_layers, err) ||
        hf_get_int(cfg, "relative_attention_num_buckets", 32, &s->rel_buckets, err) ||
        hf_get_int(cfg, "relative_attention_max_distance", 128, &s->rel_max_distance, err) ||
        hf_get_float(cfg, "layer_norm_epsilon", 1e-6, &eps, err) ||
        hf_get_int(cfg, "pad_token_id", 0, &s->pad_id, err) ||
        hf_get_int_or_first(cfg, "eos_token_id", 1, &s->eos_id, err) ||
        hf_get_int(cfg, "decoder_start_token_id", s->pad_id, &s->decoder_start_id, err) ||
        hf_get_bool(cfg, "is_decoder", 0, &is_decoder, err) ||
        hf_get_bool(cfg, "tie_word_embeddings", 1, &tie, err) ||
        hf_get_string(cfg, "model_type", "t5", model_type, sizeof model_type, err))
        return ED_ERR;
    int scale_default = strcmp(model_type, "mt5") ? tie : 0;
    if (hf_get_bool(cfg, "scale_decoder_outputs", scale_default, &scale, err) ||
        parse_ffn(cfg, s, err))
        return ED_ERR;
    if (is_decoder)
        return ed_fail(err, "%s: key is_decoder: decoder-only T5 is not an encoder-decoder",
                       hf_config_path(cfg));
    /* relative_attention_num_buckets / _max_distance are checked by model_spec_validate (the
     * same check the loader runs on the .h5). */
    s->norm = NORM_RMS;
    s->norm_eps = (float)eps;
    s->rel_bias_per_layer = !strcmp(model_type, "umt5");
    s->tied_head = tie;
    s->scale_decoder_outputs = scale;
    return ED_OK;
}

/* Our layer tensor name suffix -> HF's, per stack (decoder blocks have the cross layer 1). */
typedef struct t5_layer_name {
    const char *ours, *enc, *dec;
} t5_layer_name;

static const t5_layer_name t5_layer_names[] = {
    {"self_norm", "layer.0.layer_norm", "layer.0.layer_norm"},
    {"self_q", "layer.0.SelfAttention.q", "layer.0.SelfAttention.q"},
    {"self_k", "layer.0.SelfAttention.k", "layer.0.SelfAttention.k"},
    {"self_v", "layer.0.SelfAttention.v", "layer.0.SelfAttention.v"},
    {"self_o", "layer.0.SelfAttention.o", "layer.0.SelfAttention.o"},
    {"rel_bias", "layer.0.SelfAttention.relative_attention_bias",
     "layer.0.SelfAttention.relative_attention_bias"},
    {"cross_norm", NULL, "layer.1.layer_norm"},
    {"cross_q", NULL, "layer.1.EncDecAttention.q"},
    {"cross_k", NULL, "layer.1.EncDecAttention.k"},
    {"cross_v", NULL, "layer.1.EncDecAttention.v"},
    {"cross_o", NULL, "layer.1.EncDecAttention.o"},
    {"ffn_norm", "layer.1.layer_norm", "layer.2.layer_norm"},
    {"ffn_wi", "layer.1.DenseReluDense.wi", "layer.2.DenseReluDense.wi"},
    {"ffn_wi0", "layer.1.DenseReluDense.wi_0", "layer.2.DenseReluDense.wi_0"},
    {"ffn_wi1", "layer.1.DenseReluDense.wi_1", "layer.2.DenseReluDense.wi_1"},
    {"ffn_wo", "layer.1.DenseReluDense.wo", "layer.2.DenseReluDense.wo"},
};

static void t5_hf_names(const model_spec *s, const weight_ref *r, char *buf, size_t cap) {
    (void)s;
    const char *stack = r->stack >= 0 ? stack_name(r->stack) : "";
    buf[0] = 0;
    if (!strcmp(r->name, "embed.tokens")) {
        snprintf(buf, cap, "shared.weight\nencoder.embed_tokens.weight\ndecoder.embed_tokens.weight");
    } else if (!strcmp(r->name, "lm_head")) {
        snprintf(buf, cap, "lm_head.weight");
    } else if (r->layer < 0) { /* stack scope: final norm, or the first layer's shared table */
        if (strstr(r->name, "final_norm")) snprintf(buf, cap, "%s.final_layer_norm.weight", stack);
        else snprintf(buf, cap, "%s.block.0.layer.0.SelfAttention.relative_attention_bias.weight",
                      stack);
    } else {
        const char *suffix = strrchr(r->name, '.') + 1;
        for (size_t i = 0; i < sizeof t5_layer_names / sizeof t5_layer_names[0]; i++) {
            if (strcmp(t5_layer_names[i].ours, suffix)) continue;
            const char *hf = r->stack == 0 ? t5_layer_names[i].enc : t5_layer_names[i].dec;
            if (hf) snprintf(buf, cap, "%s.block.%d.%s.weight", stack, r->layer, hf);
        }
    }
}

static int t5_may_leave_unused(const model_spec *s, const char *name) {
    if (!strcmp(name, "encoder.embed_tokens.weight") || !strcmp(name, "decoder.embed_tokens.weight"))
        return 1; /* copies of shared.weight */
    return s->tied_head && !strcmp(name, "lm_head.weight"); /* HF 5.x ties over it */
}

const model_family family_t5 = {
    .name = "t5",
    .architectures = t5_architectures,
    .spec_from_config = t5_spec_from_config,
    .hf_names = t5_hf_names,
    .may_leave_unused = t5_may_leave_unused,
};
