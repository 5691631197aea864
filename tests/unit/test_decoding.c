#include <cjson/cJSON.h>
#include <stdlib.h>

#include "runtime/decoding.h"
#include "tests/unit/check.h"
#include "tests/unit/make_request.h"

static request *make(const char *text) { return make_request(text, 8, 10); }

int main(void) {
    float l[5] = {0.5f, 3.0f, 3.0f, 1.0f, -1.0f}; /* EOS = 1 ties with 2: first index wins */
    CHECK(decoding_argmax(l, 5) == 1);

    /* Greedy with min_new_tokens 2: EOS held off twice, then taken. */
    sequence *s;
    ed_error err;
    request *r = make("{\"id\": 1, \"input_ids\": [3], \"max_new_tokens\": 5, \"min_new_tokens\": 2}");
    CHECK(r && sequence_create(&s, r, 5, 4, &err) == ED_OK);
    CHECK(sequence_next_token(s, 0) == 0 && s->n_fed == 0);
    sequence_advance(s, l, 1);
    CHECK(s->n_tokens == 2 && s->beams[0].tokens[1] == 2 && !s->finish_reason);
    sequence_advance(s, l, 1);
    CHECK(s->beams[0].tokens[2] == 2 && !s->finish_reason);
    sequence_advance(s, l, 1);
    CHECK(s->beams[0].tokens[3] == 1 && s->finish_reason && !strcmp(s->finish_reason, "eos"));
    sequence_destroy(s);

    /* Forced prefix with max_new_tokens 0: one logits row per prefix token, then "length". */
    r = make("{\"id\": 2, \"input_ids\": [3], \"decoder_input_ids\": [0, 4, 3], "
             "\"max_new_tokens\": 0, \"return_logits\": true}");
    CHECK(r && sequence_create(&s, r, 5, 4, &err) == ED_OK);
    for (int i = 0; i < 3; i++) {
        CHECK(!s->finish_reason && s->n_fed == i);
        sequence_advance(s, l, 1);
    }
    CHECK(s->finish_reason && !strcmp(s->finish_reason, "length") && s->n_tokens == 3);
    CHECK(s->n_fed == 3 && s->logits[2 * 5 + 1] == 3.0f);
    sequence_destroy(s);

    /* max_new_tokens reached without EOS. */
    r = make("{\"id\": 3, \"input_ids\": [3], \"max_new_tokens\": 1, \"min_new_tokens\": 1}");
    CHECK(r && sequence_create(&s, r, 5, 4, &err) == ED_OK);
    sequence_advance(s, l, 1);
    CHECK(s->finish_reason && !strcmp(s->finish_reason, "length") && s->beams[0].tokens[1] == 2);
    sequence_destroy(s);
    /* Forced BOS first, forced EOS as the last of max_new_tokens (HF's processors). */
    r = make("{\"id\": 4, \"input_ids\": [3], \"max_new_tokens\": 3, \"forced_bos_id\": 4}");
    CHECK(r != NULL);
    if (r) {
        r->forced_eos_id = 3;
        CHECK(sequence_create(&s, r, 5, 4, &err) == ED_OK);
        float no_eos[5] = {0.0f, -5.0f, 2.0f, 1.0f, 0.0f};
        for (int i = 0; i < 3; i++) sequence_advance(s, no_eos, 1);
        CHECK(s->n_tokens == 4 && s->beams[0].tokens[1] == 4 && s->beams[0].tokens[2] == 2 && s->beams[0].tokens[3] == 3);
        CHECK(s->finish_reason && !strcmp(s->finish_reason, "length"));
        sequence_destroy(s);
    }
    /* With a longer forced prefix, BOS forcing does not apply (HF: only at length 1). */
    r = make("{\"id\": 5, \"input_ids\": [3], \"decoder_input_ids\": [0, 3], "
             "\"max_new_tokens\": 1, \"forced_bos_id\": 4}");
    CHECK(r && sequence_create(&s, r, 5, 4, &err) == ED_OK);
    float l2[5] = {0.0f, -5.0f, 2.0f, 1.0f, 0.0f};
    sequence_advance(s, l2, 1);
    sequence_advance(s, l2, 1);
    CHECK(s->n_tokens == 3 && s->beams[0].tokens[2] == 2);
    sequence_destroy(s);
    TEST_MAIN_END("test_decoding");
}
