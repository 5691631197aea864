#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_rank = 0;
static log_level g_level = LOG_INFO;
static int g_all_ranks = 0;

void log_init(int rank) {
    g_rank = rank;
    const char *lv = getenv("ENCDEC_LOG");
    if (lv) {
        if (!strcmp(lv, "error")) g_level = LOG_ERROR;
        else if (!strcmp(lv, "warn")) g_level = LOG_WARN;
        else if (!strcmp(lv, "debug")) g_level = LOG_DEBUG;
        else g_level = LOG_INFO;
    }
    const char *all = getenv("ENCDEC_LOG_ALL_RANKS");
    g_all_ranks = all && all[0] == '1';
}

void log_msg(log_level level, const char *fmt, ...) {
    if (level > g_level) return;
    if (level >= LOG_INFO && g_rank != 0 && !g_all_ranks) return;
    static const char *names[] = {"error", "warn", "info", "debug"};
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "[encdec_tp rank %d %s] %s\n", g_rank, names[level], line);
}
