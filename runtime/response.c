#include "runtime/response.h"

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

ed_status response_write_result(response_sink *s, const cJSON *id, const int32_t *ids, int n_ids,
                                const char *finish_reason, const float *logits, int n_logits,
                                int vocab, ed_error *err) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddItemToObject(o, "id", cJSON_Duplicate(id, 1));
    cJSON *arr = cJSON_AddArrayToObject(o, "output_ids");
    for (int i = 0; i < n_ids; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(ids[i]));
    cJSON_AddStringToObject(o, "finish_reason", finish_reason);
    if (logits) {
        char *raw = logits_json(logits, n_logits, vocab);
        if (!raw) {
            cJSON_Delete(o);
            return ed_fail(err, "out of memory formatting logits");
        }
        cJSON_AddRawToObject(o, "logits", raw);
        free(raw);
    }
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
