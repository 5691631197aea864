/* A model family maps a Hugging Face architecture onto the generic encoder-decoder: its
 * config.json onto a model_spec, and its tensor names onto the weight table's names. Adding a
 * family means one new file with one of these tables and a line in models/convert.c. */
#ifndef ENCDEC_FAMILY_H
#define ENCDEC_FAMILY_H

#include <stddef.h>

#include "models/hf_config.h"
#include "models/spec.h"
#include "models/weight_table.h"

typedef struct model_family {
    const char *name;
    const char *const *architectures; /* HF "architectures" values it converts; NULL-terminated */
    /* Fills spec from config.json; any field that changes the math and is not implemented is an
     * error naming the field. */
    ed_status (*spec_from_config)(const hf_config *cfg, model_spec *spec, ed_error *err);
    /* Writes into buf the checkpoint names that may hold tensor r, best first, separated by
     * '\n' (e.g. "shared.weight\nencoder.embed_tokens.weight"). */
    void (*hf_names)(const model_spec *spec, const weight_ref *r, char *buf, size_t cap);
    /* 1 if checkpoint tensor `name` may stay unused (a tied duplicate), else 0. */
    int (*may_leave_unused)(const model_spec *spec, const char *name);
} model_family;

extern const model_family family_t5;
extern const model_family family_bart;
extern const model_family family_m2m100;
extern const model_family family_marian;
extern const model_family family_pegasus;

#endif
