#include "runtime/reply.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

typedef struct reply_record {
    cJSON *record;
    int index, final;
    struct reply_record *next;
} reply_record;

struct reply {
    pthread_mutex_t mu;
    pthread_cond_t posted;
    reply_record *head, *tail; /* FIFO of records not yet taken */
    int n_requests, n_finished;
    atomic_int cancelled;
    atomic_int refs;
    atomic_int *in_flight;
};

reply *reply_create(int n_requests, atomic_int *in_flight) {
    reply *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    pthread_mutex_init(&r->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&r->posted, &ca);
    pthread_condattr_destroy(&ca);
    r->n_requests = n_requests;
    r->in_flight = in_flight;
    atomic_init(&r->refs, 1);
    atomic_init(&r->cancelled, 0);
    return r;
}

void reply_retain(reply *r) { atomic_fetch_add(&r->refs, 1); }

void reply_release(reply *r) {
    if (!r || atomic_fetch_sub(&r->refs, 1) != 1) return;
    for (reply_record *n = r->head, *next; n; n = next) {
        next = n->next;
        cJSON_Delete(n->record);
        free(n);
    }
    pthread_mutex_destroy(&r->mu);
    pthread_cond_destroy(&r->posted);
    free(r);
}

void reply_post(reply *r, int index, cJSON *record, int final) {
    reply_record *n = malloc(sizeof *n);
    pthread_mutex_lock(&r->mu);
    if (final) {
        r->n_finished++;
        if (r->in_flight) atomic_fetch_sub(r->in_flight, 1);
    }
    if (n) {
        *n = (reply_record){record, index, final, NULL};
        if (r->tail) r->tail->next = n;
        else r->head = n;
        r->tail = n;
    } else {
        cJSON_Delete(record); /* out of memory: the waiter sees the count, not the record */
    }
    pthread_cond_broadcast(&r->posted);
    pthread_mutex_unlock(&r->mu);
}

int reply_cancelled(const reply *r) { return atomic_load(&r->cancelled); }

void reply_cancel(reply *r) { atomic_store(&r->cancelled, 1); }

int reply_finished(const reply *r) {
    pthread_mutex_lock((pthread_mutex_t *)&r->mu);
    int n = r->n_finished;
    pthread_mutex_unlock((pthread_mutex_t *)&r->mu);
    return n;
}

int reply_take(reply *r, cJSON **record, int *index, int *final, double timeout_s) {
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    if (timeout_s > 0) {
        double ns = until.tv_nsec + timeout_s * 1e9;
        until.tv_sec += (time_t)(ns / 1e9);
        until.tv_nsec = (long)(ns - (double)(time_t)(ns / 1e9) * 1e9);
    }
    pthread_mutex_lock(&r->mu);
    while (!r->head && timeout_s != 0) {
        if (timeout_s < 0) pthread_cond_wait(&r->posted, &r->mu);
        else if (pthread_cond_timedwait(&r->posted, &r->mu, &until) == ETIMEDOUT) break;
    }
    reply_record *n = r->head;
    if (n) {
        r->head = n->next;
        if (!r->head) r->tail = NULL;
    }
    pthread_mutex_unlock(&r->mu);
    if (!n) return 0;
    *record = n->record;
    *index = n->index;
    *final = n->final;
    free(n);
    return 1;
}
