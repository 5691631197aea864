/* T5 relative position buckets, exactly as Hugging Face's T5Attention._relative_position_bucket
 * computes them (float32 log arithmetic, truncation toward zero). The bucket arithmetic is one
 * inline function shared by the host (common/relbias.c) and the CUDA kernels.
 *
 * Totality: every input (any relative position, any bucket count, any divisor, NaN and infinities
 * included) gives a bucket in [0, num_buckets) when num_buckets >= 1 (0 when num_buckets < 1,
 * where no bucket exists; counts past 2^24 per direction use the first 2^24), so a hostile or broken spec can never index outside a bias table. A
 * spec HF can compute with (models/spec.c's model_spec_validate: num_buckets >= 4, max_distance
 * > num_buckets / 2) gets exactly HF's buckets; the guards cost one float compare per call on the
 * logarithmic path (it replaces the clamp), the rest is loop-invariant and hoisted by the
 * compiler. */
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
 * Returns a bucket in [0, num_buckets) (see Totality above). */
int relbias_bucket(int relative_position, int bidirectional, int num_buckets, int max_distance);
/* The constant divisor of the logarithmic buckets, (float)log(max_distance / max_exact) in double
 * as HF's math.log computes it: kernels take it precomputed (attn_params.bucket_log_ratio)
 * instead of taking a double-precision log per bucket. Invalid specs may give 0, a negative
 * value or NaN: relbias_bucket_with still returns a bucket in range for them. */
float relbias_log_ratio(int bidirectional, int num_buckets, int max_distance);

#ifdef __cplusplus
}
#endif

/* relbias_bucket with its divisor given: log_ratio = relbias_log_ratio(bidirectional,
 * num_buckets, max_distance). torch: log(rp.float() / max_exact) / math.log(max_distance /
 * max_exact) * (n - max_exact), all in float32, then .to(long) truncates.
 * For a valid spec v below is finite and >= 0, so fabsf is the identity and `v < n - max_exact`
 * is exactly the old clamp `max_exact + (int)v > n - 1`; NaN, infinite, huge (past INT_MAX) or
 * negative v (max_distance <= max_exact, max_exact == 0) take the last bucket or a bucket between
 * max_exact and n - 1, never a float -> int conversion that overflows. */
RELBIAS_FN int relbias_bucket_with(int relative_position, int bidirectional, int num_buckets,
                                   float log_ratio) {
    int n = bidirectional ? num_buckets / 2 : num_buckets; /* buckets per direction */
    if (n < 0) n = 0;
    if (n > (1 << 24)) n = 1 << 24; /* n - max_exact stays exact in float (the compare below) */
    int last = n > 0 ? n - 1 : 0;
    int max_exact = n / 2;
    int bucket = bidirectional && relative_position > 0 ? n : 0;
    /* |relative_position| in unsigned arithmetic: -INT_MIN does not overflow. */
    unsigned rp = relative_position < 0 ? 0u - (unsigned)relative_position
                  : bidirectional       ? (unsigned)relative_position
                                        : 0u;
    if (rp < (unsigned)max_exact) return bucket + (int)rp;
    float v = fabsf(logf((float)rp / (float)max_exact) / log_ratio * (float)(n - max_exact));
    int large = v < (float)(n - max_exact) ? max_exact + (int)v : last;
    return bucket + large;
}

#endif
