#include <math.h>
#include <string.h>

#include "common/quant.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/fault.h"

void cpu_embed(const void *table, int wtype, const int32_t *ids, int n, int d, float *y) {
    if (fault_op_begin("embed") || fault_dtype_reject("embed", "weight dtype", wtype)) return;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            y[(size_t)i * d + j] = cpu_widen(table, wtype, (size_t)ids[i] * d + j);
}

void cpu_embed_q(const uint8_t *table, int quant, const float *scale, const int32_t *ids, int n,
                 int d, float *y) {
    if (fault_op_begin("embed_q")) return;
    if (quant != QUANT_INT8 && quant != QUANT_FP8) {
        fault_record_set("embed_q", "unknown quantization %d (int8 1 or fp8 2)", quant);
        return;
    }
    for (int i = 0; i < n; i++)
        for (int j = 0; j < d; j++)
            y[(size_t)i * d + j] =
                quant_code_value(quant, table[(size_t)ids[i] * d + j]) * scale[ids[i]];
}

/* Row r of x, after x[r] += delta[r] when delta is given. */
static float *residual_row(float *x, const float *delta, int r, int d) {
    float *xr = x + (size_t)r * d;
    if (delta)
        for (int i = 0; i < d; i++) xr[i] += delta[(size_t)r * d + i];
    return xr;
}

void cpu_rms_row(const float *xr, const float *w, float eps, int d, void *y, int ytype,
                 size_t y0) {
    double ss = 0.0;
    for (int i = 0; i < d; i++) ss += (double)xr[i] * xr[i];
    float inv = 1.0f / sqrtf((float)(ss / d) + eps);
    for (int i = 0; i < d; i++) cpu_store(y, ytype, y0 + i, w[i] * (xr[i] * inv));
}

void cpu_rms_norm(float *x, const float *delta, const float *w, float eps, int rows, int d,
                  void *y, int ytype) {
    if (fault_op_begin("rms_norm") || fault_dtype_reject("rms_norm", "ytype", ytype)) return;
    for (int r = 0; r < rows; r++)
        cpu_rms_row(residual_row(x, delta, r, d), w, eps, d, y, ytype, (size_t)r * d);
}

void cpu_layer_norm(float *x, const float *delta, const float *w, const float *b, float eps,
                    int rows, int d, void *y, int ytype) {
    if (fault_op_begin("layer_norm") || fault_dtype_reject("layer_norm", "ytype", ytype)) return;
    for (int r = 0; r < rows; r++) {
        const float *xr = residual_row(x, delta, r, d);
        size_t y0 = (size_t)r * d;
        double sum = 0.0, ss = 0.0;
        for (int i = 0; i < d; i++) sum += xr[i];
        float mean = (float)(sum / d);
        for (int i = 0; i < d; i++) ss += (double)(xr[i] - mean) * (xr[i] - mean);
        float inv = 1.0f / sqrtf((float)(ss / d) + eps);
        for (int i = 0; i < d; i++) cpu_store(y, ytype, y0 + i, (xr[i] - mean) * inv * w[i] + b[i]);
    }
}
