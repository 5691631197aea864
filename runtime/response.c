#include "runtime/response.h"

#include "runtime/decoding.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct response_sink {
    FILE *f;
    int is_stdout;
    char path[1024], tmp[1100];
};

ed_status response_sink_open(response_sink **out, const char *path, ed_error *err) {
    response_sink *s = calloc(1, sizeof *s);
    if (!s) return ed_fail(err, "out of memory");
    if (!strcmp(path, "-")) {
        s->f = stdout;
        s->is_stdout = 1;
    } else {
        snprintf(s->path, sizeof s->path, "%s", path);
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

/* Logits as raw JSON text: %.9g round-trips fp32 exactly and keeps lines short. */
static char *logits_json(const float *logits, int n, int vocab) {
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

ed_status response_write_result(response_sink *s, const sequence *seq, ed_error *err) {
    const request *r = seq->req;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", cJSON_Duplicate(r->id, 1));
    int n;
    float score;
    const float *lp;
    const int32_t *best = sequence_output(seq, 0, &n, &score, &lp);
    add_output(o, seq, best, n, lp);
    cJSON_AddStringToObject(o, "finish_reason", seq->finish_reason);
    if (r->beam_width > 1) cJSON_AddNumberToObject(o, "score", score);
    if (sequence_n_outputs(seq) > 1) {
        cJSON *all = cJSON_AddArrayToObject(o, "sequences");
        for (int i = 0; i < sequence_n_outputs(seq); i++) {
            cJSON *h = cJSON_CreateObject();
            const int32_t *t = sequence_output(seq, i, &n, &score, &lp);
            add_output(h, seq, t, n, lp);
            cJSON_AddNumberToObject(h, "score", score);
            cJSON_AddItemToArray(all, h);
        }
    }
    if (seq->logits) {
        char *raw = logits_json(seq->logits, seq->n_fed, seq->vocab);
        if (!raw) {
            cJSON_Delete(o);
            return ed_fail(err, "out of memory formatting logits");
        }
        cJSON_AddRawToObject(o, "logits", raw);
        free(raw);
    }
    if (r->stream) cJSON_AddTrueToObject(o, "stream_end");
    return write_line(s, o, err);
}

ed_status response_write_stream(response_sink *s, sequence *seq, ed_error *err) {
    int n;
    float score;
    const float *lp;
    const int32_t *t = sequence_output(seq, 0, &n, &score, &lp);
    int from = 1 + seq->n_streamed;
    if (from >= n) return ED_OK;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", cJSON_Duplicate(seq->req->id, 1));
    cJSON *arr = cJSON_AddArrayToObject(o, "new_ids");
    for (int i = from; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(t[i]));
    if (seq->req->return_logprobs) {
        cJSON *l = cJSON_AddArrayToObject(o, "logprobs");
        for (int i = from > seq->req->n_decoder ? from : seq->req->n_decoder; i < n; i++)
            cJSON_AddItemToArray(l, cJSON_CreateNumber(lp[i]));
    }
    seq->n_streamed = n - 1;
    return write_line(s, o, err);
}

ed_status response_write_error(response_sink *s, const cJSON *id, long line, const char *message,
                               ed_error *err) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", id ? cJSON_Duplicate(id, 1) : cJSON_CreateNull());
    cJSON *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddNumberToObject(e, "line", (double)line);
    return write_line(s, o, err);
}
