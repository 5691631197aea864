#include "models/spec.h"

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

ed_status spec_validate(const model_spec *s, ed_error *err) {
#define POSITIVE(f) \
    if (s->f <= 0) return ed_fail(err, "model spec: %s must be positive (got %d)", #f, s->f)
    POSITIVE(vocab_size);
    POSITIVE(d_model);
    POSITIVE(d_kv);
    POSITIVE(num_heads);
    POSITIVE(d_ff);
    POSITIVE(enc_layers);
    POSITIVE(dec_layers);
#undef POSITIVE
    if (s->rel_buckets < 0 || (s->rel_buckets > 0 && s->rel_max_distance <= 0))
        return ed_fail(err, "model spec: relative attention needs num_buckets >= 0 and "
                            "max_distance > 0");
    if (s->act < 0 || s->act > ACT_SILU) return ed_fail(err, "model spec: bad activation %d", s->act);
    if (s->norm_eps <= 0) return ed_fail(err, "model spec: norm epsilon must be positive");
    if (s->learned_pos && s->max_positions <= 0)
        return ed_fail(err, "model spec: max_position_embeddings must be positive");
    if (s->linear_bias && s->gated_ffn)
        return ed_fail(err, "model spec: gated FFN with biases is not implemented");
    if (s->forced_bos_id >= s->vocab_size || s->forced_eos_id >= s->vocab_size)
        return ed_fail(err, "model spec: forced_bos_token_id / forced_eos_token_id outside the "
                            "vocabulary");
    int ids[3] = {s->pad_id, s->eos_id, s->decoder_start_id};
    const char *names[3] = {"pad_token_id", "eos_token_id", "decoder_start_token_id"};
    for (int i = 0; i < 3; i++)
        if (ids[i] < 0 || ids[i] >= s->vocab_size)
            return ed_fail(err, "model spec: %s %d is outside the vocabulary [0, %d)", names[i],
                           ids[i], s->vocab_size);
    return ED_OK;
}
