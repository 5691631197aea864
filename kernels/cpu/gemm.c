#include <cblas.h>

#include "kernels/cpu/cpu_ops.h"

void cpu_matmul_wt(const float *x, const float *w, float *y, int m, int n, int k, int accumulate) {
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, k, w, k,
                accumulate ? 1.0f : 0.0f, y, n);
}
