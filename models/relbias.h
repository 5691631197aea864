/* T5 relative position buckets, exactly as Hugging Face's T5Attention._relative_position_bucket
 * computes them (float32 log arithmetic, truncation toward zero). */
#ifndef ENCDEC_RELBIAS_H
#define ENCDEC_RELBIAS_H

/* relative_position = key_position - query_position. bidirectional: encoder (1) or decoder (0).
 * Returns a bucket in [0, num_buckets). */
int relbias_bucket(int relative_position, int bidirectional, int num_buckets, int max_distance);

#endif
