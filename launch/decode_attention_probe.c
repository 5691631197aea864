/* Times the CUDA backend's decoder attention (backend.attention_paged) alone on a synthetic paged
 * pool: fp16 K/V, d_kv 64, blocks of 16 keys in a scrambled order, every entry over the same
 * number of keys. Prints microseconds per call and the K/V bytes read per second, for the shapes
 * of the large decode steps (flan-t5-xl and t5-base cross-attention) over a range of key counts,
 * and for the beams of a request sharing one table (attn_params.kv_share).
 *
 *   decode_attention_probe [ITERATIONS]      (default 20; needs a GPU)
 *
 * What it measures is the kernel the backend chooses for each shape (attention_decode.cu and
 * attention_cross_warp.cu); the pool holds zeros, which costs what any values cost. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/backend.h"
#include "kernels/cuda/cuda_ops.h"
#include "common/dtype.h"
#include "common/clock.h"

#define D_KV 64
#define BLOCK 16

static const backend *gpu = &backend_cuda;

static int32_t *upload_i32(const int32_t *h, int n) {
    int32_t *d = gpu->alloc((size_t)n * sizeof(int32_t));
    gpu->upload_i32(d, h, n);
    return d;
}

/* reqs requests of `share` entries each (share 1: plain entries), each request over its own
 * `keys` keys; cross-attention (no mask, no bias). */
static void probe(const char *name, int reqs, int share, int heads, int keys, int iterations) {
    const int row = heads * D_KV, per = (keys + BLOCK - 1) / BLOCK, n_blocks = reqs * per;
    const int n = reqs * share;
    int32_t *blocks = malloc(n_blocks * sizeof(int32_t)), *toff = malloc(n * sizeof(int32_t));
    int32_t *nk = malloc(n * sizeof(int32_t)), *qpos = calloc(n, sizeof(int32_t));
    for (int b = 0; b < n_blocks; b++) blocks[b] = (int32_t)(((long)b * 7919) % n_blocks);
    for (int i = 0; i < n; i++) toff[i] = (i / share) * per, nk[i] = keys;
    const size_t pool_bytes = (size_t)n_blocks * 2 * BLOCK * row * dtype_bytes(DTYPE_FP16);
    const size_t q_bytes = (size_t)n * row * sizeof(float);
    void *pool = gpu->alloc(pool_bytes); /* zero-filled, as backend.alloc is */
    float *q = gpu->alloc(q_bytes), *out = gpu->alloc(q_bytes);
    int32_t *d_blocks = upload_i32(blocks, n_blocks), *d_toff = upload_i32(toff, n);
    int32_t *d_nk = upload_i32(nk, n), *d_qpos = upload_i32(qpos, n);
    kv_layout kv = {.k = pool, .v = (char *)pool + (size_t)BLOCK * row * dtype_bytes(DTYPE_FP16),
                    .block_stride = (size_t)2 * BLOCK * row, .block_size = BLOCK, .row = row,
                    .dtype = DTYPE_FP16};
    attn_params p = {.heads = heads, .d_kv = D_KV, .row = row, .scale = 0.125f,
                     .max_keys = keys, .kv_share = share};
    for (int w = 0; w < 3; w++)
        gpu->attention_paged(&p, q, out, n, &kv, NULL, d_blocks, d_toff, d_nk, d_qpos);
    cudaDeviceSynchronize();
    const double t0 = monotonic_s();
    for (int w = 0; w < iterations; w++)
        gpu->attention_paged(&p, q, out, n, &kv, NULL, d_blocks, d_toff, d_nk, d_qpos);
    cudaError_t err = cudaDeviceSynchronize();
    const double us = (monotonic_s() - t0) / iterations * 1e6;
    const double bytes = (double)reqs * heads * keys * D_KV * 2 * dtype_bytes(DTYPE_FP16);
    printf("%-22s %4d x %d entries, %2d heads, %4d keys: %8.1f us %6.0f GB/s%s%s\n", name, reqs,
           share, heads, keys, us, bytes / us * 1e-3, err ? "  error: " : "",
           err ? cudaGetErrorString(err) : "");
    gpu->free(pool), gpu->free(q), gpu->free(out);
    gpu->free(d_blocks), gpu->free(d_toff), gpu->free(d_nk), gpu->free(d_qpos);
    free(blocks), free(toff), free(nk), free(qpos);
}

int main(int argc, char **argv) {
    const int iterations = argc > 1 ? atoi(argv[1]) : 20;
    if (iterations < 1) {
        fprintf(stderr, "usage: decode_attention_probe [ITERATIONS >= 1]\n");
        return 2;
    }
    const int keys[] = {4, 16, 40, 64, 100, 128, 200, 352};
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        probe("flan-t5-xl batch 128", 128, 1, 32, keys[k], iterations);
        probe("flan-t5-xl batch 64", 64, 1, 32, keys[k], iterations);
        probe("t5-base batch 256", 256, 1, 12, keys[k], iterations);
    }
    probe("flan-t5-xl batch 32", 32, 1, 32, 352, iterations);
    probe("flan-t5-xl batch 8", 8, 1, 32, 352, iterations);
    probe("flan-t5-xl batch 1", 1, 1, 32, 128, iterations);
    probe("t5-base beams", 64, 4, 12, 128, iterations);
    probe("t5-base beams", 128, 4, 12, 128, iterations);
    probe("flan-t5-xl beams", 16, 4, 32, 352, iterations);
    probe("flan-t5-xl beams", 64, 4, 32, 352, iterations);
    return 0;
}
