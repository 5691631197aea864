/* step_floor_bytes against sums worked by hand from the presets' shapes (the floors quoted in
 * docs/PERFORMANCE.md: 0.084 / 0.961 / 0.285 ms per step at 2,999.5 GB/s). */
#include <math.h>

#include "models/presets.h"
#include "models/step_floor.h"
#include "tests/unit/check.h"

int main(void) {
    model_spec base, xl;
    ed_error err;
    CHECK(preset_spec("t5-base", &base, &err) == ED_OK);
    CHECK(preset_spec("flan-t5-xl", &xl, &err) == ED_OK);
    /* t5-base, batch 1, 128 in, 64 out, bf16 weights, fp16 K/V. Weights: 12 layers x (6 x 768^2
     * + 2 x 768 x 3072) + 32128 x 768 = 123,764,736 elements; a key: 2 x 12 x 768 x 2 = 36,864
     * bytes; cross 128 keys, self 32.5 on average. */
    step_workload w = {1, 1, 128.0, 64, 2, 2, 1, 0, 0, 0};
    CHECK(step_floor_bytes(&base, &w) == 247529472.0 + 128 * 36864.0 + 32.5 * 36864.0);
    CHECK(fabs(step_floor_ms(&base, &w, 2999.5) - 0.0845) < 5e-4);
    /* 64 requests x 4 beams: cross K/V once per request, self K/V per beam. */
    w.requests = 64, w.beams = 4;
    CHECK(step_floor_bytes(&base, &w) == 247529472.0 + 64 * 128 * 36864.0 + 256 * 32.5 * 36864.0);
    /* Two ranks read half of everything. */
    step_workload w2 = w;
    w2.tp = 2;
    CHECK(step_floor_bytes(&base, &w2) * 2 == step_floor_bytes(&base, &w));
    /* flan-t5-xl (gated FFN, 24 layers, 2048 wide, 5120 FFN): 24 x (6 x 2048^2 + 3 x 2048 x 5120)
     * + 32128 x 2048 = 1,424,752,640 elements; a key: 2 x 24 x 2048 x 2 = 196,608 bytes. */
    step_workload wx = {1, 1, 128.0, 64, 2, 2, 1, 0, 0, 0};
    CHECK(step_floor_bytes(&xl, &wx) == 2849505280.0 + 160.5 * 196608.0);
    CHECK(fabs(step_floor_ms(&xl, &wx, 2999.5) - 0.9605) < 5e-4);
    CHECK(step_floor_ms(&xl, &wx, 0.0) == 0.0); /* no bandwidth measured: no floor */
    /* t5-base with int8 projections, the head in bf16, fp8 K/V: per layer 6 x 768^2 + 2 x 768 x
     * 3072 = 8,257,536 code bytes and 4 x (4 x 768 + 2 x 768 + 3072 + 768) = 33,792 scale bytes
     * (rows: Q, K, V, cross Q of 768; self and cross O of 768; FFN in 3072; FFN out 768); head
     * 32128 x 768 x 2; a key: 2 x 12 x 768 codes + 2 x 12 x 12 heads x 4 scale bytes = 19,584. */
    step_workload wq = {1, 1, 128.0, 64, 2, 1, 1, 1, 0, 1};
    CHECK(step_floor_bytes(&base, &wq) ==
          12.0 * (8257536.0 + 33792.0) + 32128.0 * 768 * 2 + 160.5 * 19584.0);
    wq.quant_head = 1; /* the head as codes and a scale per vocabulary row too */
    CHECK(step_floor_bytes(&base, &wq) ==
          12.0 * (8257536.0 + 33792.0) + 32128.0 * 768 + 32128.0 * 4 + 160.5 * 19584.0);
    TEST_MAIN_END("test_step_floor");
}
