#include <cjson/cJSON.h>

#include "runtime/request.h"
#include "tests/unit/check.h"

static const request_limits lim = {.vocab_size = 100, .decoder_start_id = 0, .max_input_len = 8,
                                   .max_output_len = 10, .forced_bos_id = -1, .forced_eos_id = -1,
                                   .max_beams = 8};

static ed_status parse(const char *text, request **r, cJSON **id, ed_error *err) {
    return request_parse(text, 7, &lim, r, id, err);
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

    struct { const char *text, *needle; int has_id; } bad[] = {
        {"{\"input_ids\": [1]}", "field id is required", 0},
        {"not json", "line 7: not a JSON object", 0},
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
    TEST_MAIN_END("test_request");
}
