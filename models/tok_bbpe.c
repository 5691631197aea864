#include "models/tok_bbpe.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <cjson/cJSON.h>
#include <pcre2.h>
#include <stdlib.h>
#include <string.h>

#include "models/tok_map.h"

/* GPT-2's pre-tokenizer pattern, as the tokenizers library's ByteLevel pre-tokenizer uses it. */
static const char GPT2_PATTERN[] =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

struct tok_bbpe {
    tok_map *vocab;  /* token (byte-mapped UTF-8) -> id */
    char **tokens;   /* id -> token, n_tokens entries (NULL for holes) */
    int n_tokens;
    tok_map *ranks;  /* "left right" -> merge rank */
    pcre2_code *re;
    char byte_char[256][3]; /* byte -> its printable character (UTF-8, NUL-terminated) */
    int char_byte[0x180];   /* code point -> byte, -1 when not in the map */
    int add_prefix_space;
};

static void build_byte_map(tok_bbpe *b) {
    /* Printable Latin-1 bytes map to themselves, the others to U+0100 + k in byte order. */
    int k = 0;
    for (int i = 0; i < 0x180; i++) b->char_byte[i] = -1;
    for (int c = 0; c < 256; c++) {
        int keep = (c >= '!' && c <= '~') || (c >= 0xA1 && c <= 0xAC) || (c >= 0xAE);
        uint32_t cp = keep ? (uint32_t)c : 0x100u + (uint32_t)k++;
        char tmp[4];
        size_t n = utf8_encode(cp, tmp);
        memcpy(b->byte_char[c], tmp, n);
        b->byte_char[c][n] = 0;
        b->char_byte[cp] = c;
    }
}

static ed_status init_common(tok_bbpe **out, const char *origin, ed_error *err) {
    tok_bbpe *b = calloc(1, sizeof *b);
    if (!b) return ed_fail(err, "%s: out of memory", origin);
    build_byte_map(b);
    int ec;
    PCRE2_SIZE eo;
    b->re = pcre2_compile((PCRE2_SPTR)GPT2_PATTERN, PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP,
                          &ec, &eo, NULL);
    if (!b->re) {
        free(b);
        return ed_fail(err, "%s: the GPT-2 pattern does not compile (PCRE2 error %d)", origin, ec);
    }
    pcre2_jit_compile(b->re, PCRE2_JIT_COMPLETE); /* optional: matching works without it */
    b->vocab = tok_map_create(1024);
    b->ranks = tok_map_create(1024);
    if (!b->vocab || !b->ranks) {
        tok_bbpe_destroy(b);
        return ed_fail(err, "%s: out of memory", origin);
    }
    *out = b;
    return ED_OK;
}

static ed_status add_vocab(tok_bbpe *b, const cJSON *vocab, const char *origin, ed_error *err) {
    int max_id = -1;
    for (const cJSON *e = vocab->child; e; e = e->next) {
        if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble > 1e8 ||
            e->valuedouble != (int)e->valuedouble)
            return ed_fail(err, "%s: vocabulary entry \"%s\" must map to an integer id >= 0",
                           origin, e->string);
        if (e->valueint > max_id) max_id = e->valueint;
    }
    if (max_id < 0) return ed_fail(err, "%s: the vocabulary is empty", origin);
    b->n_tokens = max_id + 1;
    if (!(b->tokens = calloc((size_t)b->n_tokens, sizeof *b->tokens)))
        return ed_fail(err, "%s: out of memory", origin);
    for (const cJSON *e = vocab->child; e; e = e->next) {
        size_t n = strlen(e->string);
        if (b->tokens[e->valueint])
            return ed_fail(err, "%s: id %d is given to two tokens (\"%s\" and \"%s\")", origin,
                           e->valueint, b->tokens[e->valueint], e->string);
        if (!(b->tokens[e->valueint] = strdup(e->string)) ||
            tok_map_put(b->vocab, e->string, n, e->valueint))
            return ed_fail(err, "%s: out of memory", origin);
    }
    return ED_OK;
}

static ed_status add_merge(tok_bbpe *b, const char *a, size_t an, const char *c, size_t cn,
                           int rank, const char *origin, ed_error *err) {
    char *key = malloc(an + cn + 2);
    if (!key) return ed_fail(err, "%s: out of memory", origin);
    memcpy(key, a, an);
    key[an] = ' ';
    memcpy(key + an + 1, c, cn);
    /* A pair listed twice keeps its first (lower) rank, as the tokenizers library does. */
    int st = tok_map_get(b->ranks, key, an + cn + 1) >= 0 ? 0
                                                           : tok_map_put(b->ranks, key, an + cn + 1, rank);
    free(key);
    return st ? ed_fail(err, "%s: out of memory", origin) : ED_OK;
}

ed_status tok_bbpe_load(tok_bbpe **out, const char *vocab_json, size_t vocab_len,
                        const char *merges, size_t merges_len, const char *origin, ed_error *err) {
    tok_bbpe *b = NULL;
    if (init_common(&b, origin, err)) return ED_ERR;
    cJSON *v = cJSON_ParseWithLength(vocab_json, vocab_len);
    if (!v || !cJSON_IsObject(v)) {
        cJSON_Delete(v);
        tok_bbpe_destroy(b);
        return ed_fail(err, "%s: vocab.json is not a JSON object of token -> id", origin);
    }
    ed_status st = add_vocab(b, v, origin, err);
    cJSON_Delete(v);
    int rank = 0, line = 0;
    for (size_t i = 0; !st && i < merges_len;) {
        size_t e = i;
        while (e < merges_len && merges[e] != '\n') e++;
        size_t end = e > i && merges[e - 1] == '\r' ? e - 1 : e;
        line++;
        if (end > i && !(line == 1 && !strncmp(merges + i, "#version", 8))) {
            const char *sp = memchr(merges + i, ' ', end - i);
            if (!sp || sp == merges + i || sp + 1 >= merges + end ||
                memchr(sp + 1, ' ', (size_t)(merges + end - sp - 1)))
                st = ed_fail(err, "%s: merges.txt line %d is not two tokens separated by one "
                                  "space", origin, line);
            else
                st = add_merge(b, merges + i, (size_t)(sp - merges - i), sp + 1,
                               (size_t)(merges + end - sp - 1), rank++, origin, err);
        }
        i = e + 1;
    }
    if (st) {
        tok_bbpe_destroy(b);
        return ED_ERR;
    }
    *out = b;
    return ED_OK;
}

ed_status tok_bbpe_load_json(tok_bbpe **out, const void *model_obj, const char *origin,
                             ed_error *err) {
    const cJSON *m = model_obj;
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(m, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(m, "merges");
    if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges))
        return ed_fail(err, "%s: model: a BPE model needs \"vocab\" (object) and \"merges\" "
                            "(array)", origin);
    tok_bbpe *b = NULL;
    if (init_common(&b, origin, err)) return ED_ERR;
    ed_status st = add_vocab(b, vocab, origin, err);
    int rank = 0;
    for (const cJSON *e = merges->child; !st && e; e = e->next, rank++) {
        /* Either "a b" strings or ["a", "b"] pairs (newer tokenizers). */
        const char *a = NULL, *c = NULL;
        size_t an = 0, cn = 0;
        if (cJSON_IsString(e)) {
            const char *sp = strchr(e->valuestring, ' ');
            if (sp) {
                a = e->valuestring;
                an = (size_t)(sp - a);
                c = sp + 1;
                cn = strlen(c);
            }
        } else if (cJSON_IsArray(e) && cJSON_GetArraySize(e) == 2 &&
                   cJSON_IsString(e->child) && cJSON_IsString(e->child->next)) {
            a = e->child->valuestring;
            an = strlen(a);
            c = e->child->next->valuestring;
            cn = strlen(c);
        }
        if (!a) st = ed_fail(err, "%s: model.merges[%d] is not a pair of tokens", origin, rank);
        else st = add_merge(b, a, an, c, cn, rank, origin, err);
    }
    if (st) {
        tok_bbpe_destroy(b);
        return ED_ERR;
    }
    *out = b;
    return ED_OK;
}

void tok_bbpe_destroy(tok_bbpe *b) {
    if (!b) return;
    tok_map_destroy(b->vocab);
    tok_map_destroy(b->ranks);
    for (int i = 0; i < b->n_tokens && b->tokens; i++) free(b->tokens[i]);
    free(b->tokens);
    if (b->re) pcre2_code_free(b->re);
    free(b);
}

int tok_bbpe_size(const tok_bbpe *b) { return b->n_tokens; }
const char *tok_bbpe_token(const tok_bbpe *b, int id) {
    return id >= 0 && id < b->n_tokens ? b->tokens[id] : NULL;
}
int tok_bbpe_token_to_id(const tok_bbpe *b, const char *tok, size_t len) {
    return tok_map_get(b->vocab, tok, len);
}
void tok_bbpe_set_add_prefix_space(tok_bbpe *b, int on) { b->add_prefix_space = on; }

/* One symbol of a word being merged: a byte range of the mapped word. */
typedef struct sym {
    size_t start, len;
} sym;

/* BPE over one pre-token already mapped to byte characters (w[n]): merges the adjacent pair of
 * lowest rank, leftmost first, until none is in the merge table; appends the pieces' ids. */
static int bpe_word(const tok_bbpe *b, const char *w, size_t n, tok_ids *out, ed_error *err) {
    size_t nsym = 0;
    sym *s = NULL;
    char *key = NULL;
    int rc = -1;
    if (!(s = malloc(n * sizeof *s)) || !(key = malloc(n + 2))) goto done;
    for (size_t i = 0; i < n;) {
        size_t cl = utf8_char_len((const unsigned char *)w + i, n - i);
        if (!cl) cl = 1;
        s[nsym++] = (sym){i, cl};
        i += cl;
    }
    for (;;) {
        int best = -1;
        size_t at = 0;
        for (size_t i = 0; i + 1 < nsym; i++) {
            memcpy(key, w + s[i].start, s[i].len);
            key[s[i].len] = ' ';
            memcpy(key + s[i].len + 1, w + s[i + 1].start, s[i + 1].len);
            int r = tok_map_get(b->ranks, key, s[i].len + 1 + s[i + 1].len);
            if (r >= 0 && (best < 0 || r < best)) {
                best = r;
                at = i;
            }
        }
        if (best < 0) break;
        s[at].len += s[at + 1].len;
        memmove(s + at + 1, s + at + 2, (nsym - at - 2) * sizeof *s);
        nsym--;
    }
    for (size_t i = 0; i < nsym; i++) {
        int id = tok_map_get(b->vocab, w + s[i].start, s[i].len);
        if (id < 0) {
            ed_fail(err, "byte-level BPE: the piece \"%.*s\" has no id in the vocabulary",
                    (int)s[i].len, w + s[i].start);
            goto done;
        }
        if (tok_ids_add(out, id)) goto done;
    }
    rc = 0;
done:
    free(s);
    free(key);
    return rc;
}

int tok_bbpe_encode(const tok_bbpe *b, const char *text, size_t len, tok_ids *out, ed_error *err) {
    tok_buf in = {0}, word = {0};
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(b->re, NULL);
    int rc = -1;
    if (!md) goto done;
    if (b->add_prefix_space && len > 0 && text[0] != ' ') {
        if (tok_buf_add(&in, " ", 1)) goto done;
    }
    if (tok_buf_add(&in, text, len)) goto done;
    for (size_t pos = 0; pos < in.len;) {
        int m = pcre2_match(b->re, (PCRE2_SPTR)in.data, in.len, pos, PCRE2_NO_UTF_CHECK, md,
                            NULL);
        if (m < 0) break; /* no more matches: nothing left but unmatched bytes (none here) */
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[1] == ov[0]) { /* an empty match cannot happen with this pattern; stay safe */
            pos = ov[0] + 1;
            continue;
        }
        word.len = 0;
        for (size_t i = ov[0]; i < ov[1]; i++) {
            const char *c = b->byte_char[(unsigned char)in.data[i]];
            if (tok_buf_add(&word, c, strlen(c))) goto done;
        }
        if (bpe_word(b, word.data, word.len, out, err)) goto done;
        pos = ov[1];
    }
    rc = 0;
done:
    if (rc && !err->msg[0]) ed_fail(err, "byte-level BPE: out of memory");
    if (md) pcre2_match_data_free(md);
    free(in.data);
    free(word.data);
    return rc;
}

int tok_bbpe_token_bytes(const tok_bbpe *b, const char *tok, tok_buf *raw) {
    size_t n = strlen(tok);
    for (size_t i = 0; i < n;) {
        size_t cl = utf8_char_len((const unsigned char *)tok + i, n - i);
        if (!cl) cl = 1;
        uint32_t cp = cl > 1 || (unsigned char)tok[i] < 0x80
                          ? utf8_decode((const unsigned char *)tok + i, cl) : 0xFFFFFFFFu;
        int byte = cp < 0x180 ? b->char_byte[cp] : -1;
        unsigned char ch = (unsigned char)byte;
        if (byte >= 0 ? tok_buf_add(raw, &ch, 1) : tok_buf_add(raw, tok + i, cl)) return -1;
        i += cl;
    }
    return 0;
}
