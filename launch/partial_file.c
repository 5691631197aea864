#include "launch/partial_file.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char partial_path[1200];

static void on_fatal_signal(int sig) {
    if (partial_path[0]) unlink(partial_path); /* async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

void partial_file_remove_on_signals(const char *path) {
    if (!path) return;
    snprintf(partial_path, sizeof partial_path, "%s", path);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_fatal_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}
