/* The server's counters, rendered for GET /metrics in Prometheus' text format (version 0.0.4).
 * The engine thread writes the step gauges and counters; HTTP threads write status counts and
 * latencies; any thread renders. Thread-safe (one mutex). */
#ifndef ENCDEC_SERVE_METRICS_H
#define ENCDEC_SERVE_METRICS_H

typedef struct serve_metrics serve_metrics;

/* Rank 0's state after a step. */
typedef struct serve_gauges {
    int running, waiting;          /* requests decoding / queued in the scheduler */
    int self_used, self_total;     /* KV blocks */
    int cross_used, cross_total;   /* used: held by requests (encoder cache idle blocks are free) */
    long cache_hits, cache_misses, cache_evictions; /* encoder cache counters since start */
    int cache_blocks;              /* cross blocks the encoder cache holds (in use or idle) */
} serve_gauges;

serve_metrics *serve_metrics_create(void); /* NULL when out of memory */
void serve_metrics_destroy(serve_metrics *m);

/* Engine thread: the gauges alone (at start, and when requests leave without a step). */
void serve_metrics_gauges(serve_metrics *m, const serve_gauges *g);
/* Engine thread: after a step of step_s seconds that encoded enc_tokens and decoded dec_tokens. */
void serve_metrics_step(serve_metrics *m, const serve_gauges *g, long enc_tokens, long dec_tokens,
                        double step_s);
/* Engine thread: a request finished with `reason` (eos, stop, length, abort, error). */
void serve_metrics_finished(serve_metrics *m, const char *reason);
/* HTTP threads: an answer with this status; a request's time to first token (< 0: none) and
 * end-to-end latency, seconds. */
void serve_metrics_http_status(serve_metrics *m, int status);
void serve_metrics_latency(serve_metrics *m, double ttft_s, double e2e_s);

/* The exposition text (malloc'd, the caller frees); NULL when out of memory. */
char *serve_metrics_render(serve_metrics *m);

#endif
