/* Rank-aware logging to stderr. Rank 0 speaks at info level by default; every rank prints
 * warnings and errors. The level comes from ENCDEC_LOG=error|warn|info|debug (default info);
 * ENCDEC_LOG_ALL_RANKS=1 lets every rank print info and debug lines too. */
#ifndef ENCDEC_LOG_H
#define ENCDEC_LOG_H

typedef enum { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 } log_level;

/* Sets this process's rank (for the prefix and the rank-0 rule) and reads ENCDEC_LOG. */
void log_init(int rank);
void log_msg(log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
