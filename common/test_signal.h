/* Test hook for the fault tests (tests/mpi/fault_matrix.sh): a signal raised at an exact point of
 * a run. Always compiled, inert unless ENCDEC_TEST_SIGNAL_AT is set:
 *
 *   ENCDEC_TEST_SIGNAL_AT=POINT:RANK:N:SIGNAL[:parent]
 *
 * makes rank RANK, at its N-th arrival (N >= 1) at POINT, send SIGNAL (KILL, STOP, TERM, INT, HUP,
 * ABRT, SEGV or a number) to itself, or with ":parent" to its parent process (mpirun, for ranks
 * that mpirun started on its own host). Before the signal it prints one line to stderr:
 * "test_signal: rank R sends SIGNAL to itself|its parent PID at POINT (arrival N)". The points:
 *   load        runtime/engine.c, just before this rank reads its weight shard
 *   plan_bcast  parallel/plan_bcast.c, entering the broadcast of the next step plan
 *   allreduce   parallel/comm.c, entering a tensor-parallel all-reduce
 * A malformed value is an error naming it (exit status 2 at the first point reached). Call from
 * one thread only (the engine's). */
#ifndef ENCDEC_TEST_SIGNAL_H
#define ENCDEC_TEST_SIGNAL_H

/* This rank arrives at `point` (a string literal from the list above). */
void test_signal_at(const char *point, int rank);

#endif
