// y[m, n] = x[m, k] @ w[n, k]^T (+ y) with cuBLASLt on the backend's stream; x and y fp32, w in
// the weight dtype. Row-major y is column-major y^T = w x^T: A = w viewed column-major [k, n]
// with op T, B = x viewed column-major [k, m], C = y^T [n, m].
// fp32 weights: exact fp32 compute (no TF32), which keeps the GPU within 1e-3 of Hugging Face's
// fp32. fp16/bf16 weights: x is first rounded to the weight dtype into a scratch buffer (fp16
// saturating, half_types.cuh) unless its producer wrote it so (MATMUL_X_IN_WTYPE), then a
// tensor-core GEMM with fp32 accumulation writes fp32 y (or, MATMUL_RELU_TO_BF16, bf16
// max(0, y) through cuBLASLt's ReLU epilogue: the FFN activation without a kernel of its own).
// Algorithms come from the heuristic once per (shape, dtype, epilogue) and are cached; for large
// shapes (m >= TUNE_MIN_M, e.g. encoder batches) the heuristic's first TUNE_CANDIDATES are timed
// on the first real call and the fastest is kept (the heuristic's first guess is not always the
// fastest for these shapes), once per class of shapes (m up to the next power of two: later
// shapes of the class, of 512 rows or more too, reuse the algorithm where cuBLASLt accepts it).
// Timing picks the algorithm, so two runs may pick differently and differ in the last bits of
// large batches' results.
// cuda_matmul_fp8 (matmul_wq's large-m path for fp8 codes, gemm_wq.cu) multiplies E4M3 codes
// of x and w on FP8 tensor cores with the same plans into an fp32 product, unscaled: the rows'
// scales are the caller's. cuda_matmul_fp8_scaled does the same with both rows' scales applied
// by cuBLASLt as outer vectors (CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F, cuBLAS 12.9 on),
// straight into y (+=: beta 1): one call where the other takes our scale kernel after it. Its
// plans are asked for with device scale pointers already set on the descriptor (without them
// an H100's cuBLASLt offered no algorithm; with them one, docs/PERFORMANCE.md 2026-12-07).
#include <cublasLt.h>
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/half_types.cuh"
#include "kernels/cuda/pdl.cuh"

/* A cuBLASLt call of matmul_wt: on failure records "matmul_wt: <call>: status <s>" and jumps
 * to the enclosing function's `fail` label. */
#define LT_TRY(call)                                                                       \
    do {                                                                                   \
        cublasStatus_t s_ = (call);                                                        \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                 \
            fault_record_set("matmul_wt", "%s: status %d", #call, (int)s_);                \
            goto fail;                                                                     \
        }                                                                                  \
    } while (0)

#define STREAM ((cudaStream_t)cuda_backend_stream())

static cublasLtHandle_t g_lt;
static void *g_workspace;
static const size_t WORKSPACE_BYTES = 32u << 20;
static void *g_xconv;       /* x rounded to the weight dtype: [m, k] 16-bit values */
static size_t g_xconv_cap;  /* elements */
/* What g_xconv holds: the rounding of src[n] to wtype (src NULL: nothing). */
static struct { const float *src; size_t n; int wtype; } g_xconv_of;

enum { TUNE_CANDIDATES = 8, TUNE_MIN_M = 512, TUNE_RUNS = 3 };
/* What a plan multiplies: wtype operands into fp32 y; the same into bf16 max(0, y)
 * (MATMUL_RELU_TO_BF16: cuBLASLt's ReLU epilogue); E4M3 codes on both sides into fp32 y
 * (cuda_matmul_fp8); the same with both operands' row scales (cuda_matmul_fp8_scaled). */
enum { FORM_PLAIN = 0, FORM_RELU_BF16 = 1, FORM_FP8 = 2, FORM_FP8_SCALED = 3 };
#if CUBLAS_VERSION >= 120900
#define HAVE_OUTER_VEC_SCALES 1
#else
#define HAVE_OUTER_VEC_SCALES 0
#endif
static char g_fp8_why[96]; /* the last FP8 plan's heuristic answer (cuda_fp8_gemm_why) */

struct plan_entry {
    int m, n, k, wtype, form; /* form: FORM_PLAIN ... FORM_FP8_SCALED (above) */
    cublasLtMatmulDesc_t desc;
    cublasLtMatrixLayout_t a, b, c;
    cublasLtMatmulAlgo_t algo;                   /* the one used */
    cublasLtMatmulAlgo_t cand[TUNE_CANDIDATES];  /* the heuristic's, best guess first */
    int n_cand, tuned;                           /* tuned: algo is final */
};
enum { MAX_PLANS = 1024 };
static plan_entry g_plans[MAX_PLANS];
static int g_n_plans;

/* The algorithm timed for a class of large shapes: m rounded up to a power of two, at least
 * TUNE_MIN_M (a server's encoder batches have a new m almost every time; timing each would stall
 * the stream for milliseconds), the same n, k, dtype and epilogue. A new plan of the class with
 * m >= TUNE_MIN_M takes it when cuBLASLt accepts it for the plan's exact shape, and is not timed
 * again; smaller plans keep the heuristic's choice. */
struct tuned_class {
    int m_class, n, k, wtype, form;
    cublasLtMatmulAlgo_t algo;
};
enum { MAX_TUNED = 256 };
static tuned_class g_tuned[MAX_TUNED];
static int g_n_tuned;
static long g_n_timed, g_n_adopted; /* plans timed (tune), plans that took a class's algorithm */

/* m's class: m rounded up to a power of two; 0 (no class) below TUNE_MIN_M, where plans are
 * never timed: a decode step's GEMM once took the algorithm timed for an encoder pass of 512 rows
 * of the same n and k, which made every decode step slower (flan-t5-xl 4.5 ms against 4.0 after
 * the server's warm-up). */
static int m_class_of(int m) {
    if (m < TUNE_MIN_M) return 0;
    int c = TUNE_MIN_M;
    while (c < m && c < (1 << 30)) c <<= 1;
    return c;
}

/* The timed algorithm of p's class; NULL if none (or p has no class). */
static tuned_class *tuned_for(const plan_entry *p) {
    const int mc = m_class_of(p->m);
    if (!mc) return NULL;
    for (int i = 0; i < g_n_tuned; i++) {
        tuned_class *t = &g_tuned[i];
        if (t->m_class == mc && t->n == p->n && t->k == p->k && t->wtype == p->wtype &&
            t->form == p->form)
            return t;
    }
    return NULL;
}

/* A plan of a class already timed takes the class's algorithm when it is valid for this shape
 * (then it needs no heuristic query: that query costs the host more than the GEMM of a small
 * encoder pass, and a server's passes bring a new m almost every time). 1 if adopted. */
static int adopt_tuned(plan_entry *p) {
    const tuned_class *t = p->tuned ? NULL : tuned_for(p);
    if (!t) return 0;
    cublasLtMatmulHeuristicResult_t check;
    if (cublasLtMatmulAlgoCheck(g_lt, p->desc, p->a, p->b, p->c, p->c, &t->algo, &check) !=
            CUBLAS_STATUS_SUCCESS ||
        check.workspaceSize > WORKSPACE_BYTES)
        return 0;
    p->algo = p->cand[0] = t->algo;
    p->n_cand = 1;
    p->tuned = 1;
    g_n_adopted++;
    return 1;
}

static void remember_tuned(const plan_entry *p) {
    if (g_n_tuned == MAX_TUNED || !m_class_of(p->m) || tuned_for(p)) return;
    g_tuned[g_n_tuned++] = tuned_class{m_class_of(p->m), p->n, p->k, p->wtype, p->form, p->algo};
}

extern "C" ed_status cuda_gemm_init(ed_error *err) {
    cublasStatus_t s = cublasLtCreate(&g_lt);
    if (s != CUBLAS_STATUS_SUCCESS) return ed_fail(err, "cuda: cublasLtCreate: status %d", (int)s);
    if (cudaMalloc(&g_workspace, WORKSPACE_BYTES) != cudaSuccess) {
        cudaGetLastError();
        return ed_fail(err, "cuda: cannot allocate the cuBLASLt workspace (%zu bytes)",
                       WORKSPACE_BYTES);
    }
    return ED_OK;
}

/* Destroys what a plan holds (NULL members skipped). */
static void plan_release(plan_entry *p) {
    if (p->desc) cublasLtMatmulDescDestroy(p->desc);
    if (p->a) cublasLtMatrixLayoutDestroy(p->a);
    if (p->b) cublasLtMatrixLayoutDestroy(p->b);
    if (p->c) cublasLtMatrixLayoutDestroy(p->c);
}

static cudaDataType_t cuda_type(int wtype) {
    return wtype == DTYPE_BF16 ? CUDA_R_16BF : wtype == DTYPE_FP16 ? CUDA_R_16F : CUDA_R_32F;
}

/* The scale pointers of a FORM_FP8_SCALED descriptor: A's (the weights' rows) and B's (x's
 * rows). They belong to the call that sets them: cuBLASLt reads them as the call is enqueued (a
 * recorded graph keeps each call's own). 0 if cuBLASLt takes them. */
static int set_scale_pointers(cublasLtMatmulDesc_t desc, const void *a_scale,
                              const void *b_scale) {
    return cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_POINTER, &a_scale,
                                          sizeof a_scale) != CUBLAS_STATUS_SUCCESS ||
           cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_POINTER, &b_scale,
                                          sizeof b_scale) != CUBLAS_STATUS_SUCCESS;
}

/* FORM_FP8_SCALED's descriptor: both scale modes outer vectors, the pointers set to a device
 * buffer (the heuristic offers nothing without them; each call sets its own). 0 if cuBLASLt
 * takes the attributes. */
static int set_outer_scales(cublasLtMatmulDesc_t desc) {
#if HAVE_OUTER_VEC_SCALES
    const int32_t mode = CUBLASLT_MATMUL_MATRIX_SCALE_OUTER_VEC_32F;
    return cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_A_SCALE_MODE, &mode,
                                          sizeof mode) != CUBLAS_STATUS_SUCCESS ||
           cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_B_SCALE_MODE, &mode,
                                          sizeof mode) != CUBLAS_STATUS_SUCCESS ||
           set_scale_pointers(desc, g_workspace, g_workspace);
#else
    (void)desc;
    return 1;
#endif
}

/* The cached plan of a shape; NULL (a fault recorded) when cuBLASLt refuses it. FORM_FP8 and
 * FORM_FP8_SCALED plans (wtype unused) that cuBLASLt has no algorithm for are kept with n_cand 0
 * and no fault: their caller takes another path. */
static plan_entry *plan_for(int m, int n, int k, int wtype, int form) {
    const int fp8 = form == FORM_FP8 || form == FORM_FP8_SCALED;
    if (fp8) wtype = DTYPE_FP32; /* one key for the codes' plans */
    for (int i = 0; i < g_n_plans; i++) {
        plan_entry *p = &g_plans[i];
        if (p->m == m && p->n == n && p->k == k && p->wtype == wtype && p->form == form) return p;
    }
    if (g_n_plans == MAX_PLANS) { /* many distinct batch sizes: start the cache over */
        for (int i = 0; i < g_n_plans; i++) plan_release(&g_plans[i]);
        g_n_plans = 0;
    }
    plan_entry *p = &g_plans[g_n_plans];
    cublasLtMatmulPreference_t pref = NULL;
    *p = plan_entry{};
    p->m = m, p->n = n, p->k = k, p->wtype = wtype, p->form = form;
    cudaDataType_t in = fp8 ? CUDA_R_8F_E4M3 : cuda_type(wtype);
    cublasOperation_t ta = CUBLAS_OP_T, tb = CUBLAS_OP_N;
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_RELU;
    cublasLtMatmulHeuristicResult_t res[TUNE_CANDIDATES];
    int found = 0, want = m >= TUNE_MIN_M ? TUNE_CANDIDATES : 1;
    LT_TRY(cublasLtMatmulDescCreate(&p->desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSA, &ta, sizeof ta));
    LT_TRY(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_TRANSB, &tb, sizeof tb));
    LT_TRY(cublasLtMatrixLayoutCreate(&p->a, in, k, n, k));
    LT_TRY(cublasLtMatrixLayoutCreate(&p->b, in, k, m, k));
    LT_TRY(cublasLtMatrixLayoutCreate(&p->c, form == FORM_RELU_BF16 ? CUDA_R_16BF : CUDA_R_32F, n,
                                      m, n));
    if (form == FORM_RELU_BF16)
        LT_TRY(cublasLtMatmulDescSetAttribute(p->desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epi,
                                              sizeof epi));
    if (form == FORM_FP8_SCALED && set_outer_scales(p->desc)) {
        p->n_cand = 0; /* this cuBLAS has no outer-vector scales: the caller's other path */
        g_n_plans++;
        return p;
    }
    if (adopt_tuned(p)) {
        g_n_plans++;
        return p;
    }
    LT_TRY(cublasLtMatmulPreferenceCreate(&pref));
    LT_TRY(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                &WORKSPACE_BYTES, sizeof WORKSPACE_BYTES));
    if (fp8) { /* weights sit at 64-byte offsets, row chunks of y at 16 */
        const uint32_t align = 16;
        LT_TRY(cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &align, sizeof align));
        LT_TRY(cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &align, sizeof align));
        LT_TRY(cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &align, sizeof align));
        LT_TRY(cublasLtMatmulPreferenceSetAttribute(
            pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &align, sizeof align));
        /* "not supported" (no FP8 tensor cores): no candidates */
        const cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(g_lt, p->desc, p->a, p->b, p->c,
                                                                 p->c, pref, want, res, &found);
        if (st != CUBLAS_STATUS_SUCCESS) found = 0;
        snprintf(g_fp8_why, sizeof g_fp8_why, "%dx%dx%d: heuristic status %d, %d results", m, n,
                 k, (int)st, found);
    } else {
        LT_TRY(cublasLtMatmulAlgoGetHeuristic(g_lt, p->desc, p->a, p->b, p->c, p->c, pref, want,
                                              res, &found));
    }
    cublasLtMatmulPreferenceDestroy(pref);
    pref = NULL;
    p->n_cand = 0;
    for (int i = 0; i < found; i++)
        if (res[i].state == CUBLAS_STATUS_SUCCESS) p->cand[p->n_cand++] = res[i].algo;
    if (!p->n_cand && !fp8) {
        fault_record_set("matmul_wt", "no cuBLASLt algorithm for %dx%dx%d (%s)", m, n, k,
                         dtype_name(wtype));
        goto fail;
    }
    p->algo = p->cand[0];
    p->tuned = p->n_cand <= 1;
    g_n_plans++;
    return p;
fail:
    if (pref) cublasLtMatmulPreferenceDestroy(pref);
    plan_release(p);
    *p = plan_entry{};
    return NULL;
}

/* Times every candidate of p on these operands (y = w x^T written, beta 0) and keeps the
 * fastest. Not while the stream is being recorded into a graph (the next eager call tunes). */
static void tune(plan_entry *p, const void *w, const void *x, void *y) {
    cudaStreamCaptureStatus cap;
    if (cudaStreamIsCapturing(STREAM, &cap) != cudaSuccess || cap != cudaStreamCaptureStatusNone)
        return;
    cudaEvent_t t0, t1;
    cudaEventCreate(&t0);
    cudaEventCreate(&t1);
    float alpha = 1.0f, beta = 0.0f, best_ms = 0.0f;
    int best = 0;
    for (int i = 0; i < p->n_cand; i++) {
        int ok = 1;
        for (int r = 0; r <= TUNE_RUNS && ok; r++) { /* run 0 warms up */
            if (r == 1) cudaEventRecord(t0, STREAM);
            ok = cublasLtMatmul(g_lt, p->desc, &alpha, w, p->a, x, p->b, &beta, y, p->c, y, p->c,
                                &p->cand[i], g_workspace, WORKSPACE_BYTES, STREAM) ==
                 CUBLAS_STATUS_SUCCESS;
        }
        cudaEventRecord(t1, STREAM);
        cudaEventSynchronize(t1);
        float ms = 0.0f;
        cudaEventElapsedTime(&ms, t0, t1);
        if (ok && (i == 0 || ms < best_ms)) best = i, best_ms = ms;
    }
    cudaEventDestroy(t0);
    cudaEventDestroy(t1);
    p->algo = p->cand[best];
    p->tuned = 1;
    g_n_timed++;
    remember_tuned(p);
}

extern "C" void cuda_gemm_tuning_counts(long *timed, long *adopted) {
    *timed = g_n_timed;
    *adopted = g_n_adopted;
}

template <typename T> __global__ void round_kernel(const float *x, T *y, size_t n) {
    pdl_wait();
    pdl_release();
    size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x;
    size_t stride = (size_t)gridDim.x * blockDim.x;
    for (; i < n; i += stride) y[i] = from_f32<T>(x[i]);
}

/* A failed allocation records a fault ("reserve_gemm_input: ...") and leaves no scratch (cap 0). */
extern "C" void cuda_reserve_gemm_input(size_t n) {
    cuda_decode_gemv_reserve();
    if (n <= g_xconv_cap) return;
    if (g_xconv) {
        cudaStreamSynchronize(STREAM); /* queued GEMMs may still read the old buffer */
        cudaFree(g_xconv);
        g_xconv = NULL;
    }
    g_xconv_cap = 0;
    g_xconv_of.src = NULL;
    if (CUDA_CALL_CHECK("reserve_gemm_input", cudaMalloc(&g_xconv, n * 2))) {
        g_xconv = NULL;
        return;
    }
    g_xconv_cap = n;
}

/* x [n] fp32 -> g_xconv in wtype. It grows here only if nobody reserved enough
 * (cuda_reserve_gemm_input); graphs need it reserved. 1 (a fault recorded) on a failure. */
static int round_input(const float *x, size_t n, int wtype) {
    if (n > g_xconv_cap) cuda_reserve_gemm_input(n + n / 4);
    if (n > g_xconv_cap) return 1;
    unsigned blocks = (unsigned)((n + 255) / 256 < 65536 ? (n + 255) / 256 : 65536);
    if (wtype == DTYPE_BF16)
        pdl_launch(round_kernel<__nv_bfloat16>, blocks, 256, 0, x, (__nv_bfloat16 *)g_xconv, n);
    else
        pdl_launch(round_kernel<__half>, blocks, 256, 0, x, (__half *)g_xconv, n);
    if (CUDA_LAUNCH_CHECK("matmul_wt")) return 1;
    g_xconv_of.src = x, g_xconv_of.n = n, g_xconv_of.wtype = wtype;
    return 0;
}

extern "C" void *cuda_gemm_input_scratch(size_t n) {
    if (n > g_xconv_cap) cuda_reserve_gemm_input(n + n / 4);
    if (n > g_xconv_cap) return NULL;
    g_xconv_of.src = NULL; /* its rounding of an fp32 x is gone */
    return g_xconv;
}

extern "C" const void *cuda_gemm_input(const void *x, int wtype, size_t n, int flags) {
    if (wtype == DTYPE_FP32 || (flags & MATMUL_X_IN_WTYPE)) return x;
    /* The scratch still holds x rounded when the caller says x is unchanged since. */
    if (!(flags & MATMUL_SAME_INPUT) || g_xconv_of.src != x || g_xconv_of.n != n ||
        g_xconv_of.wtype != wtype)
        if (round_input((const float *)x, n, wtype)) return NULL;
    return g_xconv;
}

extern "C" void cuda_matmul_wt(const void *x, const void *w, int wtype, const float *bias,
                               float *y, int m, int n, int k, int flags) {
    if (fault_op_begin("matmul_wt") || fault_dtype_reject("matmul_wt", "weight dtype", wtype))
        return;
    if (m == 0 || n == 0 || fault_relu_reject(wtype, flags, bias)) return;
    const int form = flags & MATMUL_RELU_TO_BF16 ? FORM_RELU_BF16 : FORM_PLAIN;
    if (cuda_decode_gemv(x, w, wtype, bias, y, DTYPE_FP32, 0, m, n, k, flags, 0)) {
        CUDA_LAUNCH_CHECK("matmul_wt");
        return;
    }
    plan_entry *p = plan_for(m, n, k, wtype, form);
    if (!p) return;
    const void *b = cuda_gemm_input(x, wtype, (size_t)m * k, flags);
    if (!b) return;
    if (!p->tuned && !(flags & MATMUL_ACCUMULATE)) tune(p, w, b, y);
    float alpha = 1.0f, beta = flags & MATMUL_ACCUMULATE ? 1.0f : 0.0f;
    cublasStatus_t s = cublasLtMatmul(g_lt, p->desc, &alpha, w, p->a, b, p->b, &beta, y, p->c, y,
                                      p->c, &p->algo, g_workspace, WORKSPACE_BYTES, STREAM);
    if (s != CUBLAS_STATUS_SUCCESS)
        fault_record_set("matmul_wt", "cublasLtMatmul %dx%dx%d (%s): status %d", m, n, k,
                         dtype_name(wtype), (int)s);
    else if (bias)
        cuda_add_bias(y, bias, m, n);
}

extern "C" const char *cuda_fp8_gemm_why(void) { return g_fp8_why[0] ? g_fp8_why : "no FP8 plan"; }

extern "C" int cuda_fp8_gemm_ready(int m, int n, int k) {
    plan_entry *p = plan_for(m, n, k, DTYPE_FP32, FORM_FP8);
    return p ? p->n_cand > 0 : -1;
}

extern "C" int cuda_matmul_fp8(const uint8_t *xq, const uint8_t *wq, float *prod, int m, int n,
                               int k) {
    plan_entry *p = plan_for(m, n, k, DTYPE_FP32, FORM_FP8);
    if (!p) return -1;
    if (!p->n_cand) return 1;
    if (!p->tuned) tune(p, wq, xq, prod);
    float alpha = 1.0f, beta = 0.0f;
    cublasStatus_t s = cublasLtMatmul(g_lt, p->desc, &alpha, wq, p->a, xq, p->b, &beta, prod,
                                      p->c, prod, p->c, &p->algo, g_workspace, WORKSPACE_BYTES,
                                      STREAM);
    if (s != CUBLAS_STATUS_SUCCESS) {
        fault_record_set("matmul_wq", "cublasLtMatmul fp8 %dx%dx%d: status %d", m, n, k, (int)s);
        return -1;
    }
    return 0;
}

extern "C" int cuda_fp8_scaled_ready(int m, int n, int k) {
    plan_entry *p = plan_for(m, n, k, DTYPE_FP32, FORM_FP8_SCALED);
    return p ? p->n_cand > 0 : -1;
}

extern "C" int cuda_matmul_fp8_scaled(const uint8_t *xq, const float *sx, const uint8_t *wq,
                                      const float *sw, float *y, int m, int n, int k,
                                      int accumulate, float *tune_into) {
    plan_entry *p = plan_for(m, n, k, DTYPE_FP32, FORM_FP8_SCALED);
    if (!p) return -1;
    if (!p->n_cand || set_scale_pointers(p->desc, sw, sx)) return 1;
    if (!p->tuned) tune(p, wq, xq, tune_into);
    float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    cublasStatus_t s = cublasLtMatmul(g_lt, p->desc, &alpha, wq, p->a, xq, p->b, &beta, y, p->c,
                                      y, p->c, &p->algo, g_workspace, WORKSPACE_BYTES, STREAM);
    if (s == CUBLAS_STATUS_NOT_SUPPORTED || s == CUBLAS_STATUS_INVALID_VALUE) {
        p->n_cand = 0; /* refused before it ran (nothing written): never asked again */
        return 1;
    }
    if (s != CUBLAS_STATUS_SUCCESS) {
        fault_record_set("matmul_wq", "cublasLtMatmul fp8 scaled %dx%dx%d: status %d", m, n, k,
                         (int)s);
        return -1;
    }
    return 0;
}
