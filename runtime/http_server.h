/* Rank 0's HTTP front end (docs/SERVING.md): libmicrohttpd, one thread per connection. Each API
 * call is validated on its connection's thread (api_plan_build, then request_parse: the same
 * checks as a JSON Lines line), its requests are offered to the engine's intake with a reply
 * channel, and the thread waits for their records (streaming them as server-sent events, or
 * answering once all are final), watching its socket: a client that goes away cancels its
 * requests (reply_cancel), which the engine drops at its next step. The engine loop never
 * waits on a client. */
#ifndef ENCDEC_HTTP_SERVER_H
#define ENCDEC_HTTP_SERVER_H

#include "common/status.h"
#include "runtime/intake.h"
#include "runtime/request.h"
#include "runtime/serve_metrics.h"

typedef struct http_server_config {
    const char *host;       /* IPv4 address to bind */
    int port;
    const char *api_key;    /* "" = none */
    const char *model_name;
    int max_queue;          /* requests in flight at most (429 beyond) */
    long max_body_bytes;    /* 413 beyond */
    int max_connections;
    request_limits lim;     /* what request_parse checks */
    int warming;            /* 1: start warming up (http_server_set_warming) */
} http_server_config;

typedef struct http_server http_server;

/* Binds and starts serving (strings copied). The intake must be kept open (intake_keep_open). */
ed_status http_server_start(http_server **out, const http_server_config *cfg, intake *in,
                            serve_metrics *metrics, ed_error *err);
/* warming = 1: /health answers 503 {"status": "warming up"} (API calls are taken and wait in the
 * intake until the engine's warm-up ends); 0: ready. The server starts as cfg.warming says.
 * Thread-safe. */
void http_server_set_warming(http_server *s, int warming);
/* From now on new API calls get 503 and /health 503; calls in flight go on. Thread-safe. */
void http_server_drain(http_server *s);
/* Ends every connection (waiting calls answer 503) and frees the server. NULL is a no-op. */
void http_server_stop(http_server *s);

#endif
