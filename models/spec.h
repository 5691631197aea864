/* The generic encoder-decoder's spec: every architectural choice is a field here, so one forward
 * pass (models/encdec.c) serves every family; family files (models/family_*.c) only map a Hugging
 * Face config.json onto it. Stored as attributes of the converted .h5 (models/h5_model.c). */
#ifndef ENCDEC_SPEC_H
#define ENCDEC_SPEC_H

#include "runtime/status.h"

typedef enum { ACT_RELU = 0, ACT_GELU_NEW = 1, ACT_GELU = 2, ACT_SILU = 3 } act_kind;
typedef enum { NORM_RMS = 0, NORM_LAYER = 1 } norm_kind;

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
} model_spec;

static inline int spec_inner(const model_spec *s) { return s->num_heads * s->d_kv; }

/* Checks that the numbers are usable (positive, ids inside the vocabulary). */
ed_status spec_validate(const model_spec *s, ed_error *err);

const char *act_name(int act);
/* Parses an activation name ("relu", "gelu_new", "gelu", "silu"); -1 if unknown. */
int act_from_name(const char *name);

#endif
