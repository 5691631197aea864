/* Helpers of the CUDA op tests (test_ops.c, test_ops_decode.c): random inputs, device copies,
 * the comparisons against the CPU twin (tests/unit/check.h's CHECK: counters per file, which
 * test_ops.c's main adds up). */
#ifndef ENCDEC_TEST_OPS_LIB_H
#define ENCDEC_TEST_OPS_LIB_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "kernels/cpu/cpu_ops.h"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/fault.h"
#include "common/dtype.h"
#include "tests/unit/check.h"

static const backend *const gpu = &backend_cuda, *const cpu = &backend_cpu;
static unsigned rng = 12345;

static inline float *rnd(size_t n, float scale) {
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) {
        rng = rng * 1664525u + 1013904223u;
        x[i] = scale * (((rng >> 8) & 0xffff) / 32768.0f - 1.0f);
    }
    return x;
}

static inline float *dev(const float *h, size_t n) {
    float *d = gpu->alloc(n * sizeof(float));
    gpu->upload(d, h, n);
    return d;
}

static inline int32_t *dev_i(const int32_t *h, size_t n) {
    int32_t *d = gpu->alloc(n * sizeof(int32_t));
    gpu->upload_i32(d, h, n);
    return d;
}

/* max |gpu - cpu| / max |cpu| of a device buffer against a host reference; equal values
 * (infinities too) and NaN against NaN (the argmax / top-k NaN marks) count as no error. */
static inline double rel_err(const float *d, const float *ref, size_t n) {
    float *h = malloc(n * sizeof(float));
    gpu->download(h, d, n);
    double md = 0, mr = 0;
    for (size_t i = 0; i < n; i++) {
        if (h[i] == ref[i] || (isnan(h[i]) && isnan(ref[i]))) continue;
        double e = fabs((double)h[i] - ref[i]);
        if (e > md || isnan(e)) md = isnan(e) ? INFINITY : e;
    }
    for (size_t i = 0; i < n; i++)
        if (isfinite(ref[i]) && fabs(ref[i]) > mr) mr = fabs(ref[i]);
    free(h);
    return mr > 0 ? md / mr : md;
}

/* Every case's GPU ops ran without a recorded fault (backend.h's check()): a launch the device
 * refused must fail its case even when the output buffer happens to hold the right values. */
static inline void expect_no_fault(const char *name) {
    ed_error e;
    int ok = gpu->check(&e) == ED_OK;
    if (!ok) printf("  %-28s FAULT: %s\n", name, e.msg);
    CHECK(ok);
}

#define EXPECT_CLOSE(name, d, ref, n, tol)                                        \
    do {                                                                          \
        double e_ = rel_err(d, ref, n);                                           \
        printf("  %-28s rel err %.2e (tol %.0e)\n", name, e_, (double)(tol));     \
        CHECK(e_ <= (double)(tol));                                               \
        expect_no_fault(name);                                                    \
    } while (0)

/* Expects two host buffers of `bytes` to hold the same bits; prints the verdict. */
static inline void expect_same_bits(const char *name, const void *a, const void *b, size_t bytes) {
    int same = !memcmp(a, b, bytes);
    printf("  %-28s %s\n", name, same ? "bit-identical" : "DIFFERS");
    CHECK(same);
    expect_no_fault(name);
}

/* v [n] rounded to wtype and back, in place, as the GPU stores (or, for GEMM inputs, rounds)
 * it (the CPU backend's cpu_round_to: fp16 saturates at +-65504). The 16-bit values go to bits
 * when it is not NULL (exact: the values are already representable). */
static inline void round_host(float *v, size_t n, int wtype, uint16_t *bits) {
    if (wtype == DTYPE_FP32) return;
    for (size_t i = 0; i < n; i++) v[i] = cpu_round_to(v[i], wtype);
    if (bits) dtype_f32_to_16bit(v, n, wtype == DTYPE_BF16, bits);
}

/* w [n] rounded to wtype in place (the CPU reference then sees the stored values), and a
 * device copy in wtype. */
static inline void *dev_weights(float *w, size_t n, int wtype) {
    if (wtype == DTYPE_FP32) return dev(w, n);
    uint16_t *h = malloc(n * sizeof(uint16_t));
    round_host(w, n, wtype, h);
    void *d = gpu->alloc(n * sizeof(uint16_t));
    gpu->upload_raw(d, h, n * sizeof(uint16_t));
    free(h);
    return d;
}

/* A bf16 or fp16 value (wtype) as a double. */
static inline double value_16bit(uint16_t v, int wtype) {
    return wtype == DTYPE_BF16 ? dtype_bf16_to_f32(v) : dtype_fp16_to_f32(v);
}

/* The largest |v| over n values of a 16-bit wtype. */
static inline double max_abs_16bit(const uint16_t *v, size_t n, int wtype) {
    double big = 0.0;
    for (size_t i = 0; i < n; i++)
        if (fabs(value_16bit(v[i], wtype)) > big) big = fabs(value_16bit(v[i], wtype));
    return big;
}

/* The largest |a - ref| / max(|ref|, floor) over n values of a 16-bit wtype (bf16 or fp16). */
static inline double worst_rel_16bit(const uint16_t *a, const uint16_t *ref, size_t n, int wtype,
                                     double floor) {
    double worst = 0.0;
    for (size_t i = 0; i < n; i++) {
        double x = value_16bit(a[i], wtype), r = value_16bit(ref[i], wtype);
        double rel = fabs(x - r) / (fabs(r) > floor ? fabs(r) : floor);
        if (rel > worst) worst = rel;
    }
    return worst;
}

/* Expects 16-bit outputs within 1e-2 of the reference (worst_rel_16bit with floor); prints the
 * error. */
static inline void expect_close_16bit(const char *name, const uint16_t *got, const uint16_t *ref,
                                      size_t n, int wtype, double floor) {
    double worst = worst_rel_16bit(got, ref, n, wtype, floor);
    printf("  %-28s rel err %.2e (tol 1e-2)\n", name, worst);
    CHECK(worst <= 1e-2);
}

/* The decode GEMV family's tests (test_ops_decode.c); adds its CHECK counters to these. */
void test_decode_family(int *checks, int *failures);

#endif
