#include "parallel/wait.h"

#include <time.h>

#include "common/clock.h"

static void nap(double s) {
    struct timespec ts = {0, (long)(s * 1e9)};
    nanosleep(&ts, NULL); /* an early wake-up (a signal) only means one more test */
}

wait_result wait_request(MPI_Request *req, double deadline) {
    int done = 0;
    double start = monotonic_s(), nap_s = WAIT_FIRST_NAP_S;
    for (;;) {
        if (MPI_Test(req, &done, MPI_STATUS_IGNORE) != MPI_SUCCESS) return WAIT_FAILED;
        if (done) return WAIT_DONE;
        double now = monotonic_s();
        if (deadline > 0 && now >= deadline) return WAIT_TIMED_OUT;
        if (now - start < WAIT_SPIN_S) continue;
        double left = deadline > 0 ? deadline - now : nap_s;
        nap(left < nap_s ? left : nap_s);
        nap_s = nap_s * 2 < WAIT_MAX_NAP_S ? nap_s * 2 : WAIT_MAX_NAP_S;
    }
}
