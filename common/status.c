#include "common/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

ed_status ed_fail(ed_error *err, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return ED_ERR;
}

ed_status ed_wrap(ed_error *err, const char *fmt, ...) {
    if (err) {
        char prefix[256], old[sizeof err->msg];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(prefix, sizeof prefix, fmt, ap);
        va_end(ap);
        memcpy(old, err->msg, sizeof old);
        size_t n = strlen(prefix);
        if (n >= sizeof err->msg) n = sizeof err->msg - 1;
        memcpy(err->msg, prefix, n);
        size_t rest = strnlen(old, sizeof old - 1);
        if (rest > sizeof err->msg - 1 - n) rest = sizeof err->msg - 1 - n;
        memcpy(err->msg + n, old, rest);
        err->msg[n + rest] = 0;
    }
    return ED_ERR;
}
