#include "runtime/reply_courier.h"

#include <pthread.h>
#include <stdlib.h>

#include "runtime/reply.h"

typedef struct parcel {
    reply *r; /* one reference held */
    cJSON *record;
    int index, final;
    struct parcel *next;
} parcel;

struct reply_courier {
    pthread_mutex_t mu;
    pthread_cond_t work;      /* the queue is no longer empty, or stop */
    pthread_cond_t delivered; /* a batch was delivered */
    parcel *head, *tail;      /* queued, not yet taken by the thread */
    unsigned long queued, done; /* parcels ever queued / delivered (drain's condition) */
    int stop;
    pthread_t thread;
};

/* Posts a list of parcels in order and frees them; returns how many. */
static unsigned long deliver(parcel *p) {
    unsigned long n = 0;
    for (parcel *next; p; p = next, n++) {
        next = p->next;
        reply_post(p->r, p->index, p->record, p->final);
        reply_release(p->r);
        free(p);
    }
    return n;
}

/* The courier thread: takes the whole queue at once and delivers it outside the lock. */
static void *run(void *arg) {
    reply_courier *c = arg;
    pthread_mutex_lock(&c->mu);
    for (;;) {
        while (!c->head && !c->stop) pthread_cond_wait(&c->work, &c->mu);
        if (!c->head) break; /* stop, and nothing left */
        parcel *batch = c->head;
        c->head = c->tail = NULL;
        pthread_mutex_unlock(&c->mu);
        unsigned long n = deliver(batch);
        pthread_mutex_lock(&c->mu);
        c->done += n;
        pthread_cond_broadcast(&c->delivered);
    }
    pthread_mutex_unlock(&c->mu);
    return NULL;
}

reply_courier *reply_courier_create(void) {
    reply_courier *c = calloc(1, sizeof *c);
    if (!c) return NULL;
    pthread_mutex_init(&c->mu, NULL);
    pthread_cond_init(&c->work, NULL);
    pthread_cond_init(&c->delivered, NULL);
    if (pthread_create(&c->thread, NULL, run, c)) {
        pthread_mutex_destroy(&c->mu);
        pthread_cond_destroy(&c->work);
        pthread_cond_destroy(&c->delivered);
        free(c);
        return NULL;
    }
    return c;
}

void reply_courier_destroy(reply_courier *c) {
    if (!c) return;
    pthread_mutex_lock(&c->mu);
    c->stop = 1;
    pthread_cond_signal(&c->work);
    pthread_mutex_unlock(&c->mu);
    pthread_join(c->thread, NULL); /* it delivers what is queued before it ends */
    pthread_mutex_destroy(&c->mu);
    pthread_cond_destroy(&c->work);
    pthread_cond_destroy(&c->delivered);
    free(c);
}

void reply_courier_post(reply_courier *c, reply *r, int index, cJSON *record, int final) {
    parcel *p = malloc(sizeof *p);
    if (!p) { /* in order: what is queued goes first */
        reply_courier_drain(c);
        reply_post(r, index, record, final);
        return;
    }
    reply_retain(r);
    *p = (parcel){r, record, index, final, NULL};
    pthread_mutex_lock(&c->mu);
    int was_empty = !c->head;
    if (c->tail) c->tail->next = p;
    else c->head = p;
    c->tail = p;
    c->queued++;
    pthread_mutex_unlock(&c->mu);
    if (was_empty) pthread_cond_signal(&c->work); /* the thread sleeps only on an empty queue */
}

void reply_courier_drain(reply_courier *c) {
    pthread_mutex_lock(&c->mu);
    unsigned long target = c->queued;
    while (c->done < target) pthread_cond_wait(&c->delivered, &c->mu);
    pthread_mutex_unlock(&c->mu);
}
