#include "launch/serve_signals.h"

#include <fcntl.h>
#include <mpi.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

static int signal_pipe[2] = {-1, -1};
static engine *draining_engine;

static void on_signal(int sig) {
    unsigned char c = (unsigned char)sig;
    ssize_t ignored = write(signal_pipe[1], &c, 1); /* async-signal-safe */
    (void)ignored;
}

static void *watch_signals(void *arg) {
    (void)arg;
    unsigned char sig;
    for (int n = 0; read(signal_pipe[0], &sig, 1) == 1;) {
        if (++n == 1) {
            log_info("signal %d: draining (a second signal ends the job at once)", sig);
            engine_drain(draining_engine);
            continue;
        }
        log_error("signal %d again: ending the job now", sig);
        const char *partial = engine_partial_output(draining_engine);
        if (partial) unlink(partial);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return NULL;
}

void serve_signals_install(engine *e, int rank) {
    const int sigs[] = {SIGTERM, SIGINT, SIGUSR1};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    if (rank != 0) {
        sa.sa_handler = SIG_IGN;
        for (int i = 0; i < 3; i++) sigaction(sigs[i], &sa, NULL);
        return;
    }
    draining_engine = e;
    pthread_t t;
    if (pipe(signal_pipe) || pthread_create(&t, NULL, watch_signals, NULL)) {
        log_warn("cannot watch drain signals: SIGTERM ends the server without a drain");
        return;
    }
    pthread_detach(t);
    fcntl(signal_pipe[1], F_SETFL, O_NONBLOCK);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    for (int i = 0; i < 3; i++) sigaction(sigs[i], &sa, NULL);
}
