#include <math.h>

#include "kernels/cpu/cpu_ops.h"

void cpu_argmax_rows(const float *x, int rows, int n, int index_base, const int32_t *ban,
                     float *out) {
    for (int r = 0; r < rows; r++) {
        const float *row = x + (size_t)r * n;
        int skip = ban[r] - index_base, best = -1;
        for (int i = 0; i < n; i++)
            if (i != skip && !isnan(row[i]) && (best < 0 || row[i] > row[best])) best = i;
        out[2 * r] = best < 0 ? -INFINITY : row[best];
        out[2 * r + 1] = best < 0 ? -1.0f : (float)(best + index_base);
    }
}
