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
    t->regular_file = fstat(fileno(in), &st) == 0 && S_ISREG(st.st_mode);
    t->in = in;
    t->lim = *lim;
    t->max_line_bytes = max_line_bytes;
    t->capacity = capacity > 0 ? capacity : 1;
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->changed, NULL);
    if (pthread_create(&t->thread, NULL, reader_main, t)) {
        intake_destroy(t);
        return ed_fail(err, "cannot start the request reader thread");
    }
    t->started = 1;
    *out = t;
    return ED_OK;
}

int intake_take(intake *in, intake_item *item, int wait) {
    pthread_mutex_lock(&in->mu);
    while (wait && in->count == 0 && !in->ended) pthread_cond_wait(&in->changed, &in->mu);
    int got = in->count > 0 ? INTAKE_ITEM : in->ended ? INTAKE_END : INTAKE_NONE;
    if (got == INTAKE_ITEM) {
        *item = in->ring[in->head];
        in->head = (in->head + 1) % in->capacity;
        in->count--;
        pthread_cond_broadcast(&in->changed);
    }
    pthread_mutex_unlock(&in->mu);
    return got;
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
    pthread_mutex_destroy(&in->mu);
    pthread_cond_destroy(&in->changed);
    free(in->ring);
    free(in);
}
