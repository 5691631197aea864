// The value of one weight-only quantization code (common/quant.h): QUANT_INT8 two's complement,
// QUANT_FP8 E4M3FN bits. Exact in fp32, bf16 and fp16.
#ifndef ENCDEC_QUANT_CODES_CUH
#define ENCDEC_QUANT_CODES_CUH

#include <cuda_fp8.h>
#include <stdint.h>

#include "common/quant.h"

__device__ __forceinline__ float code_value(uint8_t c, int quant) {
    if (quant == QUANT_INT8) return (float)(int8_t)c;
    __nv_fp8_e4m3 v;
    v.__x = c;
    return (float)v;
}

#endif
