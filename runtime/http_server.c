#define _GNU_SOURCE /* POLLRDHUP */
#include "runtime/http_server.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "runtime/openai_api.h"
#include "runtime/reply.h"

/* How often a waiting connection thread looks at its socket and the server's state, seconds. */
#define POLL_S 0.05

struct http_server {
    struct MHD_Daemon *daemon;
    char host[256], api_key[1024], model_name[1024];
    int max_queue, max_connections;
    long max_body_bytes;
    request_limits lim;
    intake *in;
    serve_metrics *metrics;
    atomic_int draining, stopping;
    atomic_int warming; /* the engine's warm-up runs: /health 503 */
    atomic_int in_flight; /* requests offered and not yet final */
    atomic_int active;    /* API calls whose answer is not fully sent yet */
    atomic_long calls;
    unsigned long long seed_base;
};

typedef enum { ROUTE_COMPLETIONS, ROUTE_EMBEDDINGS, ROUTE_GENERATE, ROUTE_MODELS, ROUTE_HEALTH,
               ROUTE_METRICS } route_id;

typedef struct route {
    const char *path, *method;
    route_id id;
} route;

static const route routes[] = {
    {"/v1/completions", "POST", ROUTE_COMPLETIONS}, {"/v1/embeddings", "POST", ROUTE_EMBEDDINGS},
    {"/generate", "POST", ROUTE_GENERATE},          {"/v1/models", "GET", ROUTE_MODELS},
    {"/health", "GET", ROUTE_HEALTH},               {"/metrics", "GET", ROUTE_METRICS},
};
#define N_ROUTES ((int)(sizeof routes / sizeof routes[0]))

/* One HTTP request's state across libmicrohttpd's calls (its body arrives in pieces). */
typedef struct conn_state {
    const route *route;
    char *body;
    size_t len, cap;
    int too_large;
    int answered; /* a response was queued early (an error before the body) */
    int counted;  /* an API call counted in http_server.active until its answer is sent */
} conn_state;

/* A streamed answer: owned by the response (freed by its free callback). */
typedef struct stream_state {
    http_server *srv;
    api_plan plan;
    api_context ctx;
    reply *reply;
    int fd;
    int *streamed;
    char *pending;      /* SSE text not yet handed to libmicrohttpd */
    size_t pending_len, pending_off;
    int ended;          /* [DONE] queued */
    long created;
    double t_start, t_first;
} stream_state;

static enum MHD_Result send_text(struct MHD_Connection *c, http_server *s, int status,
                                 const char *type, char *text /* owned */) {
    if (!text) {
        status = 500;
        text = strdup("{\"error\": {\"message\": \"out of memory\", \"type\": \"server_error\", "
                      "\"param\": null, \"code\": 500}}");
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(text ? strlen(text) : 0, text, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)status, r);
    MHD_destroy_response(r);
    serve_metrics_http_status(s->metrics, status);
    return ok;
}

static enum MHD_Result send_error(struct MHD_Connection *c, http_server *s, const api_error *e) {
    return send_text(c, s, e->status, "application/json", api_error_body(e));
}

static enum MHD_Result fail(struct MHD_Connection *c, http_server *s, int status,
                            const char *param, const char *message) {
    api_error e = {.status = status};
    snprintf(e.param, sizeof e.param, "%s", param ? param : "");
    snprintf(e.message, sizeof e.message, "%s", message);
    return send_error(c, s, &e);
}

/* Whether the peer of fd has closed or reset the connection. */
static int peer_gone(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    if (poll(&p, 1, 0) <= 0) return 0;
    if (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)) return 1;
    char c;
    return (p.revents & POLLIN) && recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static int connection_fd(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci ? ci->connect_fd : -1;
}

static int authorized(struct MHD_Connection *c, const http_server *s) {
    if (!s->api_key[0]) return 1;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (!h || strncasecmp(h, "Bearer ", 7)) return 0;
    h += 7;
    size_t n = strlen(s->api_key), m = strlen(h);
    unsigned diff = (unsigned)(n ^ m); /* compared in time independent of where they differ */
    for (size_t i = 0; i < n; i++) diff |= (unsigned char)s->api_key[i] ^ (unsigned char)h[i < m ? i : 0];
    return diff == 0;
}

static char *models_body(const http_server *s) {
    cJSON *o = cJSON_CreateObject(), *data = cJSON_AddArrayToObject(o, "data");
    cJSON_AddStringToObject(o, "object", "list");
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "id", s->model_name);
    cJSON_AddStringToObject(m, "object", "model");
    cJSON_AddNumberToObject(m, "created", (double)time(NULL));
    cJSON_AddStringToObject(m, "owned_by", "encdec_tp");
    cJSON_AddNumberToObject(m, "max_model_len", s->lim.max_input_len);
    cJSON_AddItemToArray(data, m);
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return t;
}

static enum MHD_Result serve_get(struct MHD_Connection *c, http_server *s, route_id id) {
    if (id == ROUTE_HEALTH)
        return atomic_load(&s->draining)
                   ? send_text(c, s, 503, "application/json", strdup("{\"status\": \"draining\"}"))
               : atomic_load(&s->warming)
                   ? send_text(c, s, 503, "application/json", strdup("{\"status\": \"warming up\"}"))
                   : send_text(c, s, 200, "application/json", strdup("{\"status\": \"ok\"}"));
    if (id == ROUTE_METRICS)
        return send_text(c, s, 200, "text/plain; version=0.0.4", serve_metrics_render(s->metrics));
    if (!authorized(c, s)) return fail(c, s, 401, NULL, "missing or wrong API key");
    return send_text(c, s, 200, "application/json", models_body(s));
}

/* Parses every native request of the plan; on success every request is offered to the engine
 * with the reply channel. ED_ERR: *e says why (nothing offered, or the offered ones cancelled). */
static ed_status submit(http_server *s, api_plan *plan, reply *rep, api_error *e) {
    request **reqs = calloc((size_t)plan->n_requests, sizeof *reqs);
    if (!reqs) {
        e->status = 500;
        snprintf(e->message, sizeof e->message, "out of memory");
        return ED_ERR;
    }
    ed_status st = ED_OK;
    for (int i = 0; i < plan->n_requests && !st; i++) {
        char *text = cJSON_PrintUnformatted(plan->native[i]);
        cJSON *id = NULL;
        ed_error err;
        st = text ? request_parse(text, strlen(text), 0, &s->lim, &reqs[i], &id, &err)
                  : ed_fail(&err, "out of memory");
        free(text);
        cJSON_Delete(id);
        if (st) api_error_from_native(plan->kind, err.msg, e);
        else plan->prompt_len[i] = reqs[i]->n_input; /* text: its token count */
    }
    if (!st && atomic_fetch_add(&s->in_flight, plan->n_requests) + plan->n_requests > s->max_queue) {
        atomic_fetch_sub(&s->in_flight, plan->n_requests);
        e->status = 429;
        e->param[0] = 0;
        snprintf(e->message, sizeof e->message, "the server holds max_queue (%d) requests; retry "
                 "later", s->max_queue);
        st = ED_ERR;
    }
    int offered = 0;
    for (int i = 0; i < plan->n_requests && !st; i++) {
        request_set_reply(reqs[i], rep, i);
        ed_error err;
        if (intake_offer(s->in, reqs[i], &err)) {
            atomic_fetch_sub(&s->in_flight, plan->n_requests - offered);
            e->status = 503;
            e->param[0] = 0;
            snprintf(e->message, sizeof e->message, "%s", err.msg);
            reply_cancel(rep); /* the engine drops those already offered */
            st = ED_ERR;
            break;
        }
        reqs[i] = NULL; /* the engine owns it now */
        offered++;
    }
    for (int i = 0; i < plan->n_requests; i++) request_destroy(reqs[i]);
    free(reqs);
    return st;
}

/* Waits for every request's final record of a non-streamed call; 0 when the client went away or
 * the server stops first. records[n_requests] receive the final records. */
static int wait_final(http_server *s, reply *rep, int fd, int n, cJSON **records) {
    int finished = 0;
    while (finished < n) {
        cJSON *rec;
        int index, final;
        if (reply_take(rep, &rec, &index, &final, POLL_S)) {
            if (final && index >= 0 && index < n && !records[index]) {
                records[index] = rec;
                finished++;
            } else {
                cJSON_Delete(rec); /* stream records of a non-streamed call: none expected */
            }
            continue;
        }
        if (atomic_load(&s->stopping) || (fd >= 0 && peer_gone(fd))) return 0;
    }
    return 1;
}

static void free_stream(void *cls) {
    stream_state *st = cls;
    if (st->reply && reply_finished(st->reply) < st->plan.n_requests) reply_cancel(st->reply);
    serve_metrics_latency(st->srv->metrics, st->t_first > 0 ? st->t_first - st->t_start : -1,
                          monotonic_s() - st->t_start);
    reply_release(st->reply);
    api_plan_free(&st->plan);
    free(st->streamed);
    free(st->pending);
    free(st);
}

/* libmicrohttpd's content reader: hands out SSE text, waiting (this connection's thread only)
 * for the next record. */
static ssize_t read_stream(void *cls, uint64_t pos, char *buf, size_t max) {
    (void)pos;
    stream_state *st = cls;
    while (st->pending_off == st->pending_len) {
        free(st->pending);
        st->pending = NULL;
        st->pending_len = st->pending_off = 0;
        if (st->ended) return MHD_CONTENT_READER_END_OF_STREAM;
        int all_final = reply_finished(st->reply) == st->plan.n_requests;
        cJSON *rec;
        int index, final;
        if (reply_take(st->reply, &rec, &index, &final, all_final ? 0 : POLL_S)) {
            if (index >= 0 && index < st->plan.n_requests) {
                if (st->t_first == 0) st->t_first = monotonic_s();
                st->pending = api_stream_event(&st->plan, &st->ctx, index, rec, final,
                                               st->streamed, st->created);
            }
            cJSON_Delete(rec);
        } else if (all_final) {
            st->pending = api_stream_end(&st->plan, &st->ctx, st->streamed, st->created);
            st->ended = 1;
        } else if (atomic_load(&st->srv->stopping) || peer_gone(st->fd)) {
            reply_cancel(st->reply);
            return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        if (st->pending) st->pending_len = strlen(st->pending);
    }
    size_t n = st->pending_len - st->pending_off;
    if (n > max) n = max;
    memcpy(buf, st->pending + st->pending_off, n);
    st->pending_off += n;
    return (ssize_t)n;
}

static api_kind kind_of(route_id id) {
    return id == ROUTE_COMPLETIONS ? API_COMPLETIONS
           : id == ROUTE_EMBEDDINGS ? API_EMBEDDINGS : API_GENERATE;
}

/* The body has arrived: validate, submit, then answer (streamed or whole). */
static enum MHD_Result serve_call(struct MHD_Connection *c, http_server *s, conn_state *cs) {
    if (cs->too_large) {
        char msg[160];
        snprintf(msg, sizeof msg, "the body exceeds max_body_bytes (%ld)", s->max_body_bytes);
        return fail(c, s, 413, NULL, msg);
    }
    const char *end = NULL;
    cJSON *body = cJSON_ParseWithLengthOpts(cs->body ? cs->body : "", cs->len, &end, 0);
    if (!body) {
        char msg[160];
        snprintf(msg, sizeof msg, "the body is not valid JSON (parsing stopped at byte %zu)",
                 end && cs->body ? (size_t)(end - cs->body) : (size_t)0);
        return fail(c, s, 400, NULL, msg);
    }
    long call_no = atomic_fetch_add(&s->calls, 1) + 1;
    api_context ctx = {.model_name = s->model_name, .lim = &s->lim, .call_no = call_no,
                       .default_seed = s->seed_base + (unsigned long long)call_no * 7919ULL,
                       .has_tokenizer = s->lim.tok != NULL};
    api_plan plan;
    api_error e;
    ed_status bad = api_plan_build(kind_of(cs->route->id), body, &ctx, &plan, &e);
    cJSON_Delete(body);
    if (bad) return send_error(c, s, &e);
    reply *rep = reply_create(plan.n_requests, &s->in_flight);
    if (!rep) {
        api_plan_free(&plan);
        return fail(c, s, 500, NULL, "out of memory");
    }
    double t_start = monotonic_s();
    if (submit(s, &plan, rep, &e)) {
        reply_release(rep);
        api_plan_free(&plan);
        return send_error(c, s, &e);
    }
    long created = (long)time(NULL);
    int fd = connection_fd(c);
    if (plan.stream) {
        stream_state *st = calloc(1, sizeof *st);
        if (st) st->streamed = calloc((size_t)plan.n_requests, sizeof *st->streamed);
        struct MHD_Response *r = NULL;
        if (st && st->streamed) {
            *st = (stream_state){.srv = s, .plan = plan, .ctx = ctx, .reply = rep, .fd = fd,
                                 .streamed = st->streamed, .created = created,
                                 .t_start = t_start};
            r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, read_stream, st,
                                                  free_stream);
            if (!r) free_stream(st);
        } else {
            if (st) free(st->streamed);
            free(st);
            reply_cancel(rep);
            reply_release(rep);
            api_plan_free(&plan);
        }
        if (!r) return fail(c, s, 500, NULL, "out of memory");
        MHD_add_response_header(r, "Content-Type", "text/event-stream");
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        enum MHD_Result ok = MHD_queue_response(c, 200, r);
        MHD_destroy_response(r);
        serve_metrics_http_status(s->metrics, 200);
        return ok;
    }
    cJSON **records = calloc((size_t)plan.n_requests, sizeof *records);
    enum MHD_Result ok;
    if (!records) {
        reply_cancel(rep);
        ok = fail(c, s, 500, NULL, "out of memory");
    } else if (!wait_final(s, rep, fd, plan.n_requests, records)) {
        reply_cancel(rep); /* the client is gone (or the server stops): nothing to answer */
        ok = atomic_load(&s->stopping) ? fail(c, s, 503, NULL, "the server is stopping") : MHD_NO;
    } else {
        char *text = api_answer(&plan, &ctx, records, created, &e);
        serve_metrics_latency(s->metrics, -1, monotonic_s() - t_start);
        ok = text ? send_text(c, s, 200, "application/json", text) : send_error(c, s, &e);
    }
    for (int i = 0; records && i < plan.n_requests; i++) cJSON_Delete(records[i]);
    free(records);
    reply_release(rep);
    api_plan_free(&plan);
    return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_size, void **con_cls) {
    (void)version;
    http_server *s = cls;
    conn_state *cs = *con_cls;
    if (!cs) { /* headers are in: route, method, key, content type and length */
        if (!(cs = calloc(1, sizeof *cs))) return MHD_NO;
        *con_cls = cs;
        const route *known = NULL;
        for (int i = 0; i < N_ROUTES; i++)
            if (!strcmp(url, routes[i].path)) {
                known = &routes[i];
                break;
            }
        cs->answered = 1;
        if (!known) {
            char msg[320];
            snprintf(msg, sizeof msg, "no route %.200s (routes: /v1/completions, /v1/embeddings, "
                     "/generate, /v1/models, /health, /metrics)", url);
            return fail(c, s, 404, NULL, msg);
        }
        if (strcmp(method, known->method)) {
            char msg[160];
            snprintf(msg, sizeof msg, "%s takes %s, not %.20s", known->path, known->method, method);
            return fail(c, s, 405, NULL, msg);
        }
        if (!strcmp(known->method, "GET")) return serve_get(c, s, known->id);
        if (!authorized(c, s)) return fail(c, s, 401, NULL, "missing or wrong API key");
        if (atomic_load(&s->draining))
            return fail(c, s, 503, NULL, "the server is draining: it takes no new requests");
        const char *type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Type");
        if (!type || strncasecmp(type, "application/json", 16) ||
            (type[16] && type[16] != ';' && type[16] != ' '))
            return fail(c, s, 415, NULL, "the body must be JSON (Content-Type: application/json)");
        const char *length = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Content-Length");
        if (length && strtod(length, NULL) > (double)s->max_body_bytes) {
            char msg[160];
            snprintf(msg, sizeof msg, "the body (%.30s bytes) exceeds max_body_bytes (%ld)",
                     length, s->max_body_bytes);
            return fail(c, s, 413, NULL, msg);
        }
        cs->answered = 0;
        cs->route = known;
        return MHD_YES;
    }
    if (cs->answered) { /* an early answer is queued: the rest of the body is dropped */
        *upload_size = 0;
        return MHD_YES;
    }
    if (*upload_size) {
        size_t n = *upload_size;
        *upload_size = 0;
        if (cs->too_large || cs->len + n > (size_t)s->max_body_bytes) {
            cs->too_large = 1;
            return MHD_YES;
        }
        if (cs->len + n + 1 > cs->cap) {
            size_t cap = (cs->len + n + 1) * 2;
            char *grown = realloc(cs->body, cap);
            if (!grown) return MHD_NO;
            cs->body = grown;
            cs->cap = cap;
        }
        memcpy(cs->body + cs->len, upload_data, n);
        cs->len += n;
        cs->body[cs->len] = 0;
        return MHD_YES;
    }
    cs->answered = 1;
    cs->counted = 1;
    atomic_fetch_add(&s->active, 1);
    return serve_call(c, s, cs);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode why) {
    (void)c, (void)why;
    http_server *s = cls;
    conn_state *cs = *con_cls;
    if (!cs) return;
    if (cs->counted) atomic_fetch_sub(&s->active, 1); /* its answer is sent (or failed) */
    free(cs->body);
    free(cs);
    *con_cls = NULL;
}

ed_status http_server_start(http_server **out, const http_server_config *cfg, intake *in,
                            serve_metrics *metrics, ed_error *err) {
    *out = NULL;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)cfg->port)};
    if (inet_pton(AF_INET, cfg->host, &addr.sin_addr) != 1)
        return ed_fail(err, "config: key 'http_host': '%s' is not an IPv4 address", cfg->host);
    http_server *s = calloc(1, sizeof *s);
    if (!s) return ed_fail(err, "out of memory");
    snprintf(s->host, sizeof s->host, "%s", cfg->host);
    snprintf(s->api_key, sizeof s->api_key, "%s", cfg->api_key ? cfg->api_key : "");
    snprintf(s->model_name, sizeof s->model_name, "%s", cfg->model_name);
    s->max_queue = cfg->max_queue;
    s->max_body_bytes = cfg->max_body_bytes;
    s->max_connections = cfg->max_connections;
    s->lim = cfg->lim;
    atomic_store(&s->warming, cfg->warming);
    s->in = in;
    s->metrics = metrics;
    s->seed_base = (unsigned long long)time(NULL) * 1000003ULL;
    s->daemon = MHD_start_daemon(
        MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC,
        (uint16_t)cfg->port,
        NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned)cfg->max_connections, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 << 10), MHD_OPTION_LISTEN_BACKLOG_SIZE,
        (unsigned)1024, MHD_OPTION_END);
    if (!s->daemon) {
        free(s);
        return ed_fail(err, "config: key 'http_port': cannot listen on %s:%d (in use, or not "
                            "permitted)", cfg->host, cfg->port);
    }
    log_info("HTTP server on http://%s:%d (model '%s'%s)", cfg->host, cfg->port, cfg->model_name,
             s->api_key[0] ? ", API key required" : "");
    *out = s;
    return ED_OK;
}

void http_server_drain(http_server *s) { atomic_store(&s->draining, 1); }

void http_server_set_warming(http_server *s, int warming) { atomic_store(&s->warming, warming); }

void http_server_stop(http_server *s) {
    if (!s) return;
    atomic_store(&s->draining, 1);
    /* answers being sent (a stream's last events) get up to 5 s to reach their clients */
    for (int i = 0; i < 500 && atomic_load(&s->active) > 0; i++) nanosleep(&(struct timespec){0, 10000000}, NULL);
    atomic_store(&s->stopping, 1);
    MHD_stop_daemon(s->daemon);
    free(s);
}
