// GEMM-input statistics of the CPU backend (act_stats.h).
#include "kernels/cpu/act_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "kernels/cpu/cpu_ops.h"

enum { E4M3_MAX = 448 };
static const double FLUSH = 1.0 / 1024.0; /* |v| / scale at or below this rounds to zero */

/* The largest |x| of row r of x [., k]. */
static double row_amax(const void *x, int xtype, int r, int k) {
    double amax = 0.0;
    for (int c = 0; c < k; c++) amax = fmax(amax, fabs(cpu_widen(x, xtype, (size_t)r * k + c)));
    return amax;
}

void act_stats_add(act_stats *s, const void *x, int xtype, int m, int k) {
    double call_amax = 0.0;
    for (int r = 0; r < m; r++) call_amax = fmax(call_amax, row_amax(x, xtype, r, k));
    const double call_scale = call_amax / E4M3_MAX;
    for (int r = 0; r < m; r++) {
        const double row_scale = row_amax(x, xtype, r, k) / E4M3_MAX;
        for (int c = 0; c < k; c++) {
            const double v = fabs(cpu_widen(x, xtype, (size_t)r * k + c));
            if (v == 0.0) continue;
            s->nonzero++;
            s->flushed_row += v / row_scale <= FLUSH;
            s->flushed_call += v / call_scale <= FLUSH;
        }
    }
    s->calls++;
    s->rows += m;
    if (call_amax > s->largest) s->largest = call_amax;
}

static act_stats g_stats;

static void report(void) {
    const double nz = g_stats.nonzero ? (double)g_stats.nonzero : 1.0;
    fprintf(stderr,
            "encdec_tp act_stats: %ld GEMM inputs (%ld rows, %ld nonzero values), largest |x| "
            "%.6g; E4M3 rounds %.4g%% of the nonzero values to zero with a scale per row, "
            "%.4g%% with one scale per GEMM input\n",
            g_stats.calls, g_stats.rows, g_stats.nonzero, g_stats.largest,
            100.0 * g_stats.flushed_row / nz, 100.0 * g_stats.flushed_call / nz);
}

void cpu_act_stats_record(const void *x, int xtype, int m, int k) {
    static int on = -1;
    if (on < 0) {
        const char *e = getenv("ENCDEC_ACT_STATS");
        on = e && e[0] == '1' && !e[1];
        if (on) atexit(report);
    }
    if (on) act_stats_add(&g_stats, x, xtype, m, k);
}
