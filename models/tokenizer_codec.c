/* Encoding and decoding (models/tokenizer.h), per kind as Hugging Face's tokenizer does it. */
#include <stdlib.h>
#include <string.h>

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

/* Rust's char::is_whitespace (Unicode White_Space), in place: each such character of b becomes
 * one ' '. HF's WhitespaceSplit splits on exactly these, after the character map, which leaves
 * some of them alone (U+0085 in the nmt_nfkc map). */
static void unicode_spaces_to_ascii(tok_buf *b) {
    size_t w = 0, cl;
    for (size_t i = 0; i < b->len; i += cl) {
        if (is_space_at(b->data + i, b->len - i, &cl)) {
            b->data[w++] = ' ';
        } else {
            if (!cl) cl = 1; /* not reached: the map writes UTF-8 */
            memmove(b->data + w, b->data + i, cl);
            w += cl;
        }
    }
    b->len = w;
    if (b->data) b->data[w] = 0;
}

/* SentencePiece's whitespace rules (normalizer.cc) over p[pn], text the character map already
 * normalized (n_orig: the length of the text before it), appended to out as the model's
 * normalizer_spec says: remove_extra_whitespaces drops leading spaces, folds each run of spaces to
 * one and drops the spaces at the end (escaped: every trailing U+2581, the text's own included);
 * add_dummy_prefix puts a space before non-empty text; escape_whitespaces writes spaces as U+2581.
 * Returns 0 or -1 (out of memory). */
static int sp_whitespace(const tok_sp_normalizer *ns, const char *p, size_t pn, size_t n_orig,
                         tok_buf *out) {
    const char *mark = ns->escape_whitespaces ? SPIECE : " ";
    size_t ml = strlen(mark), i = 0, start = out->len;
    if (ns->remove_extra_whitespaces)
        while (i < pn && p[i] == ' ') i++;
    if (ns->remove_extra_whitespaces ? i == pn : n_orig == 0) return 0;
    if (ns->add_dummy_prefix && tok_buf_add(out, mark, ml)) return -1;
    for (int prev_space = ns->remove_extra_whitespaces; i < pn; i++) {
        if (p[i] != ' ') prev_space = 0;
        else if (prev_space) continue;
        else prev_space = ns->remove_extra_whitespaces;
        if (p[i] == ' ' ? tok_buf_add(out, mark, ml) : tok_buf_add(out, p + i, 1)) return -1;
    }
    if (ns->remove_extra_whitespaces)
        while (out->len - start >= ml && !memcmp(out->data + out->len - ml, mark, ml))
            out->data[out->len -= ml] = 0;
    return 0;
}

/* A plain stretch of a SentencePiece kind, as transformers 5's classes run it: the model's
 * precompiled character map as HF's Precompiled normalizer applies it (models/tok_charsmap.h),
 * SentencePiece's whitespace rules (which fold whitespace runs as HF's Replace(" {2,}", " ") and
 * WhitespaceSplit do; U+2581 for spaces), then each U+2581-led piece through the model.
 * WhitespaceSplit kinds (T5) split on all of Rust's char::is_whitespace, so what of it the map
 * left counts as a space. Metaspace alone (mBART, NLLB, Pegasus) keeps what SentencePiece drops:
 * a mapped text ending in ' ' ends in a "▁" piece, one of spaces alone is one "▁"; only ' ' counts,
 * and only after the map (which may make a space, as of U+200C, or drop a character after one). */
static int sp_segment(enc_ctx *c, const char *s, size_t n) {
    tok_buf norm = {0};
    c->word.len = 0;
    if (tok_charsmap_normalize(c->t->charsmap, s, n, &norm, c->err)) {
        free(norm.data);
        return -1;
    }
    if (c->t->sp_ws_split) unicode_spaces_to_ascii(&norm);
    const char *p = norm.data ? norm.data : "";
    int rc = sp_whitespace(tok_sp_normalizer_spec(c->t->sp), p, norm.len, n, &c->word);
    rc = rc || tok_buf_add(&c->word, "", 0);
    if (!c->t->sp_ws_split && norm.len > 0 && p[norm.len - 1] == ' ' && !rc)
        rc = tok_buf_add(&c->word, SPIECE, 3); /* lone or trailing: the same "▁" */
    free(norm.data);
    if (rc) return -1;
    const char *w = c->word.data;
    size_t wn = c->word.len, from = 0;
    for (size_t k = 1; k + 3 <= wn; k++)
        if (!memcmp(w + k, SPIECE, 3)) {
            if (sp_piece(c, w + from, k - from)) return -1;
            from = k;
            k += 2;
        }
    return wn > from ? sp_piece(c, w + from, wn - from) : 0;
}

/* Marian and M2M100: transformers' MarianTokenizer and M2M100Tokenizer, Python tokenizers with no
 * fast version. _convert_token_to_id: vocab.json's id (or an added token's, or M2M100's language
 * code's), else the unk token's (a character SentencePiece does not know comes back as its own
 * text, which vocab.json lacks; so does a piece the dictionary left out). */
static int32_t vocab_piece_id(const tokenizer *t, const char *p, size_t n) {
    int id = tok_map_get(t->token_id, p, n);
    return id >= 0 ? id : t->unk_id;
}

/* The SentencePiece library's own pieces of s[n] (Python's sp.encode(text, out_type=str): its
 * normalizer, not HF's Precompiled quirks), each through vocab_piece_id. 0 or -1 (OOM). */
static int vocab_pieces(const tokenizer *t, const char *s, size_t n, tok_ids *ids) {
    char *pieces = NULL;
    size_t np = 0;
    if (tok_sp_encode_pieces(t->sp, s, n, &pieces, &np)) return -1;
    int rc = 0;
    const char *p = pieces;
    for (size_t i = 0; i < np && !rc; i++) {
        size_t pl = strlen(p);
        rc = tok_ids_add(ids, vocab_piece_id(t, p, pl));
        p += pl + 1;
    }
    free(pieces);
    return rc;
}

/* MarianTokenizer._tokenize of one stretch between added tokens: text starting with ">>" up to
 * its first "<<" is one token (a target language code, >>de<<), the rest is source.spm's pieces
 * through vocab.json. */
static int marian_segment(const tokenizer *t, const char *s, size_t n, tok_ids *ids) {
    if (n >= 2 && s[0] == '>' && s[1] == '>')
        for (size_t e = 2; e + 2 <= n; e++)
            if (s[e] == '<' && s[e + 1] == '<') {
                if (tok_ids_add(ids, vocab_piece_id(t, s, e + 2))) return -1;
                s += e + 2;
                n -= e + 2;
                break;
            }
    return vocab_pieces(t, s, n, ids);
}

static int enc_segment(void *vc, const char *s, size_t n) {
    enc_ctx *c = vc;
    switch (c->t->kind) {
    case TK_BART: return tok_bbpe_encode(c->t->bbpe, s, n, c->ids, c->err);
    case TK_BYT5:
        for (size_t i = 0; i < n; i++)
            if (tok_ids_add(c->ids, (int32_t)(unsigned char)s[i] + 3)) return -1;
        return 0;
    case TK_MARIAN: return marian_segment(c->t, s, n, c->ids);
    case TK_M2M100: return vocab_pieces(c->t, s, n, c->ids); /* M2M100Tokenizer._tokenize */
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
    if (src_lang && lang >= 0 && (lang = tokenizer_lang_id(t, src_lang)) < 0)
        return ed_fail(err, "src_lang: '%s' is not a language code of this tokenizer (%s%s)",
                       src_lang, tokenizer_kind(t),
                       t->kind == TK_M2M100 ? ": codes are written as 'en', 'de', ..." : "");
    tok_ids v = {0};
    enc_ctx c = {t, &v, {0}, err};
    err->msg[0] = 0;
    int rc = 0;
    if (t->kind == TK_MBART50 || t->kind == TK_M2M100 || (t->kind == TK_NLLB && !t->legacy))
        rc = tok_ids_add(&v, lang);
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

/* Python's str.isspace: Unicode White_Space plus the separators U+001C..U+001F. */
static int py_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
           c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

/* Python's str.strip() of b, in place. */
static void py_strip(tok_buf *b) {
    size_t start = 0, end = b->len, cl;
    while (start < end && (cl = utf8_char_len((unsigned char *)b->data + start, end - start)) &&
           py_space(utf8_decode((unsigned char *)b->data + start, cl)))
        start += cl;
    while (end > start) {
        size_t st = end;
        do st--; while (st > start && ((unsigned char)b->data[st] & 0xC0) == 0x80);
        cl = utf8_char_len((unsigned char *)b->data + st, end - st);
        if (!cl || !py_space(utf8_decode((unsigned char *)b->data + st, cl))) break;
        end = st;
    }
    if (!b->data) return;
    memmove(b->data, b->data + start, end - start);
    b->len = end - start;
    b->data[b->len] = 0;
}

/* Appends SentencePiece's decode_pieces(pieces[n]); 0 or -1 (out of memory). */
static int add_decoded_pieces(tok_buf *out, const tok_sp *sp, const char **pieces, size_t n) {
    size_t len = 0;
    char *s = tok_sp_decode_pieces(sp, pieces, n, &len);
    int rc = !s || tok_buf_add(out, s, len);
    free(s);
    return rc ? -1 : 0;
}

/* MarianTokenizer's decode of ids[n] (each in range) into out (empty so far): the tokens,
 * special ones dropped when skip_special; the pieces between special tokens through
 * SentencePiece's decode_pieces of source.spm (transformers 5 decodes with it unless the
 * vocabularies are separate, which is refused at load), a special token kept written as itself
 * and a space; then "▁" -> " " and Python's strip(). 0, or -1 (out of memory). */
static int marian_decode(const tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                         tok_buf *out) {
    const char **group = malloc((n ? n : 1) * sizeof *group);
    size_t ng = 0;
    int rc = group ? 0 : -1;
    for (size_t i = 0; i < n && !rc; i++) {
        const char *tok = t->id_token[ids[i]];
        if (!t->special[ids[i]]) {
            group[ng++] = tok;
        } else if (!skip_special) {
            rc = add_decoded_pieces(out, t->sp, group, ng) || tok_buf_add(out, tok, strlen(tok)) ||
                 tok_buf_add(out, " ", 1);
            ng = 0;
        }
    }
    rc = rc || add_decoded_pieces(out, t->sp, group, ng);
    free(group);
    if (rc) return -1;
    size_t w = 0;
    for (size_t i = 0; i < out->len;) {
        if (i + 3 <= out->len && !memcmp(out->data + i, SPIECE, 3)) {
            out->data[w++] = ' ';
            i += 3;
        } else {
            out->data[w++] = out->data[i++];
        }
    }
    out->len = w;
    out->data[w] = 0;
    py_strip(out);
    return 0;
}

/* M2M100Tokenizer's decode of ids[n] (each in range) into out (empty so far), as transformers 5
 * runs it: the tokens (an id HF knows no token for, a made-up word's, is "<unk>"), special ids
 * dropped when skip_special; then its convert_tokens_to_string: the tokens between those written
 * as a special token (a made-up word's "<unk>" too, skip_special or not) through
 * sentencepiece.bpe.model's decode_pieces, a special token's text as it is (no space), then
 * Python's strip(). 0, or -1 (out of memory). */
static int m2m100_decode(const tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                         tok_buf *out) {
    const char **group = malloc((n ? n : 1) * sizeof *group);
    size_t ng = 0;
    int rc = group ? 0 : -1;
    for (size_t i = 0; i < n && !rc; i++) {
        if (skip_special && t->special[ids[i]]) continue;
        const char *tok = t->id_token[ids[i]];
        int as_is = tokenizer_is_special(t, tok_map_get(t->token_id, tok, strlen(tok)));
        if (!as_is) {
            group[ng++] = tok;
        } else {
            rc = add_decoded_pieces(out, t->sp, group, ng) || tok_buf_add(out, tok, strlen(tok));
            ng = 0;
        }
    }
    rc = rc || add_decoded_pieces(out, t->sp, group, ng);
    free(group);
    if (rc) return -1;
    py_strip(out);
    return 0;
}

/* The other kinds' decode of ids[n] (each in range), appended to out: byte-level BPE and ByT5
 * gather bytes and make text of them at the end; SentencePiece kinds' Metaspace decoder turns
 * U+2581 into ' ', the first token's leading one dropped. 0, or -1 (out of memory). */
static int tokens_decode(const tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                         tok_buf *out) {
    tok_buf raw = {0};
    int rc = 0, first = 1;
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
            size_t tl = strlen(tok);
            for (size_t k = 0; k < tl && !rc;) {
                if (k + 3 <= tl && !memcmp(tok + k, SPIECE, 3)) {
                    if (!(first && k == 0)) rc = tok_buf_add(out, " ", 1);
                    k += 3;
                } else {
                    rc = tok_buf_add(out, tok + k, 1);
                    k++;
                }
            }
            first = 0;
        }
        }
    }
    if (!rc) {
        if (t->kind == TK_BART) rc = tok_buf_add_lossy(out, (unsigned char *)raw.data, raw.len);
        else if (t->kind == TK_BYT5) rc = tok_buf_add_ignore(out, (unsigned char *)raw.data, raw.len);
    }
    free(raw.data);
    return rc;
}

ed_status tokenizer_decode(const tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                           char **text, size_t *len, ed_error *err) {
    *text = NULL;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= t->vocab_size)
            return ed_fail(err, "ids[%zu] = %d is outside the vocabulary [0, %d)", i, ids[i],
                           t->vocab_size);
    tok_buf out = {0};
    int rc = tok_buf_add(&out, "", 0);
    rc = rc || (t->kind == TK_MARIAN   ? marian_decode(t, ids, n, skip_special, &out)
                : t->kind == TK_M2M100 ? m2m100_decode(t, ids, n, skip_special, &out)
                                       : tokens_decode(t, ids, n, skip_special, &out));
    if (rc) {
        free(out.data);
        return ed_fail(err, "decode: out of memory");
    }
    if (t->clean_up) clean_up(&out);
    *text = out.data;
    if (len) *len = out.len;
    return ED_OK;
}
