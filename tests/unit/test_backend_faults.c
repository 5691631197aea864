/* Faults as statuses on the CPU backend (kernels/backend.h's check()): no fault -> ED_OK; an op
 * given a bad weight dtype -> ED_ERR naming the op, then ED_OK once taken; the first fault is
 * kept; the ENCDEC_INJECT_FAULT hook makes the n-th call of an op fault and skip its work, read
 * once by backend_get; a malformed hook is refused by name. */
#include <stdlib.h>

#include "kernels/backend.h"
#include "kernels/fault.h"
#include "tests/unit/check.h"

int main(void) {
    ed_error err = {{0}};
    /* the 2nd rms_norm call of this process faults (read by the first backend_get) */
    setenv("ENCDEC_INJECT_FAULT", "rms_norm:2", 1);
    const backend *be = backend_get(BACKEND_CPU, 0, &err);
    CHECK(be != NULL);
    if (!be) return 1;
    setenv("ENCDEC_INJECT_FAULT", "not read again:0", 1);
    CHECK(backend_get(BACKEND_CPU, 0, &err) == be);

    CHECK(be->check(&err) == ED_OK); /* nothing recorded */

    float x[4] = {1, 2, 3, 4}, w[8] = {1, 0, 0, 0, 0, 1, 0, 0}, y[2] = {0, 0};
    be->matmul_wt(x, w, 7, NULL, y, 1, 2, 4, 0); /* wtype 7: no such dtype */
    be->activation(99, x, y, DTYPE_FP32, 2); /* a second fault: not the one kept */
    CHECK(be->check(&err) == ED_ERR);
    CHECK_MSG(err, "matmul_wt");
    CHECK_MSG(err, "weight dtype 7");
    CHECK(be->check(&err) == ED_OK); /* cleared */

    be->matmul_wt(x, w, DTYPE_FP32, NULL, y, 1, 2, 4, 0);
    CHECK(be->check(&err) == ED_OK);
    CHECK(y[0] == 1.0f && y[1] == 2.0f);

    be->matmul_wt(x, w, DTYPE_FP32, NULL, y, 1, 2, 4, MATMUL_RELU_TO_BF16); /* needs bf16 weights */
    CHECK(be->check(&err) == ED_ERR);
    CHECK_MSG(err, "matmul_wt: MATMUL_RELU_TO_BF16");

    /* the hook: call 1 runs, call 2 faults and writes nothing, call 3 runs */
    float g[4] = {1, 1, 1, 1}, out[4];
    for (int call = 1; call <= 3; call++) {
        for (int i = 0; i < 4; i++) out[i] = -7.0f;
        be->rms_norm(x, NULL, g, 0.0f, 1, 4, out, DTYPE_FP32);
        ed_status st = be->check(&err);
        CHECK(st == (call == 2 ? ED_ERR : ED_OK));
        CHECK((out[0] == -7.0f) == (call == 2));
        if (call == 2) {
            CHECK_MSG(err, "injected fault in rms_norm");
            CHECK_MSG(err, "call 2");
        }
    }

    /* configured directly (as test_ops does on the GPU): argmax_rows' 1st call from now */
    CHECK(fault_inject_configure("argmax_rows", &err) == ED_OK);
    int32_t ban[1] = {-1};
    float pair[2] = {0, 0};
    be->argmax_rows(x, 1, 4, 0, ban, pair);
    CHECK(be->check(&err) == ED_ERR);
    CHECK_MSG(err, "injected fault in argmax_rows (call 1)");
    be->argmax_rows(x, 1, 4, 0, ban, pair);
    CHECK(be->check(&err) == ED_OK);
    CHECK(pair[0] == 4.0f && pair[1] == 3.0f);

    CHECK(fault_inject_configure("matmul_wt:0", &err) == ED_ERR);
    CHECK_MSG(err, "ENCDEC_INJECT_FAULT='matmul_wt:0'");
    CHECK(fault_inject_configure(":3", &err) == ED_ERR);
    CHECK(fault_inject_configure(NULL, &err) == ED_OK); /* off */
    TEST_MAIN_END("test_backend_faults");
}
