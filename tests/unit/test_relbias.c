/* Bucket values worked by hand from HF's _relative_position_bucket formula. */
#include <limits.h>
#include <math.h>

#include "common/relbias.h"
#include "tests/unit/check.h"

/* The bucket function as it was before it was made total: the reference for valid specs. */
static int old_bucket_with(int relative_position, int bidirectional, int num_buckets,
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

int main(void) {
    /* Encoder (bidirectional), 32 buckets, max_distance 128: 16 per direction, 8 exact. */
    CHECK(relbias_bucket(0, 1, 32, 128) == 0);
    CHECK(relbias_bucket(-1, 1, 32, 128) == 1);
    CHECK(relbias_bucket(1, 1, 32, 128) == 17);
    CHECK(relbias_bucket(-7, 1, 32, 128) == 7);
    CHECK(relbias_bucket(-8, 1, 32, 128) == 8);   /* 8 + trunc(log(1)/log(16)*8) */
    CHECK(relbias_bucket(-20, 1, 32, 128) == 10); /* 8 + trunc(log(2.5)/log(16)*8 = 2.64) */
    CHECK(relbias_bucket(20, 1, 32, 128) == 26);
    CHECK(relbias_bucket(-200, 1, 32, 128) == 15); /* capped at 15 */
    CHECK(relbias_bucket(500, 1, 32, 128) == 31);
    /* Decoder (unidirectional): only key <= query counts; future positions fall in bucket 0. */
    CHECK(relbias_bucket(3, 0, 32, 128) == 0);
    CHECK(relbias_bucket(-3, 0, 32, 128) == 3);
    CHECK(relbias_bucket(-15, 0, 32, 128) == 15);
    CHECK(relbias_bucket(-16, 0, 32, 128) == 16);  /* 16 + trunc(log(1)/log(8)*16) */
    CHECK(relbias_bucket(-40, 0, 32, 128) == 23);  /* 16 + trunc(log(2.5)/log(8)*16 = 7.05) */
    CHECK(relbias_bucket(-1000, 0, 32, 128) == 31);

    /* Valid specs (num_buckets >= 4, max_distance > num_buckets / 2): the same buckets as before
     * the guards, bit for bit. */
    int same = 1;
    for (int nb = 4; nb <= 80 && same; nb += nb < 40 ? 1 : 7)
        for (int md = nb / 2 + 1; md <= 600 && same; md += md < 80 ? 1 : 37)
            for (int bidi = 0; bidi < 2; bidi++) {
                float lr = relbias_log_ratio(bidi, nb, md);
                for (int rp = -3000; rp <= 3000 && same; rp += rp > -100 && rp < 100 ? 1 : 13)
                    if (relbias_bucket_with(rp, bidi, nb, lr) != old_bucket_with(rp, bidi, nb, lr)) {
                        fprintf(stderr, "changed: rp %d bidi %d nb %d md %d\n", rp, bidi, nb, md);
                        same = 0;
                    }
            }
    CHECK(same);

    /* Total: every input gives a bucket in [0, num_buckets), for configs HF cannot compute
     * (max_distance at or below the exact buckets, 0 or negative, tiny bucket counts), extreme
     * positions and divisors that are 0, negative, infinite or NaN. */
    const int positions[] = {INT_MIN, INT_MIN + 1, -1000000, -129, -128, -17, -16, -9, -8, -7, -2,
                             -1, 0, 1, 2, 7, 8, 9, 16, 17, 128, 129, 1000000, INT_MAX};
    const float ratios[] = {0.0f, -0.0f, -1.0f, 1e-30f, -1e-30f, 1e30f, INFINITY, -INFINITY, NAN};
    int in_range = 1;
    for (int nb = -3; nb <= 70 && in_range; nb++)
        for (int md = -3; md <= 140 && in_range; md++)
            for (int bidi = 0; bidi < 2; bidi++)
                for (size_t i = 0; i < sizeof positions / sizeof positions[0]; i++) {
                    int b = relbias_bucket(positions[i], bidi, nb, md);
                    int ok = nb >= 1 ? b >= 0 && b < nb : b == 0;
                    for (size_t k = 0; k < sizeof ratios / sizeof ratios[0]; k++) {
                        int b2 = relbias_bucket_with(positions[i], bidi, nb, ratios[k]);
                        ok &= nb >= 1 ? b2 >= 0 && b2 < nb : b2 == 0;
                    }
                    if (!ok) {
                        fprintf(stderr, "out of range: rp %d bidi %d nb %d md %d -> %d\n",
                                positions[i], bidi, nb, md, b);
                        in_range = 0;
                        break;
                    }
                }
    CHECK(in_range);
    /* The crash of the issue: 32 buckets, max_distance 16 (= the decoder's exact buckets). */
    int b = relbias_bucket(-100, 0, 32, 16);
    CHECK(b >= 0 && b < 32);
    b = relbias_bucket(-100, 1, 32, 8);
    CHECK(b >= 0 && b < 32);
    /* Huge bucket counts stay in range too. */
    b = relbias_bucket_with(-2000000000, 0, INT_MAX, 1e-9f);
    CHECK(b >= 0);
    b = relbias_bucket_with(2000000000, 1, INT_MAX, 1e-9f);
    CHECK(b >= 0);
    TEST_MAIN_END("test_relbias");
}
