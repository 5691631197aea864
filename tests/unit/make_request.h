/* Test helper: a request parsed from JSON against small limits (vocabulary 5, decoder start 0,
 * EOS free, up to 8 beams); NULL if the text is refused. */
#ifndef ENCDEC_TEST_MAKE_REQUEST_H
#define ENCDEC_TEST_MAKE_REQUEST_H

#include <cjson/cJSON.h>
#include <string.h>

#include "runtime/request.h"

static request *make_request(const char *text, int max_input_len, int max_output_len) {
    request_limits lim = {.vocab_size = 5, .decoder_start_id = 0, .max_input_len = max_input_len,
                          .max_output_len = max_output_len, .forced_bos_id = -1,
                          .forced_eos_id = -1, .max_beams = 8};
    request *r;
    cJSON *id;
    ed_error err;
    if (request_parse(text, strlen(text), 1, &lim, &r, &id, &err)) return NULL;
    cJSON_Delete(id);
    return r;
}

#endif
