/* encdec_tp: serve an encoder-decoder model with tensor parallelism.
 *   mpirun -n N encdec_tp --config run.yaml [--requests FILE] [--output FILE]
 *   encdec_tp --help | --version
 * The flags override the config's keys. Exit status (mpirun passes on the first non-zero one):
 *   0  every request was served;
 *   3  the run completed, but some requests were answered with error records (the rest were
 *      served; the output names each failed request's id and line);
 *   2  bad command line (an unknown flag, a missing value or --config);
 *   1  the run failed (a bad config or model, a fault; all ranks are stopped through MPI_Abort
 *      when one fails mid-run, so none is left waiting; a rank whose wait outlasts watchdog_s,
 *      a peer being stopped or hung, at start-up or later, ends the job the same way).
 * A rank whose parent (mpirun, or the orted that started it) dies gets SIGHUP at once: it ends,
 * removing a partial output file, instead of being ended by Open MPI a second later (an _exit
 * that leaves the file). */
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "common/log.h"
#include "encdec_version.h"
#include "launch/partial_file.h"
#include "launch/serve_signals.h"
#include "parallel/comm.h"
#include "runtime/config.h"
#include "runtime/engine.h"

enum {
    ENCDEC_EXIT_SOME_REQUESTS_FAILED = 3,
    ARGS_DONE = -1 /* parse_args: --help or --version answered; exit 0 */
};

static const char usage_line[] =
    "usage: mpirun -n N encdec_tp --config FILE [--requests FILE|-] [--output FILE|-]\n"
    "       encdec_tp --help | --version\n";

static void help(void) {
    printf("%s\n"
           "Serves an encoder-decoder model converted by encdec_convert, its layers split over\n"
           "the N MPI ranks (tensor parallelism; the config's tp must equal N).\n\n"
           "  --config FILE     the run config (YAML): the keys are the README's \"Run config\n"
           "                    (YAML)\" table; relative paths in it (model, requests, output)\n"
           "                    are against the config file's folder\n"
           "  --requests FILE   JSON Lines requests, - for stdin (overrides the config's\n"
           "                    requests; relative to the working directory)\n"
           "  --output FILE     JSON Lines responses, - for stdout (overrides the config's output)\n"
           "  --help, -h        this text\n"
           "  --version         the version\n\n"
           "Request fields and responses: the README's \"Requests (JSON Lines, one object per\n"
           "line)\" and \"Responses\" tables. Exit status: 0 every request served; 3 some\n"
           "requests answered with error records; 2 a bad command line; 1 the run failed.\n",
           usage_line);
}

/* Parses argv into cfg; returns 0, ARGS_DONE after --help / --version, 2 for a usage error or
 * 1 for a bad config (messages printed by rank 0). */
static int parse_args(int argc, char **argv, run_config *cfg, int rank) {
    const char *config_path = NULL;
    const char *overrides[2][2] = {{"requests", NULL}, {"output", NULL}};
    for (int i = 1; i < argc; i += 2) { /* flags come with a value: --FLAG VALUE */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            if (rank == 0) help();
            return ARGS_DONE;
        }
        if (!strcmp(a, "--version")) {
            if (rank == 0) printf("encdec_tp %s\n", ENCDEC_VERSION);
            return ARGS_DONE;
        }
        int known = !strcmp(a, "--config") || !strcmp(a, "--requests") || !strcmp(a, "--output");
        if (!known) {
            if (rank == 0)
                fprintf(stderr, "encdec_tp: unknown flag '%s' (encdec_tp --help lists the "
                                "flags)\n%s", a, usage_line);
            return 2;
        }
        if (!v) {
            if (rank == 0) fprintf(stderr, "encdec_tp: %s needs a value\n%s", a, usage_line);
            return 2;
        }
        if (!strcmp(a, "--config")) config_path = v;
        else if (!strcmp(a, "--requests")) overrides[0][1] = v;
        else overrides[1][1] = v;
    }
    if (!config_path) {
        if (rank == 0) fprintf(stderr, "encdec_tp: --config FILE is required\n%s", usage_line);
        return 2;
    }
    ed_error err;
    config_defaults(cfg);
    if (config_load_file(cfg, config_path, &err)) goto bad;
    for (int i = 0; i < 2; i++) {
        char origin[32];
        snprintf(origin, sizeof origin, "--%s", overrides[i][0]);
        if (overrides[i][1] && config_set(cfg, overrides[i][0], overrides[i][1], origin, &err))
            goto bad;
    }
    if (config_validate(cfg, &err)) goto bad;
    return 0;
bad:
    if (rank == 0) fprintf(stderr, "encdec_tp: %s\n", err.msg);
    return 1;
}

/* SIGHUP when the parent process dies (Linux; the launcher being killed). */
static void end_with_parent(void) {
#ifdef __linux__
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGHUP);
    if (getppid() != parent) raise(SIGHUP); /* it died before prctl */
#endif
}

int main(int argc, char **argv) {
    int provided; /* SERIALIZED: rank 0 sends keep-alives from a thread while idle */
    MPI_Init_thread(&argc, &argv, MPI_THREAD_SERIALIZED, &provided);
    int world_rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
    log_init(world_rank);
    run_config cfg;
    /* Every rank parses the same arguments and files, so all reach the same verdict. */
    int rc = parse_args(argc, argv, &cfg, world_rank);
    if (rc) {
        MPI_Finalize();
        return rc == ARGS_DONE ? 0 : rc;
    }
    comm *c = NULL;
    engine *e = NULL;
    ed_error err;
    if (comm_create_mpi(&c, &err)) {
        log_error("%s", err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    end_with_parent();
    /* Start-up is watched too: a rank stopped or hung while loading must not leave the others
     * waiting in the start-up agreements forever. */
    comm_set_watchdog(c, cfg.watchdog_s);
    if (engine_create(&e, &cfg, c, &err)) {
        log_error("%s", err.msg);
        /* All ranks agreed on the failure: a clean exit, no abort needed; unless a wait outlasted
         * watchdog_s: the stopped or hung peer cannot join MPI_Finalize. */
        const char *fault = comm_fault(c);
        if (fault) {
            if (strcmp(fault, err.msg)) log_error("%s", fault);
            comm_abort(c, 1);
        }
        comm_destroy(c);
        MPI_Finalize();
        return 1;
    }
    partial_file_remove_on_signals(engine_partial_output(e));
    if (cfg.http_port > 0) serve_signals_install(e, world_rank); /* drains instead */
    if (engine_run(e, &err)) {
        log_error("%s", err.msg);
        /* A watchdog timeout (comm_fault) means a peer is stopped or hung: it cannot join a clean
         * shutdown, so even an "agreed" failure ends through MPI_Abort (mpirun then ends every
         * rank, the stopped one included). */
        const char *fault = comm_fault(c);
        if (fault && strcmp(fault, err.msg)) log_error("%s", fault);
        int together = engine_failed_together(e) && !fault;
        engine_destroy(e); /* removes a partial output file */
        if (!together) comm_abort(c, 1);
        comm_destroy(c);
        MPI_Finalize();
        return 1;
    }
    engine_report rep; /* rank 0's counts; the other ranks report zeros */
    engine_get_report(e, &rep);
    engine_destroy(e);
    comm_destroy(c);
    MPI_Finalize();
    /* a server that drained exits 0: its errors were answered to their clients */
    return rep.request_errors > 0 && cfg.http_port == 0 ? ENCDEC_EXIT_SOME_REQUESTS_FAILED : 0;
}
