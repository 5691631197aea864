#include "models/hf_config.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct hf_config {
    cJSON *root;
    char path[1024];
};

ed_status hf_config_load(hf_config **out, const char *dir, ed_error *err) {
    return hf_config_load_file(out, dir, "config.json", err);
}

ed_status hf_config_load_file(hf_config **out, const char *dir, const char *name, ed_error *err) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) return ed_fail(err, "%s: cannot open: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *text = n >= 0 ? malloc((size_t)n + 1) : NULL;
    size_t got = text ? fread(text, 1, (size_t)n, f) : 0;
    fclose(f);
    if (!text || got != (size_t)n) {
        free(text);
        return ed_fail(err, "%s: cannot read", path);
    }
    text[n] = 0;
    ed_status st = hf_config_parse(out, text, path, err);
    free(text);
    return st;
}

ed_status hf_config_parse(hf_config **out, const char *json, const char *path, ed_error *err) {
    hf_config *c = calloc(1, sizeof *c);
    if (!c) return ed_fail(err, "out of memory");
    snprintf(c->path, sizeof c->path, "%s", path);
    c->root = cJSON_Parse(json);
    if (!cJSON_IsObject(c->root)) {
        ed_fail(err, "%s: not a JSON object", c->path);
        hf_config_destroy(c);
        return ED_ERR;
    }
    *out = c;
    return ED_OK;
}

void hf_config_destroy(hf_config *c) {
    if (!c) return;
    cJSON_Delete(c->root);
    free(c);
}

const char *hf_config_path(const hf_config *c) { return c->path; }

static const cJSON *item(const hf_config *c, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(c->root, key);
    return cJSON_IsNull(v) ? NULL : v;
}

int hf_config_has(const hf_config *c, const char *key) { return item(c, key) != NULL; }

/* A JSON number that is an integer within int's range (a double outside it, 1e30, is refused
 * before any cast: the cast would be undefined behaviour). */
static ed_status number_to_int(const hf_config *c, const char *key, const cJSON *v, int *out,
                               ed_error *err) {
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble) ||
        v->valuedouble != floor(v->valuedouble))
        return ed_fail(err, "%s: key %s must be an integer", c->path, key);
    if (v->valuedouble < (double)INT_MIN || v->valuedouble > (double)INT_MAX)
        return ed_fail(err, "%s: key %s = %.17g is outside the 32-bit integer range", c->path,
                       key, v->valuedouble);
    *out = (int)v->valuedouble;
    return ED_OK;
}

ed_status hf_get_int(const hf_config *c, const char *key, int def, int *out, ed_error *err) {
    const cJSON *v = item(c, key);
    if (!v) {
        *out = def;
        return ED_OK;
    }
    return number_to_int(c, key, v, out, err);
}

ed_status hf_get_token_id(const hf_config *c, const char *key, int def, int *out, ed_error *err) {
    if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(c->root, key))) {
        *out = -1;
        return ED_OK;
    }
    return hf_get_int(c, key, def, out, err);
}

ed_status hf_get_int_or_first(const hf_config *c, const char *key, int def, int *out,
                              ed_error *err) {
    const cJSON *v = item(c, key);
    if (cJSON_IsArray(v)) {
        const cJSON *first = cJSON_GetArrayItem(v, 0);
        if (!cJSON_IsNumber(first))
            return ed_fail(err, "%s: key %s must be an integer or a list of integers", c->path, key);
        return number_to_int(c, key, first, out, err);
    }
    return hf_get_int(c, key, def, out, err);
}

ed_status hf_get_float(const hf_config *c, const char *key, double def, double *out, ed_error *err) {
    const cJSON *v = item(c, key);
    if (!v) {
        *out = def;
        return ED_OK;
    }
    if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble))
        return ed_fail(err, "%s: key %s must be a finite number", c->path, key);
    *out = v->valuedouble;
    return ED_OK;
}

ed_status hf_get_bool(const hf_config *c, const char *key, int def, int *out, ed_error *err) {
    const cJSON *v = item(c, key);
    if (!v) {
        *out = def;
        return ED_OK;
    }
    if (!cJSON_IsBool(v)) return ed_fail(err, "%s: key %s must be true or false", c->path, key);
    *out = cJSON_IsTrue(v);
    return ED_OK;
}

ed_status hf_get_string(const hf_config *c, const char *key, const char *def, char *buf,
                        size_t cap, ed_error *err) {
    const cJSON *v = item(c, key);
    const char *s = def;
    if (v) {
        if (!cJSON_IsString(v)) return ed_fail(err, "%s: key %s must be a string", c->path, key);
        s = v->valuestring;
    }
    if (strlen(s) >= cap) return ed_fail(err, "%s: key %s is too long", c->path, key);
    memcpy(buf, s, strlen(s) + 1);
    return ED_OK;
}

const char *hf_config_architecture(const hf_config *c) {
    const cJSON *a = item(c, "architectures");
    const cJSON *first = cJSON_IsArray(a) ? cJSON_GetArrayItem(a, 0) : NULL;
    return cJSON_IsString(first) ? first->valuestring : "";
}
