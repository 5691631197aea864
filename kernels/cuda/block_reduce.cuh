// Max or sum of one float over a thread block of THREADS threads (a multiple of 32), returned to
// every thread. Ends with a barrier, so it also orders shared-memory writes made before it.
#ifndef ENCDEC_BLOCK_REDUCE_CUH
#define ENCDEC_BLOCK_REDUCE_CUH

template <int THREADS>
__device__ __forceinline__ float block_reduce(float v, int is_max) {
    __shared__ float part[THREADS / 32];
    for (int o = 16; o > 0; o >>= 1) {
        float other = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, other) : v + other;
    }
    if ((threadIdx.x & 31) == 0) part[threadIdx.x >> 5] = v;
    __syncthreads();
    float r = part[0];
    for (int i = 1; i < THREADS / 32; i++) r = is_max ? fmaxf(r, part[i]) : r + part[i];
    __syncthreads();
    return r;
}

#endif
