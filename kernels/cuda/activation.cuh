// The activations of common/activation.h on one fp32 value, as every kernel applies them
// (activation.cu's plain and gated kernels, the decode GEMV's gated epilogue): ReLU, gelu_new
// (tanh), GELU (erf), SiLU.
#ifndef ENCDEC_ACTIVATION_CUH
#define ENCDEC_ACTIVATION_CUH

#include "common/activation.h"

__device__ __forceinline__ float act_apply(int act, float x) {
    switch (act) {
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_GELU_NEW:
        return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    case ACT_SILU: return x / (1.0f + expf(-x));
    }
    return x;
}

#endif
