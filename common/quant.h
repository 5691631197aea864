/* Weight-only quantization of projection matrices (docs/MODEL_FORMAT.md, "Quantized matrices"):
 * per output channel (a row of the [out, in] matrix), symmetric, one fp32 scale per row:
 *
 *   QUANT_INT8: scale = amax(row) / 127, code = clamp(rne(w / scale), -127, 127) as int8
 *   QUANT_FP8:  scale = amax(row) / 448, code = e4m3fn(w / scale) (OCP FP8 E4M3, the "fn"
 *               variant: no infinities, 448 the largest finite value), rounded to nearest even
 *
 * so that w ~= code * scale, with code read exactly (every int8 and every E4M3 value is exact in
 * bf16, fp16 and fp32). A row of zeros gets scale 1 and zero codes. rne = round half to even. */
#ifndef ENCDEC_QUANT_H
#define ENCDEC_QUANT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* QUANT_AUTO: what the model file stores (runtime config only). */
typedef enum { QUANT_NONE = 0, QUANT_INT8 = 1, QUANT_FP8 = 2, QUANT_AUTO = 3 } ed_quant;

/* "none", "int8", "fp8", "auto", NULL: indexed by ed_quant (the config schema's enum list). */
extern const char *const quant_names[];
/* The HDF5 dtype attribute of a quantized matrix's codes: "int8" or "fp8_e4m3"; NULL for none. */
const char *quant_dtype_attr(int quant);
/* The ed_quant whose quant_dtype_attr is attr, or QUANT_NONE. */
int quant_from_dtype_attr(const char *attr);

/* E4M3FN bits <-> float. Encoding rounds to nearest even and saturates at +-448; NaN stays NaN. */
float quant_e4m3_to_f32(uint8_t bits);
uint8_t quant_f32_to_e4m3(float f);

/* The float value of code c (int8 two's complement, or E4M3 bits). */
static inline float quant_code_value(int quant, uint8_t c) {
    return quant == QUANT_INT8 ? (float)(int8_t)c : quant_e4m3_to_f32(c);
}

/* The scale of one row of n weights (above). Returns -1 when the row holds a NaN or an
 * infinity (nothing to quantize), else 0. */
int quant_row_scale(int quant, const float *row, size_t n, float *scale);
/* codes[i] = the code of row[i] / scale for i < n (scale from quant_row_scale). */
void quant_row_encode(int quant, const float *row, size_t n, float scale, uint8_t *codes);
/* Quantizes `rows` rows of `cols` values (data, row-major): scales[r] from the whole row r,
 * codes[r * n + i] the code of column col0 + i for i < n (a column slice; col0 0 and n cols for
 * all of it), rows spread over threads (common/parallel_for.h: the same bits at any count).
 * Returns the first row holding a NaN or an infinity (then other rows' outputs are unspecified),
 * or -1 when every row quantized. */
long quant_rows(int quant, const float *data, size_t rows, size_t cols, size_t col0, size_t n,
                float *scales, uint8_t *codes);

#ifdef __cplusplus
}
#endif

#endif
