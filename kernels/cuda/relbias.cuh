// The T5 relative-position bucket on the device: models/relbias.c's arithmetic (HF's
// _relative_position_bucket), which device code cannot call, with the divisor log_ratio
// precomputed on the host (relbias_log_ratio: a double-precision log per bucket was most of the
// encoder attention's time). test_ops checks the two against each other through attention
// with a bias.
#ifndef ENCDEC_RELBIAS_CUH
#define ENCDEC_RELBIAS_CUH

__device__ __forceinline__ int bucket_of(int relative_position, int bidirectional, int num_buckets,
                                         float log_ratio) {
    int bucket = 0, n = num_buckets, rp;
    if (bidirectional) {
        n /= 2;
        if (relative_position > 0) bucket += n;
        rp = relative_position < 0 ? -relative_position : relative_position;
    } else {
        rp = relative_position < 0 ? -relative_position : 0;
    }
    int max_exact = n / 2;
    if (rp < max_exact) return bucket + rp;
    float v = logf((float)rp / (float)max_exact) / log_ratio * (float)(n - max_exact);
    int large = max_exact + (int)v;
    if (large > n - 1) large = n - 1;
    return bucket + large;
}

#endif
