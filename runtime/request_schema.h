/* The request schema: one row per JSON field of a request, the only place a field's name, type,
 * destination in `request`, default and range exist. request_schema_read walks the rows; checks
 * that need the run's limits or several fields stay in request.c's validation pass. */
#ifndef ENCDEC_REQUEST_SCHEMA_H
#define ENCDEC_REQUEST_SCHEMA_H

#include <stddef.h>

#include "common/status.h"
#include "runtime/request.h"

typedef enum {
    REQ_FIELD_ID,       /* cJSON *: a string or an integer (|x| <= 2^53 - 1, exact in a double),
                         * stored as an owned copy */
    REQ_FIELD_INT,      /* int: an integer with |x| <= 1e9, in the row's range */
    REQ_FIELD_U64,      /* uint64_t: an integer in the row's range, |x| <= 2^53 - 1 (exact in a
                         * double) */
    REQ_FIELD_FLOAT,    /* float: a number in the row's range, checked before rounding and again
                         * on the float stored, which must be finite */
    REQ_FIELD_BOOL,     /* int: true = 1, false = 0 */
    REQ_FIELD_CHOICE,   /* int: the value of the row's choice the JSON value matches */
    REQ_FIELD_IDS,      /* int32_t *: token ids in [0, vocab), owned; the int count at count_offset */
    REQ_FIELD_ID_LISTS, /* id_lists: [[ids], ...], each inner list non-empty, ids in [0, vocab) */
    REQ_FIELD_STRING,   /* char *: a string without NUL, owned */
    REQ_FIELD_STRINGS,  /* char **: a non-empty string or an array of 1..16 of them, owned; the
                         * int count at count_offset */
} request_field_type;

/* One allowed value of a REQ_FIELD_CHOICE row. json is the JSON literal as a client writes it:
 * true, false or a quoted string ("\"mean\""); the error message lists them in row order. */
typedef struct request_choice {
    const char *json;
    int value;
} request_choice;

typedef struct request_field {
    const char *name;              /* the JSON key */
    request_field_type type;
    size_t offset;                 /* destination in request */
    size_t count_offset;           /* REQ_FIELD_IDS: the int that receives the id count */
    int required;                  /* absent: "field NAME is required" */
    double def;                    /* INT, U64, FLOAT, BOOL, CHOICE: the value when absent; for
                                    * IDS / ID_LISTS absence leaves NULL and 0 */
    double lo, hi;                 /* INT, U64, FLOAT: the range; hi = HUGE_VAL: no upper bound */
    char lo_open, hi_open;         /* 1: that bound is excluded */
    char divides;                  /* FLOAT: the value divides (the logits): unless exactly 0, the
                                    * float stored must be normal (|x| >= FLT_MIN), never a
                                    * denormal or a nonzero value rounded to 0 */
    const request_choice *choices; /* REQ_FIELD_CHOICE: terminated by a NULL json */
    const char *help;              /* what the field does, for clients */
} request_field;

/* A default of REQUEST_FIELD_UNSET on an INT row marks "absent": the value is not allowed in
 * the row's range, and request.c's validation pass replaces it (max_new_tokens from the room
 * max_output_len leaves, forced_bos_id from the model). */
#define REQUEST_FIELD_UNSET (-1)

/* The rows, [request_schema_count()]; row 0 is the id. Read-only, static storage. */
extern const request_field request_schema[];
int request_schema_count(void);

/* The row for a JSON key, or NULL. */
const request_field *request_schema_find(const char *name);

/* Reads every field of the JSON object o into r (zeroed by the caller): first the id (row 0), so
 * that an error response can carry it whatever else is wrong; then any key without a row is an
 * error "unknown field KEY", and a key given twice "field KEY appears twice" (JSON leaves
 * duplicates undefined; we take neither); then each row in order, absent ones taking their
 * default. The message of an error names the field. Memory stored into r is owned by r
 * (request_destroy frees it), also after an error. */
ed_status request_schema_read(const cJSON *o, int vocab_size, request *r, ed_error *err);
/* How many of the first len bytes of the UTF-8 text s to quote in a message: at most max, cut
 * before a character, never inside one (a message must stay valid UTF-8). */
int request_text_clip(const char *s, size_t len, size_t max);

/* Only the id (row 0) into r->id; refused if absent, of the wrong type, or given twice. */
ed_status request_schema_read_id(const cJSON *o, request *r, ed_error *err);

#endif
