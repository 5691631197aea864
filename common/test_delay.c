#include "common/test_delay.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* The parsed ENCDEC_TEST_STEP_DELAY_MS: -1 = not read yet, 0 = off, else milliseconds. */
static long delay_ms = -1;

void test_step_delay(void) {
    if (delay_ms < 0) {
        const char *s = getenv("ENCDEC_TEST_STEP_DELAY_MS");
        delay_ms = 0;
        if (s && *s) {
            char *end;
            long v = strtol(s, &end, 10);
            if (*end || v < 1 || v > 1000) {
                fprintf(stderr, "ENCDEC_TEST_STEP_DELAY_MS='%s': expected a whole number of "
                                "milliseconds, 1 to 1000\n", s);
                exit(2);
            }
            delay_ms = v;
        }
    }
    if (delay_ms > 0)
        nanosleep(&(struct timespec){delay_ms / 1000, (delay_ms % 1000) * 1000000L}, NULL);
}
