/* Status and error messages shared by all library code.
 * Contract: a function that can fail returns ED_OK or ED_ERR; on ED_ERR it has written a message
 * into the caller's ed_error that names what was wrong (tensor, YAML key and line, request field).
 * Only launch/ turns an error into an exit code. */
#ifndef ENCDEC_STATUS_H
#define ENCDEC_STATUS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" { /* CUDA sources (.cu) return statuses too */
#endif

typedef enum { ED_OK = 0, ED_ERR = -1 } ed_status;

typedef struct ed_error {
    char msg[768];
} ed_error;

/* Formats the message into err (if non-NULL) and returns ED_ERR, so callers can write
 * `return ed_fail(err, "tensor %s: ...", name);`. */
ed_status ed_fail(ed_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes err->msg with context ("loading model.h5: ") and returns ED_ERR. */
ed_status ed_wrap(ed_error *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#ifdef __cplusplus
}
#endif

#endif
