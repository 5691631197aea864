#include "runtime/line_reader.h"

#include <pthread.h>
#include <stdlib.h>

/* A reader thread cancelled while blocked in a read leaves the stream unlocked. */
static void unlock_stream(void *f) { funlockfile(f); }

/* Makes room for n + 1 bytes in *buf. */
static int reserve(char **buf, size_t *cap, size_t n) {
    if (n + 1 <= *cap) return 1;
    size_t grown = *cap ? *cap : 256;
    while (grown < n + 1) grown *= 2;
    char *p = realloc(*buf, grown);
    if (!p) return 0;
    *buf = p;
    *cap = grown;
    return 1;
}

/* line_read_bounded's loop, with f locked by the caller. */
static ssize_t read_locked(FILE *f, size_t max_bytes, char **buf, size_t *cap, size_t *dropped) {
    size_t n = 0;    /* bytes of the line so far, '\n' excluded */
    int c, stored = 1; /* stored: every byte so far is in *buf */
    while ((c = getc_unlocked(f)) != EOF && c != '\n') {
        if (stored && n == max_bytes) stored = 0; /* too long: keep counting, stop storing */
        if (stored && !reserve(buf, cap, n + 1)) return LINE_NO_MEMORY;
        if (stored) (*buf)[n] = (char)c;
        n++;
    }
    if (!stored) {
        *dropped = n;
        return LINE_TOO_LONG;
    }
    if (c == EOF && n == 0) return LINE_EOF;
    if (!reserve(buf, cap, n + 1)) return LINE_NO_MEMORY;
    if (c == '\n') (*buf)[n++] = '\n';
    (*buf)[n] = '\0';
    return (ssize_t)n;
}

ssize_t line_read_bounded(FILE *f, size_t max_bytes, char **buf, size_t *cap, size_t *dropped) {
    ssize_t got;
    flockfile(f);
    pthread_cleanup_push(unlock_stream, f);
    got = read_locked(f, max_bytes, buf, cap, dropped);
    pthread_cleanup_pop(1);
    return got;
}
