/* The reply courier (runtime/reply_courier.h): records reach their channels in the order queued,
 * drain waits for delivery, destroy delivers what is left, and a queued record keeps its channel
 * alive after every other reference is gone. */
#include <cjson/cJSON.h>
#include <stdatomic.h>

#include "runtime/reply.h"
#include "runtime/reply_courier.h"
#include "tests/unit/check.h"

#define N 2000

/* Takes every record waiting on r: request `index`'s numbers must continue from next[index]. */
static int take_all(reply *r, int next[2], int *finals) {
    int n = 0;
    cJSON *rec;
    int index, final;
    while (reply_take(r, &rec, &index, &final, 0)) {
        CHECK(index == 0 || index == 1);
        CHECK(cJSON_IsNumber(rec) && (int)rec->valuedouble == next[index]);
        next[index]++;
        *finals += final;
        cJSON_Delete(rec);
        n++;
    }
    return n;
}

int main(void) {
    atomic_int in_flight;
    atomic_init(&in_flight, 2);
    reply *r = reply_create(2, &in_flight);
    reply_courier *c = reply_courier_create();
    CHECK(r && c);
    /* two requests' records interleaved; each request's must arrive in its own order */
    for (int i = 0; i < N; i++)
        reply_courier_post(c, r, i % 2, cJSON_CreateNumber(i / 2), i >= N - 2);
    reply_courier_drain(c);
    int next[2] = {0, 0}, finals = 0;
    CHECK(take_all(r, next, &finals) == N);
    CHECK(next[0] == N / 2 && next[1] == N / 2 && finals == 2);
    CHECK(reply_finished(r) == 2 && atomic_load(&in_flight) == 0);

    /* destroy delivers what is still queued; the queued records hold the channel, so the
     * caller's reference may go first */
    reply *r2 = reply_create(1, NULL);
    reply_retain(r2); /* ours, kept to read the records */
    for (int i = 0; i < 100; i++) reply_courier_post(c, r2, 0, cJSON_CreateNumber(i), i == 99);
    reply_release(r2); /* the "request's" reference */
    reply_courier_destroy(c);
    int next2[2] = {0, 0};
    finals = 0;
    CHECK(take_all(r2, next2, &finals) == 100 && finals == 1 && reply_finished(r2) == 1);
    reply_release(r2);
    reply_release(r);
    reply_courier_destroy(NULL);
    TEST_MAIN_END("test_reply_courier");
}
