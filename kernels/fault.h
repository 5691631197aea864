/* The backend's fault record: ops return nothing, so a failing op (a rejected launch, a library
 * call's error, a bad dtype or activation kind, a failed host allocation, an injected fault)
 * records its fault here, and the backend's check() hands it on as a status (kernels/backend.h).
 * One record per process (one backend per process); ops, check() and these functions run on the
 * engine's thread only (not thread-safe). Both backends use it; nothing here aborts. */
#ifndef ENCDEC_FAULT_H
#define ENCDEC_FAULT_H

#include "common/status.h"

#ifdef __cplusplus
extern "C" { /* the CUDA backend's .cu files record faults */
#endif

/* Records "op: <formatted detail>" (op NULL: the detail alone) unless a fault is already
 * recorded (the first one is kept). */
void fault_record_set(const char *op, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 1 while a fault is recorded (not yet taken). */
int fault_record_pending(void);
/* ED_OK when nothing is recorded; else ED_ERR with the recorded message in err, and the record
 * cleared. */
ed_status fault_record_take(ed_error *err);

/* An op starts: op (a string literal, kept by pointer) becomes the last op launched, which names
 * a fault found only when the queued work is waited for. Returns 1 when the fault injection
 * (fault_inject_configure) fires on this call: "injected fault in <op>" is recorded and the op
 * must return without doing its work; else 0. */
int fault_op_begin(const char *op);
/* The op named by the latest fault_op_begin ("none" before any). */
const char *fault_op_last(void);
/* fault_op_begin's injection alone, for ops that are not launches (copies: the last op launched
 * stays the kernel's that a fault found at their wait belongs to). */
int fault_op_inject(const char *op);

/* Test hook: spec "<op>[:<n>]" makes the n-th call (default the 1st, counted from now) of op
 * fault (fault_op_begin); NULL or "" switches it off. ED_ERR naming the spec when it is not of
 * that form. kernels/backend.c's backend_get reads it from ENCDEC_INJECT_FAULT. */
ed_status fault_inject_configure(const char *spec, ed_error *err);

/* matmul_wq's arguments (kernels/backend.h), checked alike by both backends: an input dtype
 * that is not fp32, fp16 or bf16, a quantization other than int8 / fp8 (common/quant.h), or
 * MATMUL_RELU_TO_BF16 (matmul_wt's alone) in flags records a fault naming "matmul_wq" and
 * returns 1; else 0. */
int fault_wq_reject(int xtype, int quant, int flags);
/* matmul_wq_gated's arguments, checked alike by both backends before anything runs: an unknown
 * activation or ytype records a fault naming "matmul_wq_gated", then fault_wq_reject's checks
 * of x, quant and flags (those the op takes: MATMUL_SAME_INPUT, MATMUL_X_IN_WTYPE); 1 on the
 * first refused, else 0. */
int fault_wq_gated_reject(int act, int xtype, int quant, int ytype, int flags);
/* matmul_wt's MATMUL_RELU_TO_BF16 form without what it needs (bf16 weights, no
 * MATMUL_ACCUMULATE, no bias): records "matmul_wt: MATMUL_RELU_TO_BF16 ..." and returns 1;
 * else 0. */
/* Records "<op>: weight dtype <name>: the fused pre-norm takes 16-bit weights (fp16 or bf16)"
 * and returns 1 unless wtype is fp16 or bf16 (rms_matmul, rms_matmul_gated). */
int fault_wtype16_reject(const char *op, int wtype);
int fault_relu_reject(int wtype, int flags, const float *bias);
/* 0 when dtype is fp32, fp16 or bf16; else records "op: unknown <what> <dtype>" and returns 1. */
int fault_dtype_reject(const char *op, const char *what, int dtype);
/* 0 when act is an act_kind (common/activation.h); else records "op: unknown activation kind
 * <act>" and returns 1. */
int fault_act_reject(const char *op, int act);

#ifdef __cplusplus
}
#endif

#endif
