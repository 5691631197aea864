/* Waiting for an MPI request without burning a core, with a deadline: the one wait loop that
 * every collective of the communicator and the plan broadcast go through (parallel/comm.c,
 * parallel/plan_bcast.c). Open MPI's blocking calls poll at 100% CPU for as long as they wait;
 * this polls MPI_Test back to back for WAIT_SPIN_S (a collective inside a step, or the next plan
 * of a busy run, usually completes within that), then sleeps between tests in naps that grow to
 * WAIT_MAX_NAP_S: an idle rank sees a message within about WAIT_MAX_NAP_S of its arrival and
 * uses 2-3% of a core on a loaded 2-core VM (a wake-up costs ~25 us there; naps of 0.5 ms gave
 * 5%, Open MPI's blocking wait 85-100%). */
#ifndef ENCDEC_WAIT_H
#define ENCDEC_WAIT_H

#include <mpi.h>

#define WAIT_SPIN_S 2e-3    /* seconds of back-to-back MPI_Test before the first nap */
#define WAIT_FIRST_NAP_S 2e-5
#define WAIT_MAX_NAP_S 1e-3 /* the longest nap: bounds the extra latency of an idle rank */

typedef enum { WAIT_DONE = 0, WAIT_TIMED_OUT = 1, WAIT_FAILED = -1 } wait_result;

/* Waits until *req completes (then *req is MPI_REQUEST_NULL) or monotonic time `deadline`
 * (seconds, common/clock.h's monotonic_s; 0 = no deadline) passes: WAIT_TIMED_OUT leaves the
 * request pending (a collective's request cannot be cancelled: the caller must not use the
 * communicator for collectives again). WAIT_FAILED: MPI_Test returned an error. */
wait_result wait_request(MPI_Request *req, double deadline);

#endif
