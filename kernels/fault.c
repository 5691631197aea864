#include "kernels/fault.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/activation.h"
#include "common/dtype.h"
#include "common/quant.h"
#include "kernels/backend.h"

/* The first fault since the last take: pending = 1 and its message. */
static struct {
    int pending;
    char msg[sizeof(((ed_error *)0)->msg)];
} g_fault;

static const char *g_last_op = "none";

/* The injection: the call number `at` of op `op` faults; calls counts those seen since it was
 * configured. op[0] == 0: off. */
static struct {
    char op[64];
    long at, calls;
} g_inject;

void fault_record_set(const char *op, const char *fmt, ...) {
    if (g_fault.pending) return;
    int n = op ? snprintf(g_fault.msg, sizeof g_fault.msg, "%s: ", op) : 0;
    if (n < 0 || (size_t)n >= sizeof g_fault.msg) n = (int)sizeof g_fault.msg - 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_fault.msg + n, sizeof g_fault.msg - (size_t)n, fmt, ap);
    va_end(ap);
    g_fault.pending = 1;
}

int fault_record_pending(void) { return g_fault.pending; }

ed_status fault_record_take(ed_error *err) {
    if (!g_fault.pending) return ED_OK;
    g_fault.pending = 0;
    return ed_fail(err, "%s", g_fault.msg);
}

int fault_op_begin(const char *op) {
    g_last_op = op;
    return fault_op_inject(op);
}

int fault_op_inject(const char *op) {
    if (!g_inject.op[0] || strcmp(op, g_inject.op) != 0 || ++g_inject.calls != g_inject.at)
        return 0;
    fault_record_set(NULL, "injected fault in %s (call %ld)", op, g_inject.at);
    return 1;
}

const char *fault_op_last(void) { return g_last_op; }

ed_status fault_inject_configure(const char *spec, ed_error *err) {
    memset(&g_inject, 0, sizeof g_inject);
    if (!spec || !*spec) return ED_OK;
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    long at = 1;
    if (colon) {
        char *end = NULL;
        at = strtol(colon + 1, &end, 10);
        if (end == colon + 1 || *end || at < 1) at = 0;
    }
    if (!len || len >= sizeof g_inject.op || at < 1)
        return ed_fail(err, "ENCDEC_INJECT_FAULT='%s': expected <op>[:<n>], n >= 1", spec);
    memcpy(g_inject.op, spec, len);
    g_inject.op[len] = 0;
    g_inject.at = at;
    return ED_OK;
}

int fault_wq_reject(int xtype, int quant, int flags) {
    if (fault_dtype_reject("matmul_wq", "input dtype", xtype)) return 1;
    if (quant != QUANT_INT8 && quant != QUANT_FP8) {
        fault_record_set("matmul_wq", "unknown quantization %d (int8 1 or fp8 2)", quant);
        return 1;
    }
    if (flags & MATMUL_RELU_TO_BF16) {
        fault_record_set("matmul_wq", "MATMUL_RELU_TO_BF16 is for matmul_wt");
        return 1;
    }
    return 0;
}

int fault_wq_gated_reject(int act, int xtype, int quant, int ytype, int flags) {
    return fault_act_reject("matmul_wq_gated", act) ||
           fault_dtype_reject("matmul_wq_gated", "ytype", ytype) ||
           fault_wq_reject(xtype, quant, flags & (MATMUL_SAME_INPUT | MATMUL_X_IN_WTYPE));
}

int fault_wtype16_reject(const char *op, int wtype) {
    if (wtype == DTYPE_FP16 || wtype == DTYPE_BF16) return 0;
    fault_record_set(op, "weight dtype %d: the fused pre-norm takes 16-bit weights (fp16 1 or "
                         "bf16 2)", wtype);
    return 1;
}

int fault_relu_reject(int wtype, int flags, const float *bias) {
    if (!(flags & MATMUL_RELU_TO_BF16) ||
        (wtype == DTYPE_BF16 && !(flags & MATMUL_ACCUMULATE) && !bias))
        return 0;
    fault_record_set("matmul_wt", "MATMUL_RELU_TO_BF16 needs bf16 weights, no accumulate, no bias");
    return 1;
}

int fault_dtype_reject(const char *op, const char *what, int dtype) {
    if (dtype == DTYPE_FP32 || dtype == DTYPE_FP16 || dtype == DTYPE_BF16) return 0;
    fault_record_set(op, "unknown %s %d (fp32 0, fp16 1 or bf16 2)", what, dtype);
    return 1;
}

int fault_act_reject(const char *op, int act) {
    if (act == ACT_RELU || act == ACT_GELU_NEW || act == ACT_GELU || act == ACT_SILU) return 0;
    fault_record_set(op, "unknown activation kind %d", act);
    return 1;
}
