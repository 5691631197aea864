#include "models/spec.h"

#include <math.h>
#include <stdint.h>
#include <string.h>

static const char *const act_names[] = {"relu", "gelu_new", "gelu", "silu"};

const char *act_name(int act) { return act >= 0 && act < 4 ? act_names[act] : "?"; }

int act_from_name(const char *name) {
    for (int i = 0; i < 4; i++)
        if (!strcmp(name, act_names[i])) return i;
    return -1;
}

void spec_init_defaults(model_spec *s) {
    memset(s, 0, sizeof *s);
    s->pre_norm = 1;
    s->final_norm = 1;
    s->embed_scale = 1.0f;
    s->attn_scale = 1.0f;
    s->forced_bos_id = -1;
    s->forced_eos_id = -1;
}

/* Bounds that keep every shape product (int64) and every per-tensor element count far from
 * overflow, yet far above any published model. */
#define SPEC_MAX_DIM (1 << 24)
#define SPEC_MAX_LAYERS 4096
#define SPEC_MAX_BUCKETS 65536
#define SPEC_MAX_ELEMENTS ((int64_t)1 << 40) /* per matrix */

ed_status model_spec_validate(const model_spec *s, const char *source, ed_error *err) {
    const char *src = source ? source : "model spec";
#define BAD(...) return ed_fail(err, __VA_ARGS__)
#define RANGE(f, lo, hi, key)                                                                   \
    if (s->f < (lo) || s->f > (hi))                                                             \
    BAD("%s: %s = %d%s is outside [%d, %d]", src, #f, s->f, key, (int)(lo), (int)(hi))
    RANGE(vocab_size, 1, SPEC_MAX_DIM, " (vocab_size)");
    RANGE(d_model, 1, SPEC_MAX_DIM, " (d_model)");
    RANGE(d_kv, 1, SPEC_MAX_DIM, " (d_kv)");
    RANGE(num_heads, 1, SPEC_MAX_DIM, " (num_heads / encoder_attention_heads)");
    RANGE(d_ff, 1, SPEC_MAX_DIM, " (d_ff / encoder_ffn_dim)");
    RANGE(enc_layers, 1, SPEC_MAX_LAYERS, " (num_layers / encoder_layers)");
    RANGE(dec_layers, 1, SPEC_MAX_LAYERS, " (num_decoder_layers / decoder_layers)");
    int64_t inner = (int64_t)s->num_heads * s->d_kv;
    if (inner > SPEC_MAX_DIM)
        BAD("%s: num_heads * d_kv = %lld exceeds %d", src, (long long)inner, SPEC_MAX_DIM);
    int64_t widest = s->vocab_size > s->d_ff ? s->vocab_size : s->d_ff;
    if (inner > widest) widest = inner;
    if (widest * s->d_model > SPEC_MAX_ELEMENTS)
        BAD("%s: d_model = %d makes a matrix of %lld x %d elements (more than 2^40)", src,
            s->d_model, (long long)widest, s->d_model);
    const char *bool_names[] = {"rel_bias_per_layer", "gated_ffn", "scale_decoder_outputs",
                                "tied_head", "pre_norm", "final_norm", "linear_bias",
                                "learned_pos", "embed_norm", "logits_bias", "pos_skip_pad"};
    const int bool_vals[] = {s->rel_bias_per_layer, s->gated_ffn, s->scale_decoder_outputs,
                             s->tied_head, s->pre_norm, s->final_norm, s->linear_bias,
                             s->learned_pos, s->embed_norm, s->logits_bias, s->pos_skip_pad};
    for (size_t i = 0; i < sizeof bool_vals / sizeof bool_vals[0]; i++)
        if (bool_vals[i] != 0 && bool_vals[i] != 1)
            BAD("%s: %s = %d must be 0 or 1", src, bool_names[i], bool_vals[i]);
    RANGE(act, 0, ACT_SILU, " (0 relu, 1 gelu_new, 2 gelu, 3 silu)");
    RANGE(norm, NORM_RMS, NORM_LAYER, " (0 RMSNorm, 1 LayerNorm)");
    const char *float_names[] = {"norm_eps", "embed_scale", "attn_scale"};
    const float float_vals[] = {s->norm_eps, s->embed_scale, s->attn_scale};
    for (int i = 0; i < 3; i++)
        if (!(float_vals[i] > 0.0f) || !isfinite(float_vals[i]))
            BAD("%s: %s = %g must be finite and positive%s", src, float_names[i],
                (double)float_vals[i], i == 0 ? " (layer_norm_epsilon)" : "");
    /* Relative attention: HF's bucket formula divides by log(max_distance / max_exact) with
     * max_exact = buckets / 4 (encoder) and buckets / 2 (decoder): both must be >= 1 and
     * max_distance above them, or HF itself computes NaN / out-of-range buckets. */
    if (s->rel_buckets != 0) {
        if (s->rel_buckets < 4 || s->rel_buckets > SPEC_MAX_BUCKETS)
            BAD("%s: rel_buckets (relative_attention_num_buckets) = %d must be 0 (none) or in "
                "[4, %d]", src, s->rel_buckets, SPEC_MAX_BUCKETS);
        if (s->rel_max_distance <= s->rel_buckets / 2)
            BAD("%s: rel_max_distance (relative_attention_max_distance) = %d must exceed the "
                "decoder's exact buckets rel_buckets / 2 = %d", src, s->rel_max_distance,
                s->rel_buckets / 2);
    } else if (s->rel_bias_per_layer) {
        BAD("%s: rel_bias_per_layer = 1 needs rel_buckets > 0", src);
    }
    if (s->learned_pos) {
        RANGE(max_positions, 1, SPEC_MAX_DIM, " (max_position_embeddings)");
        RANGE(pos_offset, 0, SPEC_MAX_DIM, "");
    } else {
        RANGE(max_positions, 0, SPEC_MAX_DIM, "");
        RANGE(pos_offset, 0, SPEC_MAX_DIM, "");
    }
    RANGE(pos_table, POS_TABLE_CHECKPOINT, POS_TABLE_FAIRSEQ,
          " (0 checkpoint, 1 sinusoid halves, 2 fairseq sinusoid)");
    if (s->pos_table != POS_TABLE_CHECKPOINT && !s->learned_pos)
        BAD("%s: pos_table = %d needs learned_pos = 1 (a position table)", src, s->pos_table);
    if (s->pos_table == POS_TABLE_FAIRSEQ && s->d_model < 4)
        BAD("%s: pos_table = 2 (fairseq sinusoid) needs d_model >= 4 (it divides by "
            "d_model / 2 - 1), not %d", src, s->d_model);
    /* A pad token's row pad_id lies below the first position row pos_offset. */
    if (s->pos_skip_pad && (!s->learned_pos || s->pad_id < 0 || s->pad_id >= s->pos_offset))
        BAD("%s: pos_skip_pad = 1 needs learned_pos = 1 and pad_id (%d) < pos_offset (%d)", src,
            s->pad_id, s->pos_offset);
    if (s->linear_bias && s->gated_ffn)
        BAD("%s: gated FFN with biases is not implemented", src);
    const int ids[5] = {s->pad_id, s->eos_id, s->decoder_start_id, s->forced_bos_id,
                        s->forced_eos_id};
    const char *names[5] = {"pad_id (pad_token_id)", "eos_id (eos_token_id)",
                            "decoder_start_id (decoder_start_token_id)",
                            "forced_bos_id (forced_bos_token_id)",
                            "forced_eos_id (forced_eos_token_id)"};
    for (int i = 0; i < 5; i++)
        if (ids[i] < (i >= 3 ? -1 : 0) || ids[i] >= s->vocab_size)
            BAD("%s: %s = %d is outside the vocabulary [0, %d)%s", src, names[i], ids[i],
                s->vocab_size, i >= 3 ? " (-1 = none)" : "");
#undef RANGE
#undef BAD
    return ED_OK;
}

ed_status spec_validate(const model_spec *s, ed_error *err) {
    return model_spec_validate(s, NULL, err);
}
