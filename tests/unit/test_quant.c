/* Weight-only quantization (common/quant.h, docs/MODEL_FORMAT.md): the E4M3 codec against known
 * bit patterns and a brute-force nearest-code oracle; per-row int8 / fp8 scales and codes; the
 * CPU backend's matmul_wq against a double-precision reference and embed_q against the
 * codes times their scales; quantized tensors in the .h5
 * (written, read back as codes and dequantized, refused when stored otherwise or when a scale is
 * not finite and positive, a NaN row refused at conversion); the FP8 KV pool (kv_cache_dtype:
 * fp8): rows written by kv_scatter at their paged places with a scale per position and head, the
 * other layer untouched, a copied block equal, and attention_paged over them equal to attention
 * over the decoded keys and values in double; the CPU backend's GEMM-input statistics
 * (ENCDEC_ACT_STATS) on inputs whose E4M3 losses are known. */
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
#include "kernels/cpu/act_stats.h"
#include "models/h5_model.h"
#include "models/kv_store.h"
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

/* quant_rows over threads (rows of 1024 values: ranges of 64 rows, so a 512-row matrix takes
 * up to 8 threads) gives the bits of quant_row_scale / quant_row_encode row by row, a column
 * slice too, and the first bad row however the rows were spread. */
static void test_rows_threads(int quant) {
    enum { R = 512, C = 1024, COL0 = 100, N = 300 };
    float *w = malloc(sizeof(float) * R * C), *scales = malloc(sizeof(float) * R);
    uint8_t *codes = malloc((size_t)R * C), *slice = malloc((size_t)R * N), one[C];
    unsigned seed = 11;
    for (int i = 0; i < R * C; i++) w[i] = frand(&seed) * (float)(1 + i % 7);
    CHECK(quant_rows(quant, w, R, C, 0, C, scales, codes) == -1);
    int same = 1;
    for (int r = 0; r < R; r++) {
        float s;
        same &= quant_row_scale(quant, w + (size_t)r * C, C, &s) == 0 && s == scales[r];
        quant_row_encode(quant, w + (size_t)r * C, C, s, one);
        same &= memcmp(one, codes + (size_t)r * C, C) == 0;
    }
    CHECK(same);
    CHECK(quant_rows(quant, w, R, C, COL0, N, scales, slice) == -1);
    int slice_same = 1;
    for (int r = 0; r < R; r++)
        slice_same &= memcmp(slice + (size_t)r * N, codes + (size_t)r * C + COL0, N) == 0;
    CHECK(slice_same);
    w[(size_t)400 * C + 3] = NAN;
    w[(size_t)70 * C + 9] = INFINITY;
    CHECK(quant_rows(quant, w, R, C, 0, C, scales, codes) == 70);
    free(w), free(scales), free(codes), free(slice);
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

static void test_kv_fp8(void) {
    enum { L = 2, H = 2, DK = 4, BS = 4, ROW = H * DK, NPOS = 6 };
    kv_store *kv = NULL;
    ed_error err;
    CHECK(kv_store_create(&kv, &backend_cpu, L, H, DK, BS, DTYPE_FP8, 3, 1, &err) == ED_OK);
    if (!kv) return;
    CHECK(kv_block_bytes(L, H, DK, BS, DTYPE_FP8) == (size_t)L * 2 * BS * ROW + (size_t)L * 2 * BS * H * 4);
    kv_layout lay = kv_store_layout(kv, KV_SELF, 1), lay0 = kv_store_layout(kv, KV_SELF, 0);
    int32_t blocks[2] = {2, 0}, table_off[NPOS], pos[NPOS];
    float k[NPOS * ROW], v[NPOS * ROW];
    unsigned seed = 9;
    for (int i = 0; i < NPOS * ROW; i++) k[i] = frand(&seed) * 3.0f, v[i] = frand(&seed) * 0.01f;
    for (int i = 0; i < NPOS; i++) table_off[i] = 0, pos[i] = i;
    backend_cpu.kv_scatter(k, NPOS, &lay, 0, blocks, table_off, pos);
    backend_cpu.kv_scatter(v, NPOS, &lay, 1, blocks, table_off, pos);
    CHECK(backend_cpu.check(&err) == ED_OK);
    /* decoded[pos][row] from the layout's own addressing */
    double dk[NPOS][ROW], dv[NPOS][ROW];
    int placed = 1;
    for (int p = 0; p < NPOS; p++)
        for (int h = 0; h < H; h++) {
            size_t at = (size_t)blocks[p / BS] * lay.block_stride + (size_t)(p % BS) * ROW + h * DK;
            size_t sat = (size_t)blocks[p / BS] * lay.scale_stride + (size_t)(p % BS) * H + h;
            float want_ks, want_vs;
            uint8_t want[DK];
            quant_row_scale(QUANT_FP8, k + p * ROW + h * DK, DK, &want_ks);
            quant_row_scale(QUANT_FP8, v + p * ROW + h * DK, DK, &want_vs);
            placed &= lay.k_scale[sat] == want_ks && lay.v_scale[sat] == want_vs;
            quant_row_encode(QUANT_FP8, k + p * ROW + h * DK, DK, want_ks, want);
            for (int d = 0; d < DK; d++) {
                uint8_t ck = ((const uint8_t *)lay.k)[at + d], cv = ((const uint8_t *)lay.v)[at + d];
                placed &= ck == want[d];
                dk[p][h * DK + d] = (double)quant_e4m3_to_f32(ck) * lay.k_scale[sat];
                dv[p][h * DK + d] = (double)quant_e4m3_to_f32(cv) * lay.v_scale[sat];
            }
        }
    CHECK(placed);
    int untouched = 1; /* layer 0 of every block: never written */
    for (int b = 0; b < 3; b++)
        for (int i = 0; i < BS * ROW; i++)
            untouched &= ((const uint8_t *)lay0.k)[b * lay0.block_stride + i] == 0 &&
                         ((const uint8_t *)lay0.v)[b * lay0.block_stride + i] == 0;
    CHECK(untouched);
    kv_store_copy_block(kv, KV_SELF, 2, 1);
    CHECK(!memcmp((const uint8_t *)lay.k + lay.block_stride, (const uint8_t *)lay.k + 2 * lay.block_stride,
                  BS * ROW) &&
          !memcmp(lay.k_scale + lay.scale_stride, lay.k_scale + 2 * lay.scale_stride, BS * H * 4));
    /* one query at position NPOS - 1 over the NPOS keys, causal, no bias */
    float q[ROW], out[ROW];
    for (int i = 0; i < ROW; i++) q[i] = frand(&seed);
    attn_params ap = {.heads = H, .d_kv = DK, .row = ROW, .scale = 0.5f, .causal = 1,
                      .max_keys = NPOS, .out_type = DTYPE_FP32};
    int32_t n_k = NPOS, q_pos = NPOS - 1, off0 = 0;
    backend_cpu.attention_paged(&ap, q, out, 1, &lay, NULL, blocks, &off0, &n_k, &q_pos);
    CHECK(backend_cpu.check(&err) == ED_OK);
    double worst = 0;
    for (int h = 0; h < H; h++) {
        double sc[NPOS], mx = -1e300, sum = 0;
        for (int j = 0; j < NPOS; j++) {
            sc[j] = 0;
            for (int d = 0; d < DK; d++) sc[j] += (double)q[h * DK + d] * dk[j][h * DK + d];
            sc[j] *= 0.5;
            if (sc[j] > mx) mx = sc[j];
        }
        for (int j = 0; j < NPOS; j++) sum += sc[j] = exp(sc[j] - mx);
        for (int d = 0; d < DK; d++) {
            double o = 0;
            for (int j = 0; j < NPOS; j++) o += sc[j] / sum * dv[j][h * DK + d];
            double e = fabs(o - out[h * DK + d]) / 0.01;
            if (e > worst) worst = e;
        }
    }
    if (worst > 1e-4) fprintf(stderr, "fp8 KV attention: error %g of the values' range\n", worst);
    CHECK(worst <= 1e-4);
    kv_store_destroy(kv);
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

/* act_stats_add: row 0's scale is 1 (amax 448), so its 5e-4 rounds to zero (at most 2^-10);
 * row 1's own scale keeps all four; one scale for both rows (1) loses row 1's three smallest. */
static void test_act_stats(void) {
    const float x[2][4] = {{448.0f, 5e-4f, 1.0f, 0.0f}, {1e-3f, 5e-4f, -2e-4f, 1e-4f}};
    act_stats s = {0};
    act_stats_add(&s, x, DTYPE_FP32, 2, 4);
    CHECK(s.calls == 1 && s.rows == 2 && s.nonzero == 7 && s.largest == 448.0);
    CHECK(s.flushed_row == 1 && s.flushed_call == 4);
    const uint16_t two_bf16[2] = {0x4000, 0xc040}; /* 2, -3 */
    act_stats_add(&s, two_bf16, DTYPE_BF16, 1, 2);
    CHECK(s.calls == 2 && s.rows == 3 && s.nonzero == 9 && s.largest == 448.0);
    act_stats t = {0};
    act_stats_add(&t, two_bf16, DTYPE_BF16, 1, 2);
    CHECK(t.largest == 3.0 && t.flushed_row == 0 && t.flushed_call == 0);
}

int main(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    test_act_stats();
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
        test_rows_threads(quant);
    }
    test_kv_fp8();
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd)) return 1;
    TEST_MAIN_END("test_quant");
}
