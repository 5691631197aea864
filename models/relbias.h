/* T5 relative position buckets, exactly as Hugging Face's T5Attention._relative_position_bucket
 * computes them (float32 log arithmetic, truncation toward zero). */
#ifndef ENCDEC_RELBIAS_H
#define ENCDEC_RELBIAS_H

/* relative_position = key_position - query_position. bidirectional: encoder (1) or decoder (0).
 * Returns a bucket in [0, num_buckets). */
int relbias_bucket(int relative_position, int bidirectional, int num_buckets, int max_distance);
/* The constant divisor of the logarithmic buckets, (float)log(max_distance / max_exact) in double
 * as HF's math.log computes it: kernels take it precomputed (attn_params.bucket_log_ratio)
 * instead of taking a double-precision log per bucket. */
float relbias_log_ratio(int bidirectional, int num_buckets, int max_distance);

#endif
