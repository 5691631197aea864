/* Sends rank 0's step plan to every rank. The header carries the plan's sequence number and a
 * checksum over header and entries; a receiver that gets an unexpected sequence number, counts
 * above its capacities or a checksum mismatch returns an error (the caller stops the job) instead
 * of computing garbage. */
#ifndef ENCDEC_PLAN_BCAST_H
#define ENCDEC_PLAN_BCAST_H

#include "parallel/comm.h"
#include "common/step_plan.h"

/* Rank 0: p is the plan to send (its seq must be expected_seq). Other ranks: p receives it. */
ed_status plan_bcast(comm *c, step_plan *p, uint64_t expected_seq, ed_error *err);

#endif
