// y[m, n] = x[m, k] @ w[n, k]^T (+ y), fp32, with cuBLASLt on the backend's stream.
// Row-major y is column-major y^T = w x^T: A = w viewed column-major [k, n] with op T,
// B = x viewed column-major [k, m], C = y^T [n, m]. Algorithms come from the heuristic once per
// shape and are cached.
#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/cuda/cuda_ops.h"

#define LT_CHECK(call)                                                                     \
    do {                                                                                   \
        cublasStatus_t s_ = (call);                                                        \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                 \
            fprintf(stderr, "[encdec_tp cuda] %s failed: status %d (%s:%d)\n", #call,      \
                    (int)s_, __FILE__, __LINE__);                                          \
            abort();                                                                       \
        }                                                                                  \
    } while (0)

static cublasLtHandle_t g_lt;
static void *g_workspace;
static const size_t WORKSPACE_BYTES = 32u << 20;

struct plan_entry {
    int m, n, k;
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, c;
    cublasLtMatmulAlgo_t algo;
};
static plan_entry g_plans[256];
static int g_n_plans;

extern "C" void cuda_gemm_init(void) {
    LT_CHECK(cublasLtCreate(&g_lt));
    if (cudaMalloc(&g_workspace, WORKSPACE_BYTES) != cudaSuccess) {
        fprintf(stderr, "[encdec_tp cuda] cannot allocate the cuBLASLt workspace\n");
        abort();
    }
}

static const plan_entry *plan_for(int m, int n, int k) {
    for (int i = 0; i < g_n_plans; i++)
        if (g_plans[i].m == m && g_plans[i].n == n && g_plans[i].k == k) return &g_plans[i];
    plan_entry *p = &g_plans[g_n_plans < 256 ? g_n_plans++ : 255];
    p->m = m, p->n = n, p->k = k;
    /* Exact fp32 (no TF32) keeps the GPU within 1e-3 of Hugging Face's fp32. */
    LT_CHECK(cublasLtMatmulDescCreate(&p->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    LT_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT_CHECK(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    LT_CHECK(cublasLtMatrixLayoutCreate(&p->a, CUDA_R_32F, k, n, k));
    LT_CHECK(cublasLtMatrixLayoutCreate(&p->b, CUDA_R_32F, k, m, k));
    LT_CHECK(cublasLtMatrixLayoutCreate(&p->c, CUDA_R_32F, n, m, n));
    cublasLtMatmulPreference_t pref;
    LT_CHECK(cublasLtMatmulPreferenceCreate(&pref));
    LT_CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                  &WORKSPACE_BYTES, sizeof WORKSPACE_BYTES));
    cublasLtMatmulHeuristicResult_t res;
    int found = 0;
    LT_CHECK(cublasLtMatmulAlgoGetHeuristic(g_lt, p->desc, p->a, p->b, p->c, p->c, pref, 1, &res,
                                            &found));
    cublasLtMatmulPreferenceDestroy(pref);
    if (!found) {
        fprintf(stderr, "[encdec_tp cuda] no cuBLASLt algorithm for %dx%dx%d\n", m, n, k);
        abort();
    }
    p->algo = res.algo;
    return p;
}

extern "C" void cuda_matmul_wt(const float *x, const float *w, float *y, int m, int n, int k,
                               int accumulate) {
    if (m == 0 || n == 0) return;
    const plan_entry *p = plan_for(m, n, k);
    float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    LT_CHECK(cublasLtMatmul(g_lt, p->desc, &alpha, w, p->a, x, p->b, &beta, y, p->c, y, p->c,
                            &p->algo, g_workspace, WORKSPACE_BYTES,
                            (cudaStream_t)cuda_backend_stream()));
}
