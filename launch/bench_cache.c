#include "launch/bench_cache.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

ed_status bench_cache_dir(const char *flag, char *dir, size_t n, ed_error *err) {
    const char *env = getenv("ENCDEC_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    int len;
    if (flag) len = snprintf(dir, n, "%s", flag);
    else if (env && *env) len = snprintf(dir, n, "%s", env);
    else if (xdg && *xdg) len = snprintf(dir, n, "%s/encdec_tp", xdg);
    else if (home && *home) len = snprintf(dir, n, "%s/.cache/encdec_tp", home);
    else
        return ed_fail(err, "no cache folder for the random-weight model: pass --cache-dir DIR or "
                            "--model-file F, or set ENCDEC_CACHE_DIR (HOME is not set)");
    if (len <= 0 || (size_t)len >= n)
        return ed_fail(err, "cache folder name '%.200s' is empty or too long", flag ? flag : dir);
    for (char *p = dir + 1;; p++) { /* mkdir -p: each prefix ending at a '/', then the whole */
        char c = *p;
        if (c != '/' && c) continue;
        *p = 0;
        int failed = mkdir(dir, 0755) != 0 && errno != EEXIST;
        int saved = errno;
        *p = c;
        if (failed) return ed_fail(err, "cache folder %s: cannot create: %s", dir, strerror(saved));
        if (!c) break;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return ed_fail(err, "cache folder %s is not a folder", dir);
    return ED_OK;
}
