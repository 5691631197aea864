#include "models/pos_table.h"

#include <math.h>

int pos_table_is_computed(const model_spec *s) { return s->pos_table != POS_TABLE_CHECKPOINT; }

static void fill_halves(int64_t rows, int64_t dim, float *out) {
    int64_t sentinel = dim / 2 + dim % 2; /* sin columns; numpy's position_enc[:, 0::2] */
    for (int64_t r = 0; r < rows; r++) {
        float *row = out + r * dim;
        for (int64_t j = 0; j < dim; j++) { /* column j of position_enc: r / 10000^(2(j/2)/dim) */
            double angle = (double)r / pow(10000.0, (double)(2 * (j / 2)) / (double)dim);
            if (j % 2 == 0) row[j / 2] = (float)sin(angle);
            else row[sentinel + j / 2] = (float)cos(angle);
        }
    }
}

static void fill_fairseq(int64_t rows, int64_t dim, int pad_row, float *out) {
    int64_t half = dim / 2;
    /* torch: exp(arange(half).float() * -emb) with emb = ln(10000) / (half - 1), all float32 */
    float step = (float)(-(log(10000.0) / (double)(half - 1)));
    for (int64_t r = 0; r < rows; r++) {
        float *row = out + r * dim;
        for (int64_t c = 0; c < half; c++) {
            float angle = (float)r * expf((float)c * step);
            row[c] = r == pad_row ? 0.0f : sinf(angle);
            row[half + c] = r == pad_row ? 0.0f : cosf(angle);
        }
        if (dim % 2) row[dim - 1] = 0.0f;
    }
}

void pos_table_fill(const model_spec *s, int64_t rows, int64_t dim, float *out) {
    if (s->pos_table == POS_TABLE_SIN_HALVES) fill_halves(rows, dim, out);
    else if (s->pos_table == POS_TABLE_FAIRSEQ) fill_fairseq(rows, dim, s->pad_id, out);
}

ed_status pos_table_check(const float *computed, const float *stored, int64_t n,
                          const char *name, ed_error *err) {
    double worst = 0.0;
    int64_t at = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)computed[i] - (double)stored[i]);
        if (!(d <= worst)) { /* NaN counts as the worst */
            worst = isnan(d) ? INFINITY : d;
            at = i;
        }
    }
    if (worst <= 1e-3) return ED_OK;
    return ed_fail(err, "tensor %s differs from the sinusoidal position table this architecture "
                        "builds (largest difference %g at element %lld): trained position "
                        "embeddings are not implemented for it", name, worst, (long long)at);
}
