// Programmatic dependent launch (PDL, sm_90 and later): a kernel launched with pdl_launch may be
// scheduled while the kernel before it on the stream is still running, so that its launch and
// whatever it does first overlap that kernel's tail. A decode step is ~140 small kernels, each
// otherwise paying its launch and a first memory round trip on the critical path.
//
// The contract of a kernel launched with pdl_launch:
//   - before pdl_wait() it writes nothing and reads only data that the op right before it on
//     the stream does not write: weights, scales, biases, norm gains, and data written by ops
//     further back (the step's tables, copied in before the step; cross K/V, written by the
//     encoder's KV writes; past self-attention rows). The op before it released it only after
//     its own pdl_wait() returned (or is not a PDL kernel: then it started after all before it
//     had finished), so every op before that one has finished and its writes are visible. L2
//     prefetches (prefetch.global.L2) return no data and may name any address;
//   - every thread that reads or writes anything else calls pdl_wait() first: it returns once
//     the kernels before it on the stream have finished and their writes are visible;
//   - it calls pdl_release() once it is past pdl_wait(): the next PDL kernel may then be
//     scheduled (at most one kernel runs ahead, so no chain of waiting kernels fills the GPU).
// Both are no-ops below sm_90 and in a kernel launched without the attribute. Ops that are not
// PDL kernels (cuBLASLt, NCCL, copies) keep the stream's full ordering on both sides.
#ifndef ENCDEC_PDL_CUH
#define ENCDEC_PDL_CUH

#include <cuda_runtime.h>

#include <utility>

#include "kernels/cuda/cuda_ops.h"

__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}

__device__ __forceinline__ void pdl_release() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
    asm volatile("griddepcontrol.launch_dependents;" ::: "memory");
#endif
}

/* kernel<<<grid, block, smem, the backend's stream>>>(args...), with the PDL attribute where
 * cuda_pdl_enabled() says so. The caller checks the launch (CUDA_LAUNCH_CHECK) as for <<<>>>. */
template <typename... P, typename... A>
static inline void pdl_launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem,
                              A &&...args) {
    cudaLaunchAttribute attr[1];
    attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
    attr[0].val.programmaticStreamSerializationAllowed = 1;
    cudaLaunchConfig_t cfg = {};
    cfg.gridDim = grid;
    cfg.blockDim = block;
    cfg.dynamicSmemBytes = smem;
    cfg.stream = (cudaStream_t)cuda_backend_stream();
    cfg.attrs = attr;
    cfg.numAttrs = cuda_pdl_enabled() ? 1 : 0;
    cudaLaunchKernelEx(&cfg, kernel, std::forward<A>(args)...);
}

#endif
