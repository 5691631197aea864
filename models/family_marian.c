/* Marian opus-mt (MarianMTModel): BART's module layout with post-norm blocks, no final stack
 * norm, no layernorm_embedding, token embeddings scaled by sqrt(d_model) (scale_embedding),
 * sinusoidal positions (sin half, cos half; computed at conversion and checked against the
 * checkpoint's copy when it holds one) from position 0, SiLU ("swish") in the opus-mt configs,
 * final_logits_bias, the head tied to the shared embedding unless tie_word_embeddings is false.
 * One vocabulary shared by encoder and decoder: share_encoder_decoder_embeddings = false and a
 * decoder_vocab_size other than vocab_size (separate target embeddings and head) are refused. */
#include <stdio.h>

#include "models/family.h"
#include "models/family_bart_names.h"

static const char *const marian_architectures[] = {"MarianMTModel", NULL};

static ed_status marian_spec_from_config(const hf_config *cfg, model_spec *s, ed_error *err) {
    spec_init_defaults(s);
    snprintf(s->family, sizeof s->family, "marian");
    static const bart_layout_defaults d = {
        .vocab_size = 58101, .d_model = 1024, .layers = 12, .heads = 16, .ffn_dim = 4096,
        .max_positions = 1024, .pad = 58100, .eos = 0, .decoder_start = 58100, .forced_eos = 0,
        .act = "gelu", .scale_embedding = 0, .tie_word_embeddings = 1};
    const char *path = hf_config_path(cfg);
    s->pre_norm = 0;
    if (bart_layout_common_spec(cfg, &d, s, err)) return ED_ERR;
    int dec_vocab, shared;
    if (hf_get_int(cfg, "decoder_vocab_size", s->vocab_size, &dec_vocab, err) ||
        hf_get_bool(cfg, "share_encoder_decoder_embeddings", 1, &shared, err))
        return ED_ERR;
    if (!shared)
        return ed_fail(err, "%s: key share_encoder_decoder_embeddings: false (separate source and "
                            "target embeddings) is not implemented", path);
    if (dec_vocab != s->vocab_size)
        return ed_fail(err, "%s: key decoder_vocab_size: %d differs from vocab_size %d (a "
                            "separate target vocabulary is not implemented)", path, dec_vocab,
                       s->vocab_size);
    s->final_norm = 0;
    s->pos_table = POS_TABLE_SIN_HALVES;
    s->pos_offset = 0;
    s->logits_bias = 1;
    return ED_OK;
}

static void marian_hf_names(const model_spec *s, const weight_ref *r, char *buf, size_t cap) {
    bart_layout_hf_names(s, r, 1, buf, cap);
}

const model_family family_marian = {
    .name = "marian",
    .architectures = marian_architectures,
    .spec_from_config = marian_spec_from_config,
    .hf_names = marian_hf_names,
    .may_leave_unused = bart_layout_may_leave_unused,
};
