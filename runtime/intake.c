#include "runtime/intake.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "runtime/line_reader.h"

struct intake {
    FILE *in;
    request_limits lim;
    size_t max_line_bytes;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t changed;   /* an item was queued or taken, or the input ended */
    intake_item *ring;        /* [capacity] queued items, oldest at head */
    int capacity, head, count;
    int ended;                /* the reader has stopped: input ended or failed */
    int regular_file;         /* the stream is a regular file (set at start) */
    intake_item *offered;     /* [n_offered] requests offered by other threads (HTTP), FIFO */
    int n_offered, cap_offered;
    int open_for_offers;      /* INTAKE_END waits for intake_close */
    int interrupted;          /* intake_interrupt: the next waiting take returns */
    char failure[256];        /* why it stopped early, "" when the input simply ended */
};

static void unlock_mutex(void *mu) { pthread_mutex_unlock(mu); }
static void free_line(void *text) { free(*(char **)text); }

/* Reader thread: queues one item (waiting while the queue is full). */
static void push(intake *in, const intake_item *item) {
    pthread_mutex_lock(&in->mu);
    pthread_cleanup_push(unlock_mutex, &in->mu); /* cancelled while waiting for room */
    while (in->count == in->capacity) pthread_cond_wait(&in->changed, &in->mu);
    in->ring[(in->head + in->count) % in->capacity] = *item;
    in->count++;
    pthread_cond_broadcast(&in->changed);
    pthread_cleanup_pop(1);
}

/* Reads and queues every line of the stream; *text is the line buffer. */
static void read_all(intake *in, char **text) {
    size_t cap = 0;
    long line = 0;
    for (;;) {
        size_t dropped = 0; /* the line may hold NUL bytes */
        ssize_t len = line_read_bounded(in->in, in->max_line_bytes, text, &cap, &dropped);
        if (len == LINE_EOF) return;
        if (len == LINE_NO_MEMORY) {
            snprintf(in->failure, sizeof in->failure, "requests: out of memory reading line %ld",
                     line + 1);
            return;
        }
        line++;
        intake_item item = {.line = line};
        if (len == LINE_TOO_LONG) { /* refused unread: no memory, no parsing spent on it */
            snprintf(item.error, sizeof item.error, "line %ld: the request holds %zu bytes, more "
                     "than max_request_bytes (%zu); refused unread", line, dropped,
                     in->max_line_bytes);
            push(in, &item);
            continue;
        }
        if (strspn(*text, " \t\r\n") == (size_t)len) continue; /* blank line */
        ed_error err;
        if (request_parse(*text, (size_t)len, line, &in->lim, &item.req, &item.id, &err))
            memcpy(item.error, err.msg, sizeof item.error);
        push(in, &item);
    }
}

static void *reader_main(void *arg) {
    intake *in = arg;
    char *text = NULL;
    pthread_cleanup_push(free_line, &text); /* cancelled while blocked reading */
    read_all(in, &text);
    pthread_cleanup_pop(1);
    pthread_mutex_lock(&in->mu);
    in->ended = 1;
    pthread_cond_broadcast(&in->changed);
    pthread_mutex_unlock(&in->mu);
    return NULL;
}

ed_status intake_start(intake **out, FILE *in, const request_limits *lim, size_t max_line_bytes,
                       int capacity, ed_error *err) {
    *out = NULL;
    intake *t = calloc(1, sizeof *t);
    if (t) t->ring = calloc((size_t)(capacity > 0 ? capacity : 1), sizeof *t->ring);
    if (!t || !t->ring) {
        if (t) free(t->ring);
        free(t);
        return ed_fail(err, "out of memory for the request queue");
    }
    struct stat st;
    t->regular_file = in && fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode);
    t->in = in;
    t->lim = *lim;
    t->max_line_bytes = max_line_bytes;
    t->capacity = capacity > 0 ? capacity : 1;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->changed, NULL);
    if (!in) { /* offers only */
        t->ended = 1;
        *out = t;
        return ED_OK;
    }
    if (pthread_create(&t->thread, NULL, reader_main, t)) {
        intake_destroy(t);
        return ed_fail(err, "cannot start the request reader thread");
    }
    t->started = 1;
    *out = t;
    return ED_OK;
}

/* Whether the intake is over: the stream ended, no offer may come, nothing is left. */
static int intake_over(const intake *in) {
    return in->ended && !in->open_for_offers && in->count == 0 && in->n_offered == 0;
}

int intake_take(intake *in, intake_item *item, int wait) {
    pthread_mutex_lock(&in->mu);
    while (wait && in->count == 0 && in->n_offered == 0 && !intake_over(in) && !in->interrupted)
        pthread_cond_wait(&in->changed, &in->mu);
    in->interrupted = 0;
    int got = INTAKE_NONE;
    if (in->count > 0) {
        *item = in->ring[in->head];
        in->head = (in->head + 1) % in->capacity;
        in->count--;
        pthread_cond_broadcast(&in->changed);
        got = INTAKE_ITEM;
    } else if (in->n_offered > 0) {
        *item = in->offered[0];
        memmove(in->offered, in->offered + 1, (size_t)--in->n_offered * sizeof *in->offered);
        got = INTAKE_ITEM;
    } else if (intake_over(in)) {
        got = INTAKE_END;
    }
    pthread_mutex_unlock(&in->mu);
    return got;
}

void intake_keep_open(intake *in) {
    pthread_mutex_lock(&in->mu);
    in->open_for_offers = 1;
    pthread_mutex_unlock(&in->mu);
}

void intake_close(intake *in) {
    pthread_mutex_lock(&in->mu);
    in->open_for_offers = 0;
    pthread_cond_broadcast(&in->changed);
    pthread_mutex_unlock(&in->mu);
}

ed_status intake_offer(intake *in, request *r, ed_error *err) {
    pthread_mutex_lock(&in->mu);
    ed_status st = ED_OK;
    if (!in->open_for_offers) {
        st = ed_fail(err, "the server is draining");
    } else if (in->n_offered == in->cap_offered) {
        int cap = in->cap_offered ? 2 * in->cap_offered : 64;
        intake_item *grown = realloc(in->offered, (size_t)cap * sizeof *grown);
        if (!grown) st = ed_fail(err, "out of memory queueing the request");
        else in->offered = grown, in->cap_offered = cap;
    }
    if (st == ED_OK) {
        in->offered[in->n_offered++] = (intake_item){.req = r, .line = r->line};
        pthread_cond_broadcast(&in->changed);
    }
    pthread_mutex_unlock(&in->mu);
    return st;
}

int intake_pending(intake *in) {
    pthread_mutex_lock(&in->mu);
    int n = in->count + in->n_offered;
    pthread_mutex_unlock(&in->mu);
    return n;
}

void intake_interrupt(intake *in) {
    pthread_mutex_lock(&in->mu);
    in->interrupted = 1;
    pthread_cond_broadcast(&in->changed);
    pthread_mutex_unlock(&in->mu);
}

int intake_reads_file(const intake *in) { return in->regular_file; }

const char *intake_failure(const intake *in) { return in->failure[0] ? in->failure : NULL; }

void intake_destroy(intake *in) {
    if (!in) return;
    if (in->started) {
        pthread_mutex_lock(&in->mu);
        int ended = in->ended;
        pthread_mutex_unlock(&in->mu);
        if (!ended) pthread_cancel(in->thread); /* blocked reading, or waiting for room */
        pthread_join(in->thread, NULL);
    }
    for (int i = 0; i < in->count; i++) {
        intake_item *it = &in->ring[(in->head + i) % in->capacity];
        request_destroy(it->req);
        cJSON_Delete(it->id);
    }
    for (int i = 0; i < in->n_offered; i++) request_destroy(in->offered[i].req);
    free(in->offered);
    pthread_mutex_destroy(&in->mu);
    pthread_cond_destroy(&in->changed);
    free(in->ring);
    free(in);
}
