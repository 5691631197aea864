// The T5 relative bias of one head by distance, for the encoder attention kernels: a block
// writes bias[r] = rel_bias[bucket(r - (L - 1)), h] for every distance r - (L - 1) that a
// sequence of L tokens spans, into shared memory, then adds bias[key - query + L - 1].
#ifndef ENCDEC_ATTN_BIAS_CUH
#define ENCDEC_ATTN_BIAS_CUH

#include "kernels/backend.h"
#include "common/relbias.h"

/* By the whole block; the caller's next __syncthreads publishes it. p.rel_bias must be set. */
__device__ __forceinline__ void fill_distance_bias(float *bias, const attn_params &p, int L,
                                                   int h) {
    for (int r = threadIdx.x; r < 2 * L - 1; r += blockDim.x)
        bias[r] = p.rel_bias[(size_t)relbias_bucket_with(r - (L - 1), p.bidirectional, p.buckets,
                                                         p.bucket_log_ratio) * p.rel_ld + h];
}

#endif
