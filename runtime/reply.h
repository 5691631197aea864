/* A reply channel: how the engine (rank 0's loop) hands the records of requests that came over
 * HTTP to the connection thread waiting for them, and how that thread tells the engine its
 * client has gone. One channel serves one HTTP call, which may carry several requests (an
 * OpenAI completion with a list of prompts, or n > 1): each request posts under its own index.
 *
 * Records are the native response records (runtime/response.h: result, stream, error, encoding,
 * abort), as cJSON objects whose ownership passes with them. Thread-safe; reference-counted
 * (the call and every request holding the channel each own one reference). */
#ifndef ENCDEC_REPLY_H
#define ENCDEC_REPLY_H

#include <stdatomic.h>

typedef struct cJSON cJSON;
typedef struct reply reply;

/* A channel for n_requests requests, one reference held by the caller; NULL when out of memory.
 * in_flight (may be NULL) is decremented by each final record posted. */
reply *reply_create(int n_requests, atomic_int *in_flight);
void reply_retain(reply *r);
void reply_release(reply *r); /* NULL is a no-op */

/* Engine side. Queues `record` (owned) from request `index`; final = 1 for its last record. */
void reply_post(reply *r, int index, cJSON *record, int final);
/* 1 once the client has gone (reply_cancel): the engine drops the request. */
int reply_cancelled(const reply *r);

/* Connection side. Takes the oldest record into *record (owned by the caller), *index and
 * *final: 1; 0 when none arrived within timeout_s (a negative timeout waits forever). */
int reply_take(reply *r, cJSON **record, int *index, int *final, double timeout_s);
/* Requests of the channel that have posted their final record. */
int reply_finished(const reply *r);
void reply_cancel(reply *r);

#endif
