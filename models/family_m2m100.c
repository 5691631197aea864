/* M2M100 and NLLB-200 (M2M100ForConditionalGeneration): BART's module layout with pre-norm
 * blocks, a final LayerNorm per stack, no layernorm_embedding, token embeddings scaled by
 * sqrt(d_model) (scale_embedding), fairseq sinusoidal positions (computed at conversion,
 * models/pos_table.c) at row position + pad_token_id + 1 with pad tokens at row pad_token_id
 * (create_position_ids_from_input_ids), ReLU by default, the LM head tied to the shared
 * embedding, no final_logits_bias. */
#include <stdio.h>

#include "models/family.h"
#include "models/family_bart_names.h"

static const char *const m2m100_architectures[] = {"M2M100ForConditionalGeneration", NULL};

static ed_status m2m100_spec_from_config(const hf_config *cfg, model_spec *s, ed_error *err) {
    spec_init_defaults(s);
    snprintf(s->family, sizeof s->family, "m2m100");
    static const bart_layout_defaults d = {
        .vocab_size = 128112, .d_model = 1024, .layers = 12, .heads = 16, .ffn_dim = 4096,
        .max_positions = 1024, .pad = 1, .eos = 2, .decoder_start = 2, .forced_eos = -1,
        .act = "relu", .scale_embedding = 1, .tie_word_embeddings = 1};
    s->pre_norm = 1;
    if (bart_layout_common_spec(cfg, &d, s, err)) return ED_ERR;
    if (!s->tied_head)
        return ed_fail(err, "%s: key tie_word_embeddings: an untied M2M100 head is not "
                            "implemented", hf_config_path(cfg));
    s->final_norm = 1;
    s->pos_table = POS_TABLE_FAIRSEQ;
    s->pos_offset = s->pad_id + 1; /* positions count from padding_idx + 1 */
    s->pos_skip_pad = 1;
    s->logits_bias = 0;
    return ED_OK;
}

static void m2m100_hf_names(const model_spec *s, const weight_ref *r, char *buf, size_t cap) {
    /* HF never reads a stored table (a non-persistent buffer it recomputes). */
    bart_layout_hf_names(s, r, 0, buf, cap);
}

const model_family family_m2m100 = {
    .name = "m2m100",
    .architectures = m2m100_architectures,
    .spec_from_config = m2m100_spec_from_config,
    .hf_names = m2m100_hf_names,
    .may_leave_unused = bart_layout_may_leave_unused,
};
