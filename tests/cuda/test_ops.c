/* Every CUDA op against its CPU twin on random inputs, relative tolerance per op; ops that read
 * weights (matmul_wt, embed) once per weight dtype (fp32, fp16, bf16); faults reported by
 * check() (test_faults); the decode GEMV family in test_ops_decode.c. Needs a GPU (CTest label
 * cuda). */
#include <cuda_runtime_api.h>

#include "common/quant.h"
#include "common/relbias.h"
#include "models/spec.h"
#include "tests/cuda/test_ops_lib.h"

/* x_scale > 65504 exercises the fp16 clamp of GEMM inputs. The CPU reference multiplies the
 * same rounded x and w in fp32, so only the accumulation order differs. */
static void test_gemm(int m, int n, int k, int acc, int wtype, float x_scale) {
    float *x = rnd((size_t)m * k, x_scale), *w = rnd((size_t)n * k, 0.2f);
    float *y = rnd((size_t)m * n, 1);
    float *dx = dev(x, (size_t)m * k), *dy = dev(y, (size_t)m * n);
    void *dw = dev_weights(w, (size_t)n * k, wtype);
    round_host(x, (size_t)m * k, wtype, NULL); /* after the upload: the GPU rounds its own copy */
    cpu->matmul_wt(x, w, DTYPE_FP32, NULL, y, m, n, k, acc ? MATMUL_ACCUMULATE : 0);
    /* A GEMM on other weights first, then this one told that x is unchanged: the reused
     * rounding must be x's. */
    float *w2 = rnd((size_t)n * k, 0.2f), *dy2 = gpu->alloc((size_t)m * n * sizeof(float));
    void *dw2 = dev_weights(w2, (size_t)n * k, wtype);
    gpu->matmul_wt(dx, dw2, wtype, NULL, dy2, m, n, k, 0);
    gpu->matmul_wt(dx, dw, wtype, NULL, dy, m, n, k, (acc ? MATMUL_ACCUMULATE : 0) | MATMUL_SAME_INPUT);
    free(w2), gpu->free(dw2), gpu->free(dy2);
    char name[64];
    snprintf(name, sizeof name, "matmul_wt %s %dx%dx%d%s%s", dtype_name(wtype), m, n, k,
             acc ? " +=" : "", x_scale > 65504 ? " clamp" : "");
    EXPECT_CLOSE(name, dy, y, (size_t)m * n, 1e-5);
    free(x), free(w), free(y), gpu->free(dx), gpu->free(dw), gpu->free(dy);
}

/* cuBLASLt's timing by class of m: a 512-row GEMM is timed; GEMMs of fewer rows and the same n
 * and k (decode steps) keep the heuristic's algorithm, never the class's (it made every decode
 * GEMM slower once a 512-token encoder pass was timed); a later shape of a timed class of large
 * m takes its algorithm without timing, and computes the same product. */
static void test_gemm_class_timing(void) {
    const int n = 768, k = 768, wtype = DTYPE_BF16;
    long t0, a0, t1, a1;
    cuda_gemm_tuning_counts(&t0, &a0);
    test_gemm(512, n, k, 0, wtype, 1);
    cuda_gemm_tuning_counts(&t1, &a1);
    CHECK(t1 == t0 + 1 && a1 == a0); /* the class of 512 rows timed */
    test_gemm(64, n, k, 0, wtype, 1);
    test_gemm(300, n, k, 0, wtype, 1);
    cuda_gemm_tuning_counts(&t1, &a1);
    CHECK(t1 == t0 + 1 && a1 == a0); /* decode-sized m: neither timed nor adopted */
    test_gemm(1024, n, k, 0, wtype, 1);
    test_gemm(1000, n, k, 0, wtype, 1);
    cuda_gemm_tuning_counts(&t1, &a1);
    CHECK(t1 == t0 + 2 && a1 == a0 + 1); /* 1024 timed, 1000 took its algorithm */
}

static void test_embed(int wtype) {
    int V = 37, d = 200;
    float *table = rnd((size_t)V * d, 2), *y = malloc(5 * (size_t)d * sizeof(float));
    void *dt = dev_weights(table, (size_t)V * d, wtype);
    float *dy = gpu->alloc(5 * (size_t)d * sizeof(float));
    int32_t ids[5] = {3, 0, 36, 3, 17};
    cpu->embed(table, DTYPE_FP32, ids, 5, d, y);
    int32_t *dids = dev_i(ids, 5);
    gpu->embed(dt, wtype, dids, 5, d, dy);
    gpu->free(dids);
    char name[64];
    snprintf(name, sizeof name, "embed %s", dtype_name(wtype));
    EXPECT_CLOSE(name, dy, y, 5 * (size_t)d, 0);
    free(table), free(y), gpu->free(dt), gpu->free(dy);
}

/* A device copy of n bytes. */
static uint8_t *dev_bytes(const uint8_t *h, size_t n) {
    uint8_t *d = gpu->alloc(n);
    gpu->upload_raw(d, h, n);
    return d;
}

/* w [n, k] quantized as the converter does (common/quant.h): codes and row scales. */
static void quantize_host(int quant, const float *w, int n, int k, uint8_t *codes, float *scales) {
    CHECK(quant_rows(quant, w, (size_t)n, (size_t)k, 0, (size_t)k, scales, codes) == -1);
}

/* What matmul_wq's FP8 tensor-core path computes (gemm_wq.cu): x's rows rounded to xtype, then
 * quantized to E4M3 as weight rows are (common/quant.h), codes times codes, both rows' scales.
 * y [m, n] (+)=. */
static void fp8_gemm_host(const float *x, int xtype, const uint8_t *codes, const float *scales,
                          float *y, int m, int n, int k, int acc) {
    float *xq = malloc((size_t)k * sizeof(float)), *xr = malloc((size_t)k * sizeof(float));
    for (int r = 0; r < m; r++) {
        memcpy(xr, x + (size_t)r * k, (size_t)k * sizeof(float));
        round_host(xr, (size_t)k, xtype, NULL);
        float sx;
        CHECK(quant_row_scale(QUANT_FP8, xr, (size_t)k, &sx) == 0);
        for (int i = 0; i < k; i++) xq[i] = quant_e4m3_to_f32(quant_f32_to_e4m3(xr[i] / sx));
        for (int j = 0; j < n; j++) {
            double sum = 0;
            for (int i = 0; i < k; i++)
                sum += (double)xq[i] * quant_e4m3_to_f32(codes[(size_t)j * k + i]);
            const float v = (float)sum * sx * scales[j];
            y[(size_t)r * n + j] = acc ? y[(size_t)r * n + j] + v : v;
        }
    }
    free(xq), free(xr);
}

/* Whether cuBLASLt's FP8 GEMMs (E4M3 A and B, fp32 D) are documented for the device: compute
 * capability 9.0 (Hopper). Elsewhere the path may or may not be taken. */
static int device_is_hopper(void) {
    int dev = 0, major = 0;
    cudaGetDevice(&dev);
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, dev);
    return major == 9;
}

/* matmul_wq against the CPU twin: m <= 16 takes the GPU's GEMV kernel, larger m the widened
 * codes through cuBLASLt; k % 16 != 0 the GEMV's one-code-per-lane loads; xtype the run's dtype
 * (x rounded to it, as both backends do); acc adds to y. Only the sums' order differs. fp8 codes
 * at m > 16 with 16-bit x and n, k % 16 == 0 may take the FP8 tensor-core path (on Hopper they
 * must): then against fp8_gemm_host (1e-3: the tensor cores' own accumulation), and against the
 * CPU twin within x's E4M3 rounding (5e-2). Returns the chunks of x's rows whose scales
 * cuBLASLt applied (cuda_matmul_fp8_scaled), which must then match fp8_gemm_host as well. */
static long test_gemm_wq(int m, int n, int k, int quant, int xtype, int acc) {
    float *x = rnd((size_t)m * k, 1), *w = rnd((size_t)n * k, 0.2f), *y = rnd((size_t)m * n, 1);
    float *y8 = malloc((size_t)m * n * sizeof(float));
    memcpy(y8, y, (size_t)m * n * sizeof(float));
    uint8_t *codes = malloc((size_t)n * k);
    float *scales = malloc((size_t)n * sizeof(float));
    quantize_host(quant, w, n, k, codes, scales);
    float *dx = dev(x, (size_t)m * k), *dy = dev(y, (size_t)m * n), *ds = dev(scales, n);
    uint8_t *dq = dev_bytes(codes, (size_t)n * k);
    const int flags = acc ? MATMUL_ACCUMULATE : 0;
    const int fp8_shape = quant == QUANT_FP8 && xtype != DTYPE_FP32 && m > 16 && n % 16 == 0 &&
                          k % 16 == 0;
    if (fp8_shape) fp8_gemm_host(x, xtype, codes, scales, y8, m, n, k, acc);
    cpu->matmul_wq(x, xtype, codes, quant, scales, y, m, n, k, flags);
    const long fp8_calls = cuda_wq_fp8_calls(), scaled_before = cuda_wq_fp8_scaled_chunks();
    gpu->matmul_wq(dx, xtype, dq, quant, ds, dy, m, n, k, flags);
    expect_no_fault("matmul_wq");
    const long scaled = cuda_wq_fp8_scaled_chunks() - scaled_before;
    char name[80];
    snprintf(name, sizeof name, "matmul_wq %s x%s %dx%dx%d%s", quant_names[quant],
             dtype_name(xtype), m, n, k, acc ? " +=" : "");
    const int fp8 = cuda_wq_fp8_calls() > fp8_calls;
    CHECK(!fp8 || fp8_shape);
    CHECK(!scaled || fp8);
    if (fp8_shape && device_is_hopper()) {
        CHECK(fp8);
        if (!fp8) fprintf(stderr, "  %s: FP8 path not taken (%s)\n", name, cuda_fp8_gemm_why());
    }
    if (fp8) {
        EXPECT_CLOSE(name, dy, y8, (size_t)m * n, 1e-3);
        EXPECT_CLOSE("  ... against unquantized x", dy, y, (size_t)m * n, 5e-2);
    } else {
        EXPECT_CLOSE(name, dy, y, (size_t)m * n, 1e-5);
    }
    free(x), free(w), free(y), free(y8), free(codes), free(scales);
    gpu->free(dx), gpu->free(dy), gpu->free(ds), gpu->free(dq);
    return scaled;
}

/* The FP8 path under each cuda_fp8_scaled_set mode: the values as test_gemm_wq checks them, and
 * which chunks took cuBLASLt's scales: none under 0; under 1 those of at least 512 rows
 * (`large` of them), under 2 every chunk (`chunks`): on Hopper exactly, elsewhere at most. */
static void test_fp8_scaled(int m, int n, int k, int acc, long large, long chunks) {
    for (int mode = 0; mode <= 2; mode++) {
        cuda_fp8_scaled_set(mode);
        const long got = test_gemm_wq(m, n, k, QUANT_FP8, DTYPE_BF16, acc);
        const long want = mode == 0 ? 0 : mode == 1 ? large : chunks;
        CHECK(device_is_hopper() ? got == want : got <= want);
        printf("  fp8 %dx%dx%d%s, scales mode %d: %ld of %ld chunks scaled by cuBLASLt (%ld "
               "expected)\n", m, n, k, acc ? " +=" : "", mode, got, chunks, want);
    }
    cuda_fp8_scaled_set(-1);
}

/* matmul_wq_gated (the gate and lin matrices' codes, their scales and the activation in one
 * op) against the CPU twin's 16-bit output (1e-2 relative, as matmul_gated's: a product one ulp
 * of the sum apart may round to the neighbouring 16-bit value), and twice on the GPU: the same
 * bits. From 2 rows to 16 with k % 16 == 0: one decode GEMV kernel; else matmul_wq twice and the
 * activation kernel. */
static void test_gemm_wq_gated(int m, int f, int k, int quant, int xtype, int act) {
    size_t nx = (size_t)m * k, ny = (size_t)m * f, nw = (size_t)f * k;
    float *x = rnd(nx, 1), *wg = rnd(nw, 0.2f), *wl = rnd(nw, 0.2f), *prod = malloc(ny * 8);
    uint8_t *cg = malloc(nw), *cl = malloc(nw);
    float *sg = malloc((size_t)f * sizeof(float)), *sl = malloc((size_t)f * sizeof(float));
    quantize_host(quant, wg, f, k, cg, sg);
    quantize_host(quant, wl, f, k, cl, sl);
    float *dx = dev(x, nx), *dsg = dev(sg, f), *dsl = dev(sl, f), *dprod = gpu->alloc(ny * 8);
    uint8_t *dcg = dev_bytes(cg, nw), *dcl = dev_bytes(cl, nw);
    uint16_t *cy = malloc(ny * 2), *gy = malloc(ny * 2), *gy2 = malloc(ny * 2);
    void *dy = gpu->alloc(ny * 2 + 4);
    cpu->matmul_wq_gated(act, x, xtype, cg, sg, cl, sl, quant, prod, cy, xtype, m, f, k, 0);
    for (int run = 0; run < 2; run++) {
        gpu->matmul_wq_gated(act, dx, xtype, dcg, dsg, dcl, dsl, quant, dprod, dy, xtype, m, f, k,
                             0);
        gpu->synchronize();
        gpu->download((float *)(run ? gy2 : gy), dy, (ny + 1) / 2);
    }
    expect_no_fault("matmul_wq_gated");
    char name[80];
    snprintf(name, sizeof name, "matmul_wq_gated %s x%s %dx%dx%d act %d", quant_names[quant],
             dtype_name(xtype), m, f, k, act);
    expect_close_16bit(name, gy, cy, ny, xtype, 1e-2);
    expect_same_bits("  ... run twice", gy, gy2, ny * 2);
    free(x), free(wg), free(wl), free(prod), free(cg), free(cl), free(sg), free(sl);
    free(cy), free(gy), free(gy2);
    gpu->free(dx), gpu->free(dsg), gpu->free(dsl), gpu->free(dprod), gpu->free(dcg);
    gpu->free(dcl), gpu->free(dy);
}

/* embed_q against the CPU twin: the same products, bit for bit. */
static void test_embed_q(int quant) {
    int V = 37, d = 200;
    float *table = rnd((size_t)V * d, 2), *y = malloc(5 * (size_t)d * sizeof(float));
    uint8_t *codes = malloc((size_t)V * d);
    float *scales = malloc((size_t)V * sizeof(float));
    quantize_host(quant, table, V, d, codes, scales);
    int32_t ids[5] = {3, 0, 36, 3, 17};
    cpu->embed_q(codes, quant, scales, ids, 5, d, y);
    uint8_t *dq = dev_bytes(codes, (size_t)V * d);
    float *ds = dev(scales, V), *dy = gpu->alloc(5 * (size_t)d * sizeof(float));
    int32_t *dids = dev_i(ids, 5);
    gpu->embed_q(dq, quant, ds, dids, 5, d, dy);
    char name[64];
    snprintf(name, sizeof name, "embed_q %s", quant_names[quant]);
    EXPECT_CLOSE(name, dy, y, 5 * (size_t)d, 0);
    free(table), free(y), free(codes), free(scales);
    gpu->free(dq), gpu->free(ds), gpu->free(dy), gpu->free(dids);
}

static void test_norms_and_elementwise(void) {
    int rows = 37, d = 200;
    size_t n = (size_t)rows * d;
    float *x = rnd(n, 2), *w = rnd(d, 1), *b = rnd(d, 1), *y = malloc(n * sizeof(float));
    float *dx = dev(x, n), *dw = dev(w, d), *db = dev(b, d), *dy = gpu->alloc(n * sizeof(float));
    float *r = rnd(n, 1), *dr = dev(r, n); /* a residual delta for the fused forms */
    cpu->rms_norm(x, NULL, w, 1e-6f, rows, d, y, DTYPE_FP32);
    gpu->rms_norm(dx, NULL, dw, 1e-6f, rows, d, dy, DTYPE_FP32);
    EXPECT_CLOSE("rms_norm", dy, y, n, 1e-5);
    cpu->rms_norm(x, r, w, 1e-6f, rows, d, y, DTYPE_FP32);
    gpu->rms_norm(dx, dr, dw, 1e-6f, rows, d, dy, DTYPE_FP32);
    EXPECT_CLOSE("rms_norm + residual", dy, y, n, 1e-5);
    EXPECT_CLOSE("rms_norm + residual: x += r", dx, x, n, 1e-6);
    /* rows of 198: not a multiple of 4 (the one-element-per-thread kernel) */
    cpu->rms_norm(x, r, w, 1e-6f, 30, 198, y, DTYPE_FP32);
    gpu->rms_norm(dx, dr, dw, 1e-6f, 30, 198, dy, DTYPE_FP32);
    EXPECT_CLOSE("rms_norm + residual, d 198", dy, y, 30 * 198, 1e-5);
    EXPECT_CLOSE("rms_norm + residual, d 198: x", dx, x, n, 1e-6);
    cpu->layer_norm(x, NULL, w, b, 1e-5f, rows, d, y, DTYPE_FP32);
    gpu->layer_norm(dx, NULL, dw, db, 1e-5f, rows, d, dy, DTYPE_FP32);
    EXPECT_CLOSE("layer_norm", dy, y, n, 1e-5);
    cpu->layer_norm(x, r, w, b, 1e-5f, rows, d, x, DTYPE_FP32); /* residual, in place (post-norm) */
    gpu->layer_norm(dx, dr, dw, db, 1e-5f, rows, d, dx, DTYPE_FP32);
    EXPECT_CLOSE("layer_norm + residual in place", dx, x, n, 1e-5);
    free(r), gpu->free(dr);
    memcpy(y, x, n * sizeof(float));
    gpu->upload(dy, y, n);
    cpu->add(y, x, n), gpu->add(dy, dx, n);
    EXPECT_CLOSE("add", dy, y, n, 1e-6);
    cpu->scale(y, 0.37f, n), gpu->scale(dy, 0.37f, n);
    EXPECT_CLOSE("scale", dy, y, n, 1e-6);
    cpu->add_bias(y, b, rows, d), gpu->add_bias(dy, db, rows, d);
    EXPECT_CLOSE("add_bias", dy, y, n, 1e-6);
    for (int act = ACT_RELU; act <= ACT_SILU; act++) {
        float *g = rnd(n, 3), *l = rnd(n, 1), *out = malloc(n * sizeof(float));
        float *dg = dev(g, n), *dl = dev(l, n), *dout = gpu->alloc(n * sizeof(float));
        cpu->gated_activation(act, g, l, d, out, DTYPE_FP32, rows, d);
        gpu->gated_activation(act, dg, dl, d, dout, DTYPE_FP32, rows, d);
        char name[64];
        snprintf(name, sizeof name, "gated %s", act_name(act));
        EXPECT_CLOSE(name, dout, out, n, 1e-5);
        /* one joint GEMM output: rows of [gate | lin], 100 columns each */
        cpu->gated_activation(act, g, g + 100, 200, out, DTYPE_FP32, rows, 100);
        gpu->gated_activation(act, dg, dg + 100, 200, dout, DTYPE_FP32, rows, 100);
        snprintf(name, sizeof name, "gated %s, joint rows", act_name(act));
        EXPECT_CLOSE(name, dout, out, (size_t)rows * 100, 1e-5);
        /* unaligned, odd columns: the one-element-per-thread kernel */
        cpu->gated_activation(act, g + 1, l + 1, 199, out, DTYPE_FP32, rows - 1, 197);
        gpu->gated_activation(act, dg + 1, dl + 1, 199, dout, DTYPE_FP32, rows - 1, 197);
        snprintf(name, sizeof name, "gated %s, unaligned", act_name(act));
        EXPECT_CLOSE(name, dout, out, (size_t)(rows - 1) * 197, 1e-5);
        cpu->activation(act, g, g, DTYPE_FP32, n), gpu->activation(act, dg, dg, DTYPE_FP32, n);
        snprintf(name, sizeof name, "activation %s", act_name(act));
        EXPECT_CLOSE(name, dg, g, n, 1e-5);
        free(g), free(l), free(out), gpu->free(dg), gpu->free(dl), gpu->free(dout);
    }
    free(x), free(w), free(b), free(y);
    gpu->free(dx), gpu->free(dw), gpu->free(db), gpu->free(dy);
}

/* Prefill on both backends over three packed sequences of 1, 17 and max_len tokens, with a
 * random T5 bias table (bidirectional); expects the GPU within tol of the CPU (relative). */
static void check_prefill(const char *name, int heads, int d_kv, int max_len, float scale,
                          int buckets, int maxd, int tf32, double tol) {
    int row = heads * d_kv;
    float *bias = rnd((size_t)buckets * heads, 2), *dbias = dev(bias, (size_t)buckets * heads);
    int32_t off[3] = {0, 1, 18}, len[3] = {1, 17, max_len};
    int T = 18 + max_len;
    size_t n = (size_t)T * row;
    float *q = rnd(n, 1), *k = rnd(n, 1), *v = rnd(n, 1), *o = malloc(n * sizeof(float));
    float *dq = dev(q, n), *dk = dev(k, n), *dv = dev(v, n), *dout = gpu->alloc(n * sizeof(float));
    attn_params p = {.heads = heads, .d_kv = d_kv, .row = row, .scale = scale, .rel_bias = bias,
                     .rel_ld = heads, .buckets = buckets, .max_distance = maxd,
                     .bidirectional = 1, .max_keys = max_len, .tf32 = tf32,
                     .bucket_log_ratio = relbias_log_ratio(1, buckets, maxd)};
    cpu->attention_prefill(&p, q, k, v, o, 3, off, len);
    attn_params pg = p;
    pg.rel_bias = dbias;
    int32_t *doff = dev_i(off, 3), *dlen = dev_i(len, 3);
    gpu->attention_prefill(&pg, dq, dk, dv, dout, 3, doff, dlen);
    EXPECT_CLOSE(name, dout, o, n, tol);
    free(bias), free(q), free(k), free(v), free(o);
    gpu->free(dbias), gpu->free(dq), gpu->free(dk), gpu->free(dv), gpu->free(dout);
    gpu->free(doff), gpu->free(dlen);
}

/* A paged pool of n_blocks blocks of one layer ([block][K, V][bs][row]) in kv_dtype, random
 * values rounded to it, on the host (cpu) and the device (gpu) with the same bits. */
typedef struct paged_pool {
    kv_layout cpu, gpu;
    void *host, *dev;
    size_t elems;
} paged_pool;

static paged_pool pool_create(int n_blocks, int bs, int row, int kv_dtype) {
    paged_pool pp = {.elems = (size_t)n_blocks * 2 * bs * row};
    size_t esize = dtype_bytes(kv_dtype), bytes = pp.elems * esize;
    float *v = rnd(pp.elems, 1);
    pp.host = malloc(bytes);
    if (kv_dtype == DTYPE_FP32) memcpy(pp.host, v, bytes);
    else round_host(v, pp.elems, kv_dtype, pp.host);
    pp.dev = gpu->alloc(bytes);
    gpu->upload_raw(pp.dev, pp.host, bytes);
    free(v);
    pp.cpu = (kv_layout){.k = pp.host, .v = (char *)pp.host + (size_t)bs * row * esize,
                         .block_stride = (size_t)2 * bs * row, .block_size = bs, .row = row,
                         .dtype = kv_dtype};
    pp.gpu = pp.cpu;
    pp.gpu.k = pp.dev, pp.gpu.v = (char *)pp.dev + (size_t)bs * row * esize;
    return pp;
}

/* Decoder attention over a paged pool in kv_dtype against the CPU, causal with the T5 bias and
 * plain (cross), then kv_scatter (the pools must end bit-identical). Entry i has nk[i] keys
 * through a scrambled table of its own blocks and sits at position nk[i] - 1. */
static void check_paged(int heads, int d_kv, int bs, int kv_dtype, int n, const int32_t *nk) {
    int row = heads * d_kv, buckets = 8, maxd = 12, n_blocks = 0, max_keys = 0;
    int32_t *toff = malloc(n * sizeof(int32_t)), *qpos = malloc(n * sizeof(int32_t));
    for (int i = 0; i < n; i++) {
        toff[i] = n_blocks, qpos[i] = nk[i] - 1;
        n_blocks += (nk[i] + bs - 1) / bs;
        if (nk[i] > max_keys) max_keys = nk[i];
    }
    int32_t *blocks = malloc(n_blocks * sizeof(int32_t));
    for (int b = 0; b < n_blocks; b++) blocks[b] = (int32_t)(((long)b * 7 + 3) % n_blocks);
    if (n_blocks % 7 == 0) /* keep it a permutation */
        for (int b = 0; b < n_blocks; b++) blocks[b] = n_blocks - 1 - b;
    float *bias = rnd((size_t)buckets * heads, 1), *dbias = dev(bias, (size_t)buckets * heads);
    size_t nq = (size_t)n * row;
    float *q = rnd(nq, 1), *o = malloc(nq * sizeof(float));
    float *dq = dev(q, nq), *dout = gpu->alloc(nq * sizeof(float));
    paged_pool pp = pool_create(n_blocks, bs, row, kv_dtype);
    int32_t *dblocks = dev_i(blocks, n_blocks), *dtoff = dev_i(toff, n), *dnk = dev_i(nk, n),
            *dqpos = dev_i(qpos, n);
    attn_params p = {.heads = heads, .d_kv = d_kv, .row = row, .scale = 1.0f, .rel_bias = bias,
                     .rel_ld = heads, .buckets = buckets, .max_distance = maxd, .causal = 1,
                     .max_keys = max_keys, .bucket_log_ratio = relbias_log_ratio(0, buckets, maxd)};
    char name[96];
    for (int cross = 0; cross < 2; cross++) {
        if (cross) p.rel_bias = NULL, p.causal = 0, p.scale = 0.125f;
        attn_params pg = p;
        if (!cross) pg.rel_bias = dbias;
        cpu->attention_paged(&p, q, o, n, &pp.cpu, NULL, blocks, toff, nk, qpos);
        gpu->attention_paged(&pg, dq, dout, n, &pp.gpu, NULL, dblocks, dtoff, dnk, dqpos);
        snprintf(name, sizeof name, "attention_paged %s %dx%d %s", cross ? "cross" : "causal+bias",
                 heads, d_kv, dtype_name(kv_dtype));
        EXPECT_CLOSE(name, dout, o, nq, 1e-5);
        if (max_keys > 128) continue;
        /* A launch bound past 128 keys splits the keys into ranges of 128 (attention_decode.cu):
         * entries with one non-empty range must come out bit-identical, as recorded steps (fixed
         * bound) and eager ones (the step's own) must agree. */
        float *a = malloc(nq * sizeof(float)), *b = malloc(nq * sizeof(float));
        gpu->download(a, dout, nq);
        pg.max_keys = 3 * 128 + 5;
        gpu->attention_paged(&pg, dq, dout, n, &pp.gpu, NULL, dblocks, dtoff, dnk, dqpos);
        gpu->download(b, dout, nq);
        snprintf(name, sizeof name, "split bound, %s %s", cross ? "cross" : "causal",
                 dtype_name(kv_dtype));
        expect_same_bits(name, a, b, nq * sizeof(float));
        free(a), free(b);
    }
    /* A step's joint Q/K/V rows ([n, 3 row]): each entry's K/V appended at its position by the
     * kernel, then attended over (the pool comparison below covers the appended rows). */
    size_t n3 = (size_t)n * 3 * row;
    float *qkv = rnd(n3, 1), *dqkv = dev(qkv, n3);
    kv_append ac = {qkv + row, qkv + 2 * row, 3 * row}, ag = {dqkv + row, dqkv + 2 * row, 3 * row};
    p.rel_bias = bias, p.causal = 1, p.scale = 1.0f, p.q_ld = 3 * row;
    attn_params pg = p;
    pg.rel_bias = dbias;
    cpu->attention_paged(&p, qkv, o, n, &pp.cpu, &ac, blocks, toff, nk, qpos);
    gpu->attention_paged(&pg, dqkv, dout, n, &pp.gpu, &ag, dblocks, dtoff, dnk, dqpos);
    snprintf(name, sizeof name, "attention_paged append %dx%d %s", heads, d_kv,
             dtype_name(kv_dtype));
    EXPECT_CLOSE(name, dout, o, nq, 1e-5);
    free(qkv), gpu->free(dqkv);
    cpu->kv_scatter(q, n, &pp.cpu, 1, blocks, toff, qpos);
    gpu->kv_scatter(dq, n, &pp.gpu, 1, dblocks, dtoff, dqpos);
    size_t bytes = pp.elems * dtype_bytes(kv_dtype);
    char *back = malloc(bytes);
    gpu->download((float *)back, pp.dev, bytes / sizeof(float));
    snprintf(name, sizeof name, "kv_scatter %s", dtype_name(kv_dtype));
    expect_same_bits(name, back, pp.host, bytes);
    free(back), free(blocks), free(bias), free(q), free(o), free(pp.host), free(toff), free(qpos);
    gpu->free(dbias), gpu->free(dq), gpu->free(dout), gpu->free(pp.dev), gpu->free(dblocks);
    gpu->free(dtoff), gpu->free(dnk), gpu->free(dqpos);
}

/* Cross-attention (no bias, no mask) where consecutive entries share a table, as the beams of
 * a request do: request r has width[r] entries over the same nk[r] keys. With kv_share set the
 * GPU computes a run's entries together; expects the CPU within tolerance and, since each
 * entry's arithmetic is unchanged, the bits of the launch without kv_share. */
static void check_shared(int heads, int d_kv, int bs, int kv_dtype, int n_req, const int *width,
                         const int32_t *nk_req) {
    int row = heads * d_kv, n = 0, n_blocks = 0, max_keys = 0, max_width = 0;
    for (int r = 0; r < n_req; r++) n += width[r];
    int32_t *toff = malloc(n * sizeof(int32_t)), *nk = malloc(n * sizeof(int32_t));
    int32_t *qpos = calloc(n, sizeof(int32_t));
    for (int r = 0, i = 0; r < n_req; r++) {
        for (int b = 0; b < width[r]; b++, i++) toff[i] = n_blocks, nk[i] = nk_req[r];
        n_blocks += (nk_req[r] + bs - 1) / bs;
        if (nk_req[r] > max_keys) max_keys = nk_req[r];
        if (width[r] > max_width) max_width = width[r];
    }
    int32_t *blocks = malloc(n_blocks * sizeof(int32_t));
    for (int b = 0; b < n_blocks; b++) blocks[b] = n_blocks - 1 - b;
    size_t nq = (size_t)n * row;
    float *q = rnd(nq, 1), *o = malloc(nq * sizeof(float)), *a = malloc(nq * sizeof(float));
    float *b = malloc(nq * sizeof(float)), *dq = dev(q, nq), *dout = gpu->alloc(nq * sizeof(float));
    paged_pool pp = pool_create(n_blocks, bs, row, kv_dtype);
    int32_t *dblocks = dev_i(blocks, n_blocks), *dtoff = dev_i(toff, n), *dnk = dev_i(nk, n),
            *dqpos = dev_i(qpos, n);
    attn_params p = {.heads = heads, .d_kv = d_kv, .row = row, .scale = 0.125f,
                     .max_keys = max_keys};
    cpu->attention_paged(&p, q, o, n, &pp.cpu, NULL, blocks, toff, nk, qpos);
    gpu->attention_paged(&p, dq, dout, n, &pp.gpu, NULL, dblocks, dtoff, dnk, dqpos);
    gpu->download(a, dout, nq);
    p.kv_share = max_width;
    gpu->attention_paged(&p, dq, dout, n, &pp.gpu, NULL, dblocks, dtoff, dnk, dqpos);
    char name[96];
    snprintf(name, sizeof name, "shared table %d entries x%d %s", n, heads, dtype_name(kv_dtype));
    EXPECT_CLOSE(name, dout, o, nq, 1e-5);
    gpu->download(b, dout, nq);
    /* Past 256 keys the unshared launch splits them, and 16-bit unshared launches of the usual
     * head widths take the single-pass kernel: other sums. */
    const int single_pass = kv_dtype != DTYPE_FP32 && (d_kv == 32 || d_kv == 64 || d_kv == 128);
    if (max_keys <= 256 && !single_pass) {
        snprintf(name, sizeof name, "  ... vs unshared %s", dtype_name(kv_dtype));
        expect_same_bits(name, a, b, nq * sizeof(float));
    }
    free(toff), free(nk), free(qpos), free(blocks), free(q), free(o), free(a), free(b);
    free(pp.host), gpu->free(pp.dev), gpu->free(dq), gpu->free(dout), gpu->free(dblocks);
    gpu->free(dtoff), gpu->free(dnk), gpu->free(dqpos);
}

static void test_attention(void) {
    check_prefill("attention_prefill (T5 bias)", 3, 16, 30, 1.0f, 8, 12, 0, 1e-5);
    /* Short contexts; one key; more keys than threads (several per thread, the value pass's
     * remainder); 16-byte, 2-element and 1-element loads (d_kv 64, 20, 5). */
    const int32_t few[3] = {13, 19, 3}, many[4] = {130, 300, 1, 77};
    check_paged(3, 16, 4, DTYPE_FP32, 3, few);
    for (int t = DTYPE_FP32; t <= DTYPE_BF16; t++) {
        check_paged(2, 64, 16, t, 4, many);
        check_paged(3, 20, 8, t, 3, few);
    }
    check_paged(3, 5, 4, DTYPE_FP16, 3, few);
    /* The single-pass cross-attention blocks' other head widths (few items). */
    check_paged(3, 32, 8, DTYPE_FP16, 3, few);
    check_paged(2, 128, 16, DTYPE_BF16, 4, many);
    /* Enough (entry, head) items for one warp per item: 1-140 keys, all three KV dtypes. */
    const int heads = 16, n = DECODE_WARP_ITEMS / heads + 3;
    int32_t *lens = malloc(n * sizeof(int32_t));
    for (int i = 0; i < n; i++) lens[i] = 1 + (i * 37) % 140;
    for (int t = DTYPE_FP32; t <= DTYPE_BF16; t++) check_paged(heads, 64, 16, t, n, lens);
    /* 16-bit cross-attention takes the single-pass kernel: head widths 64 (32-key chunks), 128
     * (16-key chunks) and 32 (64-key chunks), over up to 700 keys. */
    for (int i = 0; i < n; i++) lens[i] = 1 + (i * 211) % 700;
    check_paged(heads, 64, 16, DTYPE_FP16, n, lens);
    check_paged(heads, 128, 16, DTYPE_BF16, n, lens);
    check_paged(heads, 32, 8, DTYPE_FP16, n, lens);
    free(lens);
    /* Entries sharing a table: runs of 1-6 (items are windows of four entries, so a run may
     * span two items and an item hold parts of up to four runs), few items (blocks) and, at
     * four entries per request, enough items for warps. */
    const int widths[5] = {4, 1, 6, 2, 3};
    const int32_t keys[5] = {130, 7, 250, 1, 64}, long_keys[5] = {130, 7, 440, 1, 300};
    for (int t = DTYPE_FP32; t <= DTYPE_BF16; t++) check_shared(3, 64, 16, t, 5, widths, keys);
    check_shared(3, 20, 8, DTYPE_FP16, 5, widths, keys);
    check_shared(3, 64, 16, DTYPE_FP16, 5, widths, long_keys);
    const int reqs = DECODE_WARP_ITEMS / heads + 2;
    int *four = malloc(reqs * sizeof(int));
    int32_t *req_keys = malloc(reqs * sizeof(int32_t));
    for (int r = 0; r < reqs; r++) four[r] = 4, req_keys[r] = 1 + (r * 53) % 200;
    check_shared(heads, 64, 16, DTYPE_FP16, reqs, four, req_keys); /* unshared: single pass */
    free(four), free(req_keys);
    /* Runs of 1-6 beams over 1-440 keys, enough shared-table items for warps. */
    int mixed_w[200];
    int32_t mixed_k[200];
    for (int r = 0; r < 200; r++) mixed_w[r] = widths[r % 5], mixed_k[r] = long_keys[(r / 5) % 5];
    check_shared(heads, 64, 16, DTYPE_BF16, 200, mixed_w, mixed_k);
    check_shared(heads, 128, 16, DTYPE_FP16, 200, mixed_w, mixed_k);
}

/* Producers that write a GEMM input in the 16-bit weight dtype (rms_norm, layer_norm,
 * gated_activation and activation with ytype = wtype; attention with out_type = wtype: the
 * paged kernel and the TF32 prefill, one sequence of all rows as 5 heads of 40), consumed by
 * matmul_wt with MATMUL_X_IN_WTYPE: the GPU pair against the CPU pair (which rounds and widens
 * with the same rules; the TF32 products are the one difference). */
static void test_producers_in_wtype(int wtype) {
    int rows = 37, d = 200, n_out = 64;
    size_t n = (size_t)rows * d, ny = (size_t)rows * n_out;
    float *x = rnd(n, 2), *lin = rnd(n, 1), *w = rnd(d, 1), *b = rnd(d, 1);
    float *wm = rnd((size_t)n_out * d, 0.2f), *y = malloc(ny * sizeof(float));
    float *dx = dev(x, n), *dlin = dev(lin, n), *dw = dev(w, d), *db = dev(b, d);
    float *dy = gpu->alloc(ny * sizeof(float));
    void *dwm = dev_weights(wm, (size_t)n_out * d, wtype); /* wm now holds the rounded values */
    uint16_t *wbits = malloc((size_t)n_out * d * sizeof(uint16_t)), *h16 = malloc(n * 2);
    dtype_f32_to_16bit(wm, (size_t)n_out * d, wtype == DTYPE_BF16, wbits);
    void *d16 = gpu->alloc(n * 2);
    const char *what[6] = {"rms_norm", "layer_norm", "gated gelu_new", "attention_paged",
                           "attention_prefill tf32", "activation relu"};
    /* Attention: one sequence (prefill: off 0, len rows); paged: every row i a query at
     * position i over keys 0..i of one block (K = lin, V = x) through table {0}. */
    int32_t seq[2] = {0, rows}, pos[37], nk[37], toff[37], block0[1] = {0};
    for (int r = 0; r < rows; r++) pos[r] = r, nk[r] = rows, toff[r] = 0;
    int32_t *dseq = dev_i(seq, 2), *dpos = dev_i(pos, rows), *dnk = dev_i(nk, rows);
    int32_t *dtoff = dev_i(toff, rows), *dblock0 = dev_i(block0, 1);
    attn_params ap = {.heads = 5, .d_kv = 40, .row = 200, .scale = 0.1f, .causal = 1,
                      .max_keys = rows, .out_type = wtype};
    kv_layout kc = {.k = lin, .v = x, .block_stride = (size_t)64 * 200, .block_size = 64,
                    .row = 200, .dtype = DTYPE_FP32};
    kv_layout kg = kc;
    kg.k = dlin, kg.v = dx;
    for (int i = 0; i < 6; i++) {
        if (i == 0) {
            cpu->rms_norm(x, NULL, w, 1e-6f, rows, d, h16, wtype);
            gpu->rms_norm(dx, NULL, dw, 1e-6f, rows, d, d16, wtype);
        } else if (i == 1) {
            cpu->layer_norm(x, NULL, w, b, 1e-5f, rows, d, h16, wtype);
            gpu->layer_norm(dx, NULL, dw, db, 1e-5f, rows, d, d16, wtype);
        } else if (i == 2) {
            cpu->gated_activation(ACT_GELU_NEW, x, lin, d, h16, wtype, rows, d);
            gpu->gated_activation(ACT_GELU_NEW, dx, dlin, d, d16, wtype, rows, d);
        } else if (i == 3) {
            cpu->attention_paged(&ap, x, h16, rows, &kc, NULL, block0, toff, nk, pos);
            gpu->attention_paged(&ap, dx, d16, rows, &kg, NULL, dblock0, dtoff, dnk, dpos);
        } else if (i == 5) {
            cpu->activation(ACT_RELU, x, h16, wtype, n);
            gpu->activation(ACT_RELU, dx, d16, wtype, n);
        } else {
            ap.causal = 0, ap.tf32 = 1;
            cpu->attention_prefill(&ap, x, lin, x, h16, 1, seq, seq + 1);
            gpu->attention_prefill(&ap, dx, dlin, dx, d16, 1, dseq, dseq + 1);
        }
        cpu->matmul_wt(h16, wbits, wtype, NULL, y, rows, n_out, d, MATMUL_X_IN_WTYPE);
        gpu->matmul_wt(d16, dwm, wtype, NULL, dy, rows, n_out, d, MATMUL_X_IN_WTYPE);
        char name[64];
        snprintf(name, sizeof name, "%s -> %s matmul_wt", what[i], dtype_name(wtype));
        EXPECT_CLOSE(name, dy, y, ny, i == 4 ? 2e-3 : 1e-3);
    }
    gpu->free(dseq), gpu->free(dpos), gpu->free(dnk), gpu->free(dtoff), gpu->free(dblock0);
    free(x), free(lin), free(w), free(b), free(wm), free(y), free(wbits), free(h16);
    gpu->free(dx), gpu->free(dlin), gpu->free(dw), gpu->free(db), gpu->free(dy), gpu->free(dwm);
    gpu->free(d16);
}

/* topk_rows against the CPU: many ties (values on a grid of 1 / grid), a banned column, a NaN
 * (its row's max is then NaN, the mark the host fails the request by), a -inf; the slice starts
 * at column 7 of the vocabulary (index_base). */
static void test_topk(int n, int k, float grid) {
    int rows = 5, row = 2 + 2 * k;
    float *x = rnd((size_t)rows * n, 4), *out = malloc((size_t)rows * row * sizeof(float));
    for (int i = 0; i < rows * n; i++) x[i] = roundf(x[i] * grid) / grid;
    x[3] = NAN, x[n + 5] = -INFINITY;
    int32_t ban[5] = {7 + 12, -1, 7 + n - 1, 3, 7};
    float *dx = dev(x, (size_t)rows * n), *dout = gpu->alloc((size_t)rows * row * sizeof(float));
    int32_t *dban = dev_i(ban, rows);
    cpu->topk_rows(x, rows, n, 7, ban, k, out);
    gpu->topk_rows(dx, rows, n, 7, dban, k, dout);
    char name[64];
    snprintf(name, sizeof name, "topk_rows n %d k %d", n, k);
    EXPECT_CLOSE(name, dout, out, (size_t)rows * row, 1e-6);
    free(x), free(out), gpu->free(dx), gpu->free(dout), gpu->free(dban);
}

/* argmax_rows against the CPU: ties (values on a grid of 1 / grid), a banned column, NaNs (a
 * row holding one is marked (NaN, -2)), a row of NaNs but one banned column; n % 4 != 0 takes
 * the plain loads. */
static void test_argmax(int n, float grid) {
    int rows = 6;
    float *x = rnd((size_t)rows * n, 5), out[12];
    for (int i = 0; i < rows * n; i++) x[i] = roundf(x[i] * grid) / grid;
    x[3] = NAN, x[n + 5] = -INFINITY;
    for (int i = 0; i < n; i++) x[5 * (size_t)n + i] = i == 2 ? 1.0f : NAN;
    int32_t ban[6] = {7 + 12, -1, 7 + n - 1, 3, 7, 7 + 2};
    float *dx = dev(x, (size_t)rows * n), *dout = gpu->alloc(sizeof out);
    int32_t *dban = dev_i(ban, rows);
    float ref[12];
    cpu->argmax_rows(x, rows, n, 7, ban, ref);
    gpu->argmax_rows(dx, rows, n, 7, dban, dout);
    gpu->download(out, dout, 2 * rows);
    char name[64];
    snprintf(name, sizeof name, "argmax_rows n %d", n);
    expect_same_bits(name, out, ref, sizeof out);
    free(x), gpu->free(dx), gpu->free(dout), gpu->free(dban);
}

/* The tensor-core (TF32) prefill against the CPU's fp32 one: head widths that need padding
 * (20) and the T5 width (64), sequences of 1 token, one tile, and several key tiles, T5 bias. */
static void test_attention_tf32(int d_kv) {
    char name[64];
    snprintf(name, sizeof name, "attention_prefill tf32 d%d", d_kv);
    check_prefill(name, 2, d_kv, 150, 0.5f, 32, 128, 1, 2e-3);
}

/* Faults as statuses (backend.h's check()): a launch the device refuses (a prefill over heads
 * wider than the tiled kernels asking for far more shared memory than a block has), a bad
 * weight dtype and an injected fault (ENCDEC_INJECT_FAULT's hook) are each reported by check()
 * naming the op, once; none of them poisons the context: the backend keeps computing right. */
static void test_faults(void) {
    ed_error err = {{0}};
    CHECK(gpu->check(&err) == ED_OK); /* the cases above left nothing recorded */
    int heads = 1, d_kv = 160, max_keys = 1 << 20;
    float *dq = gpu->alloc((size_t)d_kv * sizeof(float)), *dout = gpu->alloc(d_kv * sizeof(float));
    int32_t zero = 0, one = 1, *doff = dev_i(&zero, 1), *dlen = dev_i(&one, 1);
    attn_params p = {.heads = heads, .d_kv = d_kv, .row = heads * d_kv, .scale = 1.0f,
                     .max_keys = max_keys};
    gpu->attention_prefill(&p, dq, dq, dq, dout, 1, doff, dlen);
    CHECK(gpu->check(&err) == ED_ERR);
    CHECK_MSG(err, "attention_prefill");
    printf("  %-28s %s\n", "refused launch", err.msg);
    CHECK(gpu->check(&err) == ED_OK);

    gpu->matmul_wt(dq, dq, 9, NULL, dout, 1, 1, 1, 0);
    CHECK(gpu->check(&err) == ED_ERR);
    CHECK_MSG(err, "matmul_wt: unknown weight dtype 9");

    /* one record and one count per process: the CPU twin's calls count too */
    CHECK(fault_inject_configure("argmax_rows:3", &err) == ED_OK);
    test_argmax(50, 1); /* calls 1 (cpu) and 2 (gpu): run, and agree */
    float *dx = gpu->alloc(4 * sizeof(float)), pair[2];
    int32_t ban = -1, *dban = dev_i(&ban, 1);
    gpu->argmax_rows(dx, 1, 4, 0, dban, dout); /* call 3: injected */
    CHECK(gpu->check(&err) == ED_ERR);
    CHECK_MSG(err, "injected fault in argmax_rows");
    CHECK(fault_inject_configure(NULL, &err) == ED_OK);
    float x[4] = {1, 5, 2, 5};
    gpu->upload(dx, x, 4);
    gpu->argmax_rows(dx, 1, 4, 0, dban, dout); /* and the backend still works */
    gpu->download(pair, dout, 2);
    CHECK(gpu->check(&err) == ED_OK);
    CHECK(pair[0] == 5.0f && pair[1] == 1.0f);
    test_argmax(32128, 1);
    CHECK(gpu->check(&err) == ED_OK);
    gpu->free(dq), gpu->free(dout), gpu->free(doff), gpu->free(dlen), gpu->free(dx), gpu->free(dban);
}

int main(void) {
    ed_error err;
    if (cuda_backend_init(0, &err)) {
        fprintf(stderr, "test_ops: %s\n", err.msg);
        return 1;
    }
    for (int wtype = DTYPE_FP32; wtype <= DTYPE_BF16; wtype++) {
        test_gemm(1, 96, 32, 0, wtype, 1);
        test_gemm(7, 300, 128, 0, wtype, 1);
        test_gemm(64, 768, 3072, 1, wtype, 1);
        test_embed(wtype);
    }
    test_gemm(5, 64, 256, 0, DTYPE_FP16, 1e5f);
    test_gemm_class_timing();
    for (int quant = QUANT_INT8; quant <= QUANT_FP8; quant++) {
        for (int xtype = DTYPE_FP32; xtype <= DTYPE_BF16; xtype++) {
            test_gemm_wq(1, 96, 64, quant, xtype, 0);
            test_gemm_wq(16, 300, 256, quant, xtype, 1);
            test_gemm_wq(64, 768, 512, quant, xtype, 0);
        }
        test_gemm_wq(3, 50, 40, quant, DTYPE_BF16, 0); /* k % 16 != 0: one code per lane */
        test_gemm_wq(9, 2048, 768, quant, DTYPE_BF16, 1);
        test_gemm_wq(17, 4100, 4096, quant, DTYPE_BF16, 1); /* wide path, chunks of 4096 + 4 rows */
        test_gemm_wq(300, 2048, 768, quant, DTYPE_FP16, 1); /* fp8: the FP8 path, += */
        test_gemm_wq(16, 1024, 2048, quant, DTYPE_FP32, 1); /* fp32 x: the SIMT kernel */
        test_gemm_wq(2, 768, 512, quant, DTYPE_BF16, 1); /* the family's fewest rows */
        test_gemm_wq_gated(1, 300, 256, quant, DTYPE_FP16, ACT_SILU); /* SIMT, activation */
        test_gemm_wq_gated(2, 300, 256, quant, DTYPE_FP16, ACT_SILU); /* one kernel, 2 rows */
        test_gemm_wq_gated(4, 1024, 2048, quant, DTYPE_BF16, ACT_GELU_NEW); /* one kernel */
        test_gemm_wq_gated(16, 2560, 1024, quant, DTYPE_BF16, ACT_GELU); /* k split */
        /* m > 16: matmul_wq twice and the activation kernel (f % 16 != 0: widened codes, exact;
         * the FP8 path's rounding of x is test_gemm_wq's to check) */
        test_gemm_wq_gated(33, 100, 64, quant, DTYPE_FP16, ACT_SILU);
        test_embed_q(quant);
    }
    /* The FP8 path's chunks (gemm_wq.cu: at n = 16384, 1,024 rows): one of 64 or 600 rows;
     * 1,024 + 576 (both large); 1,024 + 276 (the second small) */
    test_fp8_scaled(64, 768, 512, 0, 0, 1);
    test_fp8_scaled(600, 2048, 256, 1, 1, 1);
    test_fp8_scaled(1600, 16384, 16, 0, 2, 2);
    test_fp8_scaled(1300, 16384, 16, 1, 1, 2);
    cuda_decode_gemv_set(2); /* codes on the decode GEMV family (test_ops_decode.c) */
    for (int quant = QUANT_INT8; quant <= QUANT_FP8; quant++) {
        test_gemm_wq(8, 300, 256, quant, DTYPE_FP16, 1);
        test_gemm_wq(13, 2048, 768, quant, DTYPE_BF16, 0);
        test_gemm_wq(3, 50, 40, quant, DTYPE_BF16, 1);
        /* batch 1: k split over blocks, several sets a warp */
        test_gemm_wq(1, 2048, 2048, quant, DTYPE_BF16, 0);
        test_gemm_wq(1, 2048, 5120, quant, DTYPE_FP16, 1);
        test_gemm_wq(2, 32128, 768, quant, DTYPE_BF16, 0);
        test_gemm_wq(5, 768, 776, quant, DTYPE_BF16, 0); /* k % 16 == 8: the SIMT kernel */
        test_gemm_wq_gated(1, 1024, 2048, quant, DTYPE_BF16, ACT_GELU_NEW);
        test_gemm_wq_gated(7, 300, 256, quant, DTYPE_FP16, ACT_SILU);
        test_gemm_wq_gated(3, 50, 40, quant, DTYPE_BF16, ACT_GELU_NEW); /* k % 16 != 0 */
    }
    test_decode_family(&check_count, &check_failures);
    test_norms_and_elementwise();
    test_attention();
    test_attention_tf32(10); /* plain loads (rows not 16-byte aligned) */
    test_attention_tf32(20);
    test_attention_tf32(64);
    test_attention_tf32(128);
    test_topk(1000, 8, 4);
    test_topk(32128, 32, 1); /* ties everywhere: the merge of the warps' lists */
    test_topk(300, 32, 4);   /* fewer columns than k in every warp, none in some */
    test_topk(32128, 4, 1);
    test_topk(32131, 16, 2); /* plain loads */
    test_argmax(32128, 1);
    test_argmax(32131, 2);
    test_argmax(50, 1);
    test_producers_in_wtype(DTYPE_BF16);
    test_producers_in_wtype(DTYPE_FP16);
    test_faults();
    TEST_MAIN_END("test_ops (cuda vs cpu)");
}
