/* Hugging Face directory -> one .h5 model (models/h5_model.h). Everything is checked before the
 * output is created (architecture, config fields, every tensor's presence, dtype and shape, and
 * that no checkpoint tensor is left unused); the file is written under a temporary name and
 * renamed when complete, and removed on any error, so no partial output is ever left behind. */
#ifndef ENCDEC_CONVERT_H
#define ENCDEC_CONVERT_H

#include <stddef.h>

#include "common/status.h"

typedef struct convert_options {
    const char *hf_dir;
    const char *out_path;
    int dtype;    /* ed_dtype of the stored weights */
    int quantize; /* ed_quant of the layers' projections (common/quant.h); 0 = none */
    int quantize_embeddings; /* 1: the token embedding and LM head too (needs quantize) */
    int progress; /* 1: progress lines on stderr */
} convert_options;

ed_status convert_hf_to_h5(const convert_options *opt, ed_error *err);

/* The temporary name this process writes out_path under ("OUT.partial-PID"), into buf[n]: the
 * file a signal handler removes when the conversion is interrupted. */
void convert_partial_path(const char *out_path, char *buf, size_t n);

#endif
