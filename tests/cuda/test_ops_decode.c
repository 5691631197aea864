/* The decode GEMV family (kernels/cuda/gemm_decode.cu) and what runs on it against the CPU twin
 * and cuBLASLt: matmul_wt's forms, ReLU to bf16, matmul_gated, rms_matmul (the pre-norm folded
 * in), chains of PDL kernels (pdl.cuh) against PDL off; under each mode of
 * cuda_decode_gemv_set. Part of test_ops (test_ops.c runs it). */
#include "models/spec.h"
#include "tests/cuda/test_ops_lib.h"

/* matmul_wt's ReLU-to-bf16 form against the CPU's, and against the fp32 product followed by the
 * activation kernel writing bf16 (the bits it replaces). m * n even (bf16 pairs downloaded as
 * floats). */
static void test_gemm_relu(int m, int n, int k) {
    float *x = rnd((size_t)m * k, 1), *w = rnd((size_t)n * k, 0.2f);
    float *dx = dev(x, (size_t)m * k), *dy = gpu->alloc((size_t)m * n * sizeof(float));
    void *dw = dev_weights(w, (size_t)n * k, DTYPE_BF16), *hw = malloc((size_t)n * k * 2);
    round_host(w, (size_t)n * k, DTYPE_BF16, hw);
    size_t ny = (size_t)m * n;
    uint16_t *cpu_y = malloc(ny * 2), *epi = malloc(ny * 2), *kern = malloc(ny * 2);
    void *d_epi = gpu->alloc(ny * 2), *d_kern = gpu->alloc(ny * 2);
    cpu->matmul_wt(x, hw, DTYPE_BF16, NULL, (float *)cpu_y, m, n, k, MATMUL_RELU_TO_BF16);
    gpu->matmul_wt(dx, dw, DTYPE_BF16, NULL, (float *)d_epi, m, n, k, MATMUL_RELU_TO_BF16);
    gpu->matmul_wt(dx, dw, DTYPE_BF16, NULL, dy, m, n, k, 0);
    gpu->activation(ACT_RELU, dy, d_kern, DTYPE_BF16, ny);
    gpu->synchronize();
    gpu->download((float *)epi, d_epi, ny / 2), gpu->download((float *)kern, d_kern, ny / 2);
    expect_close_16bit("matmul_wt relu->bf16", epi, cpu_y, ny, DTYPE_BF16, 1e-3);
    expect_same_bits("  ... vs activation kernel", epi, kern, ny * 2);
    free(x), free(w), free(hw), free(cpu_y), free(epi), free(kern);
    gpu->free(dx), gpu->free(dy), gpu->free(dw), gpu->free(d_epi), gpu->free(d_kern);
}

/* The decode GEMV family (m <= DECODE_GEMV_ROWS, 16-bit weights; kernels/cuda/gemm_decode.cu)
 * against the CPU twin and against cuBLASLt (the same call with the family switched off), in
 * five forms: fp32 x rounded in the kernel; x already in wtype (MATMUL_X_IN_WTYPE); y +=
 * (MATMUL_ACCUMULATE); with a bias; y += with a bias. k % 8 != 0 or m > 16 take cuBLASLt: the
 * same checks hold. */
static int gemv_mode; /* cuda_decode_gemv_set's mode the cases run under */

static void test_decode_gemv(int m, int n, int k, int wtype) {
    size_t nx = (size_t)m * k, ny = (size_t)m * n;
    float *x = rnd(nx, 1), *w = rnd((size_t)n * k, 0.2f), *y0 = rnd(ny, 1), *b = rnd(n, 1);
    float *ref = malloc(ny * sizeof(float)), *lt = malloc(ny * sizeof(float));
    void *dw = dev_weights(w, (size_t)n * k, wtype);
    float *dx = dev(x, nx), *db = dev(b, n), *dy = gpu->alloc(ny * sizeof(float));
    float *dlt = gpu->alloc(ny * sizeof(float));
    uint16_t *x16 = malloc(nx * 2);
    round_host(x, nx, wtype, x16); /* the CPU reference multiplies the rounded x */
    void *dx16 = gpu->alloc(nx * 2);
    gpu->upload_raw(dx16, x16, nx * 2);
    static const char *const form_name[5] = {"", " x16", " +=", " +b", " += +b"};
    for (int form = 0; form < 5; form++) {
        const void *in = form == 1 ? dx16 : (const void *)dx;
        const float *bias = form >= 3 ? db : NULL;
        int flags = form == 1 ? MATMUL_X_IN_WTYPE : form == 2 || form == 4 ? MATMUL_ACCUMULATE : 0;
        memcpy(ref, y0, ny * sizeof(float));
        cpu->matmul_wt(x, w, DTYPE_FP32, form >= 3 ? b : NULL, ref, m, n, k,
                       flags & MATMUL_ACCUMULATE);
        gpu->upload(dy, y0, ny), gpu->upload(dlt, y0, ny);
        gpu->matmul_wt(in, dw, wtype, bias, dy, m, n, k, flags);
        cuda_decode_gemv_set(0);
        gpu->matmul_wt(in, dw, wtype, bias, dlt, m, n, k, flags);
        cuda_decode_gemv_set(gemv_mode);
        char name[80];
        snprintf(name, sizeof name, "gemv %s %dx%dx%d%s", dtype_name(wtype), m, n, k,
                 form_name[form]);
        EXPECT_CLOSE(name, dy, ref, ny, 1e-5);
        gpu->download(lt, dlt, ny);
        EXPECT_CLOSE("  ... vs cuBLASLt", dy, lt, ny, 1e-5);
        if (form == 0) { /* run again: the same bits (the cross-block sums go in a fixed order) */
            float *first = malloc(ny * sizeof(float)), *again = malloc(ny * sizeof(float));
            gpu->download(first, dy, ny);
            gpu->matmul_wt(in, dw, wtype, bias, dy, m, n, k, flags);
            gpu->download(again, dy, ny);
            expect_same_bits("  ... run again", first, again, ny * sizeof(float));
            free(first), free(again);
        }
    }
    free(x), free(w), free(y0), free(b), free(ref), free(lt), free(x16);
    gpu->free(dw), gpu->free(dx), gpu->free(db), gpu->free(dy), gpu->free(dlt), gpu->free(dx16);
}

/* A decode-like chain of PDL kernels (pdl.cuh) and, between them, library GEMMs: L times
 * { h = rms_norm(x += out) in wtype; out = h w_l^T (the GEMV family or cuBLASLt); q = out w_l^T
 * +b; out += q }, each weight read before the kernel waits for its predecessor, then the same
 * with PDL off: the same bits (a kernel reading its input before the one writing it finished
 * would differ). */
static void test_pdl_chain(int m, int d, int layers, int wtype) {
    enum { MAX_LAYERS = 16 };
    float *x = rnd((size_t)m * d, 1), *g = rnd(d, 1), *b = rnd(d, 0.1f);
    void *w[MAX_LAYERS];
    for (int l = 0; l < layers; l++) {
        float *wl = rnd((size_t)d * d, 0.05f);
        w[l] = dev_weights(wl, (size_t)d * d, wtype);
        free(wl);
    }
    float *dx = gpu->alloc((size_t)m * d * 4), *dout = gpu->alloc((size_t)m * d * 4);
    float *dq = gpu->alloc((size_t)m * d * 4), *dg = dev(g, d), *db = dev(b, d);
    void *dh = gpu->alloc((size_t)m * d * 2);
    float *res[2];
    for (int pdl = 1; pdl >= 0; pdl--) {
        cuda_pdl_set(pdl);
        gpu->upload(dx, x, (size_t)m * d);
        gpu->upload(dout, x, (size_t)m * d);
        for (int l = 0; l < layers; l++) {
            gpu->rms_norm(dx, dout, dg, 1e-6f, m, d, dh, wtype);
            gpu->matmul_wt(dh, w[l], wtype, NULL, dout, m, d, d, MATMUL_X_IN_WTYPE);
            gpu->matmul_wt(dout, w[l], wtype, db, dq, m, d, d, 0);
            gpu->add(dout, dq, (size_t)m * d);
        }
        res[pdl] = malloc((size_t)m * d * 4);
        gpu->download(res[pdl], dout, (size_t)m * d);
    }
    cuda_pdl_set(1);
    char name[80];
    snprintf(name, sizeof name, "pdl chain %s m=%d d=%d x%d", dtype_name(wtype), m, d, layers);
    expect_same_bits(name, res[1], res[0], (size_t)m * d * 4);
    free(x), free(g), free(b), free(res[0]), free(res[1]);
    for (int l = 0; l < layers; l++) gpu->free(w[l]);
    gpu->free(dx), gpu->free(dout), gpu->free(dq), gpu->free(dg), gpu->free(db), gpu->free(dh);
}

/* matmul_gated (the joint gated-FFN GEMM and its activation in one op) against the CPU twin's
 * 16-bit output (1e-2 relative: a product one ulp of the GEMM's sum apart may round to the
 * neighbouring 16-bit value), and twice on the GPU: the same bits. */
static void test_matmul_gated(int m, int f, int k, int act, int wtype) {
    size_t nx = (size_t)m * k, ny = (size_t)m * f;
    float *x = rnd(nx, 1), *w = rnd((size_t)2 * f * k, 0.2f);
    float *dx = dev(x, nx), *prod = malloc(ny * 2 * sizeof(float));
    float *dprod = gpu->alloc(ny * 2 * sizeof(float));
    void *dw = dev_weights(w, (size_t)2 * f * k, wtype);
    uint16_t *cy = malloc(ny * 2), *gy = malloc(ny * 2), *gy2 = malloc(ny * 2);
    void *dy = gpu->alloc(ny * 2 + 4);
    round_host(x, nx, wtype, NULL); /* after the upload: the GPU rounds its own copy */
    cpu->matmul_gated(act, x, w, DTYPE_FP32, prod, cy, wtype, m, f, k, 0);
    gpu->matmul_gated(act, dx, dw, wtype, dprod, dy, wtype, m, f, k, 0);
    gpu->synchronize();
    gpu->download((float *)gy, dy, (ny + 1) / 2);
    gpu->matmul_gated(act, dx, dw, wtype, dprod, dy, wtype, m, f, k, 0);
    gpu->synchronize();
    gpu->download((float *)gy2, dy, (ny + 1) / 2);
    char name[80];
    snprintf(name, sizeof name, "matmul_gated %s %dx%dx%d act %d", dtype_name(wtype), m, f, k,
             act);
    expect_close_16bit(name, gy, cy, ny, wtype, 1e-2);
    expect_same_bits("  ... run twice", gy, gy2, ny * 2);
    free(x), free(w), free(prod), free(cy), free(gy), free(gy2);
    gpu->free(dx), gpu->free(dprod), gpu->free(dw), gpu->free(dy);
}

/* The GPU call of test_rms_matmul's form (see there). */
static void rms_matmul_form(int form, int flags, const normed_input *in, const void *w,
                            int wtype, const float *bias, float *prod, float *y, int m, int n,
                            int k) {
    if (form == 3) gpu->rms_matmul_gated(ACT_GELU_NEW, in, w, wtype, prod, y, wtype, m, n, k);
    else gpu->rms_matmul(in, w, wtype, bias, y, m, n, k, flags);
}

/* rms_matmul / rms_matmul_gated (the pre-norm folded into the GEMM) against the CPU twin (the
 * norm, then the GEMM), with the decode GEMV family (m <= 16) or the norm kernel and cuBLASLt
 * (larger m): form 0 y = h w^T + b; 1 y += h w^T; 2 ReLU to bf16; 3 gated (f = n). The
 * sum of squares is added in another order than the CPU's, so a normed value may round to the
 * neighbouring 16-bit value: the largest difference within 2e-3 of the largest fp32 output
 * (1e-2 for 16-bit outputs). Then twice more on the GPU: the same bits. */
static void test_rms_matmul(int m, int n, int k, int wtype, int form) {
    const int rows = form == 3 ? 2 * n : n;
    size_t nx = (size_t)m * k, ny = (size_t)m * n;
    float *x = rnd(nx, 3), *g = rnd(k, 1), *w = rnd((size_t)rows * k, 0.2f), *b = rnd(n, 1);
    float *y0 = rnd(ny, 1), *ref = malloc(ny * sizeof(float));
    float *prod = malloc(2 * ny * sizeof(float)), *dprod = gpu->alloc(2 * ny * sizeof(float));
    void *dw = dev_weights(w, (size_t)rows * k, wtype), *hw = malloc((size_t)rows * k * 2);
    round_host(w, (size_t)rows * k, wtype, hw);
    float *dx = dev(x, nx), *dg = dev(g, k), *db = dev(b, n), *dy = dev(y0, ny);
    const normed_input hin = {x, g, 1e-6f}, din = {dx, dg, 1e-6f};
    const int flags = form == 1 ? MATMUL_ACCUMULATE : form == 2 ? MATMUL_RELU_TO_BF16 : 0;
    const float *bias = form == 0 ? b : NULL, *dbias = form == 0 ? db : NULL;
    const int ytype = form >= 2 ? wtype : DTYPE_FP32;
    memcpy(ref, y0, ny * sizeof(float));
    if (form == 3) cpu->rms_matmul_gated(ACT_GELU_NEW, &hin, hw, wtype, prod, ref, wtype, m, n, k);
    else cpu->rms_matmul(&hin, hw, wtype, bias, ref, m, n, k, flags);
    rms_matmul_form(form, flags, &din, dw, wtype, dbias, dprod, dy, m, n, k);
    char name[80];
    snprintf(name, sizeof name, "rms_matmul %s %dx%dx%d form %d", dtype_name(wtype), m, n, k, form);
    const size_t bytes = ytype == DTYPE_FP32 ? ny * 4 : ny * 2;
    uint16_t *got = malloc(ny * 4), *again = malloc(ny * 4);
    gpu->download((float *)got, dy, (bytes + 3) / 4);
    if (ytype == DTYPE_FP32) {
        EXPECT_CLOSE(name, dy, ref, ny, 2e-3);
    } else { /* as rel_err measures: the largest difference over the largest reference value */
        const uint16_t *ref16 = (const uint16_t *)ref;
        expect_close_16bit(name, got, ref16, ny, wtype, max_abs_16bit(ref16, ny, wtype));
    }
    if (form != 1) { /* (y += would add twice) */
        rms_matmul_form(form, flags, &din, dw, wtype, dbias, dprod, dy, m, n, k);
        gpu->download((float *)again, dy, (bytes + 3) / 4);
        expect_same_bits("  ... run again", got, again, bytes);
    }
    free(x), free(g), free(w), free(b), free(y0), free(ref), free(prod), free(hw), free(got);
    free(again);
    gpu->free(dprod), gpu->free(dw), gpu->free(dx), gpu->free(dg), gpu->free(db), gpu->free(dy);
}

void test_decode_family(int *checks, int *failures) {
    cuda_decode_gemv_set(gemv_mode = 2); /* every shape the family can take */
    for (int wtype = DTYPE_FP16; wtype <= DTYPE_BF16; wtype++) {
        const int shapes[][3] = {{1, 768, 768},  {2, 2304, 768}, {3, 1000, 40},  {5, 768, 3072},
                                 {8, 300, 128},  {16, 2048, 5120}, {1, 32128, 768}, {4, 50, 36},
                                 {17, 96, 64}};
        for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
            test_decode_gemv(shapes[i][0], shapes[i][1], shapes[i][2], wtype);
        test_matmul_gated(1, 1024, 768, ACT_GELU_NEW, wtype);
        test_matmul_gated(7, 300, 256, ACT_SILU, wtype);
        test_matmul_gated(33, 200, 64, ACT_GELU, wtype); /* cuBLASLt and the activation kernel */
    }
    test_gemm_relu(1, 3072, 768);
    test_gemm_relu(12, 2048, 512);
    if (cuda_pdl_enabled()) { /* a device of compute capability 9.0 or later */
        test_pdl_chain(1, 768, 16, DTYPE_BF16);
        test_pdl_chain(12, 1024, 8, DTYPE_FP16);
        cuda_decode_gemv_set(0); /* cuBLASLt between the PDL kernels */
        test_pdl_chain(3, 768, 8, DTYPE_BF16);
        cuda_decode_gemv_set(2);
    } else {
        printf("  pdl chain                    (PDL off on this device: not tested)\n");
    }
    for (int wtype = DTYPE_FP16; wtype <= DTYPE_BF16; wtype++)
        for (int form = 0; form < 4; form++) {
            if (form == 2 && wtype != DTYPE_BF16) continue; /* ReLU to bf16: bf16 weights */
            test_rms_matmul(1, 768, 768, wtype, form);   /* GEMV, k split over 2 blocks */
            test_rms_matmul(12, 300, 512, wtype, form);  /* GEMV, 12 rows */
            test_rms_matmul(1, 2048, 5120, wtype, form); /* GEMV, 10 sets of columns a warp */
            test_rms_matmul(12, 4096, 2048, wtype, form); /* GEMV, 12 rows, 4 sets a warp */
            test_rms_matmul(40, 256, 768, wtype, form);  /* norm kernel, then cuBLASLt */
        }
    cuda_decode_gemv_set(gemv_mode = 1); /* as ENCDEC_DECODE_GEMV=1: large ones on cuBLASLt */
    test_decode_gemv(2, 32128, 768, DTYPE_BF16);
    cuda_decode_gemv_set(gemv_mode = 3); /* the default with PDL: large ones from 9 rows on cuBLASLt */
    test_decode_gemv(8, 6144, 2048, DTYPE_BF16);
    test_decode_gemv(12, 6144, 2048, DTYPE_BF16);
    test_matmul_gated(8, 1024, 512, ACT_SILU, DTYPE_BF16);
    cuda_decode_gemv_set(0);
    test_gemm_relu(37, 300, 128);
    *checks += check_count;
    *failures += check_failures;
}
