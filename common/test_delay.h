/* Test hook for the serving tests (tests/http): a pause before every step that decodes, so that a
 * long request is still running when a test acts on it (a client leaving, the drain, a full
 * queue) on a machine of any speed, instead of a race against the decoder. Always compiled,
 * inert unless the environment sets
 *
 *   ENCDEC_TEST_STEP_DELAY_MS=N      (a whole number, 1 to 1000)
 *
 * A malformed value is an error naming it (exit status 2 at the first step). Call from one
 * thread only (rank 0's engine loop). */
#ifndef ENCDEC_TEST_DELAY_H
#define ENCDEC_TEST_DELAY_H

/* Rank 0 is about to run a step that decodes: sleeps N ms when the hook is set. */
void test_step_delay(void);

#endif
