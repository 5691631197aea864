/* encdec_loadgen: a load generator for encdec_tp's HTTP server (docs/SERVING.md). N client
 * threads, each with one libcurl easy handle (a kept-alive connection), send R streamed
 * POST /v1/completions requests in all; prints a summary to stderr and one JSON line to stdout.
 *   encdec_loadgen --url http://127.0.0.1:8000 [--clients 64] [--requests 256]
 *                  [--max-tokens 64] [--input-len A[-B]] [--vocab V] [--eos E]
 *                  [--prompts FILE] [--expect FILE] [--model NAME] [--api-key KEY]
 *                  [--warmup W] [--no-min-tokens] [--no-stream] [--timeout S]
 * Prompts: from --prompts FILE (JSON Lines; request r sends line r % lines' "input_ids", or
 * its "prompt" ids), else random ids exactly as encdec_bench makes them (request r has
 * A + (r * 7919) % (B - A + 1) tokens from the same generator, the last one --eos), so a run
 * here and `encdec_bench --batch R --input-len A-B --output-len T` decode the same workload.
 * Every request is greedy (temperature 0) and asks min_tokens = max_tokens (an extension: EOS
 * held off), so each generates exactly max_tokens; --no-min-tokens leaves it out.
 * --expect FILE: JSON Lines with "output_ids" in the prompts' order (an encdec_tp --requests
 * run's output sorted by request, or expected ids); each answer's ids must equal line r % lines.
 * --warmup W: W requests first, at the same concurrency, not counted.
 * Errors: a transfer failure, an HTTP status other than 200, an SSE "error" event, no
 * `data: [DONE]` last, a chunk that is not JSON, a token count other than max_tokens (with
 * min_tokens) or than the usage chunk's completion_tokens, ids unlike --expect's.
 * Latencies: time to first token (request sent to the first chunk holding a token), inter-token
 * latency (each later chunk's gap over its token count, one sample per chunk), end to end
 * (request sent to [DONE]); p50 and p99 over the counted requests that succeeded.
 * Exit status: 0 when every request succeeded, 1 otherwise, 2 for a bad command line. */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct options {
    const char *url, *prompts, *expect, *model, *api_key;
    int clients, requests, max_tokens, input_min, input_max, vocab, eos, warmup;
    int min_tokens, stream;
    long timeout_s;
} options;

typedef struct id_list {
    int *ids;
    int n;
} id_list;

/* One request's measurements. */
typedef struct result {
    int ok, tokens;
    double ttft, e2e;   /* seconds */
    double *itl;        /* per-chunk inter-token gaps, seconds */
    int n_itl, cap_itl;
} result;

/* State shared by the client threads. */
typedef struct shared {
    const options *o;
    const id_list *prompts, *expect;
    int n_prompts, n_expect;
    int total;          /* requests of this round */
    int next;           /* next request index to take (under lock) */
    int errors, errors_printed;
    result *results;
    pthread_mutex_t lock;
} shared;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int usage(void) {
    fprintf(stderr,
            "usage: encdec_loadgen --url http://HOST:PORT [--clients N] [--requests R] "
            "[--max-tokens T] [--input-len A[-B]] [--vocab V] [--eos E] [--prompts FILE] "
            "[--expect FILE] [--model NAME] [--api-key KEY] [--warmup W] [--no-min-tokens] "
            "[--no-stream] [--timeout S]\n");
    return 2;
}

static int parse_int(const char *s, int lo, int *out) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end || v < lo || v > 1000000000L) return -1;
    *out = (int)v;
    return 0;
}

static int parse_args(int argc, char **argv, options *o) {
    *o = (options){.clients = 64, .requests = 256, .max_tokens = 64, .input_min = 32,
                   .input_max = 32, .vocab = 32128, .eos = 1, .min_tokens = 1, .stream = 1,
                   .timeout_s = 600};
    for (int i = 1; i < argc; i++) {
        const char *k = argv[i];
        if (!strcmp(k, "--no-min-tokens")) { o->min_tokens = 0; continue; }
        if (!strcmp(k, "--no-stream")) { o->stream = 0; continue; }
        if (i + 1 >= argc) { fprintf(stderr, "encdec_loadgen: %s needs a value\n", k); return -1; }
        const char *v = argv[++i];
        int bad = 0, t;
        if (!strcmp(k, "--url")) o->url = v;
        else if (!strcmp(k, "--prompts")) o->prompts = v;
        else if (!strcmp(k, "--expect")) o->expect = v;
        else if (!strcmp(k, "--model")) o->model = v;
        else if (!strcmp(k, "--api-key")) o->api_key = v;
        else if (!strcmp(k, "--clients")) bad = parse_int(v, 1, &o->clients);
        else if (!strcmp(k, "--requests")) bad = parse_int(v, 1, &o->requests);
        else if (!strcmp(k, "--max-tokens")) bad = parse_int(v, 1, &o->max_tokens);
        else if (!strcmp(k, "--vocab")) bad = parse_int(v, 4, &o->vocab);
        else if (!strcmp(k, "--eos")) bad = parse_int(v, 0, &o->eos);
        else if (!strcmp(k, "--warmup")) bad = parse_int(v, 0, &o->warmup);
        else if (!strcmp(k, "--timeout")) { bad = parse_int(v, 1, &t); o->timeout_s = t; }
        else if (!strcmp(k, "--input-len")) {
            char a[32];
            const char *dash = strchr(v, '-');
            snprintf(a, sizeof a, "%.*s", dash ? (int)(dash - v) : (int)strlen(v), v);
            bad = parse_int(a, 1, &o->input_min) || parse_int(dash ? dash + 1 : a, 1, &o->input_max) ||
                  o->input_max < o->input_min;
        } else {
            fprintf(stderr, "encdec_loadgen: unknown option %s\n", k);
            return -1;
        }
        if (bad) { fprintf(stderr, "encdec_loadgen: %s: bad value '%s'\n", k, v); return -1; }
    }
    if (!o->url) { fprintf(stderr, "encdec_loadgen: --url is required\n"); return -1; }
    return 0;
}

/* An array of integers as an id list; -1 when it is not one. */
static int ids_from_json(const cJSON *a, id_list *out) {
    if (!cJSON_IsArray(a)) return -1;
    int n = cJSON_GetArraySize(a), i = 0;
    out->ids = malloc(sizeof(int) * (n ? n : 1));
    out->n = n;
    for (const cJSON *e = a->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e)) { free(out->ids); return -1; }
        out->ids[i] = e->valueint;
    }
    return 0;
}

/* Reads FILE's JSON Lines, taking each line's first present field of `fields` as ids. Returns
 * the count (>= 1) or -1 after printing why. */
static int read_id_file(const char *path, const char *const *fields, id_list **out) {
    FILE *f = fopen(path, "r");
    if (!f) { fprintf(stderr, "encdec_loadgen: %s: cannot open\n", path); return -1; }
    char *line = NULL;
    size_t cap = 0;
    int n = 0, lineno = 0, cap_out = 0;
    *out = NULL;
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        if (strspn(line, " \t\r\n") == strlen(line)) continue;
        cJSON *j = cJSON_Parse(line);
        const cJSON *a = NULL;
        for (int k = 0; j && fields[k] && !a; k++) a = cJSON_GetObjectItemCaseSensitive(j, fields[k]);
        if (n == cap_out) {
            cap_out = cap_out ? 2 * cap_out : 64;
            *out = realloc(*out, sizeof(id_list) * cap_out);
        }
        if (!a || ids_from_json(a, &(*out)[n])) {
            fprintf(stderr, "encdec_loadgen: %s line %d: no %s array of ids\n", path, lineno,
                    fields[0]);
            cJSON_Delete(j);
            for (int i = 0; i < n; i++) free((*out)[i].ids);
            free(*out);
            free(line);
            fclose(f);
            return -1;
        }
        cJSON_Delete(j);
        n++;
    }
    free(line);
    fclose(f);
    if (!n) { fprintf(stderr, "encdec_loadgen: %s holds no lines\n", path); return -1; }
    return n;
}

/* Random prompts exactly as encdec_bench's (same lengths, generator and seed). */
static id_list *random_prompts(const options *o, int count) {
    id_list *p = malloc(sizeof(id_list) * count);
    unsigned st = 42;
    for (int r = 0; r < count; r++) {
        int len = o->input_min + (int)((r * 7919L) % (o->input_max - o->input_min + 1));
        p[r].ids = malloc(sizeof(int) * len);
        p[r].n = len;
        for (int t = 0; t < len; t++) {
            st = st * 1664525u + 1013904223u;
            p[r].ids[t] = t == len - 1 ? o->eos : 3 + (int)(st >> 8) % (o->vocab - 3);
        }
    }
    return p;
}

/* One transfer: the SSE parser's state, fed by libcurl's write callback. */
typedef struct transfer {
    char *buf;          /* bytes not yet split into events */
    size_t len, cap;
    char *body;         /* a non-streamed answer */
    size_t body_len, body_cap;
    double t0, t_last;
    int got_token, done, failed;
    int usage_tokens; /* usage.completion_tokens (-1 until seen) */
    int *out_ids;
    int n_out, cap_out;
    char why[256];
    result *res;
    int stream;
} transfer;

static void fail_transfer(transfer *x, const char *fmt, const char *detail) {
    if (x->failed) return;
    x->failed = 1;
    snprintf(x->why, sizeof x->why, fmt, detail);
}

static void push_id(transfer *x, int id) {
    if (x->n_out == x->cap_out) {
        x->cap_out = x->cap_out ? 2 * x->cap_out : 64;
        x->out_ids = realloc(x->out_ids, sizeof(int) * x->cap_out);
    }
    x->out_ids[x->n_out++] = id;
}

/* A completion object (a chunk or the whole answer): its choices' token ids and its usage. */
static void take_completion(transfer *x, const cJSON *j, double t) {
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (err) {
        char *s = cJSON_PrintUnformatted(err);
        fail_transfer(x, "error event %.200s", s ? s : "?");
        free(s);
        return;
    }
    int tokens = 0;
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(j, "choices");
    const cJSON *c;
    cJSON_ArrayForEach(c, choices) {
        const cJSON *ids = cJSON_GetObjectItemCaseSensitive(c, "token_ids"), *e;
        cJSON_ArrayForEach(e, ids) {
            push_id(x, e->valueint);
            tokens++;
        }
    }
    const cJSON *usage = cJSON_GetObjectItemCaseSensitive(j, "usage");
    const cJSON *ct = cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens");
    if (cJSON_IsNumber(ct)) x->usage_tokens = ct->valueint;
    if (!tokens) return;
    result *r = x->res;
    if (!x->got_token) {
        x->got_token = 1;
        r->ttft = t - x->t0;
    } else {
        if (r->n_itl == r->cap_itl) {
            r->cap_itl = r->cap_itl ? 2 * r->cap_itl : 64;
            r->itl = realloc(r->itl, sizeof(double) * r->cap_itl);
        }
        r->itl[r->n_itl++] = (t - x->t_last) / tokens;
    }
    x->t_last = t;
}

/* One SSE event's text (lines without their terminators). */
static void take_event(transfer *x, char *ev, double t) {
    char *save = NULL;
    for (char *line = strtok_r(ev, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        size_t n = strlen(line);
        if (n && line[n - 1] == '\r') line[--n] = 0;
        if (!n || line[0] == ':') continue; /* blank or an SSE comment */
        if (strncmp(line, "data: ", 6)) { fail_transfer(x, "not an SSE data line: %.80s", line); return; }
        const char *data = line + 6;
        if (x->done) { fail_transfer(x, "data after [DONE]: %.80s", data); return; }
        if (!strcmp(data, "[DONE]")) { x->done = 1; continue; }
        cJSON *j = cJSON_Parse(data);
        if (!j) { fail_transfer(x, "a data line that is not JSON: %.80s", data); return; }
        take_completion(x, j, t);
        cJSON_Delete(j);
    }
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *user) {
    transfer *x = user;
    size_t n = size * nmemb;
    double t = now_s();
    if (!x->stream) {
        if (x->body_len + n + 1 > x->body_cap) {
            x->body_cap = 2 * (x->body_len + n + 1);
            x->body = realloc(x->body, x->body_cap);
        }
        memcpy(x->body + x->body_len, p, n);
        x->body_len += n;
        x->body[x->body_len] = 0;
        return n;
    }
    if (x->len + n + 1 > x->cap) {
        x->cap = 2 * (x->len + n + 1);
        x->buf = realloc(x->buf, x->cap);
    }
    memcpy(x->buf + x->len, p, n);
    x->len += n;
    x->buf[x->len] = 0;
    /* split off every complete event (ended by a blank line) */
    for (;;) {
        char *end = strstr(x->buf, "\n\n");
        char *crlf = strstr(x->buf, "\r\n\r\n");
        size_t skip = 2;
        if (crlf && (!end || crlf < end)) { end = crlf; skip = 4; }
        if (!end) break;
        *end = 0;
        take_event(x, x->buf, t);
        size_t used = (size_t)(end - x->buf) + skip;
        memmove(x->buf, x->buf + used, x->len - used + 1);
        x->len -= used;
    }
    return n;
}

static char *request_body(const options *o, const id_list *p) {
    cJSON *j = cJSON_CreateObject();
    if (o->model) cJSON_AddStringToObject(j, "model", o->model);
    cJSON_AddItemToObject(j, "prompt", cJSON_CreateIntArray(p->ids, p->n));
    cJSON_AddNumberToObject(j, "max_tokens", o->max_tokens);
    if (o->min_tokens) cJSON_AddNumberToObject(j, "min_tokens", o->max_tokens);
    cJSON_AddNumberToObject(j, "temperature", 0);
    if (o->stream) {
        cJSON_AddTrueToObject(j, "stream");
        cJSON *so = cJSON_AddObjectToObject(j, "stream_options");
        cJSON_AddTrueToObject(so, "include_usage");
    }
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* Sends request r on handle h and fills its result; returns 0 or -1 (why in x->why). */
static int run_one(shared *s, CURL *h, struct curl_slist *headers, int r, char *why, size_t cap) {
    const options *o = s->o;
    const id_list *p = &s->prompts[r % s->n_prompts];
    char *body = request_body(o, p);
    transfer x = {.res = &s->results[r], .stream = o->stream, .usage_tokens = -1};
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x);
    x.t0 = now_s();
    CURLcode rc = curl_easy_perform(h);
    double t_end = now_s();
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) fail_transfer(&x, "transfer failed: %s", curl_easy_strerror(rc));
    else if (status != 200) {
        char detail[200];
        snprintf(detail, sizeof detail, "%ld: %.160s", status, x.stream ? (x.buf ? x.buf : "") : (x.body ? x.body : ""));
        fail_transfer(&x, "HTTP status %s", detail);
    } else if (!o->stream) {
        cJSON *j = x.body ? cJSON_Parse(x.body) : NULL;
        if (!j) fail_transfer(&x, "an answer that is not JSON: %.80s", x.body ? x.body : "");
        else take_completion(&x, j, t_end);
        cJSON_Delete(j);
        x.done = 1;
    }
    if (!x.failed && !x.done) fail_transfer(&x, "%s", "the stream ended without data: [DONE]");
    if (!x.failed && x.len && strspn(x.buf, "\r\n") != x.len)
        fail_transfer(&x, "bytes after the last event: %.80s", x.buf);
    if (!x.failed && o->min_tokens && x.n_out != o->max_tokens) {
        char d[64];
        snprintf(d, sizeof d, "%d tokens, %d asked", x.n_out, o->max_tokens);
        fail_transfer(&x, "%s (min_tokens = max_tokens)", d);
    }
    if (!x.failed && x.usage_tokens != x.n_out) {
        char d[64];
        snprintf(d, sizeof d, "usage.completion_tokens %d, %d tokens streamed", x.usage_tokens, x.n_out);
        fail_transfer(&x, "%s", d);
    }
    if (!x.failed && s->expect) {
        const id_list *e = &s->expect[r % s->n_expect];
        int same = e->n == x.n_out;
        for (int i = 0; same && i < e->n; i++) same = e->ids[i] == x.out_ids[i];
        if (!same) fail_transfer(&x, "%s", "output ids differ from --expect's");
    }
    result *res = &s->results[r];
    res->ok = !x.failed;
    res->tokens = x.n_out;
    res->e2e = t_end - x.t0;
    if (!o->stream) res->ttft = res->e2e;
    snprintf(why, cap, "%s", x.why);
    free(body);
    free(x.buf);
    free(x.body);
    free(x.out_ids);
    return x.failed ? -1 : 0;
}

static void *client(void *arg) {
    shared *s = arg;
    const options *o = s->o;
    char url[1024], auth[512];
    snprintf(url, sizeof url, "%s/v1/completions", o->url);
    CURL *h = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    headers = curl_slist_append(headers, "Expect:"); /* no 100-continue round trip per request */
    if (o->api_key) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", o->api_key);
        headers = curl_slist_append(headers, auth);
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, o->timeout_s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    for (;;) {
        pthread_mutex_lock(&s->lock);
        int r = s->next < s->total ? s->next++ : -1;
        pthread_mutex_unlock(&s->lock);
        if (r < 0) break;
        char why[256];
        if (run_one(s, h, headers, r, why, sizeof why)) {
            pthread_mutex_lock(&s->lock);
            if (s->errors_printed++ < 10) fprintf(stderr, "encdec_loadgen: request %d: %s\n", r, why);
            s->errors++;
            pthread_mutex_unlock(&s->lock);
        }
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return NULL;
}

/* Runs one round of `total` requests; returns its wall time in seconds. */
static double run_round(shared *s, int total) {
    s->total = total;
    s->next = 0;
    s->errors = 0;
    s->results = calloc(total, sizeof(result));
    int n = s->o->clients < total ? s->o->clients : total;
    pthread_t *th = malloc(sizeof(pthread_t) * n);
    double t0 = now_s();
    for (int i = 0; i < n; i++) pthread_create(&th[i], NULL, client, s);
    for (int i = 0; i < n; i++) pthread_join(th[i], NULL);
    double t = now_s() - t0;
    free(th);
    return t;
}

static void free_results(shared *s) {
    for (int i = 0; i < s->total; i++) free(s->results[i].itl);
    free(s->results);
    s->results = NULL;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile (nearest rank) of v[0..n), sorted in place, in milliseconds; 0 when empty. */
static double quantile_ms(double *v, int n, double q) {
    if (!n) return 0.0;
    qsort(v, n, sizeof *v, cmp_double);
    int k = (int)(q * n + 0.999999) - 1;
    if (k < 0) k = 0;
    if (k >= n) k = n - 1;
    return 1e3 * v[k];
}

int main(int argc, char **argv) {
    options o;
    if (parse_args(argc, argv, &o)) return usage();
    static const char *const prompt_fields[] = {"input_ids", "prompt", NULL};
    static const char *const expect_fields[] = {"output_ids", "token_ids", NULL};
    shared s = {.o = &o};
    pthread_mutex_init(&s.lock, NULL);
    if (o.prompts) {
        id_list *p;
        if ((s.n_prompts = read_id_file(o.prompts, prompt_fields, &p)) < 0) return 1;
        s.prompts = p;
    } else {
        s.prompts = random_prompts(&o, o.requests);
        s.n_prompts = o.requests;
    }
    if (o.expect) {
        id_list *e;
        if ((s.n_expect = read_id_file(o.expect, expect_fields, &e)) < 0) return 1;
        s.expect = e;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) { fprintf(stderr, "encdec_loadgen: curl init failed\n"); return 1; }
    int warm_errors = 0;
    if (o.warmup) {
        run_round(&s, o.warmup);
        warm_errors = s.errors;
        free_results(&s);
    }
    double wall = run_round(&s, o.requests);
    int n_ok = 0;
    long tokens = 0, n_itl = 0;
    for (int r = 0; r < o.requests; r++) {
        n_ok += s.results[r].ok;
        tokens += s.results[r].ok ? s.results[r].tokens : 0;
        n_itl += s.results[r].ok ? s.results[r].n_itl : 0;
    }
    double *ttft = malloc(sizeof(double) * (n_ok + 1)), *e2e = malloc(sizeof(double) * (n_ok + 1));
    double *itl = malloc(sizeof(double) * (n_itl + 1));
    int k = 0;
    long m = 0;
    for (int r = 0; r < o.requests; r++) {
        const result *x = &s.results[r];
        if (!x->ok) continue;
        ttft[k] = x->ttft;
        e2e[k++] = x->e2e;
        for (int i = 0; i < x->n_itl; i++) itl[m++] = x->itl[i];
    }
    double t50 = quantile_ms(ttft, n_ok, 0.5), t99 = quantile_ms(ttft, n_ok, 0.99);
    double i50 = quantile_ms(itl, (int)n_itl, 0.5), i99 = quantile_ms(itl, (int)n_itl, 0.99);
    double e50 = quantile_ms(e2e, n_ok, 0.5), e99 = quantile_ms(e2e, n_ok, 0.99);
    int errors = s.errors + warm_errors;
    fprintf(stderr,
            "encdec_loadgen: %d requests (%d clients, %d warm-up) in %.3f s: %.2f requests/s, "
            "%.1f output tokens/s; TTFT p50 %.2f ms p99 %.2f ms; ITL p50 %.3f ms p99 %.3f ms; "
            "end to end p50 %.2f ms p99 %.2f ms; %d errors\n",
            o.requests, o.clients, o.warmup, wall, n_ok / wall, tokens / wall, t50, t99, i50, i99,
            e50, e99, errors);
    printf("{\"clients\": %d, \"requests\": %d, \"warmup\": %d, \"max_tokens\": %d, "
           "\"stream\": %s, \"ok\": %d, \"errors\": %d, \"duration_s\": %.4f, "
           "\"requests_per_s\": %.3f, \"output_tokens\": %ld, \"output_tokens_per_s\": %.2f, "
           "\"ttft_ms\": {\"p50\": %.3f, \"p99\": %.3f}, \"itl_ms\": {\"p50\": %.4f, \"p99\": %.4f}, "
           "\"e2e_ms\": {\"p50\": %.3f, \"p99\": %.3f}}\n",
           o.clients, o.requests, o.warmup, o.max_tokens, o.stream ? "true" : "false", n_ok,
           errors, wall, n_ok / wall, tokens, tokens / wall, t50, t99, i50, i99, e50, e99);
    free(ttft);
    free(e2e);
    free(itl);
    free_results(&s);
    for (int i = 0; i < s.n_prompts; i++) free(s.prompts[i].ids);
    free((void *)s.prompts);
    for (int i = 0; i < s.n_expect; i++) free(s.expect[i].ids);
    free((void *)s.expect);
    curl_global_cleanup();
    pthread_mutex_destroy(&s.lock);
    return errors ? 1 : 0;
}
