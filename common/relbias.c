#include "common/relbias.h"

#include <math.h>

int relbias_bucket(int relative_position, int bidirectional, int num_buckets, int max_distance) {
    return relbias_bucket_with(relative_position, bidirectional, num_buckets,
                               relbias_log_ratio(bidirectional, num_buckets, max_distance));
}

float relbias_log_ratio(int bidirectional, int num_buckets, int max_distance) {
    int max_exact = (bidirectional ? num_buckets / 2 : num_buckets) / 2;
    return max_exact > 0 ? (float)log((double)max_distance / (double)max_exact) : 0.0f;
}
