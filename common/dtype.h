/* Storage dtypes of converted weights and their conversion to and from fp32.
 * fp16 and bf16 are stored in HDF5 as 16-bit unsigned integers with the dataset attribute
 * "dtype" = "fp16" | "bf16" (HDF5 1.10 has no native half types). */
#ifndef ENCDEC_DTYPE_H
#define ENCDEC_DTYPE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" { /* the CUDA backend's .cu files name dtypes */
#endif

/* Storage dtype of the weight matrices and KV pools on the backend (activations, norms and
 * accumulation are fp32 everywhere). DTYPE_AUTO: resolved by the run config (runtime/config.h:
 * config_dtype, config_kv_dtype). */
typedef enum { DTYPE_FP32 = 0, DTYPE_FP16 = 1, DTYPE_BF16 = 2, DTYPE_AUTO = 3,
               DTYPE_FP8 = 4 /* KV pools only: E4M3 codes, a scale per position and head */
} ed_dtype;

/* "fp32", "fp16", "bf16", "auto", NULL: indexed by ed_dtype (the weight dtype key's enum list). */
extern const char *const dtype_names[];
/* The same and "fp8": the KV cache dtype key's enum list. */
extern const char *const kv_dtype_names[];
/* dtype_names[dtype], or "?" */
const char *dtype_name(int dtype);

float dtype_fp16_to_f32(uint16_t h);
float dtype_bf16_to_f32(uint16_t b);
uint16_t dtype_f32_to_fp16(float f); /* round to nearest even; overflow -> inf */
uint16_t dtype_f32_to_bf16(float f); /* round to nearest even */
/* Bytes per element of an ed_dtype (above): 4 for fp32, 2 for fp16 and bf16, 1 for fp8 (its
 * scales not counted). */
size_t dtype_bytes(int dtype);
/* dst[i] = src[i] in bf16 (bf16 != 0) or fp16, for i < n. */
void dtype_f32_to_16bit(const float *src, size_t n, int bf16, uint16_t *dst);

#ifdef __cplusplus
}
#endif

#endif
