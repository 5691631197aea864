#include <math.h>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/fault.h"
#include "common/activation.h"

static inline float act_apply(int act, float x) {
    switch (act) {
    case ACT_RELU: return x > 0.0f ? x : 0.0f;
    case ACT_GELU_NEW: /* HF NewGELUActivation: tanh approximation */
        return 0.5f * x * (1.0f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case ACT_GELU: return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f));
    case ACT_SILU: return x / (1.0f + expf(-x));
    }
    return x;
}

void cpu_activation(int act, const float *x, void *y, int ytype, size_t n) {
    if (fault_op_begin("activation") || fault_act_reject("activation", act) ||
        fault_dtype_reject("activation", "ytype", ytype))
        return;
    for (size_t i = 0; i < n; i++) cpu_store(y, ytype, i, act_apply(act, x[i]));
}

void cpu_gated_activation(int act, const float *gate, const float *lin, size_t ld, void *y,
                          int ytype, size_t rows, size_t cols) {
    if (fault_op_begin("gated_activation") || fault_act_reject("gated_activation", act) ||
        fault_dtype_reject("gated_activation", "ytype", ytype))
        return;
    for (size_t r = 0; r < rows; r++)
        for (size_t c = 0; c < cols; c++)
            cpu_store(y, ytype, r * cols + c, act_apply(act, gate[r * ld + c]) * lin[r * ld + c]);
}
