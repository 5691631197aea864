/* T5 relative position buckets, exactly as Hugging Face's T5Attention._relative_position_bucket
 * computes them (float32 log arithmetic, truncation toward zero). The bucket arithmetic is one
 * inline function shared by the host (common/relbias.c) and the CUDA kernels. */
#ifndef ENCDEC_RELBIAS_H
#define ENCDEC_RELBIAS_H

#include <math.h>

#ifdef __CUDACC__
#define RELBIAS_FN static inline __host__ __device__
#else
#define RELBIAS_FN static inline
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* relative_position = key_position - query_position. bidirectional: encoder (1) or decoder (0).
 * Returns a bucket in [0, num_buckets). */
int relbias_bucket(int relative_position, int bidirectional, int num_buckets, int max_distance);
/* The constant divisor of the logarithmic buckets, (float)log(max_distance / max_exact) in double
 * as HF's math.log computes it: kernels take it precomputed (attn_params.bucket_log_ratio)
 * instead of taking a double-precision log per bucket. */
float relbias_log_ratio(int bidirectional, int num_buckets, int max_distance);

#ifdef __cplusplus
}
#endif

/* relbias_bucket with its divisor given: log_ratio = relbias_log_ratio(bidirectional,
 * num_buckets, max_distance). torch: log(rp.float() / max_exact) / math.log(max_distance /
 * max_exact) * (n - max_exact), all in float32, then .to(long) truncates. */
RELBIAS_FN int relbias_bucket_with(int relative_position, int bidirectional, int num_buckets,
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
