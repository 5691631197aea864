/* Times the CUDA backend's decode GEMMs (backend.matmul_wt and matmul_gated, bf16 weights, x
 * already bf16 as a decoder step gives it) with the decode GEMV family (kernels/cuda/
 * gemm_decode.cu) and with it switched off (cuBLASLt), for the decoder's shapes of t5-base and
 * flan-t5-xl and m = 1 to 16 rows. Each timed call reads another copy of the weights from a pool
 * of at least POOL_BYTES (larger than the L2 cache), as a decode step streams its layers.
 * Prints microseconds per call and the weight bytes read per second, both ways; for fp8 codes
 * (matmul_wq) the other way is gemm_wq.cu's SIMT GEMV. The y16 buffer serves as the fp8 row
 * scales (zeros: the time does not depend on them).
 *
 *   decode_gemv_probe [ITERATIONS]      (default 200; needs a GPU) */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_ops.h"
#include "common/activation.h"
#include "common/dtype.h"
#include "common/quant.h"

#define POOL_BYTES ((size_t)512 << 20)

static const backend *gpu = &backend_cuda;

/* What a probe times: matmul_wt, matmul_gated (f = rows / 2), or matmul_wq over fp8 codes. */
enum { PLAIN, GATED, FP8 };

/* Microseconds per call of `iterations` calls (after a warm-up pass over the pool), each on the
 * next copy of an [rows, k] matrix (bf16, or fp8 codes with row scales). */
static double time_calls(int kind, int m, int rows, int k, int iterations, void *pool,
                         int copies, const void *x, float *y, void *y16) {
    const size_t wbytes = (size_t)rows * k * (kind == FP8 ? 1 : 2);
    cudaEvent_t t0, t1;
    cudaEventCreate(&t0), cudaEventCreate(&t1);
    for (int it = -copies; it < iterations; it++) {
        if (it == 0) cudaEventRecord(t0, (cudaStream_t)gpu->stream());
        const void *w = (const char *)pool + (size_t)((it + copies) % copies) * wbytes;
        if (kind == FP8)
            gpu->matmul_wq(x, DTYPE_BF16, w, QUANT_FP8, y16, y, m, rows, k, MATMUL_X_IN_WTYPE);
        else if (kind == GATED)
            gpu->matmul_gated(ACT_GELU_NEW, x, w, DTYPE_BF16, y, y16, DTYPE_BF16, m, rows / 2, k,
                              MATMUL_X_IN_WTYPE);
        else
            gpu->matmul_wt(x, w, DTYPE_BF16, NULL, y, m, rows, k, MATMUL_X_IN_WTYPE);
    }
    cudaEventRecord(t1, (cudaStream_t)gpu->stream());
    cudaEventSynchronize(t1);
    float ms = 0;
    cudaEventElapsedTime(&ms, t0, t1);
    cudaEventDestroy(t0), cudaEventDestroy(t1);
    return 1000.0 * ms / iterations;
}

static void probe(const char *name, int kind, int rows, int k, int iterations) {
    const size_t wbytes = (size_t)rows * k * (kind == FP8 ? 1 : 2);
    int copies = (int)(POOL_BYTES / wbytes);
    if (copies < 2) copies = 2;
    void *pool = gpu->alloc(wbytes * copies);
    void *x = gpu->alloc((size_t)16 * k * 2);
    float *y = gpu->alloc((size_t)16 * rows * sizeof(float));
    void *y16 = gpu->alloc((size_t)16 * rows * 2);
    if (!pool || !x || !y || !y16) {
        fprintf(stderr, "decode_gemv_probe: out of device memory for %s\n", name);
        exit(1);
    }
    for (int m = 1; m <= 16; m *= 2) {
        double us[2];
        for (int on = 1; on >= 0; on--) {
            cuda_decode_gemv_set(on ? 2 : 0); /* 2: whatever the size */
            us[on] = time_calls(kind, m, rows, k, iterations, pool, copies, x, y, y16);
        }
        printf("%-22s %5d x %5d  m %2d: gemv %7.2f us (%6.0f GB/s)   %s %7.2f us (%6.0f "
               "GB/s)   %.2fx\n",
               name, rows, k, m, us[1], wbytes / us[1] / 1e3,
               kind == FP8 ? "SIMT wq " : "cuBLASLt", us[0], wbytes / us[0] / 1e3,
               us[0] / us[1]);
    }
    ed_error err;
    if (gpu->check(&err)) {
        fprintf(stderr, "decode_gemv_probe: %s\n", err.msg);
        exit(1);
    }
    gpu->free(pool), gpu->free(x), gpu->free(y), gpu->free(y16);
}

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 200;
    ed_error err;
    if (iterations < 1 || cuda_backend_init(0, &err)) {
        fprintf(stderr, "usage: decode_gemv_probe [ITERATIONS >= 1] (needs a GPU)\n");
        return 2;
    }
    probe("flan-t5-xl fp8 q/o", FP8, 2048, 2048, iterations);
    probe("flan-t5-xl fp8 wo", FP8, 2048, 5120, iterations);
    probe("flan-t5-xl fp8 lm head", FP8, 32128, 2048, iterations);
    probe("t5-base q/o", 0, 768, 768, iterations);
    probe("t5-base qkv", 0, 2304, 768, iterations);
    probe("t5-base wi (relu)", 0, 3072, 768, iterations);
    probe("t5-base wo", 0, 768, 3072, iterations);
    probe("t5-base lm head", 0, 32128, 768, iterations);
    probe("flan-t5-xl q/o", 0, 2048, 2048, iterations);
    probe("flan-t5-xl qkv", 0, 6144, 2048, iterations);
    probe("flan-t5-xl wi gated", 1, 10240, 2048, iterations);
    probe("flan-t5-xl wo", 0, 2048, 5120, iterations);
    probe("flan-t5-xl lm head", 0, 32128, 2048, iterations);
    return 0;
}
