// The split-key scratch of decode attention: grown on demand until the model reserves it for its
// bounds (cuda_reserve_decode_split), fixed from then on (recorded graphs hold its address).
#include <cuda_runtime.h>

#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/decode_split_scratch.cuh"

#define STREAM ((cudaStream_t)cuda_backend_stream())

/* Scratch of split launches. Reserved once by cuda_reserve_decode_split for the model's bounds
 * (recorded graphs keep its address, so it never moves after that: a launch past the reserve
 * runs unsplit); without a reserve (direct callers such as tests) it grows on demand, never
 * while a graph is recorded. */
static split_scratch g_split;
static size_t g_split_items, g_split_floats;
static int g_split_fixed;

int decode_split_scratch(int items, int ranges, int d_kv, split_scratch *out) {
    size_t floats = (size_t)items * ranges * (d_kv + 2);
    *out = g_split;
    if (items <= (int)g_split_items && floats <= g_split_floats) return 1;
    if (g_split_fixed) return 0;
    cudaStreamCaptureStatus cap;
    if (cudaStreamIsCapturing(STREAM, &cap) != cudaSuccess || cap != cudaStreamCaptureStatusNone)
        return 0;
    cudaStreamSynchronize(STREAM); /* queued launches may still use the old scratch */
    cudaFree(g_split.part);
    cudaFree(g_split.done);
    g_split = split_scratch{NULL, NULL, 0};
    g_split_items = g_split_floats = 0;
    if (cudaMalloc(&g_split.part, floats * sizeof(float)) != cudaSuccess ||
        cudaMalloc(&g_split.done, (size_t)items * sizeof(int)) != cudaSuccess ||
        cudaMemset(g_split.done, 0, (size_t)items * sizeof(int)) != cudaSuccess) {
        cudaGetLastError(); /* cleared: the launch runs unsplit */
        cudaFree(g_split.part);
        cudaFree(g_split.done);
        g_split = split_scratch{NULL, NULL, 0};
        return 0;
    }
    g_split_items = items, g_split_floats = floats;
    *out = g_split;
    return 1;
}

extern "C" void cuda_reserve_decode_split(int entries, int heads, int max_keys, int d_kv) {
    const int items = entries * heads < DECODE_WARP_ITEMS ? entries * heads : DECODE_WARP_ITEMS - 1;
    const int ranges = (max_keys + SPLIT_KEYS - 1) / SPLIT_KEYS;
    if (items < 1 || ranges < MIN_RANGES || ranges > MAX_RANGES) return; /* no split launches */
    split_scratch unused;
    g_split_fixed = 0;
    decode_split_scratch(items, ranges, d_kv, &unused);
    g_split_fixed = 1; /* from now on it never moves (without it, launches run unsplit) */
}
