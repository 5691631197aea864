#include "common/quant.h"

#include <math.h>
#include <string.h>

#include "common/parallel_for.h"

const char *const quant_names[] = {"none", "int8", "fp8", "auto", NULL};

const char *quant_dtype_attr(int quant) {
    return quant == QUANT_INT8 ? "int8" : quant == QUANT_FP8 ? "fp8_e4m3" : NULL;
}

int quant_from_dtype_attr(const char *attr) {
    if (!strcmp(attr, "int8")) return QUANT_INT8;
    if (!strcmp(attr, "fp8_e4m3")) return QUANT_FP8;
    return QUANT_NONE;
}

float quant_e4m3_to_f32(uint8_t bits) {
    int sign = bits >> 7, e = (bits >> 3) & 15, m = bits & 7;
    float v;
    if (e == 15 && m == 7) v = NAN;
    else if (e == 0) v = ldexpf((float)m, -9); /* subnormal: m / 8 * 2^-6 */
    else v = ldexpf((float)(8 + m), e - 10);   /* (1 + m / 8) * 2^(e - 7) */
    return sign ? -v : v;
}

uint8_t quant_f32_to_e4m3(float f) {
    uint8_t sign = signbit(f) ? 0x80 : 0;
    if (isnan(f)) return sign | 0x7f;
    float a = fabsf(f);
    if (a >= 448.0f) return sign | 0x7e; /* saturate: 448 = 1.75 * 2^8 */
    if (a < 0x1p-6f) /* subnormal steps of 2^-9; a result of 8 is 2^-6, the smallest normal */
        return sign | (uint8_t)nearbyintf(a * 512.0f);
    int e;
    frexpf(a, &e); /* a in [2^(e-1), 2^e) */
    float step = ldexpf(1.0f, e - 4);         /* 3 mantissa bits */
    float q = nearbyintf(a / step) * step;    /* exact division; ties to even */
    if (q >= 448.0f) return sign | 0x7e;
    frexpf(q, &e); /* q may have rounded up to 2^e */
    int mant = (int)(ldexpf(q, 4 - e)) - 8;   /* q / 2^(e-1) * 8 - 8 */
    return sign | (uint8_t)((e - 1 + 7) << 3) | (uint8_t)mant;
}

int quant_row_scale(int quant, const float *row, size_t n, float *scale) {
    float amax = 0.0f;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(row[i])) return -1;
        if (fabsf(row[i]) > amax) amax = fabsf(row[i]);
    }
    *scale = amax == 0.0f ? 1.0f : amax / (quant == QUANT_INT8 ? 127.0f : 448.0f);
    return 0;
}

typedef struct rows_job {
    int quant;
    const float *data;
    size_t cols, col0, n;
    float *scales;
    uint8_t *codes;
    long bad[PARALLEL_FOR_MAX_THREADS]; /* per range: its first bad row, or -1 */
} rows_job;

static void quant_range(void *vjob, size_t range, size_t begin, size_t end) {
    rows_job *j = vjob;
    for (size_t r = begin; r < end; r++) {
        const float *row = j->data + r * j->cols;
        if (quant_row_scale(j->quant, row, j->cols, &j->scales[r])) {
            j->bad[range] = (long)r;
            return;
        }
        quant_row_encode(j->quant, row + j->col0, j->n, j->scales[r], j->codes + r * j->n);
    }
}

long quant_rows(int quant, const float *data, size_t rows, size_t cols, size_t col0, size_t n,
                float *scales, uint8_t *codes) {
    rows_job j = {.quant = quant, .data = data, .cols = cols, .col0 = col0, .n = n,
                  .scales = scales, .codes = codes};
    for (size_t t = 0; t < PARALLEL_FOR_MAX_THREADS; t++) j.bad[t] = -1;
    /* threads for ranges of at least 64K values: each row is quantized alone, so the codes and
     * scales are the same at any thread count */
    parallel_for(rows, cols >= 65536 ? 1 : 65536 / (cols ? cols : 1), &j, quant_range);
    for (size_t t = 0; t < PARALLEL_FOR_MAX_THREADS; t++) /* ranges in row order */
        if (j.bad[t] >= 0) return j.bad[t];
    return -1;
}

void quant_row_encode(int quant, const float *row, size_t n, float scale, uint8_t *codes) {
    for (size_t i = 0; i < n; i++) {
        float v = row[i] / scale;
        if (quant == QUANT_INT8) {
            float r = nearbyintf(v);
            r = r > 127.0f ? 127.0f : r < -127.0f ? -127.0f : r;
            codes[i] = (uint8_t)(int8_t)r;
        } else {
            codes[i] = quant_f32_to_e4m3(v);
        }
    }
}
