/* The CUDA backend's table: device buffers, copies on the backend's stream, and the launchers of
 * the .cu files beside it. One GPU per rank, chosen by the node-local rank. A failing CUDA call is a
 * broken invariant at this level (the ops table returns no status): it is reported with the call
 * and the job is stopped by abort(), which mpirun turns into the end of the job. */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/cuda/cuda_ops.h"

#define CUDA_CHECK(call)                                                                  \
    do {                                                                                  \
        cudaError_t e_ = (call);                                                          \
        if (e_ != cudaSuccess) {                                                          \
            fprintf(stderr, "[encdec_tp cuda] %s failed: %s (%s:%d)\n", #call,            \
                    cudaGetErrorString(e_), __FILE__, __LINE__);                          \
            abort();                                                                      \
        }                                                                                 \
    } while (0)

static cudaStream_t g_stream;

void *cuda_backend_stream(void) { return g_stream; }

static void *cu_alloc(size_t bytes) {
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 16) != cudaSuccess) return NULL;
    CUDA_CHECK(cudaMemsetAsync(p, 0, bytes ? bytes : 16, g_stream));
    return p;
}
static void cu_free(void *p) {
    CUDA_CHECK(cudaStreamSynchronize(g_stream));
    CUDA_CHECK(cudaFree(p));
}
static size_t cu_free_memory(void) {
    size_t free_b = 0, total = 0;
    CUDA_CHECK(cudaMemGetInfo(&free_b, &total));
    return free_b;
}
static void cu_synchronize(void) { CUDA_CHECK(cudaStreamSynchronize(g_stream)); }
static ed_status cu_check(ed_error *err) { /* to be replaced by fault collection */
    cudaError_t e = cudaStreamSynchronize(g_stream);
    if (e != cudaSuccess) return ed_fail(err, "cuda: %s", cudaGetErrorString(e));
    return ED_OK;
}
static void cu_upload(void *dst, const float *src, size_t n) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyHostToDevice, g_stream));
    CUDA_CHECK(cudaStreamSynchronize(g_stream)); /* src may be reused by the caller at once */
}
static void cu_upload_raw(void *dst, const void *src, size_t bytes) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, g_stream));
    CUDA_CHECK(cudaStreamSynchronize(g_stream));
}
static void cu_download(float *dst, const void *src, size_t n) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToHost, g_stream));
    CUDA_CHECK(cudaStreamSynchronize(g_stream));
}
static void cu_copy(float *dst, const float *src, size_t n) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice, g_stream));
}
static void cu_upload_i32(int32_t *dst, const int32_t *src, size_t n) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, n * sizeof(int32_t), cudaMemcpyHostToDevice, g_stream));
    CUDA_CHECK(cudaStreamSynchronize(g_stream));
}

static void graph_begin(void) {
    CUDA_CHECK(cudaStreamBeginCapture(g_stream, cudaStreamCaptureModeThreadLocal));
}
static void *graph_end(void) {
    cudaGraph_t graph = NULL;
    cudaGraphExec_t exec = NULL;
    if (cudaStreamEndCapture(g_stream, &graph) != cudaSuccess || !graph) {
        cudaGetLastError(); /* clear it: the caller runs the step without a graph */
        return NULL;
    }
    cudaError_t e = cudaGraphInstantiate(&exec, graph, 0);
    cudaGraphDestroy(graph);
    if (e != cudaSuccess) {
        cudaGetLastError();
        return NULL;
    }
    return exec;
}
static void graph_launch(void *g) { CUDA_CHECK(cudaGraphLaunch((cudaGraphExec_t)g, g_stream)); }
static void graph_destroy(void *g) { CUDA_CHECK(cudaGraphExecDestroy((cudaGraphExec_t)g)); }

static const backend_graphs cuda_graphs = {
    .begin = graph_begin,
    .end = graph_end,
    .launch = graph_launch,
    .destroy = graph_destroy,
    .reserve_gemm_input = cuda_reserve_gemm_input,
    .reserve_attention = cuda_reserve_decode_split,
};

const backend backend_cuda = {
    .name = "cuda",
    .alloc = cu_alloc,
    .free = cu_free,
    .free_memory = cu_free_memory,
    .stream = cuda_backend_stream,
    .synchronize = cu_synchronize,
    .check = cu_check,
    .upload = cu_upload,
    .upload_raw = cu_upload_raw,
    .download = cu_download,
    .copy = cu_copy,
    .matmul_wt = cuda_matmul_wt,
    .embed = cuda_embed,
    .rms_norm = cuda_rms_norm,
    .layer_norm = cuda_layer_norm,
    .add_bias = cuda_add_bias,
    .add = cuda_add,
    .scale = cuda_scale,
    .activation = cuda_activation,
    .gated_activation = cuda_gated_activation,
    .upload_i32 = cu_upload_i32,
    .argmax_rows = cuda_argmax_rows,
    .topk_rows = cuda_topk_rows,
    .attention_prefill = cuda_attention_prefill,
    .attention_paged = cuda_attention_paged,
    .kv_scatter = cuda_kv_scatter,
    .graphs = &cuda_graphs,
};

ed_status cuda_backend_init(int local_rank, ed_error *err) {
    static int done = 0;
    if (done) return ED_OK;
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0)
        return ed_fail(err, "config: key 'backend': cuda, but no CUDA device is visible");
    if (cudaSetDevice(local_rank % n) != cudaSuccess ||
        cudaStreamCreateWithFlags(&g_stream, cudaStreamNonBlocking) != cudaSuccess)
        return ed_fail(err, "cannot use CUDA device %d", local_rank % n);
    cuda_gemm_init();
    done = 1;
    return ED_OK;
}
