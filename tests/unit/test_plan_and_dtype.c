#include <math.h>

#include "common/dtype.h"
#include "common/step_plan.h"
#include "tests/unit/check.h"

int main(void) {
    step_plan *p = step_plan_create(2, 2, 8, 4);
    CHECK(p != NULL);
    p->seq = 5;
    p->n_decode = 1;
    p->dec[0] = (plan_decode){3, 42, 0, 0, 1, -1};
    uint64_t h = step_plan_checksum(p);
    p->dec[0].token = 43;
    CHECK(step_plan_checksum(p) != h);
    p->dec[0].token = 42;
    CHECK(step_plan_checksum(p) == h);
    p->seq = 6;
    CHECK(step_plan_checksum(p) != h);
    step_plan_destroy(p);
    step_plan_destroy(NULL);

    float xs[] = {0.0f, 1.0f, -2.5f, 65504.0f, 1e-7f, 3.14159f, -0.333333f};
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        float h16 = dtype_fp16_to_f32(dtype_f32_to_fp16(xs[i]));
        float b16 = dtype_bf16_to_f32(dtype_f32_to_bf16(xs[i]));
        CHECK(fabsf(h16 - xs[i]) <= fabsf(xs[i]) * 1e-3f + 6e-8f);
        CHECK(fabsf(b16 - xs[i]) <= fabsf(xs[i]) * 8e-3f);
    }
    CHECK(dtype_f32_to_fp16(1.0f) == 0x3c00);
    CHECK(dtype_f32_to_bf16(1.0f) == 0x3f80);
    CHECK(isinf(dtype_fp16_to_f32(dtype_f32_to_fp16(1e6f))));
    TEST_MAIN_END("test_plan_and_dtype");
}
