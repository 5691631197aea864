/* BART and mBART (BartForConditionalGeneration, MBartForConditionalGeneration): LayerNorm with
 * biases, learned absolute positions with an offset of 2, layernorm_embedding, token embeddings
 * scaled by sqrt(d_model) when scale_embedding, attention scaled by d_head**-0.5, biases on every
 * projection, the LM head tied to the shared embedding, final_logits_bias.
 * BART blocks are post-norm with no final stack norm; mBART blocks are pre-norm with a final
 * LayerNorm per stack. Old fairseq-port keys that would select other variants (normalize_before,
 * add_final_layer_norm, normalize_embedding, static_position_embeddings, add_bias_logits) are
 * errors when they ask for what this file does not build. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "models/family.h"
#include "models/family_bart_names.h"

static const char *const bart_architectures[] = {"BartForConditionalGeneration",
                                                 "MBartForConditionalGeneration", NULL};

/* A boolean key that, when present, must equal `built`. */
static ed_status require_bool(const hf_config *cfg, const char *key, int built, ed_error *err) {
    int v;
    if (hf_get_bool(cfg, key, built, &v, err)) return ED_ERR;
    if (v != built)
        return ed_fail(err, "%s: key %s: %s is not implemented for this architecture",
                       hf_config_path(cfg), key, v ? "true" : "false");
    return ED_OK;
}

static ed_status bart_spec_from_config(const hf_config *cfg, model_spec *s, ed_error *err) {
    spec_init_defaults(s);
    int is_mbart = !strcmp(hf_config_architecture(cfg), "MBartForConditionalGeneration");
    snprintf(s->family, sizeof s->family, is_mbart ? "mbart" : "bart");
    int dec_heads, dec_ffn, scale_embedding, tie;
    char act[32];
    const char *path = hf_config_path(cfg);
    if (hf_get_int(cfg, "vocab_size", 50265, &s->vocab_size, err) ||
        hf_get_int(cfg, "d_model", 1024, &s->d_model, err) ||
        hf_get_int(cfg, "encoder_layers", 12, &s->enc_layers, err) ||
        hf_get_int(cfg, "decoder_layers", 12, &s->dec_layers, err) ||
        hf_get_int(cfg, "encoder_attention_heads", 16, &s->num_heads, err) ||
        hf_get_int(cfg, "decoder_attention_heads", 16, &dec_heads, err) ||
        hf_get_int(cfg, "encoder_ffn_dim", 4096, &s->d_ff, err) ||
        hf_get_int(cfg, "decoder_ffn_dim", 4096, &dec_ffn, err) ||
        hf_get_int(cfg, "max_position_embeddings", 1024, &s->max_positions, err) ||
        hf_get_string(cfg, "activation_function", "gelu", act, sizeof act, err) ||
        hf_get_bool(cfg, "scale_embedding", 0, &scale_embedding, err) ||
        hf_get_bool(cfg, "tie_word_embeddings", 1, &tie, err) ||
        hf_get_int(cfg, "pad_token_id", 1, &s->pad_id, err) ||
        hf_get_int_or_first(cfg, "eos_token_id", 2, &s->eos_id, err) ||
        hf_get_int(cfg, "decoder_start_token_id", s->eos_id, &s->decoder_start_id, err) ||
        hf_get_token_id(cfg, "forced_bos_token_id", -1, &s->forced_bos_id, err) ||
        hf_get_token_id(cfg, "forced_eos_token_id", -1, &s->forced_eos_id, err) ||
        require_bool(cfg, "normalize_before", is_mbart, err) ||
        require_bool(cfg, "add_final_layer_norm", is_mbart, err) ||
        require_bool(cfg, "normalize_embedding", 1, err) ||
        require_bool(cfg, "static_position_embeddings", 0, err) ||
        require_bool(cfg, "add_bias_logits", 0, err))
        return ED_ERR;
    if (!tie)
        return ed_fail(err, "%s: key tie_word_embeddings: an untied BART head is not implemented",
                       path);
    if (bart_layout_check_shape(path, dec_heads, dec_ffn, act, s, err)) return ED_ERR;
    s->norm = NORM_LAYER;
    s->norm_eps = 1e-5f; /* nn.LayerNorm's default, which HF's BART layers use */
    s->pre_norm = is_mbart;
    s->final_norm = is_mbart;
    s->linear_bias = 1;
    s->learned_pos = 1;
    s->pos_offset = 2;
    s->embed_scale = scale_embedding ? sqrtf((float)s->d_model) : 1.0f;
    s->embed_norm = 1;
    s->attn_scale = 1.0f / sqrtf((float)s->d_kv);
    s->logits_bias = 1;
    s->tied_head = 1;
    return ED_OK;
}

/* BART's names: the shared layout with its learned position table in the checkpoint. */
static void bart_hf_names(const model_spec *s, const weight_ref *r, char *buf, size_t cap) {
    bart_layout_hf_names(s, r, 1, buf, cap);
}

static int bart_may_leave_unused(const model_spec *s, const char *name) {
    (void)s;
    /* Copies of model.shared.weight that HF ties. */
    return !strcmp(name, "lm_head.weight") || !strcmp(name, "model.encoder.embed_tokens.weight") ||
           !strcmp(name, "model.decoder.embed_tokens.weight");
}

const model_family family_bart = {
    .name = "bart",
    .architectures = bart_architectures,
    .spec_from_config = bart_spec_from_config,
    .hf_names = bart_hf_names,
    .may_leave_unused = bart_may_leave_unused,
};
