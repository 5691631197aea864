#include "runtime/response.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "common/log.h"
#include "models/tokenizer.h"
#include "runtime/decoding.h"
#include "runtime/output_text.h"
#include "runtime/reply.h"
#include "runtime/reply_courier.h"

struct response_sink {
    const tokenizer *tok;
    reply_courier *courier; /* NULL: HTTP records posted by the caller */
    FILE *f;
    int is_stdout;
    char path[1024], tmp[1100];
};

/* Whether process pid is gone: no such process, or a zombie (dead, not yet reaped: after
 * mpirun is killed its ranks may linger so until init reaps them). */
static int process_gone(long pid) {
    if (kill((pid_t)pid, 0) != 0) return errno == ESRCH;
    char path[64], stat[256];
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(stat, 1, sizeof stat - 1, f);
    fclose(f);
    stat[n] = 0;
    const char *close = strrchr(stat, ')'); /* "pid (comm) S ...": comm may hold spaces */
    return close && close[1] == ' ' && close[2] == 'Z';
}

/* Removes "PATH.partial-PID" files that a run on this host left when it was killed (SIGKILL, a
 * crash: nothing could remove them then): those whose process is gone. A partial file of a
 * process still running is left alone. */
static void remove_stale_partials(const char *path) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : path;
    if (slash) *slash = '\0';
    DIR *d = opendir(slash ? (dir[0] ? dir : "/") : ".");
    if (!d) return;
    size_t nb = strlen(base);
    for (struct dirent *e; (e = readdir(d));) {
        const char *name = e->d_name;
        if (strncmp(name, base, nb) || strncmp(name + nb, ".partial-", 9)) continue;
        char *end;
        long pid = strtol(name + nb + 9, &end, 10);
        if (*end || pid <= 0 || !process_gone(pid)) continue;
        char stale[2200];
        snprintf(stale, sizeof stale, "%s%s%s", slash ? (dir[0] ? dir : "") : "",
                 slash ? "/" : "", name);
        if (unlink(stale) == 0)
            log_warn("removed %s, left by an interrupted run (process %ld is gone)", stale, pid);
    }
    closedir(d);
}

ed_status response_sink_open(response_sink **out, const char *path, ed_error *err) {
    response_sink *s = calloc(1, sizeof *s);
    if (!s) return ed_fail(err, "out of memory");
    if (!strcmp(path, "-")) {
        s->f = stdout;
        s->is_stdout = 1;
    } else {
        snprintf(s->path, sizeof s->path, "%s", path);
        remove_stale_partials(path);
        snprintf(s->tmp, sizeof s->tmp, "%s.partial-%ld", path, (long)getpid());
        s->f = fopen(s->tmp, "w");
        if (!s->f) {
            free(s);
            return ed_fail(err, "output %s: cannot create: %s", path, strerror(errno));
        }
    }
    *out = s;
    return ED_OK;
}

void response_sink_set_tokenizer(response_sink *s, const tokenizer *tok) { s->tok = tok; }
void response_sink_set_courier(response_sink *s, reply_courier *c) { s->courier = c; }

/* Whether the tokenizer knows id (runtime/output_text.h: the others are skipped). */
static int decodable(const tokenizer *tok, int32_t id) {
    return id >= 0 && id < tokenizer_vocab_size(tok);
}

/* o["text"] = the text of tokens[1, n) (runtime/output_text.h), cut at stop_at when >= 0.
 * A failed decode leaves the text out with a "text_error" naming why: the request is still
 * answered. Always 0 (the int keeps the callers' error paths). */
static int add_text(const response_sink *s, cJSON *o, const int32_t *tokens, int n, long stop_at,
                    ed_error *err) {
    (void)err;
    if (!s->tok || n < 1) return 0;
    size_t len;
    ed_error derr;
    char *text = output_text_decode(s->tok, tokens, n, &len, &derr);
    if (!text) {
        cJSON_AddStringToObject(o, "text_error", derr.msg);
        return 0;
    }
    if (stop_at >= 0 && (size_t)stop_at < len) text[stop_at] = 0;
    cJSON_AddStringToObject(o, "text", text);
    free(text);
    return 0;
}

/* The text a stream record of a sequence with stop strings adds: the output's text so far up to
 * where a stop string may still begin (or the match), less what was sent; malloc'd ("" for
 * none), NULL when the decode fails. */
static char *held_back_piece(const response_sink *s, sequence *seq, const int32_t *t, int n) {
    size_t len;
    ed_error derr;
    char *text = output_text_decode(s->tok, t, n, &len, &derr);
    if (!text) return NULL;
    size_t hold = output_text_holdback(seq->req);
    size_t limit = seq->stop_at >= 0 ? (size_t)seq->stop_at
                                     : output_text_utf8_prefix(text, len > hold ? len - hold : 0);
    if (limit > len) limit = len;
    size_t from = seq->text_streamed < limit ? seq->text_streamed : limit;
    memmove(text, text + from, limit - from);
    text[limit - from] = 0;
    if (limit > seq->text_streamed) seq->text_streamed = limit;
    return text;
}

ed_status response_sink_commit(response_sink *s, ed_error *err) {
    ed_status st = ED_OK;
    if (s->is_stdout) {
        fflush(stdout);
    } else {
        if (fclose(s->f)) st = ed_fail(err, "output %s: write failed (disk full?)", s->path);
        else if (rename(s->tmp, s->path))
            st = ed_fail(err, "output %s: cannot rename into place: %s", s->path, strerror(errno));
        if (st) remove(s->tmp);
    }
    free(s);
    return st;
}

const char *response_sink_temp_path(const response_sink *s) {
    return s && !s->is_stdout ? s->tmp : NULL;
}

void response_sink_discard(response_sink *s) {
    if (!s) return;
    if (!s->is_stdout) {
        fclose(s->f);
        remove(s->tmp);
    }
    free(s);
}

static ed_status write_line(response_sink *s, cJSON *o, ed_error *err) {
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!text) return ed_fail(err, "out of memory formatting a response");
    int bad = fputs(text, s->f) < 0 || fputc('\n', s->f) < 0 || fflush(s->f);
    free(text);
    return bad ? ed_fail(err, "output: write failed: %s", strerror(errno)) : ED_OK;
}

/* Sends record o (owned) of request r where r's records go: its HTTP reply channel, or a line of
 * the run's output (r NULL: a line that never became a request), or nowhere (an internal
 * request's). final: r's last record. */
static ed_status emit(response_sink *s, const request *r, cJSON *o, int final, ed_error *err) {
    if (r && r->internal) { /* nobody asked: dropped */
        cJSON_Delete(o);
        return ED_OK;
    }
    if (r && r->reply) {
        if (s->courier) reply_courier_post(s->courier, r->reply, r->reply_index, o, final);
        else reply_post(r->reply, r->reply_index, o, final);
        return ED_OK;
    }
    return write_line(s, o, err);
}

/* Rows of floats (logits, hidden states) as raw JSON text "[[...], ...]": %.9g round-trips fp32
 * exactly and keeps lines short. */
static char *rows_json(const float *logits, int n, int vocab) {
    size_t cap = (size_t)n * vocab * 18 + (size_t)n * 4 + 8, len = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    buf[len++] = '[';
    for (int i = 0; i < n; i++) {
        buf[len++] = i ? ',' : '[';
        if (i) buf[len++] = '[';
        for (int j = 0; j < vocab; j++)
            len += (size_t)snprintf(buf + len, cap - len, j ? ",%.9g" : "%.9g",
                                    (double)logits[(size_t)i * vocab + j]);
        buf[len++] = ']';
    }
    buf[len++] = ']';
    buf[len] = 0;
    return buf;
}

/* Standard base64 of n bytes (RFC 4648, with padding); the caller frees. */
static char *base64(const unsigned char *in, size_t n) {
    static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc(4 * ((n + 2) / 3) + 1), *o = out;
    if (!out) return NULL;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (i + 1 < n ? (unsigned)in[i + 1] << 8 : 0) |
                     (i + 2 < n ? in[i + 2] : 0);
        *o++ = tbl[v >> 18 & 63];
        *o++ = tbl[v >> 12 & 63];
        *o++ = i + 1 < n ? tbl[v >> 6 & 63] : '=';
        *o++ = i + 2 < n ? tbl[v & 63] : '=';
    }
    *o = 0;
    return out;
}

/* The encoder rows a response prints: rows[len, dim] itself, or with pooling "mean" their mean,
 * one row in *owned (the caller frees it). *n_rows is set; NULL when out of memory. */
static const float *encoder_rows(const request *r, const float *rows, int len, int dim,
                                 int *n_rows, float **owned) {
    *owned = NULL;
    *n_rows = len;
    if (!r->pool_mean) return rows;
    float *pooled = calloc((size_t)dim, sizeof(float));
    if (!pooled) return NULL;
    for (int t = 0; t < len; t++)
        for (int d = 0; d < dim; d++) pooled[d] += rows[(size_t)t * dim + d];
    for (int d = 0; d < dim; d++) pooled[d] /= (float)len;
    *n_rows = 1;
    return *owned = pooled;
}

/* Index of the first value of x[n] that is NaN or infinite (JSON has no such numbers), or -1. */
static long first_nonfinite(const float *x, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return (long)i;
    return -1;
}

/* Whether the printed encoder rows[n_rows, dim] hold a non-finite value; if so, what[cap] says
 * which and where. */
static int encoder_nonfinite(const request *r, const float *rows, int n_rows, int dim, char *what,
                             size_t cap) {
    long i = first_nonfinite(rows, (size_t)n_rows * dim);
    if (i < 0) return 0;
    if (r->pool_mean)
        snprintf(what, cap, "encoder output (%g in the mean over the input, dimension %ld)",
                 (double)rows[i], i);
    else
        snprintf(what, cap, "encoder output (%g at input token %ld, dimension %ld)",
                 (double)rows[i], i / dim, i % dim);
    return 1;
}

/* Adds the printed encoder rows[n_rows, dim] (encoder_rows) to o, with the shape of the states
 * they come from (len rows, or pooled); 0 on success. */
static int add_encoder_output(cJSON *o, const request *r, const float *rows, int n_rows, int len,
                              int dim) {
    cJSON *shape = cJSON_AddArrayToObject(o, "encoder_output_shape");
    if (!r->pool_mean) cJSON_AddItemToArray(shape, cJSON_CreateNumber(len));
    cJSON_AddItemToArray(shape, cJSON_CreateNumber(dim));
    int rc = 0;
    if (r->output_base64) { /* host byte order: little-endian on every supported machine */
        char *b = base64((const unsigned char *)rows, (size_t)n_rows * dim * sizeof(float));
        if (b) cJSON_AddStringToObject(o, "encoder_output_b64", b);
        else rc = -1;
        free(b);
    } else {
        char *raw = rows_json(rows, n_rows, dim);
        if (raw) {
            const char *text = raw;
            if (r->pool_mean) { /* one row: "[[...]]" -> "[...]" */
                raw[strlen(raw) - 1] = 0;
                text = raw + 1;
            }
            cJSON_AddRawToObject(o, "encoder_output", text);
            free(raw);
        } else {
            rc = -1;
        }
    }
    return rc;
}

/* The error record of a request whose outputs hold a non-finite value (what: which output and
 * where): the request fails, the run goes on. */
static ed_status write_nonfinite(response_sink *s, const request *r, const char *what,
                                 ed_error *err) {
    char msg[512], *id = cJSON_PrintUnformatted(r->id);
    snprintf(msg, sizeof msg, "line %ld: request %s: the model produced non-finite values in its "
             "%s, which JSON cannot carry; the request fails", r->line, id ? id : "?", what);
    free(id);
    return response_write_error(s, r, r->id, r->line, msg, err);
}

ed_status response_write_encoding(response_sink *s, const request *r, const float *rows, int len,
                                  int dim, ed_error *err) {
    int n_rows;
    float *pooled;
    const float *printed = encoder_rows(r, rows, len, dim, &n_rows, &pooled);
    if (!printed) return ed_fail(err, "out of memory formatting encoder outputs");
    char what[160];
    if (encoder_nonfinite(r, printed, n_rows, dim, what, sizeof what)) {
        free(pooled);
        return write_nonfinite(s, r, what, err);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", cJSON_Duplicate(r->id, 1));
    int rc = add_encoder_output(o, r, printed, n_rows, len, dim);
    free(pooled);
    if (rc) {
        cJSON_Delete(o);
        return ed_fail(err, "out of memory formatting encoder outputs");
    }
    return emit(s, r, o, 1, err);
}

/* output_ids = tokens after the start token; logprobs of the generated ones. */
static void add_output(cJSON *o, const sequence *seq, const int32_t *tokens, int n,
                       const float *logprobs) {
    cJSON *arr = cJSON_AddArrayToObject(o, "output_ids");
    for (int i = 1; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(tokens[i]));
    if (seq->req->return_logprobs) {
        cJSON *lp = cJSON_AddArrayToObject(o, "logprobs");
        for (int i = seq->req->n_decoder; i < n; i++)
            cJSON_AddItemToArray(lp, cJSON_CreateNumber(logprobs[i]));
    }
}

/* Whether a result would print a non-finite logprob, score or logit; if so, what[cap] says which
 * and where. */
static int result_nonfinite(const sequence *seq, char *what, size_t cap) {
    const request *r = seq->req;
    int n_out = sequence_n_outputs(seq);
    for (int i = 0; i < n_out; i++) {
        int n;
        float score;
        const float *lp;
        sequence_output(seq, i, &n, &score, &lp);
        long t = r->return_logprobs && n > r->n_decoder
                     ? first_nonfinite(lp + r->n_decoder, (size_t)(n - r->n_decoder)) : -1;
        if (t >= 0) {
            snprintf(what, cap, "logprobs (%g at generated token %ld of sequence %d)",
                     (double)lp[r->n_decoder + t], t, i);
            return 1;
        }
        if ((r->beam_width > 1 || n_out > 1) && !isfinite(score)) {
            snprintf(what, cap, "score (%g, sequence %d)", (double)score, i);
            return 1;
        }
    }
    long i = seq->logits ? first_nonfinite(seq->logits, (size_t)seq->n_fed * seq->vocab) : -1;
    if (i >= 0) {
        snprintf(what, cap, "logits (%g at decoder position %ld, vocabulary entry %ld)",
                 (double)seq->logits[i], i / seq->vocab, i % seq->vocab);
        return 1;
    }
    return 0;
}

ed_status response_write_result(response_sink *s, const sequence *seq, ed_error *err) {
    const request *r = seq->req;
    char what[160];
    int n_enc = 0;
    float *pooled = NULL;
    const float *enc = NULL;
    if (seq->encoder_output) {
        enc = encoder_rows(r, seq->encoder_output, r->n_input, seq->encoder_dim, &n_enc, &pooled);
        if (!enc) return ed_fail(err, "out of memory formatting encoder outputs");
    }
    if (result_nonfinite(seq, what, sizeof what) ||
        (enc && encoder_nonfinite(r, enc, n_enc, seq->encoder_dim, what, sizeof what))) {
        free(pooled);
        return write_nonfinite(s, r, what, err);
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", cJSON_Duplicate(r->id, 1));
    int n;
    float score;
    const float *lp;
    const int32_t *best = sequence_output(seq, 0, &n, &score, &lp);
    add_output(o, seq, best, n, lp);
    if (add_text(s, o, best, n, seq->stop_at, err)) {
        free(pooled);
        cJSON_Delete(o);
        return ED_ERR;
    }
    cJSON_AddStringToObject(o, "finish_reason", seq->finish_reason);
    if (r->beam_width > 1) cJSON_AddNumberToObject(o, "score", score);
    if (sequence_n_outputs(seq) > 1) {
        cJSON *all = cJSON_AddArrayToObject(o, "sequences");
        for (int i = 0; i < sequence_n_outputs(seq); i++) {
            cJSON *h = cJSON_CreateObject();
            const int32_t *t = sequence_output(seq, i, &n, &score, &lp);
            add_output(h, seq, t, n, lp);
            if (add_text(s, h, t, n, -1, err)) {
                free(pooled);
                cJSON_Delete(h);
                cJSON_Delete(o);
                return ED_ERR;
            }
            cJSON_AddNumberToObject(h, "score", score);
            cJSON_AddItemToArray(all, h);
        }
    }
    if (seq->logits) {
        char *raw = rows_json(seq->logits, seq->n_fed, seq->vocab);
        if (!raw) {
            free(pooled);
            cJSON_Delete(o);
            return ed_fail(err, "out of memory formatting logits");
        }
        cJSON_AddRawToObject(o, "logits", raw);
        free(raw);
    }
    int rc = enc ? add_encoder_output(o, r, enc, n_enc, r->n_input, seq->encoder_dim) : 0;
    free(pooled);
    if (rc) {
        cJSON_Delete(o);
        return ed_fail(err, "out of memory formatting encoder outputs");
    }
    if (r->stream) cJSON_AddTrueToObject(o, "stream_end");
    return emit(s, r, o, 1, err);
}

ed_status response_write_stream(response_sink *s, sequence *seq, ed_error *err) {
    int n;
    float score;
    const float *lp;
    const int32_t *t = sequence_output(seq, 0, &n, &score, &lp);
    if (seq->n_streamed < seq->req->streamed_before) { /* a preempted stream's rerun */
        if (n - 1 <= seq->req->streamed_before) return ED_OK; /* not past what was sent */
        if (s->tok && !seq->req->n_stop_strings) { /* the text state of the tokens sent */
            if (!seq->detok && !(seq->detok = tokenizer_stream_create(s->tok, 1)))
                return ed_fail(err, "out of memory");
            for (int i = 1 + seq->n_streamed; i <= seq->req->streamed_before; i++) {
                const char *p;
                size_t pl;
                ed_error terr;
                if (decodable(s->tok, t[i])) tokenizer_stream_push(seq->detok, t[i], &p, &pl, &terr);
            }
        }
        seq->n_streamed = seq->req->streamed_before;
        if (seq->text_streamed < seq->req->text_streamed_before)
            seq->text_streamed = seq->req->text_streamed_before;
    }
    int from = 1 + seq->n_streamed;
    if (from >= n) return ED_OK;
    int lp_from = from > seq->req->n_decoder ? from : seq->req->n_decoder;
    if (seq->req->return_logprobs && lp_from < n &&
        first_nonfinite(lp + lp_from, (size_t)(n - lp_from)) >= 0)
        return ED_OK; /* nothing more is streamed: the final record is the error */
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", cJSON_Duplicate(seq->req->id, 1));
    cJSON *arr = cJSON_AddArrayToObject(o, "new_ids");
    for (int i = from; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(t[i]));
    if (s->tok && seq->req->n_stop_strings) {
        char *piece = held_back_piece(s, seq, t, n);
        cJSON_AddStringToObject(o, "text", piece ? piece : "");
        free(piece);
    } else if (s->tok) { /* the text these ids add */
        if (!seq->detok && !(seq->detok = tokenizer_stream_create(s->tok, 1))) {
            cJSON_Delete(o);
            return ed_fail(err, "out of memory");
        }
        char *piece = NULL;
        size_t len = 0;
        for (int i = from; i < n; i++) {
            const char *p;
            size_t pl;
            ed_error terr;
            if (!decodable(s->tok, t[i]) || tokenizer_stream_push(seq->detok, t[i], &p, &pl, &terr))
                continue;
            char *grown = realloc(piece, len + pl + 1);
            if (!grown) break;
            piece = grown;
            memcpy(piece + len, p, pl);
            len += pl;
            piece[len] = 0;
        }
        cJSON_AddStringToObject(o, "text", piece ? piece : "");
        free(piece);
    }
    if (seq->req->return_logprobs) {
        cJSON *l = cJSON_AddArrayToObject(o, "logprobs");
        for (int i = lp_from; i < n; i++) cJSON_AddItemToArray(l, cJSON_CreateNumber(lp[i]));
    }
    seq->n_streamed = n - 1;
    return emit(s, seq->req, o, 0, err);
}

ed_status response_write_error(response_sink *s, const request *r, const cJSON *id, long line,
                               const char *message, ed_error *err) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddNumberToObject(e, "line", (double)line);
    return emit(s, r, o, 1, err);
}

ed_status response_write_abort(response_sink *s, const request *r, const int32_t *tokens,
                               int n_tokens, ed_error *err) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", cJSON_Duplicate(r->id, 1));
    cJSON *arr = cJSON_AddArrayToObject(o, "output_ids");
    for (int i = 1; i < n_tokens; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(tokens[i]));
    cJSON_AddStringToObject(o, "finish_reason", "abort");
    if (r->stream) cJSON_AddTrueToObject(o, "stream_end");
    return emit(s, r, o, 1, err);
}
