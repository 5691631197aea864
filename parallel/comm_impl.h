/* The communicator's insides, shared by its implementations (comm.c: MPI; comm_nccl.c: NCCL).
 * Not for use outside parallel/. */
#ifndef ENCDEC_COMM_IMPL_H
#define ENCDEC_COMM_IMPL_H

#include <mpi.h>
#include <stdatomic.h>
#include <stdint.h>

#include "parallel/comm.h"

typedef struct plan_keeper plan_keeper; /* parallel/plan_bcast.c: rank 0's keep-alive thread */
void plan_keeper_destroy(plan_keeper *k);

#define COMM_STEP_STARTUP UINT64_MAX /* comm.step before the first plan: start-up */

typedef struct comm_ops {
    ed_status (*allreduce_sum)(comm *c, float *buf, size_t n, ed_error *err);
} comm_ops;

struct comm {
    const comm_ops *ops;
    MPI_Comm world;       /* control traffic and the MPI implementation */
    int rank, size, local_rank;
    void *nccl;           /* ncclComm_t when the NCCL implementation is in use */
    void *stream;         /* cudaStream_t the NCCL collectives run on */
    int threads_ok;       /* MPI provides MPI_THREAD_SERIALIZED: rank 0 can send keep-alives
                             from a thread while it idles (plan_bcast.c) */
    double watchdog_s;    /* deadline of every wait, seconds; 0 = none (comm_set_watchdog) */
    uint64_t step;        /* the plan being run or awaited, for messages (written by plan_bcast);
                             COMM_STEP_STARTUP before the first plan */
    char fault[512];      /* non-empty once a wait timed out: the communicator is unusable for
                             collectives (a request stays pending); written by comm_wait */
    plan_keeper *keeper;  /* rank 0, created on its first idle wait (plan_bcast.c) */
    /* NCCL's watchdog (comm_nccl.c): a thread that aborts the NCCL communicator when NCCL
     * reports an asynchronous error or a step outlasts watchdog_s, so that a rank stuck in a
     * stream synchronize behind a collective a stopped peer never joins gets out. */
    _Atomic double busy_since; /* monotonic start of this rank's step in progress, 0 = none
                                  (written by plan_bcast and plan_idle_begin/end) */
    _Atomic int nccl_aborted;  /* 1 once the thread aborted the NCCL communicator; then
                                  nccl_fault holds why (written before the flag) */
    char nccl_fault[512];
    void *nccl_watch;          /* the thread (comm_nccl.c) */
    /* Buffers of the small collectives (plan headers, agreement, minimum): they live as long as
     * c, so a request abandoned by a timeout never writes into a dead stack frame should the
     * peer wake up later. Used by one call at a time (the keep-alive thread only while the
     * caller idles). */
    union {
        unsigned char bytes[128];
        long long ll[2];
        int i[2];
    } ctl;
};

/* Waits for *req (just started by a call that returned mpi_rc) through wait_request, with the
 * watchdog's deadline if `timed`. On a timeout writes the fault (naming this rank, the step and
 * `what`), which every later collective of c returns at once. */
ed_status comm_wait(comm *c, MPI_Request *req, int mpi_rc, int timed, const char *what,
                    ed_error *err);

/* ED_ERR with the fault's message if an earlier wait timed out. */
ed_status comm_check_usable(const comm *c, ed_error *err);

#endif
