/* encdec_hostcheck: before a long job, checks that every rank of a hostfile reaches every other
 * over the transport the job will use (launch/mpirun_multinode.sh --check runs it).
 *   mpirun [the job's MCA settings] encdec_hostcheck [--timeout S] [--bytes N]
 * Round r (1 .. size-1): each rank sends N bytes (default 1 MiB; its host name first) to rank
 * (rank + r) % size and receives from rank (rank - r) % size, so every ordered pair exchanges
 * once; then one all-reduce whose sum is checked. Every wait has a deadline of S seconds
 * (default 10): a rank that times out prints which peer (rank and host) it got nothing from or
 * could not send to, and aborts the job. On success rank 0 prints the hosts with their ranks,
 * the slowest pair's time and "OK". Exit 0 on success, 1 on a failed check, 2 on a bad flag.
 * Plain MPI only: it tests the network and the launch, not the model code. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"

enum { NAME_LEN = MPI_MAX_PROCESSOR_NAME };

/* Waits for n requests until `deadline` (monotonic seconds); 0 when all completed. */
static int wait_all(int n, MPI_Request *reqs, double deadline) {
    int done = 0;
    while (MPI_Testall(n, reqs, &done, MPI_STATUSES_IGNORE) == MPI_SUCCESS && !done) {
        if (monotonic_s() >= deadline) return 1;
        struct timespec nap = {0, 1000000}; /* 1 ms: a check, not a benchmark */
        nanosleep(&nap, NULL);
    }
    return !done;
}

static void fail(int rank, const char *host, const char *msg) {
    fprintf(stderr, "encdec_hostcheck: rank %d on %s: %s\n", rank, host, msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size, len;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    double timeout_s = 10;
    long bytes = 1 << 20;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (i + 1 < argc && !strcmp(argv[i], "--timeout")) timeout_s = strtod(argv[++i], &end);
        else if (i + 1 < argc && !strcmp(argv[i], "--bytes")) bytes = strtol(argv[++i], &end, 10);
        if (!end || *end || timeout_s <= 0 || bytes <= NAME_LEN || bytes > (1L << 30)) {
            if (rank == 0)
                fprintf(stderr, "usage: encdec_hostcheck [--timeout S > 0] [--bytes N: %d .. "
                                "2^30]\n", NAME_LEN + 1);
            MPI_Finalize();
            return 2;
        }
    }
    char host[NAME_LEN] = {0};
    MPI_Get_processor_name(host, &len);
    /* names[r]: rank r's host, learnt from its message (the first NAME_LEN bytes). */
    char *names = calloc((size_t)size, NAME_LEN);
    char *out = malloc((size_t)bytes), *in = malloc((size_t)bytes);
    if (!names || !out || !in) fail(rank, host, "out of memory");
    memset(out, rank & 0xff, (size_t)bytes);
    memcpy(out, host, NAME_LEN);
    memcpy(names + (size_t)rank * NAME_LEN, host, NAME_LEN);
    double slowest = 0;
    for (int r = 1; r < size; r++) {
        int to = (rank + r) % size, from = (rank - r + size) % size;
        MPI_Request reqs[2];
        double t0 = monotonic_s();
        MPI_Irecv(in, (int)bytes, MPI_CHAR, from, r, MPI_COMM_WORLD, &reqs[0]);
        MPI_Isend(out, (int)bytes, MPI_CHAR, to, r, MPI_COMM_WORLD, &reqs[1]);
        if (wait_all(2, reqs, t0 + timeout_s)) {
            int got = 0, sent = 0;
            MPI_Test(&reqs[0], &got, MPI_STATUS_IGNORE);
            MPI_Test(&reqs[1], &sent, MPI_STATUS_IGNORE);
            char msg[160];
            snprintf(msg, sizeof msg, "%s rank %d within %.0f s (check the network settings: "
                     "btl_tcp_if_include, firewalls)",
                     !got ? "got nothing from" : "could not send to", !got ? from : to, timeout_s);
            fail(rank, host, msg);
        }
        double dt = monotonic_s() - t0;
        if (dt > slowest) slowest = dt;
        if ((unsigned char)in[bytes - 1] != (from & 0xff)) fail(rank, host, "corrupted message");
        memcpy(names + (size_t)from * NAME_LEN, in, NAME_LEN);
        names[(size_t)from * NAME_LEN + NAME_LEN - 1] = 0;
    }
    /* One all-reduce: the sum of the ranks, exact in double. */
    double mine = rank, sum = -1, worst = 0;
    MPI_Request req;
    MPI_Iallreduce(&mine, &sum, 1, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD, &req);
    if (wait_all(1, &req, monotonic_s() + timeout_s))
        fail(rank, host, "the all-reduce did not finish in time");
    if (sum != (double)size * (size - 1) / 2) fail(rank, host, "the all-reduce gave a wrong sum");
    MPI_Reduce(&slowest, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
    if (rank == 0) {
        /* Hosts in order of first rank, each with its ranks. */
        int hosts = 0;
        printf("encdec_hostcheck: %d ranks:", size);
        for (int r = 0; r < size; r++) {
            const char *name = names + (size_t)r * NAME_LEN;
            int seen = 0;
            for (int q = 0; q < r && !seen; q++) seen = !strcmp(names + (size_t)q * NAME_LEN, name);
            if (seen) continue;
            hosts++;
            printf(" %s (ranks", name);
            for (int q = r; q < size; q++)
                if (!strcmp(names + (size_t)q * NAME_LEN, name)) printf(" %d", q);
            printf(")");
        }
        printf("; %d hosts; every pair exchanged %ld bytes, slowest %.3f s; all-reduce exact; OK\n",
               hosts, bytes, worst);
    }
    free(names);
    free(out);
    free(in);
    MPI_Finalize();
    return 0;
}
