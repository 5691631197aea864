/* Real model shapes by name, for benchmarks with random weights (no download needed):
 * t5-small, t5-base, t5-large, flan-t5-xl, flan-t5-xxl, mbart-large, and by their hub
 * config.json nllb-200-distilled-600M, nllb-200-3.3B, opus-mt-en-de, pegasus-large. */
#ifndef ENCDEC_PRESETS_H
#define ENCDEC_PRESETS_H

#include "models/spec.h"

/* Fills spec for `name`; an unknown name is an error listing the known ones. */
ed_status preset_spec(const char *name, model_spec *spec, ed_error *err);

/* Writes a converted-format model with deterministic random weights of spec's shapes (matrices
 * N(0, 1/in_features), norms near 1, biases small) to path, stored as dtype (ed_dtype); quant
 * (ed_quant: QUANT_INT8 / QUANT_FP8, else QUANT_NONE) stores the projections as codes with row
 * scales, and with quant_embed the token embedding and LM head too, as `encdec_convert
 * --quantize [--quantize-embeddings]` would: the same values' codes, half the bytes of a 16-bit
 * file to write and load. Written under a temporary name and renamed when complete. */
ed_status preset_write_random(const model_spec *spec, const char *path, int dtype, int quant,
                              int quant_embed, unsigned seed, ed_error *err);

#endif
