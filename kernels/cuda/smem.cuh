// Kernels that take more than the default 48 KiB of dynamic shared memory.
#ifndef ENCDEC_SMEM_CUH
#define ENCDEC_SMEM_CUH

#include <cuda_runtime.h>

/* Dynamic shared memory of `bytes`, raising the kernel's limit past the default 48 KiB once per
 * new maximum (so that a recorded graph's launches make no attribute calls). */
template <typename K>
static inline size_t prepare_smem(K kernel, size_t bytes) {
    static struct { const void *fn; size_t bytes; } raised[16];
    if (bytes <= 48 * 1024) return bytes;
    int i = 0;
    while (i < 16 && raised[i].fn && raised[i].fn != (const void *)kernel) i++;
    if (i < 16 && raised[i].fn && raised[i].bytes >= bytes) return bytes;
    /* refused (more than the device has): not remembered; the launch then fails and its
     * CUDA_LAUNCH_CHECK records the fault */
    if (cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)bytes) !=
        cudaSuccess)
        return bytes;
    if (i < 16) raised[i].fn = (const void *)kernel, raised[i].bytes = bytes;
    return bytes;
}

#endif
