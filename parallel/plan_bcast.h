/* Sends rank 0's step plan to every rank. The header carries the plan's sequence number and a
 * checksum over header and entries; a receiver that gets an unexpected sequence number, counts
 * above its capacities or a checksum mismatch returns an error (the caller stops the job) instead
 * of computing garbage. */
#ifndef ENCDEC_PLAN_BCAST_H
#define ENCDEC_PLAN_BCAST_H

#include "parallel/comm.h"
#include "common/step_plan.h"

/* Rank 0: p is the plan to send (its seq must be expected_seq). Other ranks: p receives it,
 * sleeping while they wait (parallel/wait.h); with the watchdog armed (comm_set_watchdog) a wait
 * for the next plan that sees nothing from rank 0, not even a keep-alive, for watchdog_s fails
 * naming this rank and the plan. */
ed_status plan_bcast(comm *c, step_plan *p, uint64_t expected_seq, ed_error *err);

/* Rank 0, around a wait of its own that may last (input that has not arrived yet; later the
 * request queue of a live server): the other ranks, waiting for plan next_seq, must not take an
 * idle rank 0 for a hung one. From plan_idle_begin to plan_idle_end a thread sends them a
 * keep-alive (a plan header that carries no plan) every watchdog_s / 4 seconds; the caller makes
 * no call on c in between. Costs two mutex operations when the wait is short. Nothing happens on
 * other ranks, on one rank, with the watchdog off, or where MPI lacks MPI_THREAD_SERIALIZED (the
 * other ranks' plan waits then have no deadline). plan_idle_end returns a failed keep-alive's
 * error. */
void plan_idle_begin(comm *c, uint64_t next_seq);
ed_status plan_idle_end(comm *c, ed_error *err);

#endif
