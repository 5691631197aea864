#include "common/tp_chunk.h"

void tp_chunk(int n, int rank, int tp, int *start, int *count) {
    int chunk = (n + tp - 1) / tp;
    int s0 = rank * chunk < n ? rank * chunk : n;
    int e0 = s0 + chunk < n ? s0 + chunk : n;
    *start = s0;
    *count = e0 - s0;
}
