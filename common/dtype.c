#include "common/dtype.h"

#include <math.h>
#include <string.h>

const char *const dtype_names[] = {"fp32", "fp16", "bf16", "auto", NULL};
const char *const kv_dtype_names[] = {"fp32", "fp16", "bf16", "auto", "fp8", NULL};

const char *dtype_name(int dtype) {
    return dtype >= 0 && dtype <= DTYPE_FP8 ? kv_dtype_names[dtype] : "?";
}

size_t dtype_bytes(int dtype) { return dtype == DTYPE_FP32 ? 4 : dtype == DTYPE_FP8 ? 1 : 2; }

float dtype_bf16_to_f32(uint16_t b) {
    uint32_t u = (uint32_t)b << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t dtype_f32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float dtype_fp16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu, man = h & 0x3ffu, u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal */
            float f = ldexpf((float)man, -24);
            return (h & 0x8000u) ? -f : f;
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 112) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t dtype_f32_to_fp16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    float a = fabsf(f);
    if (isnan(f)) return sign | 0x7e00u;
    if (a >= 65520.0f) return sign | 0x7c00u; /* rounds to inf */
    if (a < ldexpf(1.0f, -14)) {             /* subnormal or zero: multiples of 2^-24 */
        float q = nearbyintf(a * ldexpf(1.0f, 24));
        return sign | (uint16_t)q;
    }
    int e;
    float m = frexpf(a, &e); /* a = m * 2^e, m in [0.5, 1) */
    float scaled = nearbyintf(m * 2048.0f);       /* 11 significant bits */
    if (scaled >= 2048.0f) { scaled /= 2.0f; e++; }
    uint16_t exp = (uint16_t)(e - 1 + 15);
    return sign | (uint16_t)(exp << 10) | ((uint16_t)scaled & 0x3ffu);
}

void dtype_f32_to_16bit(const float *src, size_t n, int bf16, uint16_t *dst) {
    for (size_t i = 0; i < n; i++) dst[i] = bf16 ? dtype_f32_to_bf16(src[i]) : dtype_f32_to_fp16(src[i]);
}
