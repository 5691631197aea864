/* The tensor-parallel communicator: one interface, implementations in an ops table. The CPU
 * backend uses MPI_Allreduce (this file); the CUDA backend's NCCL communicator (created by
 * broadcasting the ncclUniqueId over MPI) fills the same table in its own issue.
 * Control traffic (step plans, agreement on errors) always goes over MPI. */
#ifndef ENCDEC_COMM_H
#define ENCDEC_COMM_H

#include <stddef.h>

#include "common/status.h"
#include "common/tp_chunk.h"

typedef struct comm comm;

/* Wraps MPI_COMM_WORLD (duplicated); rank and size come from it. local_rank (rank within the
 * node, from an MPI shared-memory split) is what picks the GPU. */
ed_status comm_create_mpi(comm **out, ed_error *err);
void comm_destroy(comm *c);

int comm_rank(const comm *c);
int comm_size(const comm *c);
int comm_local_rank(const comm *c);

/* Switches the tensor-parallel all-reduce to NCCL on `stream` (a cudaStream_t): the
 * ncclUniqueId is broadcast over MPI. Collective: every rank calls it. Builds without CUDA
 * return an error. */
ed_status comm_use_nccl(comm *c, void *stream, ed_error *err);

/* In-place sum over all ranks of buf[n] (backend memory). */
ed_status comm_allreduce_sum(comm *c, float *buf, size_t n, ed_error *err);

/* Vocab-parallel logits to rank 0: each rank passes local[rows, its tp_chunk of vocab] (host);
 * rank 0 receives full[rows, vocab]. staging (rank 0, rows * vocab floats) is scratch. */
ed_status comm_gather_vocab(comm *c, const float *local, int rows, int vocab, float *full,
                            float *staging, ed_error *err);

/* Every rank's local[n] (host) to rank 0's all[comm_size * n], in rank order. */
ed_status comm_gather(comm *c, const float *local, int n, float *all, ed_error *err);

/* Whether this communicator's all-reduce can be recorded into a backend graph (one rank, or
 * NCCL on the backend's stream). */
int comm_graph_capturable(const comm *c);

/* Broadcast of host bytes from root. */
ed_status comm_bcast(comm *c, void *buf, size_t n, int root, ed_error *err);

/* Agreement: every rank passes its local verdict (1 ok, 0 failed); returns 1 only if all are ok.
 * Used before the first collective so that no rank is left waiting after another failed. */
int comm_all_ok(comm *c, int local_ok);

/* The minimum of v over all ranks (every rank gets it), or -1 if the collective failed. */
long long comm_min(comm *c, long long v);

/* The watchdog: from now on every collective of c (and the wait for the next step plan) gives up
 * once it has waited `seconds` (0 = never) and returns an error naming this rank, the step and
 * the collective; the communicator is then unusable (comm_fault) and the job must end through
 * comm_abort, since the stopped or hung peer cannot join a clean shutdown. Waits sleep instead of
 * spinning either way (parallel/wait.h). encdec_tp arms it before start-up, so a rank stopped
 * while loading ends the job too ("gave up at start-up"): watchdog_s must then exceed the spread
 * of load times across ranks as well as the longest step. Not collective; every rank sets the
 * same value. */
void comm_set_watchdog(comm *c, double seconds);

/* The message of the watchdog timeout that made c unusable, or NULL while c is healthy. A
 * collective (comm_all_ok, comm_min) that returns "failed" may owe it to this: the launcher
 * checks it before trusting that every rank stopped together. */
const char *comm_fault(const comm *c);

/* Ends the whole job (all ranks). Only launch/ calls this. */
void comm_abort(comm *c, int code);

#endif
