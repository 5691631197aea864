#include "runtime/line_reader.h"

#include <stdlib.h>

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

ssize_t line_read_bounded(FILE *f, size_t max_bytes, char **buf, size_t *cap, size_t *dropped) {
    size_t n = 0;    /* bytes of the line so far, '\n' excluded */
    int c, stored = 1, oom = 0; /* stored: every byte so far is in *buf */
    flockfile(f);
    while ((c = getc_unlocked(f)) != EOF && c != '\n') {
        if (stored && n == max_bytes) stored = 0; /* too long: keep counting, stop storing */
        if (stored && !reserve(buf, cap, n + 1)) {
            oom = 1;
            break;
        }
        if (stored) (*buf)[n] = (char)c;
        n++;
    }
    funlockfile(f);
    if (oom) return LINE_NO_MEMORY;
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
