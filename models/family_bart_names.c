#include "models/family_bart_names.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* Our layer tensor name (without _b) -> HF module name. */
static const char *const layer_names[][2] = {
    {"self_norm", "self_attn_layer_norm"}, {"self_q", "self_attn.q_proj"},
    {"self_k", "self_attn.k_proj"},        {"self_v", "self_attn.v_proj"},
    {"self_o", "self_attn.out_proj"},      {"cross_norm", "encoder_attn_layer_norm"},
    {"cross_q", "encoder_attn.q_proj"},    {"cross_k", "encoder_attn.k_proj"},
    {"cross_v", "encoder_attn.v_proj"},    {"cross_o", "encoder_attn.out_proj"},
    {"ffn_norm", "final_layer_norm"},      {"ffn_wi", "fc1"},
    {"ffn_wo", "fc2"},
};

void bart_layout_hf_names(const model_spec *s, const weight_ref *r, int positions_in_checkpoint,
                          char *buf, size_t cap) {
    (void)s;
    const char *stack = r->stack >= 0 ? stack_name(r->stack) : "";
    char ours[sizeof r->name];
    snprintf(ours, sizeof ours, "%s", strrchr(r->name, '.') ? strrchr(r->name, '.') + 1 : r->name);
    size_t n = strlen(ours);
    int is_bias = n > 2 && !strcmp(ours + n - 2, "_b");
    if (is_bias) ours[n - 2] = 0;
    const char *kind = is_bias ? "bias" : "weight";
    buf[0] = 0;
    if (!strcmp(r->name, "embed.tokens")) {
        snprintf(buf, cap, "model.shared.weight\nmodel.encoder.embed_tokens.weight\n"
                           "model.decoder.embed_tokens.weight");
    } else if (!strcmp(r->name, "lm_head")) {
        snprintf(buf, cap, "lm_head.weight");
    } else if (!strcmp(r->name, "logits_bias")) {
        snprintf(buf, cap, "final_logits_bias");
    } else if (r->layer < 0) {
        if (!strcmp(ours, "pos_embed")) {
            if (positions_in_checkpoint)
                snprintf(buf, cap, "model.%s.embed_positions.weight", stack);
        } else {
            const char *hf = !strcmp(ours, "embed_norm") ? "layernorm_embedding" : "layer_norm";
            snprintf(buf, cap, "model.%s.%s.%s", stack, hf, kind);
        }
    } else {
        for (size_t i = 0; i < sizeof layer_names / sizeof layer_names[0]; i++)
            if (!strcmp(layer_names[i][0], ours))
                snprintf(buf, cap, "model.%s.layers.%d.%s.%s", stack, r->layer, layer_names[i][1],
                         kind);
    }
}

ed_status bart_layout_check_shape(const char *path, int dec_heads, int dec_ffn, const char *act,
                                  model_spec *s, ed_error *err) {
    if (dec_heads != s->num_heads)
        return ed_fail(err, "%s: key decoder_attention_heads: %d differs from "
                            "encoder_attention_heads %d (not implemented)", path, dec_heads,
                       s->num_heads);
    if (dec_ffn != s->d_ff)
        return ed_fail(err, "%s: key decoder_ffn_dim: %d differs from encoder_ffn_dim %d (not "
                            "implemented)", path, dec_ffn, s->d_ff);
    if (s->num_heads <= 0 || s->d_model % s->num_heads)
        return ed_fail(err, "%s: key encoder_attention_heads: %d does not divide d_model %d", path,
                       s->num_heads, s->d_model);
    s->act = act_from_name(strcmp(act, "swish") ? act : "silu");
    if (s->act < 0)
        return ed_fail(err, "%s: key activation_function: '%s' is not implemented (relu, gelu, "
                            "gelu_new, silu / swish are)", path, act);
    s->d_kv = s->d_model / s->num_heads;
    return ED_OK;
}

int bart_layout_may_leave_unused(const model_spec *s, const char *name) {
    if (s->tied_head && !strcmp(name, "lm_head.weight")) return 1;
    for (int st = 0; st < 2; st++) {
        char buf[96];
        const char *const tails[] = {"embed_tokens.weight", "embed_positions.weight",
                                     "embed_positions.weights"};
        for (int i = 0; i < 3; i++) {
            snprintf(buf, sizeof buf, "model.%s.%s", stack_name(st), tails[i]);
            if (!strcmp(name, buf)) return 1;
        }
    }
    return 0;
}

ed_status bart_layout_require_bool(const hf_config *cfg, const char *key, int built,
                                   ed_error *err) {
    int v;
    if (hf_get_bool(cfg, key, built, &v, err)) return ED_ERR;
    if (v != built)
        return ed_fail(err, "%s: key %s: %s is not implemented for %s", hf_config_path(cfg), key,
                       v ? "true" : "false", hf_config_architecture(cfg));
    return ED_OK;
}

ed_status bart_layout_common_spec(const hf_config *cfg, const bart_layout_defaults *d,
                                  model_spec *s, ed_error *err) {
    int dec_heads, dec_ffn, scale_embedding, tie;
    char act[32];
    const char *path = hf_config_path(cfg);
    if (hf_get_int(cfg, "vocab_size", d->vocab_size, &s->vocab_size, err) ||
        hf_get_int(cfg, "d_model", d->d_model, &s->d_model, err) ||
        hf_get_int(cfg, "encoder_layers", d->layers, &s->enc_layers, err) ||
        hf_get_int(cfg, "decoder_layers", d->layers, &s->dec_layers, err) ||
        hf_get_int(cfg, "encoder_attention_heads", d->heads, &s->num_heads, err) ||
        hf_get_int(cfg, "decoder_attention_heads", d->heads, &dec_heads, err) ||
        hf_get_int(cfg, "encoder_ffn_dim", d->ffn_dim, &s->d_ff, err) ||
        hf_get_int(cfg, "decoder_ffn_dim", d->ffn_dim, &dec_ffn, err) ||
        hf_get_int(cfg, "max_position_embeddings", d->max_positions, &s->max_positions, err) ||
        hf_get_string(cfg, "activation_function", d->act, act, sizeof act, err) ||
        hf_get_bool(cfg, "scale_embedding", d->scale_embedding, &scale_embedding, err) ||
        hf_get_int(cfg, "pad_token_id", d->pad, &s->pad_id, err) ||
        hf_get_int_or_first(cfg, "eos_token_id", d->eos, &s->eos_id, err) ||
        hf_get_int(cfg, "decoder_start_token_id", d->decoder_start, &s->decoder_start_id, err) ||
        hf_get_token_id(cfg, "forced_bos_token_id", -1, &s->forced_bos_id, err) ||
        hf_get_token_id(cfg, "forced_eos_token_id", d->forced_eos, &s->forced_eos_id, err) ||
        hf_get_bool(cfg, "tie_word_embeddings", d->tie_word_embeddings, &tie, err) ||
        bart_layout_require_bool(cfg, "normalize_before", s->pre_norm, err) ||
        bart_layout_require_bool(cfg, "add_final_layer_norm", s->pre_norm, err) ||
        bart_layout_require_bool(cfg, "normalize_embedding", 0, err) ||
        bart_layout_require_bool(cfg, "static_position_embeddings", 1, err) ||
        bart_layout_require_bool(cfg, "add_bias_logits", 0, err))
        return ED_ERR;
    if (bart_layout_check_shape(path, dec_heads, dec_ffn, act, s, err)) return ED_ERR;
    s->tied_head = tie;
    s->norm = NORM_LAYER;
    s->norm_eps = 1e-5f; /* nn.LayerNorm's default, which these HF layers use */
    s->linear_bias = 1;
    s->learned_pos = 1; /* a position table added to the embeddings (computed: pos_table) */
    s->embed_scale = scale_embedding ? sqrtf((float)s->d_model) : 1.0f;
    s->embed_norm = 0;
    s->attn_scale = 1.0f / sqrtf((float)s->d_kv);
    return ED_OK;
}
