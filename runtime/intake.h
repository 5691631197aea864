/* Rank 0's request intake: a thread of its own reads the request stream (a JSON Lines file, or
 * stdin) line by line as lines arrive, parses and validates each (request_parse) and queues the
 * outcome, so the engine loop never blocks on a client: it drains the queue without waiting
 * while work runs, and sleeps on it only when it has nothing else to do. Lines keep their
 * order. The queue holds at most `capacity` items: the reader waits while it is full (a long
 * file is not read ahead into memory). */
#ifndef ENCDEC_INTAKE_H
#define ENCDEC_INTAKE_H

#include <stdio.h>

#include "common/status.h"
#include "runtime/request.h"

typedef struct intake intake;

/* One non-blank line's outcome: req (owned by the taker) when it parsed, else error (a message
 * naming the line and field); id: the line's id when it could be read (owned by the taker,
 * cJSON_Delete), or NULL. */
typedef struct intake_item {
    request *req;
    cJSON *id;
    long line;
    char error[sizeof(((ed_error *)0)->msg)];
} intake_item;

/* Starts reading `in` (not closed by the intake) on a new thread; in NULL: no stream, the
 * intake holds only what other threads offer (intake_offer). lim: the model's and run's
 * request limits (copied); max_line_bytes: longer lines are refused unread. */
ed_status intake_start(intake **out, FILE *in, const request_limits *lim, size_t max_line_bytes,
                       int capacity, ed_error *err);

enum { INTAKE_ITEM = 1, INTAKE_NONE = 0, INTAKE_END = -1 };
/* Takes the oldest item into *item: INTAKE_ITEM; INTAKE_NONE when none is queued now (wait = 0)
 * ; INTAKE_END when the input has ended (or failed: intake_failure) and every item was taken.
 * wait = 1 sleeps until an item or the end arrives. */
int intake_take(intake *in, intake_item *item, int wait);

/* Requests from other threads (the HTTP front end) join the queue, in the order offered,
 * without waiting: ED_ERR (message) only when out of memory or after intake_close. While the
 * intake is kept open (intake_keep_open), INTAKE_END is not returned: the end of the stream
 * only means no more lines. */
void intake_keep_open(intake *in);
void intake_close(intake *in);
ed_status intake_offer(intake *in, request *r, ed_error *err);
/* Items queued and not yet taken (lines and offers). */
int intake_pending(intake *in);
/* Wakes a waiting intake_take, which returns INTAKE_NONE (a drain signal, say). */
void intake_interrupt(intake *in);

/* 1 when the stream is a regular file: reading it never waits on a client, so the engine may
 * wait for each line as batch mode always did (the same batches as a synchronous reader). */
int intake_reads_file(const intake *in);

/* After INTAKE_END: NULL when the input ended normally, else why reading stopped. */
const char *intake_failure(const intake *in);

/* Stops the reader (it may be blocked reading a terminal or pipe: it is cancelled), destroys
 * items not taken. NULL is a no-op. */
void intake_destroy(intake *in);

#endif
