#include "common/parallel_for.h"

#include <pthread.h>
#include <unistd.h>

typedef struct range_job {
    void *ctx;
    void (*fn)(void *ctx, size_t range, size_t begin, size_t end);
    size_t range, begin, end;
} range_job;

static void *run_range(void *arg) {
    range_job *j = arg;
    j->fn(j->ctx, j->range, j->begin, j->end);
    return NULL;
}

void parallel_for(size_t n_items, size_t min_per_thread, void *ctx,
                  void (*fn)(void *ctx, size_t range, size_t begin, size_t end)) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    size_t threads = online > 1 ? (size_t)online : 1;
    if (threads > PARALLEL_FOR_MAX_THREADS) threads = PARALLEL_FOR_MAX_THREADS;
    if (min_per_thread < 1) min_per_thread = 1;
    if (threads > n_items / min_per_thread) threads = n_items / min_per_thread;
    if (threads < 2) {
        if (n_items) fn(ctx, 0, 0, n_items);
        return;
    }
    range_job jobs[PARALLEL_FOR_MAX_THREADS];
    pthread_t tid[PARALLEL_FOR_MAX_THREADS];
    int started[PARALLEL_FOR_MAX_THREADS] = {0};
    for (size_t t = 0; t < threads; t++) {
        jobs[t] = (range_job){ctx, fn, t, n_items * t / threads, n_items * (t + 1) / threads};
        /* range 0 is the caller's; a range whose thread cannot start runs here too */
        started[t] = t > 0 && pthread_create(&tid[t], NULL, run_range, &jobs[t]) == 0;
    }
    for (size_t t = 0; t < threads; t++)
        if (!started[t]) run_range(&jobs[t]);
    for (size_t t = 1; t < threads; t++)
        if (started[t]) pthread_join(tid[t], NULL);
}
