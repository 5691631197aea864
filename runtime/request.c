#include "runtime/request.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const known_fields[] = {
    "id", "input_ids", "max_new_tokens", "min_new_tokens", "decoder_input_ids", "return_logits",
    "forced_bos_id", "beam_width", "num_return_sequences", "length_penalty", "early_stopping",
    "do_sample", "temperature", "top_k", "top_p", "seed", "repetition_penalty",
    "no_repeat_ngram_size", "bad_words_ids", "stop_token_ids", "stop_sequences", "return_logprobs",
    "stream", "return_encoder_output", "encode_only", "pooling", "encoder_output_format", NULL};

#define MAX_BEAM_WIDTH 16

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

static ed_status get_float(const cJSON *o, const char *key, double def, double *out,
                           ed_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) {
        *out = def;
        return ED_OK;
    }
    if (!cJSON_IsNumber(v)) return ed_fail(err, "field %s must be a number", key);
    *out = v->valuedouble;
    return ED_OK;
}

static ed_status get_bool(const cJSON *o, const char *key, int *out, ed_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (v && !cJSON_IsBool(v)) return ed_fail(err, "field %s must be true or false", key);
    *out = cJSON_IsTrue(v);
    return ED_OK;
}

/* [[ids], ...] into l; every inner list non-empty, every id in the vocabulary. */
static ed_status get_id_lists(const cJSON *o, const char *key, int vocab, id_lists *l,
                              ed_error *err) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!v) return ED_OK;
    if (!cJSON_IsArray(v)) return ed_fail(err, "field %s must be an array of arrays of token ids", key);
    int n = cJSON_GetArraySize(v), total = 0;
    for (const cJSON *e = v->child; e; e = e->next) total += cJSON_GetArraySize(e);
    l->ids = malloc(sizeof(int32_t) * (size_t)(total ? total : 1));
    l->offsets = malloc(sizeof(int) * (size_t)(n + 1));
    if (!l->ids || !l->offsets) return ed_fail(err, "out of memory");
    int i = 0, k = 0;
    l->offsets[0] = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) == 0)
            return ed_fail(err, "field %s[%d] must be a non-empty array of token ids", key, i);
        int j = 0;
        for (const cJSON *t = e->child; t; t = t->next, j++) {
            if (!cJSON_IsNumber(t) || t->valuedouble != floor(t->valuedouble) ||
                t->valuedouble < 0 || t->valuedouble >= vocab)
                return ed_fail(err, "field %s[%d][%d] must be a token id in [0, %d)", key, i, j,
                               vocab);
            l->ids[k++] = (int32_t)t->valuedouble;
        }
        l->offsets[i + 1] = k;
    }
    l->n = n;
    return ED_OK;
}

/* Decoding options; defaults follow HF's GenerationConfig. */
static ed_status validate_decoding(const cJSON *o, const request_limits *lim, request *r,
                                   ed_error *err) {
    double lp = 1.0, temp = 1.0, top_p = 1.0, rep = 1.0;
    int seed_int = 0;
    if (get_int(o, "beam_width", 1, &r->beam_width, err) ||
        get_int(o, "num_return_sequences", 1, &r->num_return_sequences, err) ||
        get_float(o, "length_penalty", 1.0, &lp, err) || get_bool(o, "do_sample", &r->do_sample, err) ||
        get_float(o, "temperature", 1.0, &temp, err) || get_int(o, "top_k", 50, &r->top_k, err) ||
        get_float(o, "top_p", 1.0, &top_p, err) || get_int(o, "seed", 0, &seed_int, err) ||
        get_float(o, "repetition_penalty", 1.0, &rep, err) ||
        get_int(o, "no_repeat_ngram_size", 0, &r->no_repeat_ngram_size, err) ||
        get_id_lists(o, "bad_words_ids", lim->vocab_size, &r->bad_words, err) ||
        get_id_lists(o, "stop_sequences", lim->vocab_size, &r->stop_sequences, err) ||
        get_bool(o, "return_logprobs", &r->return_logprobs, err) ||
        get_bool(o, "stream", &r->stream, err))
        return ED_ERR;
    if (r->beam_width < 1 || r->beam_width > MAX_BEAM_WIDTH)
        return ed_fail(err, "field beam_width must be in [1, %d] (got %d)", MAX_BEAM_WIDTH,
                       r->beam_width);
    if (r->beam_width > lim->max_beams)
        return ed_fail(err, "field beam_width: %d beams exceed max_batch_size %d", r->beam_width,
                       lim->max_beams);
    if (2 * r->beam_width > lim->vocab_size)
        return ed_fail(err, "field beam_width: %d beams need a vocabulary of at least %d",
                       r->beam_width, 2 * r->beam_width);
    if (r->num_return_sequences < 1 || r->num_return_sequences > r->beam_width)
        return ed_fail(err, "field num_return_sequences must be in [1, beam_width=%d] (got %d)",
                       r->beam_width, r->num_return_sequences);
    if (temp < 0) return ed_fail(err, "field temperature must be >= 0 (got %g)", temp);
    if (top_p <= 0 || top_p > 1) return ed_fail(err, "field top_p must be in (0, 1] (got %g)", top_p);
    if (rep <= 0) return ed_fail(err, "field repetition_penalty must be > 0 (got %g)", rep);
    if (r->do_sample && r->beam_width > 1)
        return ed_fail(err, "field do_sample: sampling with beam_width > 1 is not supported");
    if (r->stream && r->beam_width > 1)
        return ed_fail(err, "field stream: streaming needs beam_width 1 (beams change until the end)");
    const cJSON *es = cJSON_GetObjectItemCaseSensitive(o, "early_stopping");
    if (!es || cJSON_IsFalse(es)) r->early_stopping = EARLY_STOP_FALSE;
    else if (cJSON_IsTrue(es)) r->early_stopping = EARLY_STOP_TRUE;
    else if (cJSON_IsString(es) && !strcmp(es->valuestring, "never")) r->early_stopping = EARLY_STOP_NEVER;
    else return ed_fail(err, "field early_stopping must be true, false or \"never\"");
    if (cJSON_GetObjectItemCaseSensitive(o, "stop_token_ids") &&
        get_ids(o, "stop_token_ids", lim->vocab_size, &r->stop_ids, &r->n_stop_ids, err))
        return ED_ERR;
    if (get_bool(o, "return_encoder_output", &r->return_encoder_output, err) ||
        get_bool(o, "encode_only", &r->encode_only, err))
        return ED_ERR;
    const cJSON *pool = cJSON_GetObjectItemCaseSensitive(o, "pooling");
    if (pool && !(cJSON_IsString(pool) && (!strcmp(pool->valuestring, "none") ||
                                           !strcmp(pool->valuestring, "mean"))))
        return ed_fail(err, "field pooling must be \"none\" or \"mean\"");
    r->pool_mean = pool && !strcmp(pool->valuestring, "mean");
    if (r->pool_mean && !r->encode_only && !r->return_encoder_output)
        return ed_fail(err, "field pooling needs encode_only or return_encoder_output");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(o, "encoder_output_format");
    if (fmt && !(cJSON_IsString(fmt) && (!strcmp(fmt->valuestring, "json") ||
                                         !strcmp(fmt->valuestring, "base64-f32"))))
        return ed_fail(err, "field encoder_output_format must be \"json\" or \"base64-f32\"");
    r->output_base64 = fmt && !strcmp(fmt->valuestring, "base64-f32");
    if (r->encode_only) {
        if (r->beam_width > 1 || r->stream || r->return_logits)
            return ed_fail(err, "field encode_only: beam_width, stream and return_logits do not "
                                "apply to encode-only requests");
        r->return_encoder_output = 1;
    }
    /* temperature 0 means greedy, as in TensorRT-LLM. */
    if (temp == 0) r->do_sample = 0;
    r->length_penalty = (float)lp;
    r->temperature = (float)(temp == 0 ? 1.0 : temp);
    r->top_p = (float)top_p;
    r->seed = (uint64_t)seed_int;
    r->repetition_penalty = (float)rep;
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
    return validate_decoding(o, lim, r, err);
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
    free(r->bad_words.ids);
    free(r->bad_words.offsets);
    free(r->stop_ids);
    free(r->stop_sequences.ids);
    free(r->stop_sequences.offsets);
    free(r);
}
