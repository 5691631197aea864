// kv_scatter: rows of K or V written into their slots of a paged pool (the encoder's cross K/V
// at admission), converted to the pool's dtype as decode attention's append writes them (FP8
// pools: per head, its scale and the codes, as attention_decode.cu's append_fp8).
#include <cuda_runtime.h>

#include "kernels/cuda/block_reduce.cuh"
#include "kernels/cuda/cuda_ops.h"
#include "kernels/cuda/half_types.cuh"
#include "kernels/cuda/paged_kv.cuh"

#define STREAM ((cudaStream_t)cuda_backend_stream())

/* Row i of src into its slot, converted to T (fp16 saturating, as from_f32 does). */
template <typename T>
__global__ void scatter_kernel(const float *src, T *base, kv_layout kv, const int32_t *blocks,
                               const int32_t *table_off, const int32_t *pos) {
    int i = blockIdx.x;
    if (table_off[i] < 0) return; /* a row with no table (encode-only request) */
    size_t at = paged_row(kv, blocks + table_off[i], pos[i]);
    for (int d = threadIdx.x; d < kv.row; d += blockDim.x)
        base[at + d] = from_f32<T>(src[(size_t)i * kv.row + d]);
}

/* Row i of src into an FP8 pool: warp w of the block takes heads w, w + warps, ...; scales
 * (kv.k_scale or v_scale) at each head's scale index. */
__global__ void scatter_fp8_kernel(const float *src, uint8_t *base, float *scales, kv_layout kv,
                                   const int32_t *blocks, const int32_t *table_off,
                                   const int32_t *pos) {
    const int i = blockIdx.x, lane = threadIdx.x % 32, warps = blockDim.x / 32;
    if (table_off[i] < 0) return;
    const int32_t *table = blocks + table_off[i];
    const int d_kv = kv.row / kv.heads;
    const size_t at = paged_row(kv, table, pos[i]);
    for (int h = threadIdx.x / 32; h < kv.heads; h += warps) {
        const float *x = src + (size_t)i * kv.row + (size_t)h * d_kv;
        float amax = 0.0f;
        for (int d = lane; d < d_kv; d += 32) amax = fmaxf(amax, fabsf(x[d]));
        const float s = fp8_row_scale(warp_reduce(amax, 1));
        for (int d = lane; d < d_kv; d += 32)
            base[at + (size_t)h * d_kv + d] = __nv_fp8_e4m3(x[d] / s).__x;
        if (lane == 0) scales[paged_scale(kv, table, pos[i], h)] = s;
    }
}

extern "C" void cuda_kv_scatter(const float *src, int n, const kv_layout *kv, int which,
                                const int32_t *blocks, const int32_t *table_off,
                                const int32_t *pos) {
    if (fault_op_begin("kv_scatter") ||
        (kv->dtype != DTYPE_FP8 && fault_dtype_reject("kv_scatter", "kv dtype", kv->dtype)) || !n)
        return;
    void *base = which ? kv->v : kv->k;
    if (kv->dtype == DTYPE_FP8)
        scatter_fp8_kernel<<<n, 256, 0, STREAM>>>(src, (uint8_t *)base,
                                                   which ? kv->v_scale : kv->k_scale, *kv, blocks,
                                                   table_off, pos);
    else if (kv->dtype == DTYPE_BF16)
        scatter_kernel<<<n, 256, 0, STREAM>>>(src, (__nv_bfloat16 *)base, *kv, blocks, table_off, pos);
    else if (kv->dtype == DTYPE_FP16)
        scatter_kernel<<<n, 256, 0, STREAM>>>(src, (__half *)base, *kv, blocks, table_off, pos);
    else
        scatter_kernel<<<n, 256, 0, STREAM>>>(src, (float *)base, *kv, blocks, table_off, pos);
    CUDA_LAUNCH_CHECK("kv_scatter");
}
