/* The generic encoder-decoder's spec: every architectural choice is a field here, so one forward
 * pass (models/encdec.c) serves every family; family files (models/family_*.c) only map a Hugging
 * Face config.json onto it. Stored as attributes of the converted .h5 (models/h5_model.c). */
#ifndef ENCDEC_SPEC_H
#define ENCDEC_SPEC_H

#include "common/activation.h"
#include "common/status.h"

typedef enum { NORM_RMS = 0, NORM_LAYER = 1 } norm_kind;

/* Where the absolute-position table (S.pos_embed, learned_pos = 1) comes from. The forward pass
 * does not care (it adds table rows); the converter computes the sinusoidal ones
 * (models/pos_table.c) and stores them in the .h5 like learned weights. */
typedef enum {
    POS_TABLE_CHECKPOINT = 0, /* learned, read from the checkpoint (BART) */
    POS_TABLE_SIN_HALVES = 1, /* sin in columns [0, ceil(D/2)), cos after, angle
                                 p / 10000^(2c/D) (Marian, Pegasus) */
    POS_TABLE_FAIRSEQ = 2     /* sin in [0, D/2), cos in [D/2, 2(D/2)), a zero column when D is
                                 odd, angle p * exp(-c ln(10000) / (D/2 - 1)), row pad_id zero
                                 (fairseq; M2M100, NLLB) */
} pos_table_kind;

typedef struct model_spec {
    char family[32];       /* "t5", ... (informational) */
    int vocab_size;
    int d_model;
    int d_kv;              /* per-head dim; inner = num_heads * d_kv may differ from d_model */
    int num_heads;
    int d_ff;
    int enc_layers, dec_layers;
    int rel_buckets;       /* relative attention buckets (T5); 0 = no relative bias */
    int rel_max_distance;
    int rel_bias_per_layer; /* 1 = a bias table in every layer (UMT5), 0 = first layer's shared */
    int gated_ffn;          /* 1 = act(x wi0) * (x wi1), 0 = act(x wi) */
    int act;                /* act_kind */
    int norm;               /* norm_kind */
    float norm_eps;
    int scale_decoder_outputs; /* 1 = decoder output * d_model**-0.5 before the LM head */
    int tied_head;             /* 1 = LM head is the shared embedding (no lm_head tensor) */
    int pad_id, eos_id, decoder_start_id;
    int pre_norm;       /* 1 = x + f(norm(x)) (T5, mBART); 0 = norm(x + f(x)) (BART) */
    int final_norm;     /* 1 = a norm after the last layer of each stack */
    int linear_bias;    /* 1 = every projection has a bias (BART family) */
    int learned_pos;    /* 1 = learned absolute positions added to the embeddings */
    int max_positions;  /* learned positions: table rows = max_positions + pos_offset */
    int pos_offset;     /* BART's offset of 2; M2M100's pad_id + 1 */
    int pos_table;      /* pos_table_kind: where the position table came from (informational) */
    int pos_skip_pad;   /* 1 = fairseq positions: a pad token takes row pad_id, and pads do not
                           advance the encoder's count (M2M100); 0 = row position + pos_offset */
    float embed_scale;  /* token embeddings multiplied by this (sqrt(d_model) or 1) */
    int embed_norm;     /* 1 = LayerNorm after embeddings + positions (layernorm_embedding) */
    float attn_scale;   /* scores = attn_scale * q.k (1 for T5, d_kv**-0.5 for BART) */
    int logits_bias;    /* 1 = final_logits_bias added to the logits */
    int forced_bos_id;  /* generation default: first generated token, -1 = none */
    int forced_eos_id;  /* generation default: token forced at max_new_tokens, -1 = none */
} model_spec;

/* Sets the fields every family shares by default (T5's choices): pre-norm, final norm, no
 * biases, no learned positions, scales of 1, no forced tokens. */
void spec_init_defaults(model_spec *s);

static inline int spec_inner(const model_spec *s) { return s->num_heads * s->d_kv; }

/* The one check of a spec, run by the converter on what config.json gave (source = the
 * config.json path) and by the loader on what the .h5 holds (source = the model file): every field
 * is checked (sizes positive and bounded so no shape product overflows, flags 0 or 1, act and norm
 * known, eps and scales finite and positive, relative attention computable as HF does:
 * rel_buckets 0 or in [4, 65536] with rel_max_distance > rel_buckets / 2, learned positions
 * with pos_offset >= 0, ids inside the vocabulary). The message starts with `source` (when not
 * NULL) and names the field (which is also the .h5 attribute) and, where it differs, the
 * config.json key. */
ed_status model_spec_validate(const model_spec *s, const char *source, ed_error *err);
/* model_spec_validate with no source (models/presets.c's built-in shapes). */
ed_status spec_validate(const model_spec *s, ed_error *err);

const char *act_name(int act);
/* Parses an activation name ("relu", "gelu_new", "gelu", "silu"); -1 if unknown. */
int act_from_name(const char *name);

#endif
