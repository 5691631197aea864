/* GEMM-input statistics of the CPU backend, for the quantization issue's check of T5's
 * activation ranges: with ENCDEC_ACT_STATS=1 in the environment (read once), every matmul_wt /
 * matmul_wq input is measured and the totals are printed to stderr at exit; otherwise one test
 * of a flag per GEMM. What is measured: the largest |x|, and how many nonzero values E4M3 would
 * round to zero (|v| / scale <= 2^-10, half its smallest subnormal) with the scale the GPU's FP8
 * GEMM path takes (amax of the row / 448) and with one scale per GEMM input (amax of the call /
 * 448), which is how a static per-tensor scale fails on outlier tokens. */
#ifndef ENCDEC_ACT_STATS_H
#define ENCDEC_ACT_STATS_H

#include <stddef.h>

typedef struct act_stats {
    long calls, rows, nonzero;
    double largest;      /* the largest |x| seen */
    long flushed_row;    /* nonzero values rounded to zero with the row's scale */
    long flushed_call;   /* ... with the call's scale */
} act_stats;

/* Adds x [m, k] (fp32, or a 16-bit dtype's bits: xtype as common/dtype.h) to s. */
void act_stats_add(act_stats *s, const void *x, int xtype, int m, int k);
/* act_stats_add into the process's totals when ENCDEC_ACT_STATS=1; the first call registers the
 * report at exit. */
void cpu_act_stats_record(const void *x, int xtype, int m, int k);

#endif
