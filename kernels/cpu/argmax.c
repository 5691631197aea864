#include <math.h>
#include <stdint.h>

#include "kernels/cpu/cpu_ops.h"
#include "kernels/fault.h"

void cpu_argmax_rows(const float *x, int rows, int n, int index_base, const int32_t *ban,
                     float *out) {
    if (fault_op_begin("argmax_rows")) return;
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * n;
        int skip = ban[r] - index_base, best = -1, nan_seen = 0;
        for (int i = 0; i < n; i++) {
            if (i == skip) continue;
            if (isnan(row[i])) nan_seen = 1;
            else if (rank_pair_before(row[i], i, best < 0 ? 0.0f : row[best], best)) best = i;
        }
        out[2 * r] = nan_seen ? NAN : best < 0 ? -INFINITY : row[best];
        out[2 * r + 1] = nan_seen ? -2.0f : best < 0 ? -1.0f : (float)(best + index_base);
    }
}

void cpu_topk_rows(const float *x, int rows, int n, int index_base, const int32_t *ban, int k,
                   float *out) {
    if (fault_op_begin("topk_rows")) return;
    if (k < 1) {
        fault_record_set("topk_rows", "k %d, expected at least 1", k);
        return;
    }
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * n;
        float *o = out + (size_t)r * (2 + 2 * k);
        int skip = ban[r] - index_base;
        float mx = -INFINITY;
        int nan_seen = 0;
        for (int i = 0; i < n; i++) {
            if (row[i] > mx) mx = row[i];
            if (i != skip && isnan(row[i])) nan_seen = 1;
        }
        double sum = 0.0;
        for (int i = 0; i < n; i++)
            if (row[i] > -INFINITY) sum += exp((double)(row[i] - mx));
        o[0] = nan_seen ? NAN : mx, o[1] = (float)sum;
        /* k rounds: the best (value, column) ranking after the previous pick */
        float pv = 0.0f;
        int pi = -1;
        for (int j = 0; j < k; j++) {
            int best = -1;
            for (int i = 0; i < n; i++) {
                float v = row[i];
                if (i == skip || isnan(v) || (pi >= 0 && !rank_pair_before(pv, pi, v, i))) continue;
                if (rank_pair_before(v, i, best < 0 ? 0.0f : row[best], best)) best = i;
            }
            o[2 + 2 * j] = best < 0 ? -INFINITY : row[best];
            o[3 + 2 * j] = best < 0 ? -1.0f : (float)(best + index_base);
            if (best < 0) pi = INT32_MAX, pv = -INFINITY;
            else pi = best, pv = row[best];
        }
    }
}
