/* The converted model file (.h5), format version 1:
 *   root attributes: "encdec_format_version" (int 1), "family" (string), "source_architecture"
 *     (string), and every model_spec field under its own name (int, or double for norm_eps);
 *   one dataset per tensor at the root, named as models/weight_table.c declares
 *     ("embed.tokens", "decoder.layers.3.cross_q", ...), shape [out, in] or [n];
 *   each dataset carries the attribute "dtype" = "fp32" | "fp16" | "bf16"; fp32 is stored as
 *     IEEE float32, fp16/bf16 as uint16 bit patterns; quantized projections (encdec_convert
 *     --quantize) "int8" | "fp8_e4m3", 1-byte codes, with their scales in "<name>.scale".
 * See docs/MODEL_FORMAT.md. */
#ifndef ENCDEC_H5_MODEL_H
#define ENCDEC_H5_MODEL_H

#include <stdint.h>

#include "models/spec.h"
#include "common/status.h"

#define ENCDEC_FORMAT_VERSION 1

typedef struct h5_model h5_model;

/* Writing (the converter). The file is created at `path` exactly (callers write to a temporary
 * name and rename when complete). */
ed_status h5_model_create(h5_model **out, const char *path, ed_error *err);
ed_status h5_model_write_spec(h5_model *f, const model_spec *spec, const char *architecture,
                              ed_error *err);
/* data: fp32 values of the full tensor; stored as `dtype` (ed_dtype). */
ed_status h5_model_write_tensor(h5_model *f, const char *name, int rank, const int64_t shape[2],
                                const float *data, int dtype, ed_error *err);

/* A projection matrix [out, in] quantized per output row (common/quant.h): dataset `name` holds
 * the codes (int8, or the uint8 bits of E4M3) with the dtype attribute quant_dtype_attr(quant)
 * ("int8" / "fp8_e4m3"), dataset "<name>.scale" the [out] fp32 scales. data: the fp32 values of
 * the full matrix; a row holding a NaN or an infinity is an error naming the tensor and row. */
ed_status h5_model_write_quantized(h5_model *f, const char *name, const int64_t shape[2],
                                   const float *data, int quant, ed_error *err);

/* Reading (every rank). */
ed_status h5_model_open(h5_model **out, const char *path, ed_error *err);
ed_status h5_model_read_spec(h5_model *f, model_spec *spec, ed_error *err);
/* Reads the hyperslab [start, start+count) of dataset `name` into dst (fp32, row-major count[0] x
 * count[1]); checks the stored shape equals `shape` (rank 1: shape[1] == 1). */
ed_status h5_model_read_slice(h5_model *f, const char *name, int rank, const int64_t shape[2],
                              const int64_t start[2], const int64_t count[2], float *dst,
                              ed_error *err);
/* A quantized matrix is dequantized by h5_model_read_slice (code * its row's scale, in fp32).
 * h5_model_tensor_quant: the ed_quant (common/quant.h) tensor `name` is stored in, QUANT_NONE
 * for fp32 / fp16 / bf16 (its rank and shape checked as for a read).
 * h5_model_read_quantized: the codes of the hyperslab into codes (count[0] x count[1] bytes)
 * and the scales of its rows [start[0], start[0] + count[0]) into scales; the tensor must be
 * stored as `quant` (else an error naming it), and every scale finite and positive. */
ed_status h5_model_tensor_quant(h5_model *f, const char *name, int rank, const int64_t shape[2],
                                int *quant, ed_error *err);
ed_status h5_model_read_quantized(h5_model *f, const char *name, const int64_t shape[2],
                                  const int64_t start[2], const int64_t count[2], int quant,
                                  uint8_t *codes, float *scales, ed_error *err);
ed_status h5_model_close(h5_model *f, ed_error *err);

/* The tokenizer files (models/tokenizer.h): group "/tokenizer", one 1-D uint8 dataset per file
 * named as the file ("spiece.model", "tokenizer_config.json"), chunked with Fletcher-32 like the
 * tensors. Absent in a model converted without tokenizer files. */
ed_status h5_model_write_file(h5_model *f, const char *name, const void *data, size_t len,
                              ed_error *err);
/* 1 when the file has a /tokenizer group, else 0. */
int h5_model_has_files(h5_model *f);
/* Calls fn(ctx, name, data, len) for every stored file, in name order (data valid during the
 * call only); fn returns 0 to go on, -1 to stop (the error is then fn's). Checksums are verified
 * as each file is read. */
ed_status h5_model_read_files(h5_model *f,
                              int (*fn)(void *ctx, const char *name, const void *data, size_t len),
                              void *ctx, ed_error *err);

#endif
