/* A range of independent work split over threads: for loops whose items write disjoint outputs
 * (rows of a matrix, blocks of values), so the result is the same whatever the thread count. */
#ifndef ENCDEC_PARALLEL_FOR_H
#define ENCDEC_PARALLEL_FOR_H

#include <stddef.h>

/* Calls fn(ctx, range, begin, end) for contiguous ranges [begin, end) covering [0, n_items),
 * range = 0, 1, ... < PARALLEL_FOR_MAX_THREADS numbering them in order, each on its own thread
 * (as many as the processors online, at most PARALLEL_FOR_MAX_THREADS, each range at least
 * min_per_thread items; range 0 and any range whose thread cannot be started run on the
 * caller's). Returns once every range is done. fn must not touch other ranges' outputs. */
enum { PARALLEL_FOR_MAX_THREADS = 16 };
void parallel_for(size_t n_items, size_t min_per_thread, void *ctx,
                  void (*fn)(void *ctx, size_t range, size_t begin, size_t end));

#endif
