/* Streaming detokenization (models/tokenizer.h): decode the ids so far, hand out what was not
 * handed out yet, holding back the tail a later id could still change. */
#include <stdlib.h>
#include <string.h>

#include "models/tokenizer_internal.h"

struct tokenizer_stream {
    const tokenizer *t;
    int skip_special;
    tok_ids ids;
    size_t emitted;  /* bytes of the decoded text handed out so far */
    tok_buf handed;  /* those bytes */
    char *text;      /* the last full decode (owned) */
    size_t text_len;
};

tokenizer_stream *tokenizer_stream_create(const tokenizer *t, int skip_special) {
    tokenizer_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->t = t;
    s->skip_special = skip_special;
    return s;
}

void tokenizer_stream_destroy(tokenizer_stream *s) {
    if (!s) return;
    free(s->ids.data);
    free(s->text);
    free(s->handed.data);
    free(s);
}

/* How much of text[n] has settled: a trailing U+FFFD may be the start of a character whose
 * remaining bytes come with later ids (byte fallback, byte-level BPE), so it is held back, as is
 * a trailing space when clean_up_tokenization_spaces may still remove it. */
static size_t settled(const tokenizer *t, const char *text, size_t n) {
    n = utf8_complete_prefix(text, n);
    while (n >= 3 && !memcmp(text + n - 3, "\xEF\xBF\xBD", 3)) n -= 3;
    if (t->clean_up) {
        const char *sp = NULL;
        for (size_t i = n; i-- > 0;)
            if (text[i] == ' ') {
                sp = text + i;
                break;
            }
        /* " ." " n't" " 's" ...: every rule starts at a space followed by at most four bytes */
        if (sp && (size_t)(text + n - sp) <= 5) n = (size_t)(sp - text);
    }
    return n;
}

static ed_status redecode(tokenizer_stream *s, ed_error *err) {
    char *text = NULL;
    size_t len = 0;
    if (tokenizer_decode(s->t, s->ids.data, s->ids.len, s->skip_special, &text, &len, err))
        return ED_ERR;
    free(s->text);
    s->text = text;
    s->text_len = len;
    return ED_OK;
}

/* Hands out text[emitted, upto) when the decode still begins with what was handed out. */
static ed_status hand_out(tokenizer_stream *s, size_t upto, const char **piece, size_t *len,
                          ed_error *err) {
    *piece = "";
    *len = 0;
    if (upto <= s->emitted) return ED_OK;
    *piece = s->text + s->emitted;
    *len = upto - s->emitted;
    if (tok_buf_add(&s->handed, *piece, *len)) return ed_fail(err, "stream: out of memory");
    s->emitted = upto;
    return ED_OK;
}

ed_status tokenizer_stream_push(tokenizer_stream *s, int32_t id, const char **piece, size_t *len,
                                ed_error *err) {
    *piece = "";
    *len = 0;
    if (id < 0 || id >= s->t->vocab_size)
        return ed_fail(err, "id %d is outside the vocabulary [0, %d)", id, s->t->vocab_size);
    if (tok_ids_add(&s->ids, id)) return ed_fail(err, "stream: out of memory");
    if (redecode(s, err)) return ED_ERR;
    /* A decode that no longer begins with the text handed out would break the concatenation
     * promise: hold everything until it does again. */
    if (s->text_len < s->emitted || (s->emitted && memcmp(s->text, s->handed.data, s->emitted)))
        return ED_OK;
    return hand_out(s, settled(s->t, s->text, s->text_len), piece, len, err);
}

ed_status tokenizer_stream_finish(tokenizer_stream *s, const char **piece, size_t *len,
                                  ed_error *err) {
    *piece = "";
    *len = 0;
    if (redecode(s, err)) return ED_ERR;
    if (s->text_len < s->emitted || (s->emitted && memcmp(s->text, s->handed.data, s->emitted)))
        return ed_fail(err, "stream: the final text does not begin with the pieces handed out");
    ed_status st = hand_out(s, s->text_len, piece, len, err);
    /* Ready for another sequence; the piece stays valid until the next call (text kept). */
    s->ids.len = 0;
    s->emitted = 0;
    s->handed.len = 0;
    return st;
}
