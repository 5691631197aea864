#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/cpu/cpu_ops.h"

void cpu_require_fp32(int wtype, const char *op) {
    if (wtype == DTYPE_FP32) return;
    /* config_validate refuses other dtypes with the cpu backend; reaching this is a bug. */
    fprintf(stderr, "[encdec_tp cpu] %s: weights in %s, the cpu backend takes fp32 only\n", op,
            dtype_name(wtype));
    abort();
}

void cpu_matmul_wt(const float *x, const void *w, int wtype, float *y, int m, int n, int k,
                   int accumulate) {
    cpu_require_fp32(wtype, "matmul_wt");
    if (m == 0 || n == 0) return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, n, k, 1.0f, x, k, (const float *)w, k,
                accumulate ? 1.0f : 0.0f, y, n);
}
