/* Where encdec_bench keeps its random-weight models (written once per preset and dtype, then
 * reused): a folder the user chose, or the documented per-user cache, never silently /tmp. */
#ifndef ENCDEC_BENCH_CACHE_H
#define ENCDEC_BENCH_CACHE_H

#include <stddef.h>

#include "common/status.h"

/* The cache folder into dir[n]: flag (--cache-dir) when not NULL, else $ENCDEC_CACHE_DIR, else
 * $XDG_CACHE_HOME/encdec_tp, else $HOME/.cache/encdec_tp (empty variables count as unset);
 * created with its parents if missing. Fails naming the folder when it cannot be created or is
 * not a folder, and when none of the four is given. */
ed_status bench_cache_dir(const char *flag, char *dir, size_t n, ed_error *err);

#endif
