#include "runtime/serve_metrics.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Histogram bucket upper bounds, seconds (+Inf implied). */
static const double bounds[] = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                0.5,   1,      2.5,   5,    10,    30,    60};
#define N_BOUNDS ((int)(sizeof bounds / sizeof bounds[0]))

typedef struct histogram {
    long counts[N_BOUNDS + 1]; /* per bucket, not cumulative; last = above every bound */
    double sum;
    long n;
} histogram;

static const char *const reasons[] = {"eos", "stop", "length", "abort", "error"};
#define N_REASONS ((int)(sizeof reasons / sizeof reasons[0]))
static const int statuses[] = {200, 400, 401, 404, 405, 413, 415, 429, 500, 503};
#define N_STATUSES ((int)(sizeof statuses / sizeof statuses[0]))

struct serve_metrics {
    pthread_mutex_t mu;
    serve_gauges g;
    long encoder_tokens, decoder_tokens, steps;
    long finished[N_REASONS];
    long by_status[N_STATUSES + 1]; /* last: any other status */
    histogram ttft, e2e, step;
};

serve_metrics *serve_metrics_create(void) {
    serve_metrics *m = calloc(1, sizeof *m);
    if (m) pthread_mutex_init(&m->mu, NULL);
    return m;
}

void serve_metrics_destroy(serve_metrics *m) {
    if (!m) return;
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static void observe(histogram *h, double x) {
    int b = 0;
    while (b < N_BOUNDS && x > bounds[b]) b++;
    h->counts[b]++;
    h->sum += x;
    h->n++;
}

void serve_metrics_gauges(serve_metrics *m, const serve_gauges *g) {
    pthread_mutex_lock(&m->mu);
    m->g = *g;
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_step(serve_metrics *m, const serve_gauges *g, long enc_tokens, long dec_tokens,
                        double step_s) {
    pthread_mutex_lock(&m->mu);
    m->g = *g;
    m->encoder_tokens += enc_tokens;
    m->decoder_tokens += dec_tokens;
    m->steps++;
    observe(&m->step, step_s);
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_finished(serve_metrics *m, const char *reason) {
    int i = 0;
    while (i < N_REASONS - 1 && strcmp(reasons[i], reason)) i++;
    pthread_mutex_lock(&m->mu);
    m->finished[i]++;
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_http_status(serve_metrics *m, int status) {
    int i = 0;
    while (i < N_STATUSES && statuses[i] != status) i++;
    pthread_mutex_lock(&m->mu);
    m->by_status[i]++;
    pthread_mutex_unlock(&m->mu);
}

void serve_metrics_latency(serve_metrics *m, double ttft_s, double e2e_s) {
    pthread_mutex_lock(&m->mu);
    if (ttft_s >= 0) observe(&m->ttft, ttft_s);
    observe(&m->e2e, e2e_s);
    pthread_mutex_unlock(&m->mu);
}

typedef struct text {
    char *buf;
    size_t len, cap;
    int failed;
} text;

static void put(text *t, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = t->failed ? 0 : vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
        va_end(ap);
        if (t->failed) return;
        if ((size_t)n < t->cap - t->len) {
            t->len += (size_t)n;
            return;
        }
        char *grown = realloc(t->buf, t->cap * 2 + (size_t)n);
        if (!grown) {
            t->failed = 1;
            return;
        }
        t->buf = grown;
        t->cap = t->cap * 2 + (size_t)n;
    }
}

static void put_histogram(text *t, const char *name, const char *help, const histogram *h) {
    put(t, "# HELP %s %s\n# TYPE %s histogram\n", name, help, name);
    long cum = 0;
    for (int b = 0; b < N_BOUNDS; b++) {
        cum += h->counts[b];
        put(t, "%s_bucket{le=\"%g\"} %ld\n", name, bounds[b], cum);
    }
    put(t, "%s_bucket{le=\"+Inf\"} %ld\n%s_sum %.6f\n%s_count %ld\n", name, h->n, name, h->sum,
        name, h->n);
}

static void put_gauge(text *t, const char *name, const char *type, const char *help, long v) {
    put(t, "# HELP %s %s\n# TYPE %s %s\n%s %ld\n", name, help, name, type, name, v);
}

char *serve_metrics_render(serve_metrics *m) {
    text t = {.buf = malloc(4096), .cap = 4096};
    if (!t.buf) return NULL;
    t.buf[0] = 0;
    pthread_mutex_lock(&m->mu);
    put_gauge(&t, "encdec_requests_running", "gauge", "Requests decoding now.", m->g.running);
    put_gauge(&t, "encdec_requests_waiting", "gauge", "Requests queued for admission.",
              m->g.waiting);
    put(&t, "# HELP encdec_requests_finished_total Requests finished, by reason.\n"
            "# TYPE encdec_requests_finished_total counter\n");
    for (int i = 0; i < N_REASONS; i++)
        put(&t, "encdec_requests_finished_total{reason=\"%s\"} %ld\n", reasons[i], m->finished[i]);
    put(&t, "# HELP encdec_http_responses_total HTTP answers, by status code.\n"
            "# TYPE encdec_http_responses_total counter\n");
    for (int i = 0; i < N_STATUSES; i++)
        put(&t, "encdec_http_responses_total{code=\"%d\"} %ld\n", statuses[i], m->by_status[i]);
    put(&t, "encdec_http_responses_total{code=\"other\"} %ld\n", m->by_status[N_STATUSES]);
    put_gauge(&t, "encdec_kv_self_blocks_used", "gauge", "Self-attention KV blocks in use.",
              m->g.self_used);
    put_gauge(&t, "encdec_kv_self_blocks_total", "gauge", "Self-attention KV blocks in the pool.",
              m->g.self_total);
    put_gauge(&t, "encdec_kv_cross_blocks_used", "gauge", "Cross-attention KV blocks in use.",
              m->g.cross_used);
    put_gauge(&t, "encdec_kv_cross_blocks_total", "gauge",
              "Cross-attention KV blocks in the pool.", m->g.cross_total);
    put_gauge(&t, "encdec_encoder_cache_hits_total", "counter",
              "Requests whose encoder pass the encoder cache skipped.", m->g.cache_hits);
    put_gauge(&t, "encdec_encoder_cache_misses_total", "counter",
              "Requests looked up in the encoder cache and not found.", m->g.cache_misses);
    put_gauge(&t, "encdec_encoder_cache_evictions_total", "counter",
              "Encoder cache entries whose blocks went back to the cross pool.",
              m->g.cache_evictions);
    put_gauge(&t, "encdec_encoder_cache_blocks", "gauge",
              "Cross-attention KV blocks the encoder cache holds (in use or idle).",
              m->g.cache_blocks);
    put_gauge(&t, "encdec_encoder_tokens_total", "counter", "Encoder tokens processed.",
              m->encoder_tokens);
    put_gauge(&t, "encdec_decoder_tokens_total", "counter", "Decoder tokens processed.",
              m->decoder_tokens);
    put_gauge(&t, "encdec_steps_total", "counter", "Engine steps.", m->steps);
    put_histogram(&t, "encdec_time_to_first_token_seconds",
                  "Time from a request's arrival to its first token.", &m->ttft);
    put_histogram(&t, "encdec_e2e_request_latency_seconds",
                  "Time from a request's arrival to its last answer.", &m->e2e);
    put_histogram(&t, "encdec_step_seconds", "Engine step time (planning to results).", &m->step);
    pthread_mutex_unlock(&m->mu);
    if (t.failed) {
        free(t.buf);
        return NULL;
    }
    return t.buf;
}
