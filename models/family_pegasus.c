/* Pegasus (PegasusForConditionalGeneration): BART's module layout with pre-norm blocks, a final
 * LayerNorm per stack, no layernorm_embedding, token embeddings scaled by sqrt(d_model)
 * (scale_embedding), sinusoidal positions (sin half, cos half; computed at conversion and
 * checked against the checkpoint's copy when it holds one) from position 0, final_logits_bias,
 * the head tied to the shared embedding unless tie_word_embeddings is false. */
#include <stdio.h>

#include "models/family.h"
#include "models/family_bart_names.h"

static const char *const pegasus_architectures[] = {"PegasusForConditionalGeneration", NULL};

static ed_status pegasus_spec_from_config(const hf_config *cfg, model_spec *s, ed_error *err) {
    spec_init_defaults(s);
    snprintf(s->family, sizeof s->family, "pegasus");
    static const bart_layout_defaults d = {
        .vocab_size = 50265, .d_model = 1024, .layers = 12, .heads = 16, .ffn_dim = 4096,
        .max_positions = 1024, .pad = 0, .eos = 1, .decoder_start = 0, .forced_eos = 1,
        .act = "gelu", .scale_embedding = 0, .tie_word_embeddings = 1};
    s->pre_norm = 1;
    if (bart_layout_common_spec(cfg, &d, s, err)) return ED_ERR;
    s->final_norm = 1;
    s->pos_table = POS_TABLE_SIN_HALVES;
    s->pos_offset = 0;
    s->logits_bias = 1;
    return ED_OK;
}

static void pegasus_hf_names(const model_spec *s, const weight_ref *r, char *buf, size_t cap) {
    bart_layout_hf_names(s, r, 1, buf, cap);
}

const model_family family_pegasus = {
    .name = "pegasus",
    .architectures = pegasus_architectures,
    .spec_from_config = pegasus_spec_from_config,
    .hf_names = pegasus_hf_names,
    .may_leave_unused = bart_layout_may_leave_unused,
};
