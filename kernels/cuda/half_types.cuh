// Device-side conversions between fp32 and the 16-bit weight dtypes (ed_dtype values of
// runtime/config.h). fp16 conversions saturate at +-65504 instead of overflowing to inf: the
// runtime keeps activations in fp32 and rounds only GEMM inputs to fp16, and clamping there is
// what Hugging Face does to T5's fp16 hidden states.
#ifndef ENCDEC_HALF_TYPES_CUH
#define ENCDEC_HALF_TYPES_CUH

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_fp8.h>

__device__ __forceinline__ float to_f32(float v) { return v; }
__device__ __forceinline__ float to_f32(__half v) { return __half2float(v); }
__device__ __forceinline__ float to_f32(__nv_bfloat16 v) { return __bfloat162float(v); }
/* An E4M3FN code's value (FP8 KV pools hold codes; their scales are applied apart). */
__device__ __forceinline__ float to_f32(__nv_fp8_e4m3 v) { return (float)v; }

template <typename T> __device__ __forceinline__ T from_f32(float v);
template <> __device__ __forceinline__ float from_f32<float>(float v) { return v; }
template <> __device__ __forceinline__ __half from_f32<__half>(float v) {
    return __float2half_rn(fminf(fmaxf(v, -65504.0f), 65504.0f));
}
template <> __device__ __forceinline__ __nv_bfloat16 from_f32<__nv_bfloat16>(float v) {
    return __float2bfloat16_rn(v);
}

/* VEC consecutive elements of T, aligned to their size: loaded or stored by one instruction. */
template <typename T, int VEC> struct alignas(VEC * sizeof(T)) vec_of { T e[VEC]; };

/* The elements of c widened to fp32. */
template <typename T, int VEC>
__device__ __forceinline__ void widen(const vec_of<T, VEC> &c, float *out) {
#pragma unroll
    for (int u = 0; u < VEC; u++) out[u] = to_f32(c.e[u]);
}

/* y[i..i+3] = v in T, one store (i % 4 == 0, y 16-byte aligned). */
__device__ __forceinline__ void store4(float *y, size_t i, float4 v) { *(float4 *)(y + i) = v; }
template <typename T> __device__ __forceinline__ void store4(T *y, size_t i, float4 v) {
    union { T h[4]; uint2 u; } pack;
    pack.h[0] = from_f32<T>(v.x), pack.h[1] = from_f32<T>(v.y);
    pack.h[2] = from_f32<T>(v.z), pack.h[3] = from_f32<T>(v.w);
    *(uint2 *)(y + i) = pack.u; /* 8-byte aligned: i % 4 == 0 */
}

/* y[i] = v in ytype (ed_dtype: fp32, or a 16-bit dtype rounded as from_f32). */
__device__ __forceinline__ void store_as(void *y, int ytype, size_t i, float v) {
    if (ytype == 2 /* DTYPE_BF16 */) ((__nv_bfloat16 *)y)[i] = from_f32<__nv_bfloat16>(v);
    else if (ytype == 1 /* DTYPE_FP16 */) ((__half *)y)[i] = from_f32<__half>(v);
    else ((float *)y)[i] = v;
}

#endif
