#include "models/relbias.h"

#include <math.h>

int relbias_bucket(int relative_position, int bidirectional, int num_buckets, int max_distance) {
    int bucket = 0;
    int n = num_buckets;
    int rp;
    if (bidirectional) {
        n /= 2;
        if (relative_position > 0) bucket += n;
        rp = relative_position < 0 ? -relative_position : relative_position;
    } else {
        rp = relative_position < 0 ? -relative_position : 0;
    }
    int max_exact = n / 2;
    if (rp < max_exact) return bucket + rp;
    /* torch: log(rp.float() / max_exact) / math.log(max_distance / max_exact) * (n - max_exact),
     * all in float32, then .to(long) truncates. */
    float ratio = (float)rp / (float)max_exact;
    float denom = relbias_log_ratio(bidirectional, num_buckets, max_distance);
    float v = logf(ratio) / denom * (float)(n - max_exact);
    int large = max_exact + (int)v;
    if (large > n - 1) large = n - 1;
    return bucket + large;
}

float relbias_log_ratio(int bidirectional, int num_buckets, int max_distance) {
    int max_exact = (bidirectional ? num_buckets / 2 : num_buckets) / 2;
    return max_exact > 0 ? (float)log((double)max_distance / (double)max_exact) : 0.0f;
}
