/* Monotonic wall time for the run's statistics and the benchmarks. */
#ifndef ENCDEC_CLOCK_H
#define ENCDEC_CLOCK_H

#include <time.h>

/* Seconds on CLOCK_MONOTONIC (only differences mean anything). */
static inline double monotonic_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

#endif
