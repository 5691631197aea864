/* The NCCL implementation of the tensor-parallel all-reduce (CUDA backend), and NCCL's watchdog.
 * An NCCL collective that a stopped or hung peer never joins spins on the GPU; this rank then
 * waits in a stream synchronize that no MPI deadline reaches. A thread polls every 50 ms: when
 * NCCL reports an asynchronous error (ncclCommGetAsyncError: a peer's network or a remote
 * failure) or this rank's step has lasted longer than watchdog_s (busy_since, marked by the plan
 * broadcast), it writes the fault and calls ncclCommAbort, which ends the collective's kernels:
 * the stream synchronize returns, the step's agreement sees the fault (comm_check_usable) and the
 * launcher ends the job through MPI_Abort (what PyTorch's NCCL watchdog does). The abort may race
 * with a collective being enqueued on the main thread; the job ends right after either way. */
#include <cuda_runtime_api.h>
#include <nccl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "parallel/comm_impl.h"

static ed_status nccl_allreduce_sum(comm *c, float *buf, size_t n, ed_error *err) {
    if (c->size == 1) return ED_OK;
    if (comm_check_usable(c, err)) return ED_ERR;
    ncclResult_t r = ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, (ncclComm_t)c->nccl,
                                   (cudaStream_t)c->stream);
    if (r != ncclSuccess)
        return ed_fail(err, "ncclAllReduce of %zu floats failed: %s", n, ncclGetErrorString(r));
    return ED_OK;
}

static const comm_ops nccl_ops = {.allreduce_sum = nccl_allreduce_sum};

typedef struct nccl_watch {
    pthread_t thread;
    _Atomic int quit;
    comm *c;
} nccl_watch;

static void *nccl_watch_main(void *arg) {
    nccl_watch *w = arg;
    comm *c = w->c;
    while (!atomic_load(&w->quit)) {
        struct timespec nap = {0, 50 * 1000 * 1000};
        nanosleep(&nap, NULL);
        ncclResult_t async = ncclSuccess;
        char why[160];
        double since = atomic_load(&c->busy_since), now = monotonic_s();
        if (ncclCommGetAsyncError((ncclComm_t)c->nccl, &async) == ncclSuccess &&
            async != ncclSuccess && async != ncclInProgress)
            snprintf(why, sizeof why, "NCCL reported an asynchronous error: %s",
                     ncclGetErrorString(async));
        else if (c->watchdog_s > 0 && since > 0 && now - since > c->watchdog_s)
            snprintf(why, sizeof why, "the step has not finished after %.1f s (watchdog_s): its "
                     "NCCL collectives wait for a peer rank that is stopped, hung or dead",
                     now - since);
        else continue;
        snprintf(c->nccl_fault, sizeof c->nccl_fault,
                 "watchdog: rank %d gave up at step %llu: %s; aborted the NCCL communicator",
                 c->rank, (unsigned long long)c->step, why);
        atomic_store(&c->nccl_aborted, 1);
        log_error("%s", c->nccl_fault); /* the main thread may stay blocked a while longer */
        ncclCommAbort((ncclComm_t)c->nccl);
        break;
    }
    return NULL;
}

ed_status comm_use_nccl(comm *c, void *stream, ed_error *err) {
    ncclUniqueId id;
    if (c->rank == 0 && ncclGetUniqueId(&id) != ncclSuccess)
        return ed_fail(err, "ncclGetUniqueId failed");
    if (MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, c->world) != MPI_SUCCESS)
        return ed_fail(err, "broadcasting the ncclUniqueId failed");
    ncclComm_t nc;
    ncclResult_t r = ncclCommInitRank(&nc, c->size, id, c->rank);
    if (r != ncclSuccess) return ed_fail(err, "ncclCommInitRank failed: %s", ncclGetErrorString(r));
    c->nccl = nc;
    c->stream = stream;
    c->ops = &nccl_ops;
    nccl_watch *w = calloc(1, sizeof *w);
    if (w) {
        w->c = c;
        if (pthread_create(&w->thread, NULL, nccl_watch_main, w)) {
            free(w);
            w = NULL;
        }
    }
    if (!w) log_warn("no NCCL watchdog thread: a stopped peer may hang this rank");
    c->nccl_watch = w;
    return ED_OK;
}

void comm_nccl_destroy(comm *c) {
    nccl_watch *w = c->nccl_watch;
    if (w) {
        atomic_store(&w->quit, 1);
        pthread_join(w->thread, NULL);
        free(w);
        c->nccl_watch = NULL;
    }
    /* An aborted communicator is already freed. */
    if (c->nccl && !atomic_load(&c->nccl_aborted)) ncclCommDestroy((ncclComm_t)c->nccl);
    c->nccl = NULL;
}
