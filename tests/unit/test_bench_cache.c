/* encdec_bench's model cache folder (issue 22, "The first hour, mended": not silently in /tmp):
 * --cache-dir, else $ENCDEC_CACHE_DIR, else $XDG_CACHE_HOME/encdec_tp, else ~/.cache/encdec_tp;
 * empty variables count as unset; missing folders are created with their parents; a file in the
 * way, or no variable at all, is refused with a message. */
#include "launch/bench_cache.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/check.h"

static int is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Sets the three variables (NULL unsets one). */
static void env3(const char *cache, const char *xdg, const char *home) {
    const char *names[3] = {"ENCDEC_CACHE_DIR", "XDG_CACHE_HOME", "HOME"};
    const char *values[3] = {cache, xdg, home};
    for (int i = 0; i < 3; i++) {
        if (values[i]) setenv(names[i], values[i], 1);
        else unsetenv(names[i]);
    }
}

int main(void) {
    char root[256], a[320], b[320], c[320], want[400], dir[512];
    ed_error err;
    snprintf(root, sizeof root, "%s/test_bench_cache.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    CHECK(mkdtemp(root) != NULL);
    snprintf(a, sizeof a, "%s/a", root);
    snprintf(b, sizeof b, "%s/b", root);
    snprintf(c, sizeof c, "%s/c", root);

    /* the order: flag, ENCDEC_CACHE_DIR, XDG_CACHE_HOME/encdec_tp, HOME/.cache/encdec_tp */
    env3(a, b, c);
    snprintf(want, sizeof want, "%s/flag/x", root);
    CHECK(bench_cache_dir(want, dir, sizeof dir, &err) == ED_OK && !strcmp(dir, want));
    CHECK(is_dir(want)); /* created with its parent */
    CHECK(bench_cache_dir(NULL, dir, sizeof dir, &err) == ED_OK && !strcmp(dir, a) && is_dir(a));
    env3("", b, c); /* empty counts as unset */
    snprintf(want, sizeof want, "%s/encdec_tp", b);
    CHECK(bench_cache_dir(NULL, dir, sizeof dir, &err) == ED_OK && !strcmp(dir, want));
    CHECK(is_dir(want));
    env3(NULL, NULL, c);
    snprintf(want, sizeof want, "%s/.cache/encdec_tp", c);
    CHECK(bench_cache_dir(NULL, dir, sizeof dir, &err) == ED_OK && !strcmp(dir, want));
    CHECK(is_dir(want)); /* HOME/.cache and HOME/.cache/encdec_tp */
    CHECK(bench_cache_dir(NULL, dir, sizeof dir, &err) == ED_OK); /* exists: fine */

    /* refusals: nothing to go on, a file in the way, an empty flag */
    env3(NULL, NULL, NULL);
    CHECK(bench_cache_dir(NULL, dir, sizeof dir, &err) == ED_ERR);
    CHECK_MSG(err, "pass --cache-dir DIR or --model-file F, or set ENCDEC_CACHE_DIR");
    snprintf(want, sizeof want, "%s/file", root);
    FILE *f = fopen(want, "w");
    CHECK(f && fclose(f) == 0);
    CHECK(bench_cache_dir(want, dir, sizeof dir, &err) == ED_ERR);
    CHECK_MSG(err, "is not a folder");
    snprintf(want, sizeof want, "%s/file/below", root);
    CHECK(bench_cache_dir(want, dir, sizeof dir, &err) == ED_ERR);
    CHECK_MSG(err, "cannot create");
    CHECK(bench_cache_dir("", dir, sizeof dir, &err) == ED_ERR);
    CHECK_MSG(err, "is empty or too long");

    /* clean up what was made */
    const char *made[] = {"file", "flag/x", "flag", "a", "b/encdec_tp", "b", "c/.cache/encdec_tp",
                          "c/.cache", "c"};
    for (size_t i = 0; i < sizeof made / sizeof made[0]; i++) {
        snprintf(want, sizeof want, "%s/%s", root, made[i]);
        CHECK(remove(want) == 0);
    }
    CHECK(rmdir(root) == 0);
    TEST_MAIN_END("test_bench_cache");
}
