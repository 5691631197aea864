#include "common/test_signal.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const points[] = {"load", "plan_bcast", "allreduce"};

static const struct {
    const char *name;
    int sig;
} signals[] = {{"KILL", SIGKILL}, {"STOP", SIGSTOP}, {"TERM", SIGTERM}, {"INT", SIGINT},
               {"HUP", SIGHUP},   {"ABRT", SIGABRT}, {"SEGV", SIGSEGV}};

/* The parsed ENCDEC_TEST_SIGNAL_AT: state 0 = not read yet, 1 = off, 2 = armed, 3 = fired. */
static struct {
    int state, rank, sig, parent;
    long at, arrivals;
    char point[16], sig_name[16];
} g;

static int parse_signal(const char *s) {
    for (size_t i = 0; i < sizeof signals / sizeof *signals; i++)
        if (!strcmp(s, signals[i].name)) return signals[i].sig;
    char *end;
    long n = strtol(s, &end, 10);
    return *s && !*end && n > 0 && n < 65 ? (int)n : 0;
}

/* Fills g from spec; 0 on success. */
static int parse(const char *spec) {
    char buf[128], *field[6] = {0};
    int n = 0;
    if (strlen(spec) >= sizeof buf) return 1;
    strcpy(buf, spec);
    for (char *save = NULL, *t = strtok_r(buf, ":", &save); t && n < 6;
         t = strtok_r(NULL, ":", &save))
        field[n++] = t;
    if (n < 4 || n > 5 || (n == 5 && strcmp(field[4], "parent"))) return 1;
    int known = 0;
    for (size_t i = 0; i < sizeof points / sizeof *points; i++) known |= !strcmp(field[0], points[i]);
    char *end1, *end2;
    long rank = strtol(field[1], &end1, 10), at = strtol(field[2], &end2, 10);
    g.sig = parse_signal(field[3]);
    if (!known || *end1 || rank < 0 || *end2 || at < 1 || !g.sig) return 1;
    snprintf(g.point, sizeof g.point, "%s", field[0]);
    snprintf(g.sig_name, sizeof g.sig_name, "%s", field[3]);
    g.rank = (int)rank;
    g.at = at;
    g.parent = n == 5;
    return 0;
}

void test_signal_at(const char *point, int rank) {
    if (g.state == 0) {
        const char *spec = getenv("ENCDEC_TEST_SIGNAL_AT");
        g.state = 1;
        if (spec && *spec) {
            if (parse(spec)) {
                fprintf(stderr, "ENCDEC_TEST_SIGNAL_AT='%s': expected POINT:RANK:N:SIGNAL[:parent] "
                                "(POINT load, plan_bcast or allreduce; N >= 1; SIGNAL KILL, STOP, "
                                "TERM, INT, HUP, ABRT, SEGV or a number)\n", spec);
                exit(2);
            }
            g.state = 2;
        }
    }
    if (g.state != 2 || rank != g.rank || strcmp(point, g.point) || ++g.arrivals != g.at) return;
    g.state = 3;
    pid_t target = g.parent ? getppid() : getpid();
    fprintf(stderr, "test_signal: rank %d sends SIG%s to %s %ld at %s (arrival %ld)\n", rank,
            g.sig_name, g.parent ? "its parent" : "itself", (long)target, point, g.at);
    fflush(stderr);
    kill(target, g.sig);
}
