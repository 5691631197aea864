#include "runtime/request.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const known_fields[] = {"id", "input_ids", "max_new_tokens", "min_new_tokens",
                                           "decoder_input_ids", "return_logits", "forced_bos_id",
                                           NULL};

static ed_status get_int(const cJSON *o, const char *key, int def, int *out, ed_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        *out = def;
        return ED_OK;
    }
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e9)
        return ed_fail(err, "field %s must be an integer", key);
    if (v->valuedouble < 0) return ed_fail(err, "field %s must be >= 0 (got %.0f)", key, v->valuedouble);
    *out = (int)v->valuedouble;
    return ED_OK;
}

static ed_status get_ids(const cJSON *o, const char *key, int vocab, int32_t **ids, int *n,
                         ed_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(v)) return ed_fail(err, "field %s must be an array of token ids", key);
    int len = cJSON_GetArraySize(v);
    *ids = malloc(sizeof(int32_t) * (size_t)(len ? len : 1));
    if (!*ids) return ed_fail(err, "out of memory");
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble))
            return ed_fail(err, "field %s[%d] must be an integer token id", key, i);
        if (e->valuedouble < 0 || e->valuedouble >= vocab)
            return ed_fail(err, "field %s[%d]: token id %.0f is outside the vocabulary [0, %d)",
                           key, i, e->valuedouble, vocab);
        (*ids)[i] = (int32_t)e->valuedouble;
    }
    *n = len;
    return ED_OK;
}

static ed_status validate(const cJSON *o, const request_limits *lim, request *r, ed_error *err) {
    for (const cJSON *f = o->child; f; f = f->next) {
        int known = 0;
        for (int i = 0; known_fields[i]; i++) known |= !strcmp(f->string, known_fields[i]);
        if (!known) return ed_fail(err, "unknown field %s", f->string);
    }
    if (get_ids(o, "input_ids", lim->vocab_size, &r->input_ids, &r->n_input, err)) return ED_ERR;
    if (r->n_input == 0) return ed_fail(err, "field input_ids must not be empty");
    if (r->n_input > lim->max_input_len)
        return ed_fail(err, "field input_ids: %d tokens exceed max_input_len %d", r->n_input,
                       lim->max_input_len);
    if (cJSON_GetObjectItemCaseSensitive(o, "decoder_input_ids")) {
        if (get_ids(o, "decoder_input_ids", lim->vocab_size, &r->decoder_ids, &r->n_decoder, err))
            return ED_ERR;
        if (r->n_decoder == 0 || r->decoder_ids[0] != lim->decoder_start_id)
            return ed_fail(err, "field decoder_input_ids must start with the decoder start token %d",
                           lim->decoder_start_id);
    } else {
        r->decoder_ids = malloc(sizeof(int32_t));
        if (!r->decoder_ids) return ed_fail(err, "out of memory");
        r->decoder_ids[0] = lim->decoder_start_id;
        r->n_decoder = 1;
    }
    int room = lim->max_output_len - (r->n_decoder - 1);
    if (room < 0)
        return ed_fail(err, "field decoder_input_ids: %d tokens exceed max_output_len %d + 1",
                       r->n_decoder, lim->max_output_len);
    if (get_int(o, "max_new_tokens", room, &r->max_new_tokens, err) ||
        get_int(o, "min_new_tokens", 0, &r->min_new_tokens, err))
        return ED_ERR;
    if (r->max_new_tokens > room)
        return ed_fail(err, "field max_new_tokens: %d exceeds the %d that max_output_len %d leaves "
                            "after the decoder prefix", r->max_new_tokens, room,
                       lim->max_output_len);
    const cJSON *rl = cJSON_GetObjectItemCaseSensitive(o, "return_logits");
    if (rl && !cJSON_IsBool(rl)) return ed_fail(err, "field return_logits must be true or false");
    r->return_logits = cJSON_IsTrue(rl);
    if (get_int(o, "forced_bos_id", lim->forced_bos_id, &r->forced_bos_id, err)) return ED_ERR;
    if (r->forced_bos_id >= lim->vocab_size)
        return ed_fail(err, "field forced_bos_id: token id %d is outside the vocabulary [0, %d)",
                       r->forced_bos_id, lim->vocab_size);
    r->forced_eos_id = lim->forced_eos_id;
    return ED_OK;
}

ed_status request_parse(const char *text, long line, const request_limits *lim, request **out,
                        cJSON **id_out, ed_error *err) {
    *out = NULL;
    *id_out = NULL;
    cJSON *o = cJSON_Parse(text);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return ed_fail(err, "line %ld: not a JSON object", line);
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    if (id && (cJSON_IsString(id) || cJSON_IsNumber(id))) *id_out = cJSON_Duplicate(id, 1);
    request *r = calloc(1, sizeof *r);
    ed_status st = ED_ERR;
    if (!r) {
        ed_fail(err, "out of memory");
    } else if (!id) {
        ed_fail(err, "line %ld: field id is required", line);
    } else if (!*id_out) {
        ed_fail(err, "line %ld: field id must be a string or an integer", line);
    } else if (validate(o, lim, r, err)) {
        ed_wrap(err, "line %ld: ", line);
    } else {
        st = ED_OK;
    }
    cJSON_Delete(o);
    if (st) {
        request_destroy(r);
        return ED_ERR;
    }
    r->id = cJSON_Duplicate(*id_out, 1);
    r->line = line;
    *out = r;
    return ED_OK;
}

void request_destroy(request *r) {
    if (!r) return;
    cJSON_Delete(r->id);
    free(r->input_ids);
    free(r->decoder_ids);
    free(r);
}
