#include <cblas.h>
#include <math.h>
#include <stdlib.h>

#include "kernels/cpu/act_stats.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/fault.h"
#include "common/dtype.h"
#include "common/quant.h"

/* 16-bit weights on the CPU mirror the CUDA backend's numerics (kernels/cuda/gemm.cu): weights
 * widened from their stored values, x rounded to the weight dtype (fp16 saturating), products
 * summed in fp32. Slower than fp32 (the weights are widened per call, a tile of rows at a time);
 * it is there so that the 16-bit and quantized paths run and are checked on machines without a
 * GPU, at their memory. A failed widening allocation, an unknown wtype or a flag the contract
 * forbids records a fault (kernels/fault.h); y is then undefined. */
float cpu_widen(const void *w, int wtype, size_t i) {
    if (wtype == DTYPE_FP32) return ((const float *)w)[i];
    uint16_t h = ((const uint16_t *)w)[i];
    return wtype == DTYPE_BF16 ? dtype_bf16_to_f32(h) : dtype_fp16_to_f32(h);
}

float cpu_round_to(float v, int wtype) {
    if (wtype == DTYPE_BF16) return dtype_bf16_to_f32(dtype_f32_to_bf16(v));
    if (wtype == DTYPE_FP16) return dtype_fp16_to_f32(dtype_f32_to_fp16(fminf(fmaxf(v, -65504.0f), 65504.0f)));
    return v;
}

void cpu_store(void *y, int ytype, size_t i, float v) {
    if (ytype == DTYPE_BF16) ((uint16_t *)y)[i] = dtype_f32_to_bf16(v);
    else if (ytype == DTYPE_FP16)
        ((uint16_t *)y)[i] = dtype_f32_to_fp16(fminf(fmaxf(v, -65504.0f), 65504.0f));
    else ((float *)y)[i] = v;
}

/* Scratch of the widening GEMMs, grown as needed and kept (the CPU backend's ops run on one
 * thread per process). NULL when it cannot grow to `floats`. */
static float *scratch(int which, size_t floats) {
    static float *buf[4];
    static size_t cap[4];
    if (floats > cap[which]) {
        float *b = realloc(buf[which], floats * sizeof(float));
        if (!b) return NULL;
        buf[which] = b;
        cap[which] = floats;
    }
    return buf[which];
}

/* Weight rows widened per tile of about 1 MB of fp32: a tile stays in cache while sgemm reads it,
 * and no call allocates the whole widened matrix. */
static int tile_rows(int k) {
    int t = (int)((size_t)1 << 18) / (k > 0 ? k : 1);
    return t < 16 ? 16 : t;
}

/* x rounded as the contract asks (or widened from xtype values), [m, k] fp32; NULL when out of
 * memory. */
static const float *rounded_input(const void *x, int xtype, int m, int k, int flags) {
    size_t nx = (size_t)m * k;
    float *xr = scratch(0, nx);
    if (!xr) return NULL;
    for (size_t i = 0; i < nx; i++)
        xr[i] = flags & MATMUL_X_IN_WTYPE ? cpu_widen(x, xtype, i)
                                          : cpu_round_to(((const float *)x)[i], xtype);
    return xr;
}

/* y[r, :] += bias for r < m (bias NULL: nothing). */
static void add_row_bias(float *y, const float *bias, int m, int n) {
    if (!bias) return;
    for (size_t r = 0; r < (size_t)m; r++)
        for (int c = 0; c < n; c++) y[r * n + c] += bias[c];
}

/* cpu_matmul_wt without the bias (checks done). */
static void matmul_unbiased(const void *x, const void *w, int wtype, float *y, int m, int n,
                            int k, int flags) {
    float beta = flags & MATMUL_ACCUMULATE ? 1.0f : 0.0f;
    if (wtype == DTYPE_FP32) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, k,
                    (const float *)w, k, beta, y, n);
        return;
    }
    const int T = tile_rows(k);
    const float *xr = rounded_input(x, wtype, m, k, flags);
    float *wf = scratch(1, (size_t)T * k);
    float *yf = flags & MATMUL_RELU_TO_BF16 ? scratch(2, (size_t)m * n) : y;
    if (!xr || !wf || !yf) {
        fault_record_set("matmul_wt", "out of memory widening %s weights [%d, %d] (m %d)",
                         dtype_name(wtype), n, k, m);
        return;
    }
    for (int r0 = 0; r0 < n; r0 += T) {
        int rows = n - r0 < T ? n - r0 : T;
        for (size_t i = 0; i < (size_t)rows * k; i++)
            wf[i] = cpu_widen(w, wtype, (size_t)r0 * k + i);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, rows, k, 1.0f, xr, k, wf, k,
                    beta, yf + r0, n);
    }
    if (flags & MATMUL_RELU_TO_BF16)
        for (size_t i = 0; i < (size_t)m * n; i++) cpu_store(y, DTYPE_BF16, i, fmaxf(yf[i], 0.0f));
}

void cpu_matmul_wt(const void *x, const void *w, int wtype, const float *bias, float *y, int m,
                   int n, int k, int flags) {
    if (fault_op_begin("matmul_wt") || fault_dtype_reject("matmul_wt", "weight dtype", wtype))
        return;
    if (m == 0 || n == 0 || fault_relu_reject(wtype, flags, bias)) return;
    cpu_act_stats_record(x, flags & MATMUL_X_IN_WTYPE ? wtype : DTYPE_FP32, m, k);
    matmul_unbiased(x, w, wtype, y, m, n, k, flags); /* y (+)= x w^T */
    add_row_bias(y, bias, m, n);                      /* then + bias */
}

void cpu_matmul_gated(int act, const void *x, const void *w, int wtype, float *prod, void *y,
                      int ytype, int m, int f, int k, int flags) {
    if (fault_op_begin("matmul_gated")) return;
    cpu_matmul_wt(x, w, wtype, NULL, prod, m, 2 * f, k,
                  flags & (MATMUL_SAME_INPUT | MATMUL_X_IN_WTYPE));
    cpu_gated_activation(act, prod, prod + f, 2 * (size_t)f, y, ytype, (size_t)m, (size_t)f);
}

/* The pre-norm's rows h [m, k] (fp32 values, rounded to wtype by the GEMM as it takes them:
 * the bits rms_norm writes in wtype) in scratch 3; NULL (a fault recorded for op) when out of
 * memory. */
static const float *normed_rows(const char *op, const normed_input *in, int m, int k) {
    float *h = scratch(3, (size_t)m * k);
    if (!h) {
        fault_record_set(op, "out of memory for the normed input [%d, %d]", m, k);
        return NULL;
    }
    for (int r = 0; r < m; r++)
        cpu_rms_row(in->x + (size_t)r * k, in->g, in->eps, k, h, DTYPE_FP32, (size_t)r * k);
    return h;
}

void cpu_rms_matmul(const normed_input *in, const void *w, int wtype, const float *bias, float *y,
                    int m, int n, int k, int flags) {
    if (fault_op_begin("rms_matmul") || fault_wtype16_reject("rms_matmul", wtype)) return;
    if (m == 0 || n == 0 || fault_relu_reject(wtype, flags, bias)) return;
    const float *h = normed_rows("rms_matmul", in, m, k);
    if (!h) return;
    cpu_act_stats_record(h, DTYPE_FP32, m, k);
    matmul_unbiased(h, w, wtype, y, m, n, k, flags & (MATMUL_ACCUMULATE | MATMUL_RELU_TO_BF16));
    add_row_bias(y, bias, m, n);
}

void cpu_rms_matmul_gated(int act, const normed_input *in, const void *w, int wtype, float *prod,
                          void *y, int ytype, int m, int f, int k) {
    if (fault_op_begin("rms_matmul_gated") || fault_wtype16_reject("rms_matmul_gated", wtype) ||
        fault_act_reject("rms_matmul_gated", act) ||
        fault_dtype_reject("rms_matmul_gated", "ytype", ytype))
        return;
    if (m == 0 || f == 0) return;
    const float *h = normed_rows("rms_matmul_gated", in, m, k);
    if (!h) return;
    cpu_act_stats_record(h, DTYPE_FP32, m, k);
    matmul_unbiased(h, w, wtype, prod, m, 2 * f, k, 0);
    cpu_gated_activation(act, prod, prod + f, 2 * (size_t)f, y, ytype, (size_t)m, (size_t)f);
}

void cpu_matmul_wq_gated(int act, const void *x, int xtype, const uint8_t *q_gate,
                         const float *s_gate, const uint8_t *q_lin, const float *s_lin, int quant,
                         float *prod, void *y, int ytype, int m, int f, int k, int flags) {
    if (fault_op_begin("matmul_wq_gated") || fault_wq_gated_reject(act, xtype, quant, ytype, flags))
        return;
    if (m == 0 || f == 0) return;
    backend_matmul_wq_gated_parts(&backend_cpu, act, x, xtype, q_gate, s_gate, q_lin, s_lin,
                                  quant, prod, y, ytype, m, f, k, flags);
}

/* The CPU twin of a weight-only quantized GEMM: codes widened to their exact float values a tile
 * of rows at a time, x rounded to xtype, sgemm, then each output column times its row's
 * scale. */
void cpu_matmul_wq(const void *x, int xtype, const uint8_t *q, int quant, const float *scale,
                   float *y, int m, int n, int k, int flags) {
    if (fault_op_begin("matmul_wq") || fault_wq_reject(xtype, quant, flags))
        return;
    if (m == 0 || n == 0) return;
    cpu_act_stats_record(x, flags & MATMUL_X_IN_WTYPE ? xtype : DTYPE_FP32, m, k);
    const int T = tile_rows(k);
    const float *xr = rounded_input(x, xtype, m, k, flags);
    float *wf = scratch(1, (size_t)T * k), *prod = scratch(2, (size_t)m * T);
    if (!xr || !wf || !prod) {
        fault_record_set("matmul_wq", "out of memory widening %s codes [%d, %d] (m %d)",
                         quant_names[quant], n, k, m);
        return;
    }
    float value[256]; /* every code's value */
    for (int c = 0; c < 256; c++) value[c] = quant_code_value(quant, (uint8_t)c);
    for (int r0 = 0; r0 < n; r0 += T) {
        int rows = n - r0 < T ? n - r0 : T;
        for (size_t i = 0; i < (size_t)rows * k; i++) wf[i] = value[q[(size_t)r0 * k + i]];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, rows, k, 1.0f, xr, k, wf, k,
                    0.0f, prod, rows);
        for (size_t r = 0; r < (size_t)m; r++)
            for (int c = 0; c < rows; c++) {
                float v = prod[r * rows + c] * scale[r0 + c];
                float *out = y + r * n + r0 + c;
                *out = flags & MATMUL_ACCUMULATE ? *out + v : v;
            }
    }
}
