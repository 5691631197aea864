/* Encoding and decoding (models/tokenizer.h), per kind as Hugging Face's tokenizer does it. */
#include <stdlib.h>
#include <string.h>

#include "models/tok_normalize.h"
#include "models/tokenizer_internal.h"

#define SPIECE "\xE2\x96\x81" /* U+2581, SentencePiece's whitespace mark */

typedef struct enc_ctx {
    const tokenizer *t;
    tok_ids *ids;
    tok_buf word;
    ed_error *err;
} enc_ctx;

static int is_space_at(const char *s, size_t n, size_t *cl) {
    *cl = utf8_char_len((const unsigned char *)s, n);
    if (!*cl) return 0;
    uint32_t c = utf8_decode((const unsigned char *)s, *cl);
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* One SentencePiece pre-token (starting with U+2581 or not) through the model. */
static int sp_piece(enc_ctx *c, const char *w, size_t n) {
    const tokenizer *t = c->t;
    size_t first = c->ids->len;
    if (t->uni ? tok_unigram_encode(t->uni, w, n, c->ids) : tok_spbpe_encode(t->spbpe, w, n, c->ids))
        return -1;
    for (size_t i = first; i < c->ids->len; i++) c->ids->data[i] = tok_sp_to_id(t, c->ids->data[i]);
    return 0;
}

/* Metaspace on one stretch: U+2581 for ' ', U+2581 prepended unless there, then split before
 * each U+2581 (the mark stays with the piece after it); each piece through the model. */
static int metaspace(enc_ctx *c, const char *s, size_t n) {
    c->word.len = 0;
    if (s[0] != ' ' && (n < 3 || memcmp(s, SPIECE, 3)) && tok_buf_add(&c->word, SPIECE, 3))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ' ' ? tok_buf_add(&c->word, SPIECE, 3) : tok_buf_add(&c->word, s + i, 1))
            return -1;
    const char *w = c->word.data;
    size_t wn = c->word.len, from = 0;
    for (size_t k = 3; k + 3 <= wn; k++)
        if (!memcmp(w + k, SPIECE, 3)) {
            if (sp_piece(c, w + from, k - from)) return -1;
            from = k;
            k += 2;
        }
    return sp_piece(c, w + from, wn - from);
}

/* TOK_NORM_FAIRSEQ into out: tabs and newlines to spaces, NFKC, trailing whitespace stripped,
 * runs of two or more spaces to one U+2581. */
static int norm_fairseq(const char *s, size_t n, tok_buf *out) {
    tok_buf a = {0}, b = {0};
    int rc = -1;
    for (size_t i = 0; i < n; i++)
        if (tok_buf_add(&a, s[i] == '\n' || s[i] == '\r' || s[i] == '\t' ? " " : s + i, 1))
            goto done;
    if (tok_buf_add(&a, "", 0) || tok_nfkc(a.data, a.len, &b) || tok_buf_add(&b, "", 0)) goto done;
    size_t end = b.len, cl;
    while (end > 0) { /* Strip(right): Unicode White_Space */
        size_t st = end - 1;
        while (st > 0 && ((unsigned char)b.data[st] & 0xC0) == 0x80) st--;
        if (!is_space_at(b.data + st, end - st, &cl)) break;
        end = st;
    }
    out->len = 0;
    if (tok_buf_add(out, "", 0)) goto done;
    for (size_t i = 0; i < end;) {
        size_t j = i;
        while (j < end && b.data[j] == ' ') j++;
        if (j - i >= 2) {
            if (tok_buf_add(out, SPIECE, 3)) goto done;
            i = j;
        } else {
            if (tok_buf_add(out, b.data + i, 1)) goto done;
            i++;
        }
    }
    rc = 0;
done:
    free(a.data);
    free(b.data);
    return rc;
}

/* A plain stretch of a SentencePiece kind: HF's normalizer, then WhitespaceSplit + Metaspace
 * (T5) or Metaspace alone, then the model. */
static int sp_segment(enc_ctx *c, const char *s, size_t n) {
    tok_buf norm = {0};
    int rc = 0;
    if (c->t->sp_normalize == TOK_NORM_FAIRSEQ) {
        if (norm_fairseq(s, n, &norm)) {
            free(norm.data);
            return -1;
        }
        s = norm.data;
        n = norm.len;
    }
    if (!c->t->sp_ws_split) {
        rc = n ? metaspace(c, s, n) : 0;
        free(norm.data);
        return rc;
    }
    size_t i = 0;
    while (i < n && !rc) {
        size_t cl;
        while (i < n && is_space_at(s + i, n - i, &cl)) i += cl;
        size_t start = i;
        while (i < n && !is_space_at(s + i, n - i, &cl)) i += cl ? cl : 1;
        if (i == start) break;
        rc = metaspace(c, s + start, i - start);
    }
    free(norm.data);
    return rc;
}

static int enc_segment(void *vc, const char *s, size_t n) {
    enc_ctx *c = vc;
    switch (c->t->kind) {
    case TK_BART: return tok_bbpe_encode(c->t->bbpe, s, n, c->ids, c->err);
    case TK_BYT5:
        for (size_t i = 0; i < n; i++)
            if (tok_ids_add(c->ids, (int32_t)(unsigned char)s[i] + 3)) return -1;
        return 0;
    default: return sp_segment(c, s, n);
    }
}

static int enc_added(void *vc, const tok_added *a) {
    enc_ctx *c = vc;
    return tok_ids_add(c->ids, a->id);
}

ed_status tokenizer_encode(const tokenizer *t, const char *text, size_t len, const char *src_lang,
                           int32_t **ids, size_t *n, ed_error *err) {
    *ids = NULL;
    *n = 0;
    for (size_t i = 0; i < len;) {
        size_t cl = utf8_char_len((const unsigned char *)text + i, len - i);
        if (!cl) return ed_fail(err, "text: invalid UTF-8 at byte %zu", i);
        i += cl;
    }
    int lang = t->src_lang_id;
    if (src_lang && lang >= 0) {
        lang = tok_map_get(t->token_id, src_lang, strlen(src_lang));
        const tok_added *a = lang >= 0 ? tok_added_find(&t->added, src_lang, strlen(src_lang))
                                       : NULL;
        if (!a || !a->special || !strchr(src_lang, '_'))
            return ed_fail(err, "src_lang: '%s' is not a language code of this tokenizer (%s)",
                           src_lang, tokenizer_kind(t));
    }
    tok_ids v = {0};
    enc_ctx c = {t, &v, {0}, err};
    err->msg[0] = 0;
    int rc = 0;
    if (t->kind == TK_MBART50 || (t->kind == TK_NLLB && !t->legacy)) rc = tok_ids_add(&v, lang);
    if (t->kind == TK_BART) rc = rc || tok_ids_add(&v, t->bos_id);
    rc = rc || tok_added_split(&t->added, text, len, enc_segment, enc_added, &c);
    rc = rc || tok_ids_add(&v, t->eos_id);
    if (t->kind == TK_MBART || (t->kind == TK_NLLB && t->legacy)) rc = rc || tok_ids_add(&v, lang);
    free(c.word.data);
    if (rc) {
        free(v.data);
        if (!err->msg[0]) ed_fail(err, "text: out of memory");
        return ED_ERR;
    }
    *ids = v.data;
    *n = v.len;
    return ED_OK;
}

/* "<0xAB>" -> 0xAB, else -1. */
static int byte_piece(const char *s) {
    if (strlen(s) != 6 || strncmp(s, "<0x", 3) || s[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* transformers' clean_up_tokenization: " ." -> "." and the like, in place. */
static void clean_up(tok_buf *b) {
    static const char *const from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " 's",
                                       " 've", " 're"};
    static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m", "'s", "'ve", "'re"};
    for (size_t r = 0; r < sizeof from / sizeof from[0]; r++) {
        size_t fl = strlen(from[r]), tl = strlen(to[r]), w = 0;
        for (size_t i = 0; i < b->len;) {
            if (i + fl <= b->len && !memcmp(b->data + i, from[r], fl)) {
                memmove(b->data + w, to[r], tl);
                w += tl;
                i += fl;
            } else {
                b->data[w++] = b->data[i++];
            }
        }
        b->len = w;
        b->data[w] = 0;
    }
}

/* Appends a run of byte-fallback bytes: the text when they are valid UTF-8, else one U+FFFD per
 * byte (the tokenizers library's ByteFallback decoder). */
static int flush_bytes(tok_buf *out, tok_buf *bytes) {
    int rc = 0;
    if (!bytes->len) return 0;
    int valid = 1;
    for (size_t i = 0; i < bytes->len && valid;) {
        size_t cl = utf8_char_len((const unsigned char *)bytes->data + i, bytes->len - i);
        valid = cl > 0;
        i += cl;
    }
    if (valid) rc = tok_buf_add(out, bytes->data, bytes->len);
    else
        for (size_t i = 0; i < bytes->len && !rc; i++) rc = tok_buf_add(out, "\xEF\xBF\xBD", 3);
    bytes->len = 0;
    return rc;
}

ed_status tokenizer_decode(const tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                           char **text, size_t *len, ed_error *err) {
    tok_buf out = {0}, raw = {0};
    int rc = tok_buf_add(&out, "", 0), first = 1;
    *text = NULL;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= t->vocab_size) {
            free(out.data);
            return ed_fail(err, "ids[%zu] = %d is outside the vocabulary [0, %d)", i, ids[i],
                           t->vocab_size);
        }
    for (size_t i = 0; i < n && !rc; i++) {
        int32_t id = ids[i];
        if (skip_special && t->special[id]) continue;
        const char *tok = t->id_token[id];
        const tok_added *a = tok_added_find(&t->added, tok, strlen(tok));
        switch (t->kind) {
        case TK_BART:
            rc = a ? tok_buf_add(&raw, tok, strlen(tok)) : tok_bbpe_token_bytes(t->bbpe, tok, &raw);
            break;
        case TK_BYT5:
            if (!a && id >= 3 && id < 259) {
                unsigned char b = (unsigned char)(id - 3);
                rc = tok_buf_add(&raw, &b, 1);
            } else {
                rc = tok_buf_add(&raw, tok, strlen(tok));
            }
            break;
        default: {
            int b = t->byte_fallback && !a ? byte_piece(tok) : -1;
            if (b >= 0) {
                unsigned char ch = (unsigned char)b;
                rc = tok_buf_add(&raw, &ch, 1);
                first = 0;
                break;
            }
            rc = flush_bytes(&out, &raw);
            /* Metaspace: U+2581 -> ' ', the first token's leading space dropped. */
            size_t tl = strlen(tok);
            for (size_t k = 0; k < tl && !rc;) {
                if (k + 3 <= tl && !memcmp(tok + k, SPIECE, 3)) {
                    if (!(first && k == 0)) rc = tok_buf_add(&out, " ", 1);
                    k += 3;
                } else {
                    rc = tok_buf_add(&out, tok + k, 1);
                    k++;
                }
            }
            first = 0;
        }
        }
    }
    if (!rc) {
        if (t->kind == TK_BART) rc = tok_buf_add_lossy(&out, (unsigned char *)raw.data, raw.len);
        else if (t->kind == TK_BYT5) rc = tok_buf_add_ignore(&out, (unsigned char *)raw.data, raw.len);
        else rc = flush_bytes(&out, &raw);
    }
    free(raw.data);
    if (rc) {
        free(out.data);
        return ed_fail(err, "decode: out of memory");
    }
    if (t->clean_up) clean_up(&out);
    *text = out.data;
    if (len) *len = out.len;
    return ED_OK;
}
