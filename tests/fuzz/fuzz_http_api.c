/* libFuzzer harness: the HTTP API's envelope. Byte 0 picks the route (completions, embeddings,
 * generate); the rest is the body. Properties:
 *   - a refused body gets status 400 or 404, a message, and an error body that is JSON with
 *     error.code equal to the status;
 *   - an accepted body makes 1..(16 x prompts) native request objects; each one request_parse
 *     refuses with a message (then mapped to a 400 naming a parameter string) or accepts within
 *     the limits;
 *   - for accepted requests, synthetic final records (ids, logprobs, an encoding) and stream
 *     records give an answer that is JSON, and SSE text made only of "data: ..." events ending
 *     in "data: [DONE]". */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/openai_api.h"
#include "runtime/request.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const request_limits lim = {.vocab_size = 100, .decoder_start_id = 0, .max_input_len = 64,
                                   .max_output_len = 32, .forced_bos_id = -1,
                                   .forced_eos_id = 2, .max_beams = 8};

/* Every event of sse is "data: <JSON or [DONE]>\n\n"; the last is [DONE] when want_done. */
static int sse_ok(const char *sse, int want_done) {
    const char *p = sse, *last = NULL;
    while (*p) {
        if (strncmp(p, "data: ", 6)) return 0;
        const char *end = strstr(p, "\n\n");
        if (!end) return 0;
        last = p + 6;
        if (strncmp(last, "[DONE]\n\n", 8)) {
            cJSON *o = cJSON_ParseWithLength(last, (size_t)(end - last));
            if (!o) return 0;
            cJSON_Delete(o);
        }
        p = end + 2;
    }
    return !want_done || (last && !strncmp(last, "[DONE]\n\n", 8));
}

/* A plausible final record for request i of the plan. */
static cJSON *final_record(const api_plan *plan, int i) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", "x");
    if (plan->kind == API_EMBEDDINGS) {
        cJSON_AddRawToObject(o, "encoder_output", "[0.5,-1,2]");
        return o;
    }
    int n = plan->prefix_len[i] + 3;
    cJSON *ids = cJSON_AddArrayToObject(o, "output_ids");
    for (int k = 0; k < n; k++) cJSON_AddItemToArray(ids, cJSON_CreateNumber(k + 1));
    cJSON *lp = cJSON_AddArrayToObject(o, "logprobs");
    for (int k = 0; k < 3; k++) cJSON_AddItemToArray(lp, cJSON_CreateNumber(-0.5 * k));
    cJSON_AddStringToObject(o, "text", "abc");
    cJSON_AddStringToObject(o, "finish_reason", i % 2 ? "eos" : "length");
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    api_kind kind = data[0] % 3 == 0 ? API_COMPLETIONS : data[0] % 3 == 1 ? API_EMBEDDINGS
                                                                         : API_GENERATE;
    cJSON *body = cJSON_ParseWithLength((const char *)data + 1, size - 1);
    api_context ctx = {.model_name = "m", .lim = &lim, .call_no = 1, .default_seed = 5,
                       .has_tokenizer = 0};
    api_plan plan;
    api_error e;
    memset(&e, 0, sizeof e);
    ed_status st = api_plan_build(kind, body, &ctx, &plan, &e);
    cJSON_Delete(body);
    if (st) {
        FUZZ_REQUIRE(e.status == 400 || e.status == 404);
        FUZZ_REQUIRE(e.message[0]);
        char *text = api_error_body(&e);
        cJSON *o = cJSON_Parse(text);
        const cJSON *code = cJSON_GetObjectItem(cJSON_GetObjectItem(o, "error"), "code");
        FUZZ_REQUIRE(cJSON_IsNumber(code) && code->valueint == e.status);
        cJSON_Delete(o);
        free(text);
        return 0;
    }
    FUZZ_REQUIRE(plan.n_requests >= 1 && plan.n_requests <= 16 * (plan.n_prompts ? plan.n_prompts : 1));
    int parsed_all = 1;
    for (int i = 0; i < plan.n_requests; i++) {
        char *text = cJSON_PrintUnformatted(plan.native[i]);
        FUZZ_REQUIRE(text);
        request *r = NULL;
        cJSON *id = NULL;
        ed_error err;
        memset(&err, 0, sizeof err);
        if (request_parse(text, strlen(text), 0, &lim, &r, &id, &err)) {
            FUZZ_REQUIRE(err.msg[0]);
            api_error_from_native(kind, err.msg, &e);
            FUZZ_REQUIRE(e.status == 400 && e.message[0]);
            parsed_all = 0;
        } else {
            FUZZ_REQUIRE(r->n_input >= 1 && r->n_input <= lim.max_input_len);
        }
        request_destroy(r);
        cJSON_Delete(id);
        free(text);
    }
    if (parsed_all) {
        cJSON **records = calloc((size_t)plan.n_requests, sizeof *records);
        int *streamed = calloc((size_t)plan.n_requests, sizeof *streamed);
        FUZZ_REQUIRE(records && streamed);
        for (int i = 0; i < plan.n_requests; i++) records[i] = final_record(&plan, i);
        char *answer = api_answer(&plan, &ctx, records, 0, &e);
        FUZZ_REQUIRE(answer);
        cJSON *o = cJSON_Parse(answer);
        FUZZ_REQUIRE(o);
        cJSON_Delete(o);
        free(answer);
        if (plan.stream) {
            for (int i = 0; i < plan.n_requests; i++) {
                cJSON *s = cJSON_CreateObject();
                cJSON *ids = cJSON_AddArrayToObject(s, "new_ids");
                cJSON_AddItemToArray(ids, cJSON_CreateNumber(1));
                cJSON_AddStringToObject(s, "text", "a");
                char *ev = api_stream_event(&plan, &ctx, i, s, 0, streamed, 0);
                FUZZ_REQUIRE(ev && sse_ok(ev, 0));
                free(ev);
                cJSON_Delete(s);
                ev = api_stream_event(&plan, &ctx, i, records[i], 1, streamed, 0);
                FUZZ_REQUIRE(ev && sse_ok(ev, 0));
                free(ev);
            }
            char *end = api_stream_end(&plan, &ctx, streamed, 0);
            FUZZ_REQUIRE(end && sse_ok(end, 1));
            free(end);
        }
        for (int i = 0; i < plan.n_requests; i++) cJSON_Delete(records[i]);
        free(records);
        free(streamed);
    }
    FUZZ_ACCEPTED("http body");
    api_plan_free(&plan);
    return 0;
}
