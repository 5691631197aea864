/* Two ranks: the wait helper (parallel/wait.h) and the watchdog (comm_set_watchdog).
 * 1. wait_request gives up at its deadline, not before and not much after, using < 5% of a core.
 * 2. A message that arrives after a long idle wait is seen soon (by design within 1 ms).
 * 3. A collective that a peer does not join within watchdog_s fails, naming the rank and the
 *    step; the communicator then refuses every collective at once.
 * 4. Rank 0 idle (plan_idle_begin/end) for longer than watchdog_s: keep-alives keep rank 1's plan
 *    wait alive, and rank 1 sleeps meanwhile (< 5% of a core).
 * 5. Without keep-alives, rank 1's wait for the next plan fails after watchdog_s, naming the plan. */
#include <mpi.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>

#include "common/clock.h"
#include "parallel/plan_bcast.h"
#include "parallel/wait.h"
#include "tests/unit/check.h"

static double cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 + ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec * 1e-6;
}

static void sleep_s(double s) {
    struct timespec ts = {(time_t)s, (long)((s - (time_t)s) * 1e9)};
    nanosleep(&ts, NULL);
}

int main(int argc, char **argv) {
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
    comm *c, *c2;
    ed_error err;
    if (comm_create_mpi(&c, &err) || comm_create_mpi(&c2, &err) || comm_size(c) != 2) {
        fprintf(stderr, "test_watchdog needs exactly 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int root = comm_rank(c) == 0;
    CHECK(provided >= MPI_THREAD_SERIALIZED);

    /* 1 and 2: rank 0 waits for rank 1's message, which comes 1.5 s late and carries its send
     * time (CLOCK_MONOTONIC is shared by the processes of one host). */
    MPI_Barrier(MPI_COMM_WORLD);
    if (root) {
        double sent = 0;
        MPI_Request req;
        MPI_Irecv(&sent, 1, MPI_DOUBLE, 1, 7, MPI_COMM_WORLD, &req);
        double t0 = monotonic_s(), cpu0 = cpu_s();
        CHECK(wait_request(&req, t0 + 1.0) == WAIT_TIMED_OUT);
        double waited = monotonic_s() - t0, cpu = cpu_s() - cpu0;
        printf("wait_request: gave up after %.4f s (deadline 1 s), CPU %.1f%% of a core\n",
               waited, 100 * cpu / waited);
        CHECK(waited >= 1.0 && waited < 1.1);
        CHECK(cpu < 0.05 * waited);
        CHECK(wait_request(&req, 0) == WAIT_DONE);
        double late = monotonic_s() - sent;
        printf("wait_request: message seen %.3f ms after it was sent, after an idle wait\n",
               late * 1e3);
        /* By design within WAIT_MAX_NAP_S (1 ms; 0.3-0.9 ms measured); the bound leaves room for
         * the scheduler of a loaded machine to wake the process late. */
        CHECK(late < 20e-3);
    } else {
        sleep_s(1.5);
        double now = monotonic_s();
        MPI_Send(&now, 1, MPI_DOUBLE, 0, 7, MPI_COMM_WORLD);
    }

    /* 3: rank 1 joins the agreement 2.5 s late; rank 0's watchdog (1 s) fires first. */
    MPI_Barrier(MPI_COMM_WORLD);
    comm_set_watchdog(c, 1);
    if (root) {
        double t0 = monotonic_s();
        CHECK(comm_all_ok(c, 1) == 0);
        double waited = monotonic_s() - t0;
        CHECK(waited >= 1.0 && waited < 1.5);
        const char *fault = comm_fault(c);
        CHECK(fault != NULL);
        if (fault) {
            printf("comm_all_ok after %.2f s: %s\n", waited, fault);
            CHECK(strstr(fault, "rank 0 gave up at start-up") != NULL);
            CHECK(strstr(fault, "rank 1 is stopped") != NULL);
        }
        float x = 1;
        t0 = monotonic_s();
        CHECK(comm_bcast(c, &x, sizeof x, 0, &err) == ED_ERR);
        CHECK(monotonic_s() - t0 < 0.01);
        CHECK_MSG(err, "watchdog");
    } else {
        sleep_s(2.5);
        comm_all_ok(c, 1); /* matches rank 0's abandoned request */
        CHECK(comm_fault(c) == NULL);
    }

    /* 4: rank 0 idles 2.5 s with keep-alives (watchdog 1 s): rank 1's plan wait survives. */
    MPI_Barrier(MPI_COMM_WORLD);
    comm_set_watchdog(c2, 1);
    step_plan *p = step_plan_create(4, 4, 16, 8);
    step_plan_clear(p);
    p->seq = 0;
    if (root) {
        plan_idle_begin(c2, 0);
        sleep_s(2.5);
        CHECK(plan_idle_end(c2, &err) == ED_OK);
        p->n_ids = 2, p->ids[0] = 5, p->ids[1] = 6;
        CHECK(plan_bcast(c2, p, 0, &err) == ED_OK);
    } else {
        double t0 = monotonic_s(), cpu0 = cpu_s();
        ed_status st = plan_bcast(c2, p, 0, &err);
        double waited = monotonic_s() - t0, cpu = cpu_s() - cpu0;
        if (st) fprintf(stderr, "rank 1: %s\n", err.msg);
        CHECK(st == ED_OK && p->n_ids == 2 && p->ids[1] == 6);
        printf("plan wait across keep-alives: %.2f s, CPU %.1f%% of a core\n", waited,
               100 * cpu / waited);
        CHECK(waited > 2.0 && cpu < 0.05 * waited);
    }

    /* 5: no keep-alives: rank 1 gives up on plan 1 after 1 s. */
    MPI_Barrier(MPI_COMM_WORLD);
    step_plan_clear(p);
    p->seq = 1;
    if (root) {
        sleep_s(2.0);
        CHECK(plan_bcast(c2, p, 1, &err) == ED_OK); /* matches rank 1's abandoned wait */
    } else {
        double t0 = monotonic_s();
        CHECK(plan_bcast(c2, p, 1, &err) == ED_ERR);
        double waited = monotonic_s() - t0;
        printf("plan wait gave up after %.2f s: %s\n", waited, err.msg);
        CHECK(waited >= 1.0 && waited < 1.5);
        CHECK_MSG(err, "rank 1 gave up at step 1");
        CHECK_MSG(err, "step plan 1 from rank 0");
    }

    MPI_Barrier(MPI_COMM_WORLD);
    step_plan_destroy(p);
    int failed = check_failures, any;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    comm_destroy(c2);
    comm_destroy(c);
    MPI_Finalize();
    if (root) printf("test_watchdog: %d checks on rank 0, failures on any rank: %d\n", check_count, any);
    return any ? 1 : 0;
}
