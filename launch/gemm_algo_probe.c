/* gemm_algo_probe: how far cuBLASLt's first heuristic choice is from the best of its first
 * CANDIDATES for the decoder's GEMM shapes, timed as a decoder step sees them (weights streamed
 * from memory: every timed run follows a write over twice the L2 cache). The shapes are those of
 * kernels/cuda/gemm.cu's matmul_wt: y[m, n] = x[m, k] w[n, k]^T, w and x bf16, y fp32, fp32
 * accumulation. GPU only.
 *   gemm_algo_probe [--split-k] [N:K ...]   (default: t5-base's and flan-t5-xl's decoder shapes)
 * Prints per shape and m in {1, 32, 64, 128, 256}: the first candidate's median time, the best
 * candidate's, and the bytes each reads and writes over that time; with --split-k also the best
 * of every candidate re-run with its K split 1-16 ways. */
#include <cublas_v2.h>
#include <cublasLt.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { CANDIDATES = 16, RUNS = 15 };

#define CHECK(call)                                                                     \
    do {                                                                                \
        if ((call) != 0) {                                                              \
            fprintf(stderr, "gemm_algo_probe: %s failed (%s:%d)\n", #call, __FILE__,     \
                    __LINE__);                                                          \
            exit(1);                                                                    \
        }                                                                               \
    } while (0)

typedef struct probe {
    cublasLtHandle_t lt;
    cudaStream_t stream;
    cudaEvent_t t0, t1;
    void *workspace, *flush, *w, *x;
    float *y;
    size_t workspace_bytes, flush_bytes;
    int sweep_split_k; /* --split-k: also sweep each candidate's K split */
    cublasHandle_t blas; /* also timed: cublasGemmEx's own choice for the same product */
    int split_configs_run; /* split (> 1) configurations that ran, per shape */
} probe;

static int by_value(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

/* One product y = w x^T of a shape: through cuBLASLt with a given algorithm (lt_algo set), or
 * through cublasGemmEx's own choice (lt_algo NULL; n, k, m give the shape). */
typedef struct gemm_job {
    cublasLtMatmulDesc_t d;
    cublasLtMatrixLayout_t a, b, c;
    const cublasLtMatmulAlgo_t *lt_algo;
    int n, k, m;
} gemm_job;

static int run_job(probe *p, const gemm_job *j) {
    float alpha = 1.0f, beta = 0.0f;
    if (j->lt_algo)
        return cublasLtMatmul(p->lt, j->d, &alpha, p->w, j->a, p->x, j->b, &beta, p->y, j->c, p->y,
                              j->c, j->lt_algo, p->workspace, p->workspace_bytes,
                              p->stream) == CUBLAS_STATUS_SUCCESS;
    return cublasGemmEx(p->blas, CUBLAS_OP_T, CUBLAS_OP_N, j->n, j->m, j->k, &alpha, p->w,
                        CUDA_R_16BF, j->k, p->x, CUDA_R_16BF, j->k, &beta, p->y, CUDA_R_32F, j->n,
                        CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) == CUBLAS_STATUS_SUCCESS;
}

/* Median microseconds of RUNS runs of the job (after one warm-up), each after the L2 flush; a
 * negative value when it fails to run. */
static float time_job(probe *p, const gemm_job *j) {
    float t[RUNS];
    for (int r = -1; r < RUNS; r++) {
        CHECK(cudaMemsetAsync(p->flush, r & 0xff, p->flush_bytes, p->stream));
        CHECK(cudaEventRecord(p->t0, p->stream));
        if (!run_job(p, j)) return -1.0f;
        CHECK(cudaEventRecord(p->t1, p->stream));
        CHECK(cudaEventSynchronize(p->t1));
        if (r >= 0) CHECK(cudaEventElapsedTime(&t[r], p->t0, p->t1));
    }
    qsort(t, RUNS, sizeof(float), by_value);
    return 1000.0f * t[RUNS / 2];
}

static float time_algo(probe *p, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t a,
                       cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                       const cublasLtMatmulAlgo_t *algo) {
    gemm_job j = {d, a, b, c, algo, 0, 0, 0};
    return time_job(p, &j);
}

/* The fastest of the first candidates each re-run with its K split in SPLITS ways under each
 * reduction scheme it accepts (cublasLtMatmulAlgoCheck); microseconds, and the winner's
 * candidate index, split and scheme through the pointers. */
static float sweep_split_k(probe *p, cublasLtMatmulDesc_t d, cublasLtMatrixLayout_t a,
                           cublasLtMatrixLayout_t b, cublasLtMatrixLayout_t c,
                           const cublasLtMatmulHeuristicResult_t *res, int found, int *cand,
                           int *split, int *scheme) {
    static const int32_t splits[] = {1, 2, 3, 4, 6, 8, 12, 16};
    static const uint32_t schemes[] = {CUBLASLT_REDUCTION_SCHEME_INPLACE,
                                       CUBLASLT_REDUCTION_SCHEME_COMPUTE_TYPE,
                                       CUBLASLT_REDUCTION_SCHEME_OUTPUT_TYPE};
    float best = -1.0f;
    for (int i = 0; i < found; i++) {
        if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
        for (int s = 0; s < (int)(sizeof splits / sizeof *splits); s++)
            for (int r = 0; r < (int)(sizeof schemes / sizeof *schemes); r++) {
                cublasLtMatmulAlgo_t algo = res[i].algo;
                uint32_t sch = splits[s] == 1 ? CUBLASLT_REDUCTION_SCHEME_NONE : schemes[r];
                if (splits[s] == 1 && r) continue;
                cublasLtMatmulHeuristicResult_t check;
                if (cublasLtMatmulAlgoConfigSetAttribute(&algo, CUBLASLT_ALGO_CONFIG_SPLITK_NUM,
                                                         &splits[s], sizeof splits[s]) ||
                    cublasLtMatmulAlgoConfigSetAttribute(
                        &algo, CUBLASLT_ALGO_CONFIG_REDUCTION_SCHEME, &sch, sizeof sch) ||
                    cublasLtMatmulAlgoCheck(p->lt, d, a, b, c, c, &algo, &check) ||
                    check.workspaceSize > p->workspace_bytes)
                    continue;
                float us = time_algo(p, d, a, b, c, &algo);
                if (us >= 0.0f && splits[s] > 1) p->split_configs_run++;
                if (us >= 0.0f && (best < 0.0f || us < best))
                    best = us, *cand = i, *split = splits[s], *scheme = (int)sch;
            }
    }
    return best;
}

/* Median microseconds of cublasGemmEx (its default algorithm choice) for the same product. */
static float time_gemm_ex(probe *p, int n, int k, int m) {
    gemm_job j = {NULL, NULL, NULL, NULL, NULL, n, k, m};
    return time_job(p, &j);
}

static void probe_shape(probe *p, int n, int k, int m) {
    cublasLtMatmulDesc_t d;
    cublasLtMatrixLayout_t a, b, c;
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    CHECK(cublasLtMatmulDescCreate(&d, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    CHECK(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    CHECK(cublasLtMatmulDescSetAttribute(d, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    CHECK(cublasLtMatrixLayoutCreate(&a, CUDA_R_16BF, k, n, k));
    CHECK(cublasLtMatrixLayoutCreate(&b, CUDA_R_16BF, k, m, k));
    CHECK(cublasLtMatrixLayoutCreate(&c, CUDA_R_32F, n, m, n));
    cublasLtMatmulPreference_t pref;
    CHECK(cublasLtMatmulPreferenceCreate(&pref));
    CHECK(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                               &p->workspace_bytes, sizeof p->workspace_bytes));
    cublasLtMatmulHeuristicResult_t res[CANDIDATES];
    int found = 0;
    CHECK(cublasLtMatmulAlgoGetHeuristic(p->lt, d, a, b, c, c, pref, CANDIDATES, res, &found));
    float first = -1.0f, best = -1.0f;
    int best_i = -1;
    for (int i = 0; i < found; i++) {
        if (res[i].state != CUBLAS_STATUS_SUCCESS) continue;
        float us = time_algo(p, d, a, b, c, &res[i].algo);
        if (i == 0) first = us;
        if (us >= 0.0f && (best < 0.0f || us < best)) best = us, best_i = i;
    }
    double bytes = 2.0 * n * k + 2.0 * m * k + 4.0 * m * n;
    if (p->sweep_split_k && best_i >= 0) {
        int split = 0, scheme = 0, cand = -1;
        p->split_configs_run = 0;
        float swept = sweep_split_k(p, d, a, b, c, res, found, &cand, &split, &scheme);
        printf("n=%5d k=%5d m=%3d split-k sweep: best %8.2f us (%5.0f GB/s) candidate #%d "
               "split %d scheme %d (%d split configurations ran)\n", n, k, m, swept,
               bytes / swept / 1e3, cand, split, scheme, p->split_configs_run);
    }
    float ex = time_gemm_ex(p, n, k, m);
    printf("n=%5d k=%5d m=%3d candidates=%2d first %8.2f us (%5.0f GB/s)  best #%d %8.2f us "
           "(%5.0f GB/s)  cublasGemmEx %8.2f us (%5.0f GB/s)\n", n, k, m, found, first,
           bytes / first / 1e3, best_i, best, bytes / best / 1e3, ex, bytes / ex / 1e3);
    cublasLtMatmulPreferenceDestroy(pref);
    cublasLtMatrixLayoutDestroy(a);
    cublasLtMatrixLayoutDestroy(b);
    cublasLtMatrixLayoutDestroy(c);
    cublasLtMatmulDescDestroy(d);
}

int main(int argc, char **argv) {
    /* Decoder shapes (N:K): t5-base joint QKV, attention output, FFN in and out, LM head; the
     * same for flan-t5-xl (FFN in: both gated inputs in one GEMM). */
    static const char *defaults[] = {"2304:768", "768:768", "3072:768", "768:3072", "32128:768",
                                     "6144:2048", "2048:2048", "10240:2048", "2048:5120",
                                     "32128:2048"};
    int sweep = argc > 1 && !strcmp(argv[1], "--split-k");
    argc -= sweep, argv += sweep;
    const char **shapes = argc > 1 ? (const char **)argv + 1 : defaults;
    int n_shapes = argc > 1 ? argc - 1 : (int)(sizeof defaults / sizeof *defaults);
    static const int ms[] = {1, 32, 64, 128, 256};
    int max_n = 0, max_k = 0;
    int *ns = malloc(n_shapes * sizeof(int)), *ks = malloc(n_shapes * sizeof(int)); /* N, K */
    if (!ns || !ks) return 1;
    for (int s = 0; s < n_shapes; s++) {
        if (sscanf(shapes[s], "%d:%d", &ns[s], &ks[s]) != 2 || ns[s] <= 0 || ks[s] <= 0) {
            fprintf(stderr, "gemm_algo_probe: shape '%s' is not N:K\n", shapes[s]);
            return 2;
        }
        if (ns[s] > max_n) max_n = ns[s];
        if (ks[s] > max_k) max_k = ks[s];
    }
    probe p = {.workspace_bytes = 32u << 20, .sweep_split_k = sweep};
    int dev = 0, l2 = 0;
    CHECK(cudaGetDevice(&dev));
    CHECK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, dev));
    p.flush_bytes = 2 * (size_t)l2;
    CHECK(cublasLtCreate(&p.lt));
    CHECK(cudaStreamCreate(&p.stream));
    CHECK(cublasCreate(&p.blas));
    CHECK(cublasSetStream(p.blas, p.stream));
    CHECK(cudaEventCreate(&p.t0));
    CHECK(cudaEventCreate(&p.t1));
    CHECK(cudaMalloc(&p.workspace, p.workspace_bytes));
    CHECK(cudaMalloc(&p.flush, p.flush_bytes));
    CHECK(cudaMalloc(&p.w, (size_t)max_n * max_k * 2));
    CHECK(cudaMalloc(&p.x, (size_t)256 * max_k * 2));
    CHECK(cudaMalloc((void **)&p.y, (size_t)256 * max_n * 4));
    CHECK(cudaMemset(p.w, 0, (size_t)max_n * max_k * 2));
    CHECK(cudaMemset(p.x, 0, (size_t)256 * max_k * 2));
    for (int s = 0; s < n_shapes; s++)
        for (int i = 0; i < (int)(sizeof ms / sizeof *ms); i++)
            probe_shape(&p, ns[s], ks[s], ms[i]);
    free(ns), free(ks);
    return 0;
}
