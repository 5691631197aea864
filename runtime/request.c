#include "runtime/request.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "models/tokenizer.h"
#include "runtime/reply.h"
#include "runtime/request_schema.h"

/* text -> input_ids through the model's tokenizer (src_lang placed as its HF class does), and
 * tgt_lang -> forced_bos_id. */
static ed_status resolve_text(request *r, const request_limits *lim, ed_error *err) {
    if (r->text && r->input_ids) return ed_fail(err, "field text: give text or input_ids, not both");
    if (!r->text && !r->input_ids) return ed_fail(err, "field input_ids is required (or text)");
    if ((r->text || r->tgt_lang || r->src_lang || r->stop_strings) && !lim->tok)
        return ed_fail(err, "field %s: the model file carries no tokenizer (convert it from a "
                            "Hugging Face folder with its tokenizer files); send token ids",
                       r->text ? "text" : r->tgt_lang ? "tgt_lang" : r->src_lang ? "src_lang"
                                                                                  : "stop");
    if (r->stop_strings && r->beam_width > 1)
        return ed_fail(err, "field stop: stop strings work with greedy decoding and sampling, "
                            "not with beam search (use stop_sequences of token ids)");
    if (r->src_lang && !r->text)
        return ed_fail(err, "field src_lang applies to text only");
    if (r->tgt_lang) {
        /* A language code as the tokenizer's class takes it (M2M100: "de" is "__de__"), else
         * (mBART-50, NLLB: the code is its own token) any token of the vocabulary. */
        int id = tokenizer_lang_id(lim->tok, r->tgt_lang);
        if (id < 0 && strcmp(tokenizer_kind(lim->tok), "m2m100"))
            id = tokenizer_token_to_id(lim->tok, r->tgt_lang);
        if (id < 0 || id >= lim->vocab_size)
            return ed_fail(err, "field tgt_lang: '%.64s' is not a language code or token of the "
                                "model's tokenizer", r->tgt_lang);
        if (r->forced_bos_id != REQUEST_FIELD_UNSET && r->forced_bos_id != id)
            return ed_fail(err, "field tgt_lang: forced_bos_id %d names another token",
                           r->forced_bos_id);
        r->forced_bos_id = id;
    }
    if (!r->text) return ED_OK;
    size_t n = 0;
    ed_error terr;
    if (tokenizer_encode(lim->tok, r->text, strlen(r->text), r->src_lang, &r->input_ids, &n,
                         &terr))
        return ed_fail(err, "field %s: %s", r->src_lang && strstr(terr.msg, r->src_lang)
                                                ? "src_lang" : "text", terr.msg);
    if (n > (size_t)lim->max_input_len)
        return ed_fail(err, "field text: %zu tokens exceed max_input_len %d", n,
                       lim->max_input_len);
    for (size_t i = 0; i < n; i++)
        if (r->input_ids[i] < 0 || r->input_ids[i] >= lim->vocab_size)
            return ed_fail(err, "field text: token %d is outside the model's vocabulary [0, %d)",
                           r->input_ids[i], lim->vocab_size);
    r->n_input = (int)n;
    return ED_OK;
}

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

/* Length of the valid UTF-8 sequence at p (n bytes left), 0 if it is not one (RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
static size_t utf8_len(const unsigned char *p, size_t n) {
    unsigned lo = 0x80, hi = 0xBF;
    size_t len;
    if (p[0] < 0x80) return 1;
    if (p[0] >= 0xC2 && p[0] <= 0xDF) len = 2;
    else if (p[0] == 0xE0) len = 3, lo = 0xA0;
    else if (p[0] == 0xED) len = 3, hi = 0x9F;
    else if (p[0] >= 0xE1 && p[0] <= 0xEF) len = 3;
    else if (p[0] == 0xF0) len = 4, lo = 0x90;
    else if (p[0] >= 0xF1 && p[0] <= 0xF3) len = 4;
    else if (p[0] == 0xF4) len = 4, hi = 0x8F;
    else return 0;
    if (n < len || p[1] < lo || p[1] > hi) return 0;
    for (size_t i = 2; i < len; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return len;
}

/* The bytes of a line no JSON parser is shown: a NUL byte, invalid UTF-8, or the string escape
 * \u0000 (cJSON's strings end at a NUL, so such a string would be cut short, and a NUL byte would
 * end the line early). The first fault is reported, naming the top-level field it lies in (or a
 * key, or its column); the whole line is scanned so that *id_clean = 0 if any fault lies in a key
 * or in the value of the field id (then the id is not echoed). */
static ed_status check_line_text(const char *text, size_t len, int *id_clean, ed_error *err) {
    const unsigned char *t = (const unsigned char *)text;
    int depth = 0, in_string = 0, expect_key = 0, string_is_key = 0, failed = 0;
    const char *key = NULL, *key_start = NULL; /* the top-level key whose value is scanned */
    size_t key_len = 0;
    *id_clean = 1;
    for (size_t i = 0, n; i < len; i += n) {
        const char *what = NULL;
        n = 1;
        if (t[i] == 0) {
            what = "a NUL byte";
        } else if (t[i] >= 0x80) {
            if (!(n = utf8_len(t + i, len - i))) what = "invalid UTF-8", n = 1;
        } else if (in_string && t[i] == '\\') {
            if (len - i >= 6 && !memcmp(text + i + 1, "u0000", 5))
                what = "\\u0000 (a NUL character)";
            else if (i + 1 < len && t[i + 1] && t[i + 1] < 0x80) n = 2; /* the escaped character */
        } else if (in_string && t[i] == '"') {
            in_string = 0;
            if (string_is_key) key = key_start, key_len = (size_t)(text + i - key_start);
        } else if (!in_string) {
            switch (t[i]) {
            case '"':
                in_string = 1;
                string_is_key = depth == 1 && expect_key;
                if (string_is_key) key_start = text + i + 1;
                break;
            case '{': case '[': expect_key = ++depth == 1 && t[i] == '{'; break;
            case '}': case ']': if (--depth <= 0) key = NULL; break;
            case ',': if (depth == 1) expect_key = 1, key = NULL; break;
            case ':': if (depth == 1) expect_key = 0; break;
            default: break;
            }
        }
        if (!what) continue;
        int in_key = in_string && string_is_key;
        if (in_key || (key && ((key_len == 2 && !memcmp(key, "id", 2)) ||
                               memchr(key, '\\', key_len)))) /* an escaped key may spell id */
            *id_clean = 0;
        if (failed) continue;
        failed = 1;
        if (in_key) ed_fail(err, "a key holds %s at column %zu", what, i + 1);
        else if (key) ed_fail(err, "field %.*s holds %s at column %zu",
                              request_text_clip(key, key_len, 64), key, what, i + 1);
        else ed_fail(err, "%s at column %zu", what, i + 1);
    }
    return failed ? ED_ERR : ED_OK;
}

/* Where cJSON stopped on a line that is not JSON, for the message: the column (1-based) and byte
 * offset, the text before that point (at most EXCERPT_BYTES, "..." when cut) and from it. A line
 * that ends before its JSON is complete is called truncated: cJSON reports a parse that ran out
 * of input at the last byte, like a fault there, so the line is parsed again with one space
 * appended; a stop inside that space is a parse that needed more input, and so is a string left
 * open (cJSON stops at its start). cJSON_GetErrorPtr is not
 * used: it is one global, and lines are parsed on the intake thread. Only runs on refused lines;
 * the text passed check_line_text (valid UTF-8, no NUL), so excerpts are cut at characters. */
enum { EXCERPT_BYTES = 24 };
static ed_status describe_json_error(const char *text, size_t len, const char *stop,
                                     ed_error *err) {
    size_t pos = stop && stop >= text && stop < text + len ? (size_t)(stop - text) : 0;
    int truncated = 0;
    char *padded = malloc(len + 1);
    if (padded) {
        memcpy(padded, text, len);
        padded[len] = ' ';
        const char *stop2 = NULL;
        cJSON_Delete(cJSON_ParseWithLengthOpts(padded, len + 1, &stop2, 0));
        truncated = stop2 && stop2 >= padded + len;
        free(padded);
    }
    /* cJSON reports a string left open at its start: open when no unescaped quote follows. */
    if (!truncated && pos > 0 && text[pos - 1] == '"') {
        size_t i = pos;
        while (i < len && text[i] != '"') i += text[i] == '\\' ? 2 : 1;
        truncated = i >= len;
    }
    size_t end = len; /* the line without trailing whitespace */
    while (end > 0 && text[end - 1] && strchr(" \t\r\n", text[end - 1])) end--;
    if (truncated) pos = end;
    size_t from = pos > EXCERPT_BYTES ? pos - EXCERPT_BYTES : 0;
    while (from < pos && ((unsigned char)text[from] & 0xC0) == 0x80) from++;
    const char *cut = from > 0 ? "..." : "";
    int before = (int)(pos - from);
    if (truncated)
        return ed_fail(err, "truncated JSON: the line ends (column %zu) before the JSON is "
                            "complete, after '%s%.*s'", end, cut, before, text + from);
    size_t rest = end > pos ? end - pos : 0;
    int at = request_text_clip(text + pos, rest, EXCERPT_BYTES / 2);
    const char *more = (size_t)at < rest ? "..." : "";
    if (pos == 0)
        return ed_fail(err, "invalid JSON at column 1 (byte offset 0): parsing stopped at "
                            "'%.*s%s'", at, text, more);
    return ed_fail(err, "invalid JSON at column %zu (byte offset %zu): parsing stopped at "
                        "'%.*s%s', after '%s%.*s'", pos + 1, pos, at, text + pos, more, cut,
                   before, text + from);
}

ed_status request_parse(const char *text, size_t len, long line, const request_limits *lim,
                        request **out, cJSON **id_out, ed_error *err) {
    *out = NULL;
    *id_out = NULL;
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    request *r = calloc(1, sizeof *r);
    if (!r) {
        cJSON_Delete(o);
        return ed_fail(err, "out of memory");
    }
    int id_clean;
    ed_status st = check_line_text(text, len, &id_clean, err);
    if (!st && !cJSON_IsObject(o)) {
        if (o) st = ed_fail(err, "not a JSON object: a request is one {...} per line");
        else st = describe_json_error(text, len, end, err);
    }
    if (!st && end) {
        while (end < text + len && strchr(" \t\r\n", *end) && *end) end++;
        if (end < text + len)
            st = ed_fail(err, "trailing text after the JSON object at column %zu",
                         (size_t)(end - text) + 1);
    }
    if (!st) {
        st = request_schema_read(o, lim->vocab_size, r, err);
        if (!st) st = resolve_text(r, lim, err);
        if (!st) st = validate_prefix(r, lim, err);
        if (!st) st = validate_options(r, lim, err);
    } else if (id_clean && cJSON_IsObject(o)) {
        ed_error ignored; /* the line's own fault is reported; the id only if it reads cleanly */
        request_schema_read_id(o, r, &ignored);
    }
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
    free(r->text);
    for (int i = 0; i < r->n_stop_strings; i++) free(r->stop_strings[i]);
    free(r->stop_strings);
    free(r->src_lang);
    free(r->tgt_lang);
    reply_release(r->reply);
    free(r);
}

void request_set_reply(request *r, reply *to, int index) {
    reply_retain(to);
    reply_release(r->reply);
    r->reply = to;
    r->reply_index = index;
}
