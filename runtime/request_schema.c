#include "runtime/request_schema.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const request_choice early_stopping_choices[] = {
    {"true", EARLY_STOP_TRUE}, {"false", EARLY_STOP_FALSE}, {"\"never\"", EARLY_STOP_NEVER}, {NULL, 0}};
static const request_choice pooling_choices[] = {{"\"none\"", 0}, {"\"mean\"", 1}, {NULL, 0}};
static const request_choice output_format_choices[] = {
    {"\"json\"", 0}, {"\"base64-f32\"", 1}, {NULL, 0}};

#define AT(f) offsetof(request, f)
/* Ranges: [lo, no upper bound), (lo, no upper bound), [lo, hi], (lo, hi], none. */
#define AT_LEAST(l) .lo = (l), .hi = HUGE_VAL
#define ABOVE(l) .lo = (l), .hi = HUGE_VAL, .lo_open = 1
#define WITHIN(l, h) .lo = (l), .hi = (h)
#define ABOVE_UP_TO(l, h) .lo = (l), .hi = (h), .lo_open = 1
#define ANY_NUMBER .lo = -HUGE_VAL, .hi = HUGE_VAL

/* Rows in the order they are read, so a request with several errors reports the first of them.
 * Defaults and semantics follow HF's generate() where HF has the option. */
const request_field request_schema[] = {
    {.name = "id", .type = REQ_FIELD_ID, .offset = AT(id), .required = 1,
     .help = "string or integer, echoed in the response"},
    {.name = "input_ids", .type = REQ_FIELD_IDS, .offset = AT(input_ids),
     .count_offset = AT(n_input),
     .help = "the encoder's input, 1..max_input_len token ids (or text)"},
    {.name = "text", .type = REQ_FIELD_STRING, .offset = AT(text),
     .help = "the encoder's input as text, encoded by the model's tokenizer (instead of "
             "input_ids)"},
    {.name = "stop", .type = REQ_FIELD_STRINGS, .offset = AT(stop_strings),
     .count_offset = AT(n_stop_strings),
     .help = "stop strings (1 to 16): generation finishes once the output's text holds one, and "
             "the text ends before it (needs the tokenizer; not with beam search)"},
    {.name = "src_lang", .type = REQ_FIELD_STRING, .offset = AT(src_lang),
     .help = "source language code for text (mBART-50, NLLB), as the tokenizer places it"},
    {.name = "tgt_lang", .type = REQ_FIELD_STRING, .offset = AT(tgt_lang),
     .help = "target language code (mBART-50, NLLB): its token is forced as the first one "
             "generated"},
    {.name = "decoder_input_ids", .type = REQ_FIELD_IDS, .offset = AT(decoder_ids),
     .count_offset = AT(n_decoder),
     .help = "forced decoder prefix, starting with the decoder start token (default: that token)"},
    {.name = "max_new_tokens", .type = REQ_FIELD_INT, .offset = AT(max_new_tokens),
     .def = REQUEST_FIELD_UNSET, AT_LEAST(0),
     .help = "tokens to generate; default: what max_output_len leaves after the decoder prefix"},
    {.name = "min_new_tokens", .type = REQ_FIELD_INT, .offset = AT(min_new_tokens), .def = 0,
     AT_LEAST(0), .help = "EOS is held off until this many tokens are generated"},
    {.name = "return_logits", .type = REQ_FIELD_BOOL, .offset = AT(return_logits), .def = 0,
     .help = "raw logits of every decoder position fed"},
    {.name = "forced_bos_id", .type = REQ_FIELD_INT, .offset = AT(forced_bos_id),
     .def = REQUEST_FIELD_UNSET, AT_LEAST(0),
     .help = "token forced as the first generated one (mBART-50's target language); default: "
             "the model config's forced_bos_token_id, if any"},
    {.name = "beam_width", .type = REQ_FIELD_INT, .offset = AT(beam_width), .def = 1,
     WITHIN(1, 16), .help = "beams (HF num_beams), at most max_batch_size"},
    {.name = "num_return_sequences", .type = REQ_FIELD_INT, .offset = AT(num_return_sequences),
     .def = 1, AT_LEAST(0), .help = "best beams returned, 1..beam_width"},
    {.name = "length_penalty", .type = REQ_FIELD_FLOAT, .offset = AT(length_penalty), .def = 1.0,
     ANY_NUMBER, .help = "a beam's score is its log-probability over length^length_penalty"},
    {.name = "do_sample", .type = REQ_FIELD_BOOL, .offset = AT(do_sample), .def = 0,
     .help = "sample the next token instead of taking the most likely (beam_width 1)"},
    {.name = "temperature", .type = REQ_FIELD_FLOAT, .offset = AT(temperature), .def = 1.0,
     AT_LEAST(0), .divides = 1, .help = "logits are divided by it before sampling; 0 = greedy"},
    {.name = "top_k", .type = REQ_FIELD_INT, .offset = AT(top_k), .def = 50, AT_LEAST(0),
     .help = "sample among the k most likely tokens; 0 = off"},
    {.name = "top_p", .type = REQ_FIELD_FLOAT, .offset = AT(top_p), .def = 1.0,
     ABOVE_UP_TO(0, 1), .help = "sample among the most likely tokens whose mass reaches p"},
    {.name = "seed", .type = REQ_FIELD_U64, .offset = AT(seed), .def = 0, AT_LEAST(0),
     .help = "seed of the request's own generator: it reproduces the output whatever the batch "
             "composition and TP size"},
    {.name = "repetition_penalty", .type = REQ_FIELD_FLOAT, .offset = AT(repetition_penalty),
     .def = 1.0, ABOVE(0), .divides = 1,
     .help = "logits of tokens already seen are penalised by this factor"},
    {.name = "no_repeat_ngram_size", .type = REQ_FIELD_INT, .offset = AT(no_repeat_ngram_size),
     .def = 0, AT_LEAST(0), .help = "no n-gram of this size is generated twice; 0 = off"},
    {.name = "bad_words_ids", .type = REQ_FIELD_ID_LISTS, .offset = AT(bad_words),
     .help = "token sequences that must not be generated"},
    {.name = "stop_sequences", .type = REQ_FIELD_ID_LISTS, .offset = AT(stop_sequences),
     .help = "generation finishes once one of these sequences is generated"},
    {.name = "return_logprobs", .type = REQ_FIELD_BOOL, .offset = AT(return_logprobs), .def = 0,
     .help = "log-probability of each generated token"},
    {.name = "stream", .type = REQ_FIELD_BOOL, .offset = AT(stream), .def = 0,
     .help = "a line per step with the new ids, then a final line (beam_width 1 only)"},
    {.name = "early_stopping", .type = REQ_FIELD_CHOICE, .offset = AT(early_stopping),
     .def = EARLY_STOP_FALSE, .choices = early_stopping_choices,
     .help = "when beam search stops (HF semantics)"},
    {.name = "stop_token_ids", .type = REQ_FIELD_IDS, .offset = AT(stop_ids),
     .count_offset = AT(n_stop_ids), .help = "tokens that finish generation like EOS"},
    {.name = "return_encoder_output", .type = REQ_FIELD_BOOL,
     .offset = AT(return_encoder_output), .def = 0,
     .help = "the final encoder hidden states [input length, d_model]"},
    {.name = "encode_only", .type = REQ_FIELD_BOOL, .offset = AT(encode_only), .def = 0,
     .help = "run the encoder only and return its hidden states (no decoder, no cross-KV)"},
    {.name = "pooling", .type = REQ_FIELD_CHOICE, .offset = AT(pool_mean), .def = 0,
     .choices = pooling_choices, .help = "encoder output: every token, or their mean"},
    {.name = "encoder_output_format", .type = REQ_FIELD_CHOICE, .offset = AT(output_base64),
     .def = 0, .choices = output_format_choices,
     .help = "JSON numbers, or little-endian fp32 row-major in base64"},
};
#define N_FIELDS ((int)(sizeof request_schema / sizeof request_schema[0]))

int request_schema_count(void) { return N_FIELDS; }

const request_field *request_schema_find(const char *name) {
    for (int i = 0; i < N_FIELDS; i++)
        if (!strcmp(request_schema[i].name, name)) return &request_schema[i];
    return NULL;
}

/* "field NAME must be RANGE (got X)" if x lies outside the row's range. */
static ed_status check_range(const request_field *f, double x, ed_error *err) {
    int below = f->lo_open ? x <= f->lo : x < f->lo;
    int above = f->hi_open ? x >= f->hi : x > f->hi;
    if (!below && !above) return ED_OK;
    char range[64], got[32];
    if (f->hi == HUGE_VAL)
        snprintf(range, sizeof range, "%s %g", f->lo_open ? ">" : ">=", f->lo);
    else
        snprintf(range, sizeof range, "in %c%g, %g%c", f->lo_open ? '(' : '[', f->lo, f->hi,
                 f->hi_open ? ')' : ']');
    if (f->type == REQ_FIELD_FLOAT) snprintf(got, sizeof got, "%g", x);
    else snprintf(got, sizeof got, "%.0f", x);
    return ed_fail(err, "field %s must be %s (got %s)", f->name, range, got);
}

static int choice_matches(const cJSON *v, const char *json) {
    if (json[0] != '"') return cJSON_IsBool(v) && !strcmp(json, cJSON_IsTrue(v) ? "true" : "false");
    size_t n = strlen(json) - 2;
    return cJSON_IsString(v) && strlen(v->valuestring) == n && !strncmp(v->valuestring, json + 1, n);
}

/* The value of the choice v matches; else "field NAME must be A, B or C". */
static ed_status read_choice(const request_field *f, const cJSON *v, double *x, ed_error *err) {
    for (const request_choice *c = f->choices; c->json; c++)
        if (choice_matches(v, c->json)) {
            *x = c->value;
            return ED_OK;
        }
    char allowed[256] = "";
    for (const request_choice *c = f->choices; c->json; c++) {
        size_t len = strlen(allowed);
        snprintf(allowed + len, sizeof allowed - len, "%s%s",
                 c == f->choices ? "" : c[1].json ? ", " : " or ", c->json);
    }
    return ed_fail(err, "field %s must be %s", f->name, allowed);
}

/* A number of a scalar row (INT, U64, FLOAT, BOOL, CHOICE), checked against the row. */
static ed_status read_scalar(const request_field *f, const cJSON *v, double *x, ed_error *err) {
    switch (f->type) {
    case REQ_FIELD_INT:
    case REQ_FIELD_U64: {
        /* U64 (seeds): any integer a double holds exactly, as 64-bit seeds clients send */
        const double most = f->type == REQ_FIELD_U64 ? 9007199254740991.0 : 1e9;
        if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble))
            return ed_fail(err, "field %s must be an integer", f->name);
        if (fabs(v->valuedouble) > most)
            return ed_fail(err, "field %s must be an integer of magnitude at most %.0f (got %g)",
                           f->name, most, v->valuedouble);
        *x = v->valuedouble;
        return check_range(f, *x, err);
    }
    case REQ_FIELD_FLOAT: {
        if (!cJSON_IsNumber(v)) return ed_fail(err, "field %s must be a number", f->name);
        *x = v->valuedouble;
        if (check_range(f, *x, err)) return ED_ERR;
        float stored = (float)*x; /* what the request keeps, and what the decoding uses */
        if (!isfinite(stored))
            return ed_fail(err, "field %s: %g is beyond the float range (max %g)", f->name, *x,
                           (double)FLT_MAX);
        if (f->divides && *x != 0 && fabsf(stored) < FLT_MIN)
            return ed_fail(err, "field %s: %g is below the smallest normal float %g, and it "
                                "divides the logits%s", f->name, *x, (double)FLT_MIN,
                           f->lo == 0 && !f->lo_open ? " (0 is allowed)" : "");
        return check_range(f, stored, err);
    }
    case REQ_FIELD_BOOL:
        if (!cJSON_IsBool(v)) return ed_fail(err, "field %s must be true or false", f->name);
        *x = cJSON_IsTrue(v);
        return ED_OK;
    case REQ_FIELD_CHOICE:
        return read_choice(f, v, x, err);
    default:
        return ed_fail(err, "field %s: not a scalar row", f->name);
    }
}

static void store_scalar(const request_field *f, char *dst, double x) {
    switch (f->type) {
    case REQ_FIELD_U64: *(uint64_t *)dst = (uint64_t)x; break;
    case REQ_FIELD_FLOAT: *(float *)dst = (float)x; break;
    default: *(int *)dst = (int)x; break;
    }
}

static ed_status read_id(const request_field *f, const cJSON *v, cJSON **dst, ed_error *err) {
    if (!cJSON_IsString(v) &&
        !(cJSON_IsNumber(v) && v->valuedouble == floor(v->valuedouble) &&
          fabs(v->valuedouble) <= 9007199254740991.0))
        return ed_fail(err, "field %s must be a string or an integer (at most 2^53 - 1 in "
                            "magnitude)", f->name);
    *dst = cJSON_Duplicate(v, 1);
    return *dst ? ED_OK : ed_fail(err, "out of memory");
}

static ed_status read_ids(const request_field *f, const cJSON *v, int vocab, int32_t **ids,
                          int *n, ed_error *err) {
    if (!cJSON_IsArray(v)) return ed_fail(err, "field %s must be an array of token ids", f->name);
    int len = cJSON_GetArraySize(v);
    *ids = malloc(sizeof(int32_t) * (size_t)(len ? len : 1));
    if (!*ids) return ed_fail(err, "out of memory");
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e) || e->valuedouble != floor(e->valuedouble))
            return ed_fail(err, "field %s[%d] must be an integer token id", f->name, i);
        if (e->valuedouble < 0 || e->valuedouble >= vocab)
            return ed_fail(err, "field %s[%d]: token id %.0f is outside the vocabulary [0, %d)",
                           f->name, i, e->valuedouble, vocab);
        (*ids)[i] = (int32_t)e->valuedouble;
    }
    *n = len;
    return ED_OK;
}

static ed_status read_id_lists(const request_field *f, const cJSON *v, int vocab, id_lists *l,
                               ed_error *err) {
    if (!cJSON_IsArray(v))
        return ed_fail(err, "field %s must be an array of arrays of token ids", f->name);
    int n = cJSON_GetArraySize(v), total = 0;
    for (const cJSON *e = v->child; e; e = e->next) total += cJSON_GetArraySize(e);
    l->ids = malloc(sizeof(int32_t) * (size_t)(total ? total : 1));
    l->offsets = malloc(sizeof(int) * (size_t)(n + 1));
    if (!l->ids || !l->offsets) return ed_fail(err, "out of memory");
    int i = 0, k = 0;
    l->offsets[0] = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) == 0)
            return ed_fail(err, "field %s[%d] must be a non-empty array of token ids", f->name, i);
        int j = 0;
        for (const cJSON *t = e->child; t; t = t->next, j++) {
            if (!cJSON_IsNumber(t) || t->valuedouble != floor(t->valuedouble) ||
                t->valuedouble < 0 || t->valuedouble >= vocab)
                return ed_fail(err, "field %s[%d][%d] must be a token id in [0, %d)", f->name, i,
                               j, vocab);
            l->ids[k++] = (int32_t)t->valuedouble;
        }
        l->offsets[i + 1] = k;
    }
    l->n = n;
    return ED_OK;
}

/* One row: v is the JSON value, NULL if the key is absent. */
static ed_status read_row(const request_field *f, const cJSON *v, int vocab, request *r,
                          ed_error *err) {
    char *dst = (char *)r + f->offset;
    if (!v && f->required) return ed_fail(err, "field %s is required", f->name);
    switch (f->type) {
    case REQ_FIELD_ID:
        return v ? read_id(f, v, (cJSON **)dst, err) : ED_OK;
    case REQ_FIELD_IDS:
        return v ? read_ids(f, v, vocab, (int32_t **)dst, (int *)((char *)r + f->count_offset), err)
                 : ED_OK;
    case REQ_FIELD_ID_LISTS:
        return v ? read_id_lists(f, v, vocab, (id_lists *)dst, err) : ED_OK;
    case REQ_FIELD_STRINGS: {
        if (!v) return ED_OK;
        int n = cJSON_IsString(v) ? 1 : cJSON_IsArray(v) ? cJSON_GetArraySize(v) : 0;
        if (n < 1 || n > 16)
            return ed_fail(err, "field %s must be a string or an array of 1 to 16 strings", f->name);
        char **list = calloc((size_t)n, sizeof *list);
        if (!list) return ed_fail(err, "out of memory");
        *(char ***)dst = list;
        *(int *)((char *)r + f->count_offset) = n;
        const cJSON *e = cJSON_IsString(v) ? v : v->child;
        for (int i = 0; i < n; i++, e = e->next) {
            if (!cJSON_IsString(e) || !e->valuestring[0])
                return ed_fail(err, "field %s[%d] must be a non-empty string", f->name, i);
            if (!(list[i] = strdup(e->valuestring))) return ed_fail(err, "out of memory");
        }
        return ED_OK;
    }
    case REQ_FIELD_STRING:
        if (!v) return ED_OK;
        if (!cJSON_IsString(v)) return ed_fail(err, "field %s must be a string", f->name);
        return (*(char **)dst = strdup(v->valuestring)) ? ED_OK : ed_fail(err, "out of memory");
    default: {
        double x = f->def;
        if (v && read_scalar(f, v, &x, err)) return ED_ERR;
        store_scalar(f, dst, x);
        return ED_OK;
    }
    }
}

int request_text_clip(const char *s, size_t len, size_t max) {
    if (len <= max) return (int)len;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80) max--; /* s[max]: continues one */
    return (int)max;
}

ed_status request_schema_read_id(const cJSON *o, request *r, ed_error *err) {
    const request_field *id = &request_schema[0];
    int seen = 0;
    for (const cJSON *k = o->child; k; k = k->next)
        if (!strcmp(k->string, id->name) && seen++)
            return ed_fail(err, "field %s appears twice", id->name);
    return read_row(id, cJSON_GetObjectItemCaseSensitive(o, id->name), 0, r, err);
}

ed_status request_schema_read(const cJSON *o, int vocab_size, request *r, ed_error *err) {
    if (request_schema_read_id(o, r, err)) return ED_ERR;
    /* Every key earlier than k is a distinct known one (else we stopped there): at most
     * N_FIELDS comparisons each. */
    for (const cJSON *k = o->child; k; k = k->next) {
        if (!request_schema_find(k->string))
            return ed_fail(err, "unknown field %.*s",
                           request_text_clip(k->string, strlen(k->string), 64), k->string);
        for (const cJSON *e = o->child; e != k; e = e->next)
            if (!strcmp(e->string, k->string))
                return ed_fail(err, "field %s appears twice", k->string);
    }
    for (int i = 1; i < N_FIELDS; i++)
        if (read_row(&request_schema[i],
                     cJSON_GetObjectItemCaseSensitive(o, request_schema[i].name), vocab_size, r,
                     err))
            return ED_ERR;
    return ED_OK;
}
