/* libFuzzer harness: one JSON Lines request line (any bytes, no terminator) through request_parse
 * against fixed limits. A refused line must carry a message starting "line 1: "; an accepted
 * request must satisfy every limit it was checked against. */
#include <cjson/cJSON.h>
#include <float.h>
#include <stdint.h>
#include <string.h>

#include "runtime/request.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const request_limits lim = {.vocab_size = 100, .decoder_start_id = 0, .max_input_len = 64,
                                   .max_output_len = 32, .forced_bos_id = -1,
                                   .forced_eos_id = 2, .max_beams = 8};

static int ids_ok(const int32_t *ids, int n) {
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= lim.vocab_size) return 0;
    return 1;
}

static int lists_ok(const id_lists *l) {
    if (l->n == 0) return 1;
    if (!l->offsets || l->offsets[0] != 0) return 0;
    for (int i = 0; i < l->n; i++)
        if (l->offsets[i + 1] < l->offsets[i]) return 0;
    return ids_ok(l->ids, l->offsets[l->n]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    request *r = NULL;
    cJSON *id = NULL;
    ed_error err;
    memset(&err, 0, sizeof err);
    ed_status st = request_parse((const char *)data, size, 1, &lim, &r, &id, &err);
    if (st != ED_OK) {
        FUZZ_REQUIRE(r == NULL);
        FUZZ_REQUIRE_MSG(err);
        FUZZ_REQUIRE(!strncmp(err.msg, "line 1: ", 8));
    } else {
        FUZZ_REQUIRE(r != NULL && r->line == 1);
        FUZZ_REQUIRE(r->n_input >= 0 && r->n_input <= lim.max_input_len);
        FUZZ_REQUIRE(ids_ok(r->input_ids, r->n_input));
        FUZZ_REQUIRE(r->n_decoder >= 1 && r->decoder_ids && r->decoder_ids[0] == lim.decoder_start_id);
        FUZZ_REQUIRE(ids_ok(r->decoder_ids, r->n_decoder));
        FUZZ_REQUIRE(r->max_new_tokens >= 0 && r->min_new_tokens >= 0);
        FUZZ_REQUIRE(r->beam_width >= 1 && r->beam_width <= lim.max_beams);
        FUZZ_REQUIRE(r->num_return_sequences >= 1 && r->num_return_sequences <= r->beam_width);
        FUZZ_REQUIRE(r->length_penalty == r->length_penalty); /* not NaN */
        FUZZ_REQUIRE(r->temperature >= 0 && r->temperature <= FLT_MAX);
        FUZZ_REQUIRE(r->top_p >= 0 && r->top_p <= 1);
        FUZZ_REQUIRE(r->top_k >= 0);
        FUZZ_REQUIRE(r->repetition_penalty >= 0 && r->repetition_penalty <= FLT_MAX);
        FUZZ_REQUIRE(r->no_repeat_ngram_size >= 0);
        FUZZ_REQUIRE(r->n_stop_ids >= 0 && ids_ok(r->stop_ids, r->n_stop_ids));
        FUZZ_REQUIRE(lists_ok(&r->bad_words) && lists_ok(&r->stop_sequences));
        FUZZ_ACCEPTED("request");
        request_destroy(r);
    }
    cJSON_Delete(id);
    return 0;
}
