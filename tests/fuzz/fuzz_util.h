/* Shared by the libFuzzer harnesses: a private scratch folder for inputs that the code under test
 * reads from files (created once per process under $TMPDIR, removed at exit), and a file writer.
 * Header-only because every harness is one translation unit of its own. */
#ifndef ENCDEC_FUZZ_UTIL_H
#define ENCDEC_FUZZ_UTIL_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char fuzz_dir[512];

/* Removes fuzz_dir and the files in it (the harnesses make no subfolders). */
static inline void fuzz_rm_dir(void) {
    DIR *d = fuzz_dir[0] ? opendir(fuzz_dir) : NULL;
    if (!d) return;
    char path[1024];
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        snprintf(path, sizeof path, "%s/%s", fuzz_dir, e->d_name);
        remove(path);
    }
    closedir(d);
    rmdir(fuzz_dir);
}

/* Creates fuzz_dir (once); aborts if it cannot, since every input would then be misjudged. */
static inline void fuzz_make_dir(void) {
    if (fuzz_dir[0]) return;
    const char *tmp = getenv("TMPDIR");
    snprintf(fuzz_dir, sizeof fuzz_dir, "%s/encdec_fuzz.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(fuzz_dir)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_rm_dir);
}

/* Writes n bytes to path (replacing it); aborts on a short write. */
static inline void fuzz_write(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f)) {
        perror(path);
        abort();
    }
}

/* A property the code under test promises was broken: report it as a crash. */
#define FUZZ_REQUIRE(cond)                                                                       \
    do {                                                                                         \
        if (!(cond)) {                                                                           \
            fprintf(stderr, "fuzz: %s:%d: property violated: %s\n", __FILE__, __LINE__, #cond);  \
            abort();                                                                             \
        }                                                                                        \
    } while (0)

/* An error message must be non-empty and terminated inside its buffer. With ENCDEC_FUZZ_VERBOSE
 * set, it is printed (to see what each corpus input is refused for). */
#define FUZZ_REQUIRE_MSG(e)                                                                      \
    do {                                                                                         \
        FUZZ_REQUIRE((e).msg[0] && memchr((e).msg, 0, sizeof (e).msg));                          \
        if (getenv("ENCDEC_FUZZ_VERBOSE")) fprintf(stderr, "refused: %s\n", (e).msg);            \
    } while (0)

/* With ENCDEC_FUZZ_VERBOSE set, says that an input was accepted. */
#define FUZZ_ACCEPTED(what)                                                                      \
    do {                                                                                         \
        if (getenv("ENCDEC_FUZZ_VERBOSE")) fprintf(stderr, "accepted: %s\n", what);              \
    } while (0)

#endif
