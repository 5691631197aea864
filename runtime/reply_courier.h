/* A reply courier: posts records to HTTP reply channels (runtime/reply.h) on a thread of its
 * own, so that rank 0's loop does not pay for waking every streaming client's connection thread
 * each step (one futex wake per channel, measured in docs/PERFORMANCE.md): the loop queues a
 * record in a few instructions and the courier delivers it while the next step runs.
 *
 * Records are delivered in the order they were queued (so each channel sees its records in
 * order; every record of a channel must go through the same courier). A queued record holds a
 * reference to its channel until delivered. Thread-safe; one courier per engine. */
#ifndef ENCDEC_REPLY_COURIER_H
#define ENCDEC_REPLY_COURIER_H

typedef struct cJSON cJSON;
typedef struct reply reply;
typedef struct reply_courier reply_courier;

/* NULL when out of memory or no thread could be started. */
reply_courier *reply_courier_create(void);
/* Delivers what is queued, then stops the thread and frees the courier. NULL is a no-op. */
void reply_courier_destroy(reply_courier *c);

/* Queues reply_post(r, index, record, final) (record owned). Never blocks on the channel; when
 * memory runs out it posts at once, in order (everything queued before is delivered first). */
void reply_courier_post(reply_courier *c, reply *r, int index, cJSON *record, int final);
/* Returns once every record queued before the call has been delivered. */
void reply_courier_drain(reply_courier *c);

#endif
