// Kernels that take more than the default 48 KiB of shared memory.
#ifndef ENCDEC_SMEM_CUH
#define ENCDEC_SMEM_CUH

#include <cuda_runtime.h>

/* Dynamic shared memory of `bytes` for `kernel`: raises the kernel's limit when its static
 * shared memory plus `bytes` passes the default 48 KiB (without the raise such a launch is
 * refused), once per new maximum, so that a recorded graph's launches make no attribute calls.
 * The kernel's static size is read once (cudaFuncGetAttributes) and kept with its limit. */
template <typename K>
static inline size_t prepare_smem(K kernel, size_t bytes) {
    static struct { const void *fn; size_t dynamic_max; } seen[64];
    int i = 0;
    while (i < 64 && seen[i].fn && seen[i].fn != (const void *)kernel) i++;
    if (i < 64 && !seen[i].fn) {
        cudaFuncAttributes a;
        /* failed: the launch fails too, and its CUDA_LAUNCH_CHECK records the fault */
        if (cudaFuncGetAttributes(&a, kernel) != cudaSuccess) return bytes;
        seen[i].fn = (const void *)kernel;
        seen[i].dynamic_max = a.sharedSizeBytes < 48 * 1024 ? 48 * 1024 - a.sharedSizeBytes : 0;
    }
    if (i < 64 && bytes <= seen[i].dynamic_max) return bytes;
    /* refused (more than the device has): not remembered; the launch then fails and its
     * CUDA_LAUNCH_CHECK records the fault */
    if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes) !=
        cudaSuccess)
        return bytes;
    if (i < 64) seen[i].dynamic_max = bytes;
    return bytes;
}

#endif
