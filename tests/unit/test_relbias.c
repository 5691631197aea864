/* Bucket values worked by hand from HF's _relative_position_bucket formula. */
#include "common/relbias.h"
#include "tests/unit/check.h"

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
    TEST_MAIN_END("test_relbias");
}
