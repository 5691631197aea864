// Max or sum of one float over a warp (warp_reduce), over groups of its lanes (lanes_reduce) or
// over a thread block of THREADS threads (a multiple of 32; block_reduce), returned to every
// thread.
#ifndef ENCDEC_BLOCK_REDUCE_CUH
#define ENCDEC_BLOCK_REDUCE_CUH

/* Over the 32 lanes of a full warp, by xor shuffles (the same tree on every lane). */
__device__ __forceinline__ float warp_reduce(float v, int is_max) {
    for (int o = 16; o > 0; o >>= 1) {
        float other = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, other) : v + other;
    }
    return v;
}

/* Over the lanes whose indices differ only in the bits FROM, 2 FROM, ..., TO / 2 (powers of
 * two): groups of lanes inside a warp, lowest offset first (not warp_reduce's order). */
template <int FROM, int TO>
__device__ __forceinline__ float lanes_reduce(float v, int is_max) {
#pragma unroll
    for (int o = FROM; o < TO; o <<= 1) {
        float other = __shfl_xor_sync(0xffffffffu, v, o);
        v = is_max ? fmaxf(v, other) : v + other;
    }
    return v;
}

/* Max or sum of each of N values over the block, all with one barrier pair, returned to every
 * thread. Ends with a barrier, so it also orders shared-memory writes made before it. */
template <int THREADS, int N>
__device__ __forceinline__ void block_reduce_n(float (&v)[N], int is_max) {
    __shared__ float part[N][THREADS / 32];
#pragma unroll
    for (int e = 0; e < N; e++) {
        v[e] = warp_reduce(v[e], is_max);
        if ((threadIdx.x & 31) == 0) part[e][threadIdx.x >> 5] = v[e];
    }
    __syncthreads();
#pragma unroll
    for (int e = 0; e < N; e++) {
        float r = part[e][0];
        for (int i = 1; i < THREADS / 32; i++) r = is_max ? fmaxf(r, part[e][i]) : r + part[e][i];
        v[e] = r;
    }
    __syncthreads();
}

/* The same for one value. */
template <int THREADS>
__device__ __forceinline__ float block_reduce(float v, int is_max) {
    float one[1] = {v};
    block_reduce_n<THREADS, 1>(one, is_max);
    return one[0];
}

#endif
