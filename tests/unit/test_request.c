#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "runtime/decoding.h"
#include "runtime/request.h"
#include "runtime/request_schema.h"
#include "runtime/response.h"
#include "tests/unit/check.h"

static const request_limits lim = {.vocab_size = 100, .decoder_start_id = 0, .max_input_len = 8,
                                   .max_output_len = 10, .forced_bos_id = -1, .forced_eos_id = -1,
                                   .max_beams = 8};

static ed_status parse(const char *text, request **r, cJSON **id, ed_error *err) {
    return request_parse(text, strlen(text), 7, &lim, r, id, err);
}

/* Parses {"id": "x", "input_ids": [0], "return_encoder_output": true} (the last so that every
 * pooling choice is valid) with field `name` set to `value` (taken; NULL: the field removed).
 * Returns the status; *r is the request on success (the caller destroys it). */
static ed_status parse_with(const char *name, cJSON *value, request **r, ed_error *err) {
    cJSON *o = cJSON_CreateObject(), *id = NULL;
    cJSON_AddStringToObject(o, "id", "x");
    cJSON_AddItemToObject(o, "input_ids", cJSON_CreateIntArray((const int[]){0}, 1));
    cJSON_AddTrueToObject(o, "return_encoder_output");
    cJSON_DeleteItemFromObjectCaseSensitive(o, name);
    if (value) cJSON_AddItemToObject(o, name, value);
    char *text = cJSON_PrintUnformatted(o);
    ed_status st = parse(text, r, &id, err);
    free(text);
    cJSON_Delete(o);
    cJSON_Delete(id);
    return st;
}

/* A value in range for a scalar row: just above its lower bound (0.5 for an unbounded float). */
static double sample_scalar(const request_field *f) {
    double lo = f->lo == -HUGE_VAL ? 0 : f->lo;
    return f->type == REQ_FIELD_FLOAT ? lo + 0.5 : lo + 1;
}

static double stored_scalar(const request_field *f, const request *r) {
    const char *p = (const char *)r + f->offset;
    if (f->type == REQ_FIELD_U64) return (double)*(const uint64_t *)p;
    if (f->type == REQ_FIELD_FLOAT) return *(const float *)p;
    return *(const int *)p;
}

/* The table and the parser agree: each row's name is accepted with a valid value and the value
 * lands at the row's destination; absent, the row's default is stored; a wrong type, a value out
 * of range, a missing required field, or the name with a suffix, are refused naming the field. */
static void check_schema(void) {
    request *r;
    ed_error err;
    char needle[128];
    for (int i = 0; i < request_schema_count(); i++) {
        const request_field *f = &request_schema[i];
        CHECK(request_schema_find(f->name) == f);
        r = NULL;
        switch (f->type) {
        case REQ_FIELD_ID:
            CHECK(parse_with(f->name, cJSON_CreateNumber(12), &r, &err) == ED_OK);
            CHECK(r && cJSON_IsNumber(r->id) && r->id->valueint == 12);
            break;
        case REQ_FIELD_IDS:
            CHECK(parse_with(f->name, cJSON_CreateIntArray((const int[]){0}, 1), &r, &err) == ED_OK);
            CHECK(r && *(int32_t *const *)((const char *)r + f->offset) &&
                  *(const int *)((const char *)r + f->count_offset) == 1);
            break;
        case REQ_FIELD_ID_LISTS: {
            cJSON *lists = cJSON_CreateArray();
            cJSON_AddItemToArray(lists, cJSON_CreateIntArray((const int[]){0, 2}, 2));
            CHECK(parse_with(f->name, lists, &r, &err) == ED_OK);
            const id_lists *l = r ? (const id_lists *)((const char *)r + f->offset) : NULL;
            CHECK(l && l->n == 1 && l->offsets[1] == 2 && l->ids[1] == 2);
            break;
        }
        case REQ_FIELD_CHOICE:
            for (const request_choice *c = f->choices; c->json; c++) {
                r = NULL;
                CHECK(parse_with(f->name, cJSON_Parse(c->json), &r, &err) == ED_OK);
                CHECK(r && stored_scalar(f, r) == c->value);
                request_destroy(r);
            }
            r = NULL;
            break;
        case REQ_FIELD_STRINGS: /* stop strings: refused without a tokenizer, naming the field */
            CHECK(parse_with(f->name, cJSON_CreateNumber(1), &r, &err) == ED_ERR);
            snprintf(needle, sizeof needle, "field %s must be a string or an array", f->name);
            CHECK_MSG(err, needle);
            CHECK(parse_with(f->name, cJSON_CreateString("x"), &r, &err) == ED_ERR);
            snprintf(needle, sizeof needle, "field %s", f->name);
            CHECK_MSG(err, needle);
            r = NULL;
            break;
        case REQ_FIELD_STRING: /* text fields: a string, and (no tokenizer here) refused by name */
            CHECK(parse_with(f->name, cJSON_CreateNumber(1), &r, &err) == ED_ERR);
            snprintf(needle, sizeof needle, "field %s must be a string", f->name);
            CHECK_MSG(err, needle);
            CHECK(parse_with(f->name, cJSON_CreateString("de_DE"), &r, &err) == ED_ERR);
            snprintf(needle, sizeof needle, "field %s", f->name);
            CHECK_MSG(err, needle);
            r = NULL;
            break;
        case REQ_FIELD_BOOL:
            CHECK(parse_with(f->name, cJSON_CreateTrue(), &r, &err) == ED_OK);
            CHECK(r && stored_scalar(f, r) == 1);
            break;
        default: {
            double x = sample_scalar(f);
            CHECK(parse_with(f->name, cJSON_CreateNumber(x), &r, &err) == ED_OK);
            CHECK(r && stored_scalar(f, r) == (float)x);
            request_destroy(r);
            r = NULL;
            snprintf(needle, sizeof needle, "field %s must be", f->name);
            if (f->lo != -HUGE_VAL) {
                CHECK(parse_with(f->name, cJSON_CreateNumber(f->lo_open ? f->lo : f->lo - 1), &r,
                                 &err) == ED_ERR);
                CHECK_MSG(err, needle);
            }
            if (f->hi != HUGE_VAL) {
                CHECK(parse_with(f->name, cJSON_CreateNumber(f->hi + 1), &r, &err) == ED_ERR);
                CHECK_MSG(err, needle);
            }
        }
        }
        request_destroy(r);
        r = NULL;
        if (f->required) {
            snprintf(needle, sizeof needle, "line 7: field %s is required", f->name);
            CHECK(parse_with(f->name, NULL, &r, &err) == ED_ERR);
            CHECK_MSG(err, needle);
        } else if (f->type != REQ_FIELD_IDS && f->type != REQ_FIELD_ID_LISTS &&
                   f->def != REQUEST_FIELD_UNSET) {
            CHECK(parse_with(f->name, NULL, &r, &err) == ED_OK);
            CHECK(r && stored_scalar(f, r) == f->def);
            request_destroy(r);
            r = NULL;
        }
        snprintf(needle, sizeof needle, "line 7: field %s must be", f->name);
        CHECK(parse_with(f->name, cJSON_CreateObject(), &r, &err) == ED_ERR);
        CHECK_MSG(err, needle);
        char unknown[96];
        snprintf(unknown, sizeof unknown, "%s_", f->name);
        snprintf(needle, sizeof needle, "line 7: unknown field %s", unknown);
        CHECK(parse_with(unknown, cJSON_CreateTrue(), &r, &err) == ED_ERR);
        CHECK_MSG(err, needle);
    }
}

/* A line that is not JSON says where parsing stopped (column, byte offset, the text around it),
 * and a line that ends before its JSON is complete says it is truncated (issue 22, "The first
 * hour, mended"). */
static void check_json_errors(void) {
    static const struct { const char *text, *msg; } cases[] = {
        {"{\"id\": \"a\", \"input_ids\": [1", "line 7: truncated JSON: the line ends (column 27) "
         "before the JSON is complete, after '...d\": \"a\", \"input_ids\": [1'"},
        {"{\"id\": \"a\", \"input_ids\": [1, 2]}\r\n", NULL}, /* complete: accepted */
        {"{\"id\": \"a\", \"pooling\": \"me  \r\n", "line 7: truncated JSON: the line ends (column 26) "
         "before the JSON is complete, after '...id\": \"a\", \"pooling\": \"me'"},
        {"{\"id\": \"a\",", "line 7: truncated JSON: the line ends (column 11) before the JSON is "
         "complete, after '{\"id\": \"a\",'"},
        {"{\"id\": \"a\", \"input_ids\": [1, 2x, 3, 4, 5, 6, 7]}", "line 7: invalid JSON at column 31 "
         "(byte offset 30): parsing stopped at 'x, 3, 4, 5, ...', after '... \"a\", \"input_ids\": [1, "
         "2'"},
        {"{\"a\": 1x", "line 7: invalid JSON at column 8 (byte offset 7): parsing stopped at 'x', "
         "after '{\"a\": 1'"}, /* a fault at the last byte is not a truncation */
        {"{\"id\": \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\", \"xy\": tru}",
         "line 7: invalid JSON at column 40 (byte offset 39): parsing stopped at 'tru}', after "
         "'...\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\", \"xy\": '"}, /* cut at a character, never inside one */
        {"[{\"id\": \"a\", \"input_ids\": [1]}]", "line 7: not a JSON object: a request is one {...} "
         "per line"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        request *r = NULL;
        cJSON *id = NULL;
        ed_error err = {0};
        ed_status st = request_parse(cases[i].text, strlen(cases[i].text), 7, &lim, &r, &id, &err);
        if (!cases[i].msg) {
            CHECK(st == ED_OK && r);
        } else {
            CHECK(st == ED_ERR && !r);
            if (strcmp(err.msg, cases[i].msg))
                fprintf(stderr, "json error case %zu:\n  got  %s\n  want %s\n", i, err.msg,
                        cases[i].msg);
            CHECK(!strcmp(err.msg, cases[i].msg));
        }
        request_destroy(r);
        cJSON_Delete(id);
    }
}

/* Hostile lines (the issue "Hostile inputs and faults", items 3, 6, 8): each is refused, with a
 * message naming the line and the field or column, and the id only where it reads cleanly. text
 * is len bytes (NULs included); id_str: the id expected, NULL for none. */
static void check_hostile(void) {
    static const struct {
        const char *text;
        size_t len; /* 0: strlen */
        const char *needle, *id_str;
    } bad[] = {
        /* 3: a NUL byte first used to make the line blank; anything after the object was
         * accepted or dropped; duplicate keys took the first value. */
        {"\0{\"id\": \"a\", \"input_ids\": [1]}\n", 32, "line 7: a NUL byte at column 1", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1]}\0{\"id\": \"b\", \"input_ids\": [1]}", 60,
         "line 7: a NUL byte at column 30", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1]}{\"id\": \"b\", \"input_ids\": [1]}", 0,
         "line 7: trailing text after the JSON object at column 30", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1]} x\n", 0,
         "line 7: trailing text after the JSON object at column 31", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1], \"input_ids\": [2]}", 0,
         "line 7: field input_ids appears twice", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1], \"id\": \"b\"}", 0, "line 7: field id appears twice",
         NULL},
        {"{\"id\": \"a\", \"input_ids\": [1], \"top_k\": 3, \"top_k\": -1}", 0,
         "line 7: field top_k appears twice", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1]", 0, "line 7: truncated JSON: the line ends (column 28)", NULL},
        {"[{\"id\": \"a\", \"input_ids\": [1]}]", 0, "line 7: not a JSON object", NULL},
        /* 6: the float stored must be finite, and normal where it divides. */
        {"{\"id\": \"a\", \"input_ids\": [1], \"do_sample\": true, \"temperature\": 1e-40}", 0,
         "line 7: field temperature: 1e-40 is below the smallest normal float", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1], \"do_sample\": true, \"temperature\": 1e-300}", 0,
         "line 7: field temperature: 1e-300 is below the smallest normal float", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1], \"temperature\": 1e39}", 0,
         "line 7: field temperature: 1e+39 is beyond the float range", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1], \"repetition_penalty\": 1e-300}", 0,
         "line 7: field repetition_penalty: 1e-300 is below the smallest normal float", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1], \"repetition_penalty\": 1e-40}", 0,
         "line 7: field repetition_penalty: 1e-40 is below the smallest normal float", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1], \"length_penalty\": -1e300}", 0,
         "line 7: field length_penalty: -1e+300 is beyond the float range", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1], \"top_p\": 1e-300}", 0,
         "line 7: field top_p must be in (0, 1] (got 0)", "a"},
        /* 8: the line must be UTF-8; ids are strings or integers, without NULs. */
        {"{\"id\": \"a\xff\", \"input_ids\": [1]}", 0, "line 7: field id holds invalid UTF-8 at column 10",
         NULL},
        {"{\"id\": \"a\", \"input_ids\": [1], \"pooling\": \"m\xc3\"}", 0,
         "line 7: field pooling holds invalid UTF-8 at column 44", "a"},
        {"{\"id\": \"a\", \"input_ids\": [1], \"pooling\": \"\xc0\xaf\"}", 0,
         "field pooling holds invalid UTF-8", "a"}, /* overlong "/" */
        {"{\"id\": \"a\", \"input_ids\": [1], \"pooling\": \"\xed\xa0\x80\"}", 0,
         "field pooling holds invalid UTF-8", "a"}, /* a surrogate */
        {"{\"id\": \"a\", \"input_ids\": [1], \"pooling\": \"\xf4\x90\x80\x80\"}", 0,
         "field pooling holds invalid UTF-8", "a"}, /* above U+10FFFF */
        {"{\"id\": \"a\", \"input_ids\": [1], \"po\xffoling\": 1}", 0,
         "line 7: a key holds invalid UTF-8 at column 34", NULL},
        {"{\"input_ids\": [1], \"id\": \"a\xff\"}\xfe", 0, "field id holds invalid UTF-8", NULL},
        {"\xef\xbb{\"id\": \"a\", \"input_ids\": [1]}", 0, "line 7: invalid UTF-8 at column 1", NULL},
        {"{\"id\": 1.5, \"input_ids\": [1]}", 0, "line 7: field id must be a string or an integer",
         NULL},
        {"{\"id\": 1e16, \"input_ids\": [1]}", 0, "line 7: field id must be a string or an integer",
         NULL},
        {"{\"id\": \"a\\u0000b\", \"input_ids\": [1]}", 0,
         "line 7: field id holds \\u0000 (a NUL character) at column 10", NULL},
        {"{\"id\": \"a\", \"input_ids\": [1], \"pooling\": \"mean\\u0000x\"}", 0,
         "line 7: field pooling holds \\u0000", "a"},
        {"{\"i\\u0000d\": \"a\", \"input_ids\": [1]}", 0, "line 7: a key holds \\u0000", NULL},
        {"{\"\\u0069d\": \"a\", \"input_ids\": [1], \"x\": \"\xff\"}", 0, "field x holds invalid UTF-8",
         "a"},
        {"{\"id\": \"a\", \"input_ids\": [1], \"x\": \"\xff\", \"\\u0069d\": \"\\u0000\"}", 0,
         "field x holds invalid UTF-8", NULL}, /* an escaped key may spell id */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        request *r = NULL;
        cJSON *id = NULL;
        ed_error err;
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
        ed_status st = request_parse(bad[i].text, len, 7, &lim, &r, &id, &err);
        if (st != ED_ERR) fprintf(stderr, "hostile line %zu accepted\n", i);
        CHECK(st == ED_ERR && r == NULL);
        CHECK_MSG(err, bad[i].needle);
        if (bad[i].id_str) CHECK(cJSON_IsString(id) && !strcmp(id->valuestring, bad[i].id_str));
        else CHECK(id == NULL);
        cJSON_Delete(id);
    }
    /* What stays accepted: whitespace after the object; UTF-8 of every length; an escaped
     * backslash before "u0000"; a float that is small but normal; 0 temperature; big ids. */
    static const char *good[] = {
        "{\"id\": \"a\", \"input_ids\": [1]} \t\r\n",
        "{\"id\": \"\xc3\xa9\xe6\x97\xa5\xf0\x9f\x98\x80\", \"input_ids\": [1]}",
        "{\"id\": \"a\\\\u0000\", \"input_ids\": [1]}",
        "{\"id\": \"\\ud83d\\ude00\", \"input_ids\": [1]}",
        "{\"id\": -9007199254740991, \"input_ids\": [1], \"do_sample\": true, \"temperature\": 1e-30, "
        "\"repetition_penalty\": 2e-38}",
        "{\"id\": 3, \"input_ids\": [1], \"do_sample\": true, \"temperature\": 0}",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        request *r = NULL;
        cJSON *id = NULL;
        ed_error err;
        ed_status st = request_parse(good[i], strlen(good[i]), 7, &lim, &r, &id, &err);
        if (st) fprintf(stderr, "good line %zu refused: %s\n", i, err.msg);
        CHECK(st == ED_OK && r && id);
        if (i == 2) CHECK(r && !strcmp(r->id->valuestring, "a\\u0000"));
        if (i == 4) CHECK(r && r->temperature == 1e-30f && r->repetition_penalty == 2e-38f &&
                          r->id->valuedouble == -9007199254740991.0);
        if (i == 5) CHECK(r && !r->do_sample && r->temperature == 1.0f);
        request_destroy(r);
        cJSON_Delete(id);
    }
}

/* A finished greedy sequence of the request text: tokens 0, 5, 6 with logprobs -0.5, -1 and
 * logits rows [2, 100] of finite values (return_logits). */
static sequence *finished_sequence(const char *text) {
    request *r = NULL;
    cJSON *id = NULL;
    sequence *seq = NULL;
    ed_error err;
    CHECK(request_parse(text, strlen(text), 3, &lim, &r, &id, &err) == ED_OK);
    cJSON_Delete(id);
    if (!r) return NULL;
    CHECK(sequence_create(&seq, r, lim.vocab_size, 4, &err) == ED_OK);
    if (!seq) return NULL;
    const int32_t tokens[] = {0, 5, 6};
    const float lp[] = {0, -0.5f, -1};
    for (int b = 0; b < seq->width; b++) {
        memcpy(seq->beams[b].tokens, tokens, sizeof tokens);
        memcpy(seq->beams[b].logprobs, lp, sizeof lp);
    }
    for (int h = 0; h < seq->width; h++) {
        memcpy(seq->done[h].tokens, tokens, sizeof tokens);
        memcpy(seq->done[h].logprobs, lp, sizeof lp);
        seq->done[h].n_tokens = 3;
        seq->done[h].score = -0.75f;
        seq->done[h].finished = 1;
    }
    seq->n_tokens = 3;
    seq->n_fed = 2;
    seq->n_generated = 2;
    if (seq->logits)
        for (int i = 0; i < 2 * lim.vocab_size; i++) seq->logits[i] = (float)(i % 7) - 3;
    seq->finish_reason = "length";
    return seq;
}

/* Issue "Hostile inputs and faults", item 5: a NaN or infinity in what a response would print
 * fails that request with an error record naming it and the output; the other records stay
 * exact, and every line of the output is strict JSON. */
static void check_nonfinite_responses(void) {
    char path[] = "/tmp/test_request_out_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    response_sink *sink = NULL;
    ed_error err;
    CHECK(response_sink_open(&sink, path, &err) == ED_OK);
    if (!sink) return;
    const char *greedy = "{\"id\": \"%s\", \"input_ids\": [1], \"max_new_tokens\": 2, "
                         "\"return_logits\": true, \"return_logprobs\": true%s}";
    char text[256];
    struct { const char *id, *extra; int poison; } cases[] = {
        {"ok", "", 0},                 /* line 1: the exact result */
        {"nan-logit", "", 1},          /* line 2 */
        {"inf-logprob", "", 2},        /* line 3 */
        {"stream-nan", ", \"stream\": true", 3}, /* line 4: no stream line, then the error */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        snprintf(text, sizeof text, greedy, cases[c].id, cases[c].extra);
        sequence *seq = finished_sequence(text);
        if (!seq) continue;
        if (cases[c].poison == 1) seq->logits[1 * lim.vocab_size + 3] = NAN;
        if (cases[c].poison >= 2) seq->beams[0].logprobs[2] = cases[c].poison == 2 ? -INFINITY : NAN;
        if (cases[c].poison == 3) {
            CHECK(response_write_stream(sink, seq, &err) == ED_OK);
            CHECK(seq->n_streamed == 0);
        }
        CHECK(response_write_result(sink, seq, &err) == ED_OK);
        sequence_destroy(seq);
    }
    /* Beam search: a NaN score (line 5). */
    sequence *beams = finished_sequence("{\"id\": 7, \"input_ids\": [1], \"max_new_tokens\": 2, "
                                        "\"beam_width\": 2, \"num_return_sequences\": 2}");
    if (beams) {
        beams->done[1].score = NAN;
        CHECK(response_write_result(sink, beams, &err) == ED_OK);
        sequence_destroy(beams);
    }
    /* Encoder outputs: an infinity in the states; a mean that overflows; a finite mean. */
    const float rows[] = {1, 2, 3, 4, 5, INFINITY}, big[] = {3e38f, 1, 3e38f, 1};
    const char *enc[] = {"{\"id\": \"enc-inf\", \"input_ids\": [1, 2], \"encode_only\": true}",
                         "{\"id\": \"mean-inf\", \"input_ids\": [1, 2], \"encode_only\": true, "
                         "\"pooling\": \"mean\"}",
                         "{\"id\": \"mean-ok\", \"input_ids\": [1, 2], \"encode_only\": true, "
                         "\"pooling\": \"mean\"}"};
    for (int i = 0; i < 3; i++) {
        request *r = NULL;
        cJSON *id = NULL;
        CHECK(request_parse(enc[i], strlen(enc[i]), 6 + i, &lim, &r, &id, &err) == ED_OK);
        if (r && i < 2)
            CHECK(response_write_encoding(sink, r, i ? big : rows, 2, i ? 2 : 3, &err) == ED_OK);
        if (r && i == 2) CHECK(response_write_encoding(sink, r, rows, 1, 3, &err) == ED_OK);
        request_destroy(r);
        cJSON_Delete(id);
    }
    CHECK(response_sink_commit(sink, &err) == ED_OK);

    static const char *expect[] = {
        "{\"id\":\"ok\",\"output_ids\":[5,6],\"logprobs\":[-0.5,-1],\"finish_reason\":\"length\","
        "\"logits\":[[-3,-2,-1,0,1,2,3,-3,",
        "{\"id\":\"nan-logit\",\"error\":{\"message\":\"line 3: request \\\"nan-logit\\\": the model "
        "produced non-finite values in its logits (nan at decoder position 1, vocabulary entry 3)",
        "{\"id\":\"inf-logprob\",\"error\":{\"message\":\"line 3: request \\\"inf-logprob\\\": the "
        "model produced non-finite values in its logprobs (-inf at generated token 1 of sequence 0)",
        "{\"id\":\"stream-nan\",\"error\":{\"message\":\"line 3: request \\\"stream-nan\\\": the "
        "model produced non-finite values in its logprobs (nan at generated token 1",
        "{\"id\":7,\"error\":{\"message\":\"line 3: request 7: the model produced non-finite values "
        "in its score (nan, sequence 1)",
        "{\"id\":\"enc-inf\",\"error\":{\"message\":\"line 6: request \\\"enc-inf\\\": the model "
        "produced non-finite values in its encoder output (inf at input token 1, dimension 2)",
        "{\"id\":\"mean-inf\",\"error\":{\"message\":\"line 7: request \\\"mean-inf\\\": the model "
        "produced non-finite values in its encoder output (inf in the mean over the input, "
        "dimension 0)",
        "{\"id\":\"mean-ok\",\"encoder_output_shape\":[3],\"encoder_output\":[1,2,3]}\n",
    };
    FILE *f = fopen(path, "r");
    CHECK(f != NULL);
    char *line = NULL;
    size_t cap = 0;
    int n = 0;
    while (f && getline(&line, &cap, f) > 0) {
        const char *end = NULL;
        cJSON *o = cJSON_ParseWithOpts(line, &end, 1);
        if (!o) fprintf(stderr, "output line %d is not JSON: %s", n + 1, line);
        CHECK(o != NULL);
        cJSON_Delete(o);
        if (n < (int)(sizeof expect / sizeof expect[0]) &&
            strncmp(line, expect[n], strlen(expect[n])))
            fprintf(stderr, "output line %d: %s  expected to start: %s\n", n + 1, line, expect[n]);
        CHECK(n < (int)(sizeof expect / sizeof expect[0]) &&
              !strncmp(line, expect[n], strlen(expect[n])));
        n++;
    }
    CHECK(n == (int)(sizeof expect / sizeof expect[0]));
    free(line);
    if (f) fclose(f);
    remove(path);
}

int main(void) {
    request *r;
    cJSON *id;
    ed_error err;
    CHECK(parse("{\"id\": \"a\", \"input_ids\": [5, 6, 1]}", &r, &id, &err) == ED_OK);
    CHECK(r && r->n_input == 3 && r->n_decoder == 1 && r->decoder_ids[0] == 0);
    CHECK(r && r->max_new_tokens == 10 && r->min_new_tokens == 0 && !r->return_logits);
    request_destroy(r);
    cJSON_Delete(id);

    CHECK(parse("{\"id\": 3, \"input_ids\": [5], \"decoder_input_ids\": [0, 4, 4], "
                "\"max_new_tokens\": 0, \"return_logits\": true}", &r, &id, &err) == ED_OK);
    CHECK(r && r->n_decoder == 3 && r->max_new_tokens == 0 && r->return_logits);
    request_destroy(r);
    cJSON_Delete(id);

    /* Defaults the validation pass derives: max_new_tokens from the room the prefix leaves,
     * forced_bos_id from the model; temperature 0 is greedy; encode_only returns the encoder's
     * output. */
    request_limits bos = lim;
    bos.forced_bos_id = 3;
    const char *greedy = "{\"id\": \"t\", \"input_ids\": [1], \"decoder_input_ids\": [0, 5, 5], "
                         "\"do_sample\": true, \"temperature\": 0}";
    CHECK(request_parse(greedy, strlen(greedy), 7, &bos, &r, &id, &err) == ED_OK);
    CHECK(r && r->max_new_tokens == 8 && r->forced_bos_id == 3 && r->forced_eos_id == -1);
    CHECK(r && !r->do_sample && r->temperature == 1.0f && r->top_k == 50 && r->seed == 0);
    request_destroy(r);
    cJSON_Delete(id);
    CHECK(parse("{\"id\": \"e\", \"input_ids\": [1], \"encode_only\": true, \"pooling\": \"mean\", "
                "\"encoder_output_format\": \"base64-f32\", \"early_stopping\": \"never\"}", &r, &id,
                &err) == ED_OK);
    CHECK(r && r->return_encoder_output && r->pool_mean && r->output_base64 &&
          r->early_stopping == EARLY_STOP_NEVER && r->forced_bos_id == -1);
    request_destroy(r);
    cJSON_Delete(id);

    struct { const char *text, *needle; int has_id; } bad[] = {
        {"{\"input_ids\": [1]}", "field id is required", 0},
        {"{\"input_ids\": [1], \"num_beams\": 4}", "line 7: field id is required", 0},
        {"{\"id\": \"x\", \"input_id\": [1]}", "line 7: unknown field input_id", 1},
        {"{\"id\": \"x\"}", "line 7: field input_ids is required", 1},
        {"not json", "line 7: invalid JSON at column 1 (byte offset 0): parsing stopped at 'not json'", 0},
        {"{\"id\": [1], \"input_ids\": [1]}", "id must be a string or an integer", 0},
        {"{\"id\": \"x\", \"input_ids\": [1, 100]}", "input_ids[1]: token id 100 is outside", 1},
        {"{\"id\": \"x\", \"input_ids\": [1, -2]}", "input_ids[1]", 1},
        {"{\"id\": \"x\", \"input_ids\": \"hello\"}", "input_ids must be an array", 1},
        {"{\"id\": \"x\", \"input_ids\": []}", "must not be empty", 1},
        {"{\"id\": \"x\", \"input_ids\": [1,1,1,1,1,1,1,1,1]}", "exceed max_input_len 8", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"max_new_tokens\": -1}", "max_new_tokens must be >= 0", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"max_new_tokens\": 1.5}", "max_new_tokens must be an integer", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"max_new_tokens\": 11}", "max_new_tokens: 11 exceeds", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"decoder_input_ids\": [3, 4]}", "must start with the decoder start token 0", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"return_logits\": 1}", "return_logits must be true or false", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"num_beams\": 4}", "unknown field num_beams", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"beam_width\": 0}", "field beam_width must be in [1, 16]", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"beam_width\": 9}", "exceed max_batch_size 8", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"beam_width\": 4, \"num_return_sequences\": 5}", "num_return_sequences must be in [1, beam_width=4]", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"top_p\": 1.5}", "field top_p must be in (0, 1]", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"temperature\": -0.5}", "field temperature must be >= 0", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"top_k\": -1}", "field top_k must be >= 0", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"repetition_penalty\": 0}", "field repetition_penalty must be > 0", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"early_stopping\": \"soon\"}", "field early_stopping must be true, false", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"bad_words_ids\": [[3], []]}", "field bad_words_ids[1] must be a non-empty array", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"stop_sequences\": [[3, 100]]}", "field stop_sequences[0][1] must be a token id", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"stop_token_ids\": [200]}", "field stop_token_ids[0]", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"beam_width\": 2, \"stream\": true}", "field stream: streaming needs beam_width 1", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"beam_width\": 2, \"do_sample\": true}", "field do_sample", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"beam_width\": 17}", "line 7: field beam_width must be in [1, 16] (got 17)", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"seed\": 1e16}", "line 7: field seed must be an integer of magnitude at most 9007199254740991", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"length_penalty\": \"1\"}", "line 7: field length_penalty must be a number", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"early_stopping\": 1}", "line 7: field early_stopping must be true, false or \"never\"", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"pooling\": \"max\"}", "line 7: field pooling must be \"none\" or \"mean\"", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"pooling\": \"mean\"}", "line 7: field pooling needs encode_only or return_encoder_output", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"encoder_output_format\": true}", "line 7: field encoder_output_format must be \"json\" or \"base64-f32\"", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"encode_only\": true, \"return_logits\": true}", "line 7: field encode_only: beam_width, stream and return_logits do not apply", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"forced_bos_id\": 100}", "line 7: field forced_bos_id: token id 100 is outside the vocabulary [0, 100)", 1},
        {"{\"id\": \"x\", \"input_ids\": [1], \"decoder_input_ids\": [0,1,1,1,1,1,1,1,1,1,1,1]}", "line 7: field decoder_input_ids: 12 tokens exceed max_output_len 10 + 1", 1},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        r = NULL;
        id = NULL;
        CHECK(parse(bad[i].text, &r, &id, &err) == ED_ERR);
        CHECK(r == NULL);
        CHECK_MSG(err, bad[i].needle);
        CHECK((id != NULL) == bad[i].has_id);
        cJSON_Delete(id);
    }
    check_schema();
    check_hostile();
    check_json_errors();
    check_nonfinite_responses();
    TEST_MAIN_END("test_request");
}
