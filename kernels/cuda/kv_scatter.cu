// kv_scatter: rows of K or V written into their slots of a paged pool (the encoder's cross K/V
// at admission), converted to the pool's dtype as decode attention's append writes them.
#include <cuda_runtime.h>

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

extern "C" void cuda_kv_scatter(const float *src, int n, const kv_layout *kv, int which,
                                const int32_t *blocks, const int32_t *table_off,
                                const int32_t *pos) {
    if (fault_op_begin("kv_scatter") || fault_dtype_reject("kv_scatter", "kv dtype", kv->dtype) ||
        !n)
        return;
    void *base = which ? kv->v : kv->k;
    if (kv->dtype == DTYPE_BF16)
        scatter_kernel<<<n, 256, 0, STREAM>>>(src, (__nv_bfloat16 *)base, *kv, blocks, table_off, pos);
    else if (kv->dtype == DTYPE_FP16)
        scatter_kernel<<<n, 256, 0, STREAM>>>(src, (__half *)base, *kv, blocks, table_off, pos);
    else
        scatter_kernel<<<n, 256, 0, STREAM>>>(src, (float *)base, *kv, blocks, table_off, pos);
    CUDA_LAUNCH_CHECK("kv_scatter");
}
