/* The ids of the requests in flight (queued or running) on rank 0, so that a second request
 * with the id of one still in flight is refused: responses are matched to requests by id. Ids
 * are compared as their compact JSON text ("7" and 7 differ, as in JSON). */
#ifndef ENCDEC_ID_SET_H
#define ENCDEC_ID_SET_H

#include "common/status.h"

typedef struct cJSON cJSON;
typedef struct id_set id_set;

id_set *id_set_create(void);
void id_set_destroy(id_set *s); /* NULL is a no-op */
/* Adds id (NULL: nothing added, ED_OK): ED_OK; ED_ERR with a message naming the id when it is already in (or out of
 * memory). */
ed_status id_set_add(id_set *s, const cJSON *id, ed_error *err);
/* Removes id (no-op when absent). */
void id_set_remove(id_set *s, const cJSON *id);
int id_set_count(const id_set *s);

#endif
