/* Weight-only quantization (common/quant.h, docs/MODEL_FORMAT.md): the E4M3 codec against known
 * bit patterns and a brute-force nearest-code oracle; per-row int8 / fp8 scales and codes; the
 * CPU backend's matmul_wq against a double-precision reference and embed_q against the
 * codes times their scales; quantized tensors in the .h5
 * (written, read back as codes and dequantized, refused when stored otherwise or when a scale is
 * not finite and positive, a NaN row refused at conversion). */
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/dtype.h"
#include "common/quant.h"
#include "kernels/backend.h"
#include "models/h5_model.h"
#include "tests/unit/check.h"

static float frand(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void test_e4m3_codec(void) {
    static const struct { uint8_t bits; float v; } known[] = {
        {0x00, 0.0f}, {0x01, 0x1p-9f}, {0x07, 7 * 0x1p-9f}, {0x08, 0x1p-6f}, {0x38, 1.0f},
        {0x3c, 1.5f}, {0x40, 2.0f}, {0x77, 240.0f}, {0x78, 256.0f}, {0x7e, 448.0f},
        {0xb8, -1.0f}, {0xfe, -448.0f}};
    for (size_t i = 0; i < sizeof known / sizeof *known; i++) {
        CHECK(quant_e4m3_to_f32(known[i].bits) == known[i].v);
        CHECK(quant_f32_to_e4m3(known[i].v) == known[i].bits);
    }
    CHECK(isnan(quant_e4m3_to_f32(0x7f)) && isnan(quant_e4m3_to_f32(0xff)));
    CHECK(quant_f32_to_e4m3(460.0f) == 0x7e && quant_f32_to_e4m3(-1e9f) == 0xfe); /* saturate */
    CHECK(quant_f32_to_e4m3(1.0625f) == 0x38);     /* tie between 1 and 1.125: even (1) */
    CHECK(quant_f32_to_e4m3(1.1875f) == 0x3a);     /* tie between 1.125 and 1.25: even (1.25) */
    CHECK(quant_f32_to_e4m3(1.5f * 0x1p-9f) == 0x02); /* subnormal tie: even (2 * 2^-9) */
    CHECK(quant_f32_to_e4m3(1e-4f) == 0x00);
    /* every finite code round-trips */
    int trips = 1;
    for (int c = 0; c < 256; c++)
        if ((c & 0x7f) != 0x7f) trips &= quant_f32_to_e4m3(quant_e4m3_to_f32((uint8_t)c)) == c;
    CHECK(trips);
    /* the nearest code, by brute force, over values spread across every binade */
    unsigned seed = 7;
    int nearest = 1;
    for (int i = 0; i < 20000; i++) {
        float x = ldexpf(frand(&seed), (int)(i % 20) - 10) * 1.7f;
        float got = quant_e4m3_to_f32(quant_f32_to_e4m3(x)), best = INFINITY;
        for (int c = 0; c < 256; c++) {
            float v = quant_e4m3_to_f32((uint8_t)c);
            if (!isnan(v) && fabsf(v - x) < best) best = fabsf(v - x);
        }
        nearest &= fabsf(got - x) == best;
    }
    CHECK(nearest);
}

static void test_rows(void) {
    float row[6] = {0.5f, -2.54f, 1.0f, 0.0f, 2.0f, -0.01f}, s;
    uint8_t c[6];
    CHECK(quant_row_scale(QUANT_INT8, row, 6, &s) == 0 && s == 2.54f / 127.0f);
    quant_row_encode(QUANT_INT8, row, 6, s, c);
    CHECK((int8_t)c[1] == -127 && (int8_t)c[2] == 50 && (int8_t)c[3] == 0 && (int8_t)c[5] == 0);
    CHECK(quant_row_scale(QUANT_FP8, row, 6, &s) == 0 && s == 2.54f / 448.0f);
    quant_row_encode(QUANT_FP8, row, 6, s, c);
    CHECK(c[1] == 0xfe); /* the row's largest magnitude is the largest code */
    for (int i = 0; i < 6; i++) /* within E4M3's half step (1/16 relative) of the value */
        CHECK(fabsf(quant_e4m3_to_f32(c[i]) * s - row[i]) <= fabsf(row[i]) / 16 + 1e-6f);
    float zeros[3] = {0, 0, 0};
    CHECK(quant_row_scale(QUANT_INT8, zeros, 3, &s) == 0 && s == 1.0f);
    float bad[2] = {1.0f, NAN};
    CHECK(quant_row_scale(QUANT_FP8, bad, 2, &s) == -1);
    bad[1] = INFINITY;
    CHECK(quant_row_scale(QUANT_INT8, bad, 2, &s) == -1);
    CHECK(quant_from_dtype_attr("int8") == QUANT_INT8 &&
          quant_from_dtype_attr("fp8_e4m3") == QUANT_FP8 && quant_from_dtype_attr("bf16") == 0);
}

/* matmul_wq on the CPU backend equals scale[c] * sum_k round(x) * code value, in double. */
static void test_matmul(int quant, int xtype, int flags) {
    enum { M = 3, N = 5, K = 33 };
    float w[N * K], x[M * K], scale[N], y[M * N], y0[M * N];
    uint8_t q[N * K];
    unsigned seed = 11u + (unsigned)quant * 3u + (unsigned)xtype;
    for (int i = 0; i < N * K; i++) w[i] = frand(&seed) * 0.3f;
    for (int i = 0; i < M * K; i++) x[i] = frand(&seed) * 4.0f;
    for (int i = 0; i < M * N; i++) y[i] = y0[i] = frand(&seed);
    for (int r = 0; r < N; r++) {
        CHECK(quant_row_scale(quant, w + r * K, K, &scale[r]) == 0);
        quant_row_encode(quant, w + r * K, K, scale[r], q + r * K);
    }
    backend_cpu.matmul_wq(x, xtype, q, quant, scale, y, M, N, K, flags);
    ed_error err;
    CHECK(backend_cpu.check(&err) == ED_OK);
    double worst = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double sum = 0;
            for (int t = 0; t < K; t++) {
                float xv = x[i * K + t];
                if (xtype == DTYPE_BF16) xv = dtype_bf16_to_f32(dtype_f32_to_bf16(xv));
                sum += (double)xv * quant_code_value(quant, q[j * K + t]);
            }
            double want = sum * scale[j] + (flags & MATMUL_ACCUMULATE ? y0[i * N + j] : 0.0);
            double d = fabs(y[i * N + j] - want) / (fabs(want) + 1e-3);
            if (d > worst) worst = d;
        }
    if (worst > 1e-5) fprintf(stderr, "matmul_wq quant %d xtype %d flags %d: rel err %g\n", quant,
                              xtype, flags, worst);
    CHECK(worst <= 1e-5);
}

/* embed_q on the CPU backend: row ids[i] of the codes times that row's scale. */
static void test_embed(int quant) {
    enum { V = 7, D = 5, N = 4 };
    float w[V * D], scale[V], y[N * D];
    uint8_t q[V * D];
    int32_t ids[N] = {3, 0, 6, 3};
    unsigned seed = 3u + (unsigned)quant;
    for (int i = 0; i < V * D; i++) w[i] = frand(&seed);
    for (int r = 0; r < V; r++) {
        CHECK(quant_row_scale(quant, w + r * D, D, &scale[r]) == 0);
        quant_row_encode(quant, w + r * D, D, scale[r], q + r * D);
    }
    backend_cpu.embed_q(q, quant, scale, ids, N, D, y);
    ed_error err;
    CHECK(backend_cpu.check(&err) == ED_OK);
    int same = 1;
    for (int i = 0; i < N; i++)
        for (int j = 0; j < D; j++)
            same &= y[i * D + j] == quant_code_value(quant, q[ids[i] * D + j]) * scale[ids[i]];
    CHECK(same);
}

static char dir[256];

static void test_h5(int quant) {
    enum { R = 4, C = 6 };
    char path[400];
    snprintf(path, sizeof path, "%s/q%d.h5", dir, quant);
    float w[R * C];
    unsigned seed = 5;
    for (int i = 0; i < R * C; i++) w[i] = frand(&seed) * (float)(1 + i / C);
    int64_t shape[2] = {R, C};
    h5_model *f = NULL;
    ed_error err;
    CHECK(h5_model_create(&f, path, &err) == ED_OK);
    CHECK(h5_model_write_quantized(f, "m", shape, w, quant, &err) == ED_OK);
    float nan_row[R * C];
    memcpy(nan_row, w, sizeof w);
    nan_row[2 * C + 1] = NAN;
    CHECK(h5_model_write_quantized(f, "bad", shape, nan_row, quant, &err) == ED_ERR);
    CHECK_MSG(err, "tensor bad: row 2 holds a NaN");
    CHECK(h5_model_close(f, &err) == ED_OK);

    CHECK(h5_model_open(&f, path, &err) == ED_OK);
    int stored = -1;
    CHECK(h5_model_tensor_quant(f, "m", 2, shape, &stored, &err) == ED_OK && stored == quant);
    int64_t start[2] = {1, 2}, count[2] = {2, 3};
    uint8_t codes[6];
    float scales[2], deq[6];
    CHECK(h5_model_read_quantized(f, "m", shape, start, count, quant, codes, scales, &err) ==
          ED_OK);
    CHECK(h5_model_read_slice(f, "m", 2, shape, start, count, deq, &err) == ED_OK);
    for (int r = 0; r < 2; r++) {
        float s;
        uint8_t full[C];
        quant_row_scale(quant, w + (1 + r) * C, C, &s);
        quant_row_encode(quant, w + (1 + r) * C, C, s, full);
        CHECK(scales[r] == s);
        for (int j = 0; j < 3; j++) {
            CHECK(codes[r * 3 + j] == full[2 + j]);
            CHECK(deq[r * 3 + j] == quant_code_value(quant, full[2 + j]) * s);
        }
    }
    int other = quant == QUANT_INT8 ? QUANT_FP8 : QUANT_INT8;
    CHECK(h5_model_read_quantized(f, "m", shape, start, count, other, codes, scales, &err) ==
          ED_ERR);
    CHECK_MSG(err, "tensor m is stored as");
    CHECK(h5_model_close(f, &err) == ED_OK);

    /* a scale that is not positive is refused, naming the scale tensor and row */
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    hid_t ds = H5Dopen2(file, "m.scale", H5P_DEFAULT);
    float bad_scales[R] = {1, -2, 1, 1};
    CHECK(H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, bad_scales) >= 0);
    H5Dclose(ds);
    H5Fclose(file);
    CHECK(h5_model_open(&f, path, &err) == ED_OK);
    CHECK(h5_model_read_slice(f, "m", 2, shape, start, count, deq, &err) == ED_ERR);
    CHECK_MSG(err, "tensor m.scale: the scale of row 1 is -2");
    h5_model_close(f, NULL);
}

int main(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    if (check_tmpdir(dir, sizeof dir, "quant")) return 1;
    char cmd[600];
    test_e4m3_codec();
    test_rows();
    for (int quant = QUANT_INT8; quant <= QUANT_FP8; quant++) {
        test_matmul(quant, DTYPE_FP32, 0);
        test_matmul(quant, DTYPE_BF16, 0);
        test_matmul(quant, DTYPE_FP32, MATMUL_ACCUMULATE);
        test_embed(quant);
        test_h5(quant);
    }
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    TEST_MAIN_END("test_quant");
}
