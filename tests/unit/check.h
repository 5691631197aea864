/* Minimal test helpers: CHECK(cond) records a failure with its line; TEST_MAIN_END prints the
 * summary line and returns the exit status. */
#ifndef ENCDEC_TEST_CHECK_H
#define ENCDEC_TEST_CHECK_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_failures = 0, check_count = 0;

#define CHECK(cond)                                                               \
    do {                                                                          \
        check_count++;                                                            \
        if (!(cond)) {                                                            \
            check_failures++;                                                     \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                         \
    } while (0)

/* The error message must contain `needle`. */
#define CHECK_MSG(err, needle)                                                    \
    do {                                                                          \
        check_count++;                                                            \
        if (!strstr((err).msg, needle)) {                                         \
            check_failures++;                                                     \
            fprintf(stderr, "%s:%d: message '%s' lacks '%s'\n", __FILE__, __LINE__, \
                    (err).msg, needle);                                           \
        }                                                                         \
    } while (0)

/* Makes the folder "$TMPDIR/encdec_<tag>_<pid>" (/tmp without TMPDIR) and writes its path into
 * dir[n]; 0 on success. */
static inline int check_tmpdir(char *dir, size_t n, const char *tag) {
    const char *base = getenv("TMPDIR");
    snprintf(dir, n, "%s/encdec_%s_%d", base ? base : "/tmp", tag, (int)getpid());
    return mkdir(dir, 0700) && access(dir, W_OK);
}

#define TEST_MAIN_END(name)                                                        \
    printf("%s: %d checks, %d failed\n", name, check_count, check_failures);       \
    return check_failures ? 1 : 0

#endif
