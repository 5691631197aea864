/* The CUDA backend's table: device buffers, copies on the backend's stream, and the launchers of
 * the .cu files beside it. One GPU per rank, chosen by the node-local rank. A failing CUDA call or
 * launch is recorded as a fault (kernels/fault.h, cuda_ops.h's checks) and the op returns;
 * check() waits for the stream and hands the first fault on, so a device fault ends the job
 * through the ranks' agreement, never through abort(). */
#include <cuda_runtime_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/cuda/cuda_ops.h"

static cudaStream_t g_stream;

void *cuda_backend_stream(void) { return g_stream; }

/* -1 until cuda_backend_init reads it (ENCDEC_PDL, the device's compute capability). */
static int g_pdl = -1;

int cuda_pdl_enabled(void) { return g_pdl > 0; }
void cuda_pdl_set(int on) { g_pdl = on; }

int cuda_fault_record(int cuda_error, const char *op, const char *call) {
    const char *last = fault_op_last(), *what = cudaGetErrorString((cudaError_t)cuda_error);
    int other = strcmp(last, op) != 0;
    cudaGetLastError(); /* cleared: the next op's check must not see it again */
    fault_record_set(op, "%s%s%s%s%s%s", call ? call : "", call ? ": " : "", what,
                     other ? " (last op launched: " : "", other ? last : "", other ? ")" : "");
    return 1;
}

/* Waits for the stream; a fault found there is recorded as "device fault after <the last op
 * launched>: <error>". 1 on a fault. */
static int stream_wait(void) {
    cudaError_t e = cudaStreamSynchronize(g_stream);
    if (e == cudaSuccess) return 0;
    cudaGetLastError();
    fault_record_set(NULL, "device fault after %s: %s", fault_op_last(), cudaGetErrorString(e));
    return 1;
}

static void *cu_alloc(size_t bytes) {
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 16) != cudaSuccess) {
        cudaGetLastError(); /* out of memory is the caller's status, not a fault of a later op */
        return NULL;
    }
    if (CUDA_CALL_CHECK("alloc", cudaMemsetAsync(p, 0, bytes ? bytes : 16, g_stream))) {
        cudaFree(p);
        cudaGetLastError();
        return NULL;
    }
    return p;
}
static void cu_free(void *p) {
    if (!p) return;
    stream_wait(); /* queued ops may still use it */
    CUDA_CALL_CHECK("free", cudaFree(p));
}
static size_t cu_free_memory(void) {
    size_t free_b = 0, total = 0;
    if (CUDA_CALL_CHECK("free_memory", cudaMemGetInfo(&free_b, &total))) return 0;
    return free_b;
}
static void cu_synchronize(void) { stream_wait(); }
static ed_status cu_check(ed_error *err) {
    if (!stream_wait()) {
        cudaError_t e = cudaGetLastError(); /* left by a call no check saw */
        if (e != cudaSuccess)
            fault_record_set(NULL, "device fault after %s: %s", fault_op_last(),
                             cudaGetErrorString(e));
    }
    return fault_record_take(err);
}
/* host <-> device copies: a copy that fails is recorded under its op's name; host sources and
 * destinations are waited for (the caller may reuse src, or read dst, at once). */
static void copy_wait(const char *op, void *dst, const void *src, size_t bytes,
                      enum cudaMemcpyKind kind) {
    if (fault_op_inject(op) ||
        CUDA_CALL_CHECK(op, cudaMemcpyAsync(dst, src, bytes, kind, g_stream)))
        return;
    if (kind != cudaMemcpyDeviceToDevice) stream_wait();
}
static void cu_upload(void *dst, const float *src, size_t n) {
    copy_wait("upload", dst, src, n * sizeof(float), cudaMemcpyHostToDevice);
}
static void cu_upload_raw(void *dst, const void *src, size_t bytes) {
    copy_wait("upload_raw", dst, src, bytes, cudaMemcpyHostToDevice);
}
static void cu_download(float *dst, const void *src, size_t n) {
    copy_wait("download", dst, src, n * sizeof(float), cudaMemcpyDeviceToHost);
}
static void cu_copy(float *dst, const float *src, size_t n) {
    copy_wait("copy", dst, src, n * sizeof(float), cudaMemcpyDeviceToDevice);
}
static void cu_upload_i32(int32_t *dst, const int32_t *src, size_t n) {
    copy_wait("upload_i32", dst, src, n * sizeof(int32_t), cudaMemcpyHostToDevice);
}

/* Graphs: a fault recorded while ops are recorded stays recorded (check() reports it) even when
 * graph_end then returns NULL and the caller runs the step without a graph. */
static void graph_begin(void) {
    CUDA_CALL_CHECK("graph_begin",
                    cudaStreamBeginCapture(g_stream, cudaStreamCaptureModeThreadLocal));
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
static void graph_launch(void *g) {
    if (fault_op_begin("graph_launch")) return;
    CUDA_CALL_CHECK("graph_launch", cudaGraphLaunch((cudaGraphExec_t)g, g_stream));
}
static void graph_destroy(void *g) {
    if (g) CUDA_CALL_CHECK("graph_destroy", cudaGraphExecDestroy((cudaGraphExec_t)g));
}

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
    .matmul_gated = cuda_matmul_gated,
    .rms_matmul = cuda_rms_matmul,
    .rms_matmul_gated = cuda_rms_matmul_gated,
    .matmul_wq = cuda_matmul_wq,
    .matmul_wq_gated = cuda_matmul_wq_gated,
    .embed_q = cuda_embed_q,
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
    if (cuda_gemm_init(err)) return ED_ERR;
    int major = 0;
    const char *pdl = getenv("ENCDEC_PDL");
    cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, local_rank % n);
    if (g_pdl < 0) g_pdl = major >= 9 && !(pdl && !strcmp(pdl, "0"));
    done = 1;
    return ED_OK;
}
