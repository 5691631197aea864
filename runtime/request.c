#include "runtime/request.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#include "runtime/request_schema.h"

/* The request's prefixes against the limits: input length, the decoder prefix and the room it
 * leaves, the defaults that depend on them (max_new_tokens, forced BOS/EOS). */
static ed_status validate_prefix(request *r, const request_limits *lim, ed_error *err) {
    if (r->n_input == 0) return ed_fail(err, "field input_ids must not be empty");
    if (r->n_input > lim->max_input_len)
        return ed_fail(err, "field input_ids: %d tokens exceed max_input_len %d", r->n_input,
                       lim->max_input_len);
    if (r->decoder_ids) {
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
    if (r->max_new_tokens == REQUEST_FIELD_UNSET) r->max_new_tokens = room;
    if (r->max_new_tokens > room)
        return ed_fail(err, "field max_new_tokens: %d exceeds the %d that max_output_len %d leaves "
                            "after the decoder prefix", r->max_new_tokens, room,
                       lim->max_output_len);
    if (r->forced_bos_id == REQUEST_FIELD_UNSET) r->forced_bos_id = lim->forced_bos_id;
    if (r->forced_bos_id >= lim->vocab_size)
        return ed_fail(err, "field forced_bos_id: token id %d is outside the vocabulary [0, %d)",
                       r->forced_bos_id, lim->vocab_size);
    r->forced_eos_id = lim->forced_eos_id;
    return ED_OK;
}

/* Decoding and output options against the limits and against each other. */
static ed_status validate_options(request *r, const request_limits *lim, ed_error *err) {
    if (r->beam_width > lim->max_beams)
        return ed_fail(err, "field beam_width: %d beams exceed max_batch_size %d", r->beam_width,
                       lim->max_beams);
    if (2 * r->beam_width > lim->vocab_size)
        return ed_fail(err, "field beam_width: %d beams need a vocabulary of at least %d",
                       r->beam_width, 2 * r->beam_width);
    if (r->num_return_sequences < 1 || r->num_return_sequences > r->beam_width)
        return ed_fail(err, "field num_return_sequences must be in [1, beam_width=%d] (got %d)",
                       r->beam_width, r->num_return_sequences);
    if (r->do_sample && r->beam_width > 1)
        return ed_fail(err, "field do_sample: sampling with beam_width > 1 is not supported");
    if (r->stream && r->beam_width > 1)
        return ed_fail(err, "field stream: streaming needs beam_width 1 (beams change until the end)");
    if (r->pool_mean && !r->encode_only && !r->return_encoder_output)
        return ed_fail(err, "field pooling needs encode_only or return_encoder_output");
    if (r->encode_only) {
        if (r->beam_width > 1 || r->stream || r->return_logits)
            return ed_fail(err, "field encode_only: beam_width, stream and return_logits do not "
                                "apply to encode-only requests");
        r->return_encoder_output = 1;
    }
    /* temperature 0 means greedy, as in TensorRT-LLM. */
    if (r->temperature == 0) {
        r->do_sample = 0;
        r->temperature = 1;
    }
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
    request *r = calloc(1, sizeof *r);
    if (!r) {
        cJSON_Delete(o);
        return ed_fail(err, "out of memory");
    }
    ed_status st = request_schema_read(o, lim->vocab_size, r, err);
    if (!st) st = validate_prefix(r, lim, err);
    if (!st) st = validate_options(r, lim, err);
    cJSON_Delete(o);
    if (r->id) {
        *id_out = cJSON_Duplicate(r->id, 1);
        if (!*id_out && !st) st = ed_fail(err, "out of memory");
    }
    if (st) {
        request_destroy(r);
        return ed_wrap(err, "line %ld: ", line);
    }
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
