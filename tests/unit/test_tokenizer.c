/* Tokenizers (models/tokenizer.h).
 *
 * test_tokenizer local LOCAL_DIR SCRATCH_DIR: tokenizers trained here (tests/golden/tokenizers/
 * local, gen_tokenizer_fixtures.py --sources-only) on 600 held-out lines: ids inside the vocabulary
 * with each kind's special tokens in place; byte-level BPE and ByT5 give the text back exactly and
 * SentencePiece kinds do on plain single-spaced ASCII; streaming pieces are whole UTF-8 and
 * concatenate to the decode; the .h5 round trip gives the same ids; known answers (ByT5 bytes,
 * <extra_id_0>, src_lang placement, NLLB legacy, Marian's vocab.json ids and >>xx<< codes,
 * Pegasus' offset ids, M2M100's vocab.json ids, __xx__ codes and made-up words); whitespace
 * judged after the character map (T5 splits on U+0085, mBART's trailing "▁" follows the mapped
 * text); a dropped BPE merge changes ids (the comparison can fail); bad files give errors naming
 * the file; the precompiled charsmap applied as Hugging Face does (per grapheme cluster, not
 * SentencePiece's longest match) and corrupt ones refused.
 *
 * test_tokenizer hf FIXTURES_DIR SCRATCH_DIR: parity with Hugging Face on the fixtures
 * gen_tokenizer_fixtures.py makes with transformers (every recorded line: HF's ids exactly,
 * decode(ids, skip_special_tokens=True) HF's text exactly, streaming pieces adding up to it;
 * where recorded, decode(ids) with special tokens kept, decode-only records and every language
 * code's id, meta.json's lang_ids). */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "models/h5_model.h"
#include "models/tok_charsmap.h"
#include "models/tok_sp.h"
#include "models/tok_utf8.h"
#include "models/tokenizer.h"
#include "tests/unit/check.h"

typedef struct fx_case {
    char *name, *text, *src_lang, *decoded, *decoded_keep; /* text NULL: a decode-only record */
    size_t text_len, decoded_len, keep_len;                 /* decoded_keep NULL: not recorded */
    int32_t *ids;
    size_t n_ids;
    int legacy;
} fx_case;

typedef struct fixture {
    fx_case *cases;
    size_t n;
} fixture;

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    tok_buf b = {0};
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) tok_buf_add(&b, chunk, got);
    fclose(f);
    tok_buf_add(&b, "", 0);
    if (len) *len = b.len;
    return b.data;
}

/* A JSON string's bytes (cJSON keeps "\u0000"-free UTF-8; lengths from strlen). */
static char *dup_str(const cJSON *v, size_t *len) {
    if (!cJSON_IsString(v)) return NULL;
    if (len) *len = strlen(v->valuestring);
    return strdup(v->valuestring);
}

static int load_fixture(const char *path, fixture *fx) {
    gzFile g = gzopen(path, "rb");
    if (!g) return -1;
    tok_buf line = {0};
    char chunk[65536];
    size_t cap = 0;
    memset(fx, 0, sizeof *fx);
    for (;;) {
        line.len = 0;
        int eof = 1;
        while (gzgets(g, chunk, sizeof chunk)) {
            eof = 0;
            tok_buf_add(&line, chunk, strlen(chunk));
            if (line.len && line.data[line.len - 1] == '\n') break;
        }
        if (eof) break;
        cJSON *o = cJSON_Parse(line.data);
        if (!o) continue;
        if (fx->n == cap) {
            cap = cap ? 2 * cap : 1024;
            fx->cases = realloc(fx->cases, cap * sizeof *fx->cases);
        }
        fx_case *c = &fx->cases[fx->n++];
        memset(c, 0, sizeof *c);
        c->name = dup_str(cJSON_GetObjectItem(o, "case"), NULL);
        c->text = dup_str(cJSON_GetObjectItem(o, "text"), &c->text_len);
        c->src_lang = dup_str(cJSON_GetObjectItem(o, "src_lang"), NULL);
        c->decoded = dup_str(cJSON_GetObjectItem(o, "decoded"), &c->decoded_len);
        c->decoded_keep = dup_str(cJSON_GetObjectItem(o, "decoded_keep"), &c->keep_len);
        c->legacy = cJSON_IsTrue(cJSON_GetObjectItem(o, "legacy_behaviour"));
        const cJSON *ids = cJSON_GetObjectItem(o, "ids");
        c->n_ids = (size_t)cJSON_GetArraySize(ids);
        c->ids = malloc((c->n_ids + 1) * sizeof *c->ids);
        size_t i = 0;
        for (const cJSON *e = ids ? ids->child : NULL; e; e = e->next) c->ids[i++] = e->valueint;
        cJSON_Delete(o);
    }
    gzclose(g);
    free(line.data);
    return 0;
}

static void free_fixture(fixture *fx) {
    for (size_t i = 0; i < fx->n; i++) {
        free(fx->cases[i].name);
        free(fx->cases[i].text);
        free(fx->cases[i].src_lang);
        free(fx->cases[i].decoded);
        free(fx->cases[i].decoded_keep);
        free(fx->cases[i].ids);
    }
    free(fx->cases);
}

static void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "    %s [", what);
    for (size_t i = 0; i < n; i++) fprintf(stderr, i ? ", %d" : "%d", ids[i]);
    fprintf(stderr, "]\n");
}

/* Streams c's ids one at a time: the pieces must be whole UTF-8 and concatenate to want. */
static int stream_ok(const tokenizer *t, const int32_t *ids, size_t n, const char *want,
                     size_t want_len, int skip) {
    tokenizer_stream *s = tokenizer_stream_create(t, skip);
    tok_buf all = {0};
    int ok = s != NULL;
    ed_error err;
    tok_buf_add(&all, "", 0);
    for (size_t i = 0; i <= n && ok; i++) {
        const char *piece;
        size_t len;
        ed_status st = i < n ? tokenizer_stream_push(s, ids[i], &piece, &len, &err)
                             : tokenizer_stream_finish(s, &piece, &len, &err);
        if (st) {
            fprintf(stderr, "    stream: %s\n", err.msg);
            ok = 0;
            break;
        }
        for (size_t k = 0; k < len && ok;) {
            size_t cl = utf8_char_len((const unsigned char *)piece + k, len - k);
            if (!cl) {
                fprintf(stderr, "    stream: piece %zu splits a UTF-8 character\n", i);
                ok = 0;
            }
            k += cl;
        }
        tok_buf_add(&all, piece, len);
    }
    if (ok && (all.len != want_len || memcmp(all.data, want, want_len))) {
        fprintf(stderr, "    stream: pieces concatenate to \"%s\", decode gives \"%s\"\n",
                all.data, want);
        ok = 0;
    }
    free(all.data);
    tokenizer_stream_destroy(s);
    return ok;
}

/* Runs every case of fx through t (legacy cases through t_legacy): HF's ids from the text (not
 * for decode-only records), decode(ids, skip_special_tokens=True) and, where recorded,
 * decode(ids) with the special tokens kept, and streaming; returns the mismatching cases. */
static int run_cases(const char *kind, const tokenizer *t, const tokenizer *t_legacy,
                     const fixture *fx, int verbose, int *n_run) {
    int bad = 0, shown = 0;
    *n_run = 0;
    for (size_t i = 0; i < fx->n; i++) {
        const fx_case *c = &fx->cases[i];
        const tokenizer *tt = c->legacy ? t_legacy : t;
        if (!tt) continue;
        (*n_run)++;
        int32_t *ids = NULL;
        size_t n = 0;
        ed_error err;
        int ok = 1;
        if (!c->text) {
            /* decode-only: nothing to encode */
        } else if (tokenizer_encode(tt, c->text, c->text_len, c->src_lang, &ids, &n, &err)) {
            if (verbose && shown < 8) fprintf(stderr, "  %s %s: encode: %s\n", kind, c->name, err.msg);
            ok = 0;
        } else if (n != c->n_ids || memcmp(ids, c->ids, n * sizeof *ids)) {
            if (verbose && shown < 8) {
                fprintf(stderr, "  %s %s: ids differ for \"%s\"\n", kind, c->name, c->text);
                print_ids("HF  ", c->ids, c->n_ids);
                print_ids("ours", ids, n);
            }
            ok = 0;
        }
        free(ids);
        char *text = NULL;
        size_t tl = 0;
        if (tokenizer_decode(tt, c->ids, c->n_ids, 1, &text, &tl, &err)) {
            if (verbose && shown < 8) fprintf(stderr, "  %s %s: decode: %s\n", kind, c->name, err.msg);
            ok = 0;
        } else if (tl != c->decoded_len || memcmp(text, c->decoded, tl)) {
            if (verbose && shown < 8)
                fprintf(stderr, "  %s %s: decode gives \"%s\", HF \"%s\"\n", kind, c->name, text,
                        c->decoded);
            ok = 0;
        } else if (!stream_ok(tt, c->ids, c->n_ids, c->decoded, c->decoded_len, 1)) {
            if (verbose && shown < 8) fprintf(stderr, "  %s %s: streaming differs\n", kind, c->name);
            ok = 0;
        }
        free(text);
        text = NULL;
        if (ok && c->decoded_keep &&
            (tokenizer_decode(tt, c->ids, c->n_ids, 0, &text, &tl, &err) ||
             tl != c->keep_len || memcmp(text, c->decoded_keep, tl))) {
            if (verbose && shown < 8)
                fprintf(stderr, "  %s %s: decode with special tokens gives \"%s\", HF \"%s\"\n",
                        kind, c->name, text ? text : err.msg, c->decoded_keep);
            ok = 0;
        }
        free(text);
        if (!ok) {
            bad++;
            shown++;
        }
    }
    return bad;
}

/* The files of an HF directory, as tokenizer_load_files takes them; `patch` (may be NULL)
 * edits one file's bytes (name, data, len) in place of the original. */
typedef struct dir_files {
    tokenizer_file f[16];
    char *data[16];
    size_t n;
} dir_files;

static void read_dir_files(const char *dir, dir_files *d) {
    memset(d, 0, sizeof *d);
    for (const char *const *p = tokenizer_file_names; *p; p++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, *p);
        size_t len;
        char *data = slurp(path, &len);
        if (!data) continue;
        d->data[d->n] = data;
        d->f[d->n] = (tokenizer_file){*p, data, len};
        d->n++;
    }
}

static void free_dir_files(dir_files *d) {
    for (size_t i = 0; i < d->n; i++) free(d->data[i]);
}

static tokenizer_file *find_file(dir_files *d, const char *name) {
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->f[i].name, name)) return &d->f[i];
    return NULL;
}

/* A copy of tokenizer_config.json with "legacy_behaviour": true. */
static tokenizer *load_legacy(const char *dir) {
    dir_files d;
    read_dir_files(dir, &d);
    tokenizer_file *cfg = find_file(&d, "tokenizer_config.json");
    tokenizer *t = NULL;
    if (cfg) {
        cJSON *o = cJSON_ParseWithLength(cfg->data, cfg->len);
        cJSON_DeleteItemFromObject(o, "legacy_behaviour");
        cJSON_AddTrueToObject(o, "legacy_behaviour");
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        cfg->data = s;
        cfg->len = strlen(s);
        ed_error err;
        if (tokenizer_load_files(&t, d.f, d.n, dir, &err))
            fprintf(stderr, "  legacy tokenizer: %s\n", err.msg);
        free(s);
    }
    free_dir_files(&d);
    return t;
}

/* Writes dir's tokenizer files into an .h5 (as encdec_convert does) and loads it back. */
static tokenizer *h5_round_trip(const char *dir, const char *h5) {
    dir_files d;
    read_dir_files(dir, &d);
    h5_model *f = NULL;
    ed_error err;
    CHECK(h5_model_create(&f, h5, &err) == ED_OK);
    for (size_t i = 0; f && i < d.n; i++)
        CHECK(h5_model_write_file(f, d.f[i].name, d.f[i].data, d.f[i].len, &err) == ED_OK);
    if (f) CHECK(h5_model_close(f, &err) == ED_OK);
    free_dir_files(&d);
    CHECK(tokenizer_h5_has(h5) == 1);
    tokenizer *t = NULL;
    if (tokenizer_load_h5(&t, h5, &err)) fprintf(stderr, "  h5: %s\n", err.msg);
    return t;
}

static void bad_files(void) {
    tokenizer *t = NULL;
    ed_error err;
    tokenizer_file junk = {"spiece.model", "not a model", 11};
    CHECK(tokenizer_load_files(&t, &junk, 1, "dir", &err) == ED_ERR);
    CHECK_MSG(err, "spiece.model");
    tokenizer_file cfg = {"tokenizer_config.json", "{\"tokenizer_class\": ", 20};
    CHECK(tokenizer_load_files(&t, &cfg, 1, "dir", &err) == ED_ERR);
    CHECK_MSG(err, "tokenizer_config.json");
    tokenizer_file cls = {"tokenizer_config.json", "{\"tokenizer_class\": \"GPT9\"}", 28};
    CHECK(tokenizer_load_files(&t, &cls, 1, "dir", &err) == ED_ERR);
    CHECK_MSG(err, "GPT9");
    CHECK(tokenizer_load_files(&t, NULL, 0, "empty-dir", &err) == ED_ERR);
    CHECK_MSG(err, "no tokenizer files");
    tokenizer_file v[2] = {{"vocab.json", "{\"a\": 0, \"b\": 1}", 16},
                           {"merges.txt", "#version: 0.2\na b c\n", 20}};
    CHECK(tokenizer_load_files(&t, v, 2, "dir", &err) == ED_ERR);
    CHECK_MSG(err, "merges.txt line 2");
    tokenizer_file nocodes = {"tokenizer_config.json", "{\"tokenizer_class\": \"NllbTokenizer\"}", 37};
    CHECK(tokenizer_load_files(&t, &nocodes, 1, "dir", &err) == ED_ERR);
    CHECK_MSG(err, "sentencepiece.bpe.model is missing");
    CHECK(tokenizer_load_dir(&t, "/nonexistent-dir", &err) == ED_ERR);
    CHECK(tokenizer_load_h5(&t, "/nonexistent.h5", &err) == ED_ERR);
    CHECK_MSG(err, "/nonexistent.h5");
}

/* Lines of a text file (without their newline). */
typedef struct lines {
    char **v;
    size_t n;
} lines;

/* The lines of path; at most $ENCDEC_TEST_LINES of them when that is set (launch/run_tests.sh
 * samples the first ones under the sanitizers, where each line costs ~100 times as much). */
static void read_lines(const char *path, lines *l) {
    size_t len;
    char *all = slurp(path, &len);
    memset(l, 0, sizeof *l);
    CHECK(all != NULL);
    if (!all) return;
    const char *limit = getenv("ENCDEC_TEST_LINES");
    size_t cap = 0, most = limit && atol(limit) > 0 ? (size_t)atol(limit) : (size_t)-1;
    for (char *p = all, *e; *p && l->n < most; p = e + 1) {
        e = strchr(p, '\n');
        if (!e) e = p + strlen(p);
        if (l->n == cap) {
            cap = cap ? 2 * cap : 1024;
            l->v = realloc(l->v, cap * sizeof *l->v);
        }
        l->v[l->n++] = strndup(p, (size_t)(e - p));
        if (!*e) break;
    }
    free(all);
}

static void free_lines(lines *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
}

/* 1 when s is printable ASCII with single spaces between words and none at the ends. */
static int plain_ascii(const char *s) {
    if (!*s || s[0] == ' ') return 0;
    for (const char *p = s; *p; p++) {
        if (*p < 0x20 || *p > 0x7E) return 0;
        if (*p == ' ' && (p[1] == ' ' || p[1] == 0)) return 0;
    }
    return 1;
}

static const char *const hard[] = {
    "", " ", "   ", " hello world", "hello world ", "hello    world  again", "hello\tworld",
    " \t hello \t\t world \t", "first line\nsecond line", "\n\nx\n\n",
    "ﬁnance ﬀ ① Ａｂｃ ㍿ ½ ™ ℌ Ⅻ ｶﾀｶﾅ x²", "a\u00a0b\u3000c\u2009d",
    "東京都は日本の首都です。北京是中国的首都。", "مرحبا بالعالم، كيف حالك؟", "שלום עולם",
    "नमस्ते दुनिया", "Καλημέρα κόσμε", "Привет, мир!",
    "family 👨‍👩‍👧‍👦 coder 👩‍💻 flag 🏳️‍🌈 thumbs 👍🏽", "cafe\u0301 nai\u0308ve",
    "The <extra_id_0> walks in <extra_id_1> park", "x <extra_id_0>y<extra_id_1> z  ",
    "Hello <mask> world<mask>!", "end </s> of <s> text <pad> and <unk>",
    "en_XX de_DE hello fra_Latn eng_Latn", "\U0001d54f\U0001d552 \u2603 \U00010348",
    ("a\x01b\x7f" "c"), /* \x7f then "c": two literals, one string */
};
#define N_HARD (sizeof hard / sizeof hard[0])

/* The checks every kind must pass on every line; returns the failures. */
static int check_line(const tokenizer *t, const char *kind, const char *text, const char *src) {
    int32_t *ids = NULL;
    size_t n = 0;
    ed_error err;
    int bad = 0;
    if (tokenizer_encode(t, text, strlen(text), src, &ids, &n, &err)) {
        fprintf(stderr, "  %s: encode \"%s\": %s\n", kind, text, err.msg);
        return 1;
    }
    int V = tokenizer_vocab_size(t), eos = tokenizer_eos_id(t);
    for (size_t i = 0; i < n; i++) bad |= ids[i] < 0 || ids[i] >= V;
    const char *k = tokenizer_kind(t);
    int lang = src ? tokenizer_lang_id(t, src) : -1;
    if (!strcmp(k, "bart")) bad |= n < 2 || ids[0] != tokenizer_token_to_id(t, "<s>") || ids[n - 1] != eos;
    else if (!strcmp(k, "mbart50") || !strcmp(k, "nllb") || !strcmp(k, "m2m100"))
        bad |= n < 2 || ids[n - 1] != eos || (lang >= 0 && ids[0] != lang) ||
               !tokenizer_is_special(t, ids[0]);
    else bad |= n < 1 || ids[n - 1] != eos;
    if (bad) fprintf(stderr, "  %s: \"%s\": ids outside the vocabulary or specials misplaced\n",
                     kind, text);
    char *dec = NULL;
    size_t dl = 0;
    if (tokenizer_decode(t, ids, n, 1, &dec, &dl, &err)) {
        fprintf(stderr, "  %s: decode: %s\n", kind, err.msg);
        bad = 1;
    } else {
        int lossless = !strcmp(k, "bart") || !strcmp(k, "byt5");
        /* Special tokens in the text are dropped by decode: only texts without them. */
        int must_equal = !strchr(text, '<') && !strchr(text, '_') &&
                         (lossless || plain_ascii(text));
        if (must_equal && strcmp(dec, text)) {
            fprintf(stderr, "  %s: decode(encode(\"%s\")) = \"%s\"\n", kind, text, dec);
            bad = 1;
        }
        for (int skip = 0; skip <= 1; skip++) {
            char *full = NULL;
            size_t fl = 0;
            if (tokenizer_decode(t, ids, n, skip, &full, &fl, &err) ||
                !stream_ok(t, ids, n, full, fl, skip)) {
                fprintf(stderr, "  %s: streaming \"%s\" (skip_special %d) differs\n", kind, text, skip);
                bad = 1;
            }
            free(full);
        }
    }
    free(dec);
    free(ids);
    return bad;
}

/* Encodes every line with a and b; returns how many lines differ (-1: an encode failed). */
static int count_differ(const tokenizer *a, const tokenizer *b, const lines *l) {
    int differ = 0;
    for (size_t i = 0; i < l->n; i++) {
        int32_t *x = NULL, *y = NULL;
        size_t nx = 0, ny = 0;
        ed_error err;
        if (tokenizer_encode(a, l->v[i], strlen(l->v[i]), NULL, &x, &nx, &err) ||
            tokenizer_encode(b, l->v[i], strlen(l->v[i]), NULL, &y, &ny, &err)) {
            free(x);
            return -1;
        }
        differ += nx != ny || memcmp(x, y, nx * sizeof *x);
        free(x);
        free(y);
    }
    return differ;
}

/* BART with its first merge dropped must give other ids on some lines. */
static void dropped_merge_changes_ids(const char *dir, const tokenizer *intact, const lines *l) {
    dir_files d;
    read_dir_files(dir, &d);
    tokenizer_file *m = find_file(&d, "merges.txt");
    CHECK(m != NULL);
    if (!m) return;
    const char *s = m->data;
    const char *l2 = strchr(s, '\n');
    const char *l3 = l2 ? strchr(l2 + 1, '\n') : NULL;
    tok_buf b = {0};
    if (l2 && l3) {
        tok_buf_add(&b, s, (size_t)(l2 - s) + 1);
        tok_buf_add(&b, l3 + 1, m->len - (size_t)(l3 + 1 - s));
    }
    m->data = b.data;
    m->len = b.len;
    tokenizer *t = NULL;
    ed_error err;
    CHECK(tokenizer_load_files(&t, d.f, d.n, "dropped-merge", &err) == ED_OK);
    int differ = t ? count_differ(intact, t, l) : -1;
    printf("bart with its first merge dropped: %d of %zu lines get other ids (must be > 0)\n",
           differ, l->n);
    CHECK(differ > 0);
    tokenizer_destroy(t);
    free(b.data);
    free_dir_files(&d);
}

static int32_t *enc(const tokenizer *t, const char *text, const char *src, size_t *n) {
    int32_t *ids = NULL;
    ed_error err;
    if (tokenizer_encode(t, text, strlen(text), src, &ids, n, &err)) {
        fprintf(stderr, "  encode \"%s\": %s\n", text, err.msg);
        *n = 0;
    }
    return ids;
}

static void known_answers(const char *root) {
    ed_error err;
    tokenizer *t = NULL;
    size_t n;
    int32_t *ids;
    /* ByT5: UTF-8 bytes + 3, then </s> (1); <extra_id_0> = 259 + 125 - 1. */
    tokenizer_file byt5 = {"tokenizer_config.json", "{\"tokenizer_class\": \"ByT5Tokenizer\"}", 36};
    CHECK(tokenizer_load_files(&t, &byt5, 1, "byt5", &err) == ED_OK);
    if (t) {
        ids = enc(t, "hi\xC3\xA9<extra_id_0>", NULL, &n);
        int32_t want[] = {107, 108, 0xC3 + 3, 0xA9 + 3, 383, 1};
        CHECK(n == 6 && !memcmp(ids, want, sizeof want));
        free(ids);
        lines one = {(char *[]){"h\xC3\xA9llo \xF0\x9F\x98\x80 <extra_id_3>"}, 1};
        CHECK(check_line(t, "byt5", one.v[0], NULL) == 0);
        for (size_t i = 0; i < N_HARD; i++) CHECK(check_line(t, "byt5", hard[i], NULL) == 0);
        tokenizer_destroy(t);
    }
    char dir[1024];
    /* T5: <extra_id_0> is the last id (3000 pieces + 100 extra ids), </s> = 1 appended. */
    snprintf(dir, sizeof dir, "%s/t5", root);
    if (!tokenizer_load_dir(&t, dir, &err)) {
        ids = enc(t, "<extra_id_0>", NULL, &n);
        CHECK(n == 2 && ids[0] == 3099 && ids[1] == 1);
        CHECK(tokenizer_token_to_id(t, "<extra_id_99>") == 3000);
        free(ids);
        tokenizer_destroy(t);
    } else CHECK(0);
    /* mBART-50: [src code] X </s>; codes after the 3000 pieces + the fairseq offset. */
    snprintf(dir, sizeof dir, "%s/mbart50", root);
    if (!tokenizer_load_dir(&t, dir, &err)) {
        CHECK(tokenizer_token_to_id(t, "ar_AR") == 3001);
        CHECK(tokenizer_token_to_id(t, "<mask>") == 3001 + 52);
        ids = enc(t, "hello", "de_DE", &n);
        CHECK(n >= 3 && ids[0] == 3003 && ids[n - 1] == 2);
        free(ids);
        ids = enc(t, "hello", NULL, &n); /* default en_XX */
        CHECK(n >= 3 && ids[0] == tokenizer_token_to_id(t, "en_XX"));
        free(ids);
        /* transformers 5's Metaspace keeps a trailing space as a last "▁" piece (fairseq id 4
         * here: SentencePiece's piece 3), where SentencePiece drops it. */
        size_t n2;
        int32_t *with_space = enc(t, "hello ", NULL, &n2);
        ids = enc(t, "hello", NULL, &n);
        CHECK(n2 == n + 1 && with_space[n2 - 2] == tokenizer_token_to_id(t, "\xE2\x96\x81"));
        free(with_space);
        free(ids);
        CHECK(tokenizer_encode(t, "x", 1, "xx_YY", &ids, &n, &err) == ED_ERR);
        CHECK_MSG(err, "xx_YY");
        tokenizer_destroy(t);
    } else CHECK(0);
    /* NLLB legacy_behaviour: X </s> [src code]. */
    snprintf(dir, sizeof dir, "%s/nllb", root);
    tokenizer *lg = load_legacy(dir);
    CHECK(lg != NULL);
    if (lg) {
        ids = enc(lg, "hello", "fra_Latn", &n);
        CHECK(n >= 3 && ids[n - 2] == 2 && ids[n - 1] == tokenizer_token_to_id(lg, "fra_Latn"));
        free(ids);
        tokenizer_destroy(lg);
    }
    /* Invalid UTF-8 is refused naming the byte. */
    snprintf(dir, sizeof dir, "%s/t5", root);
    if (!tokenizer_load_dir(&t, dir, &err)) {
        CHECK(tokenizer_encode(t, "ab\xC3(", 4, NULL, &ids, &n, &err) == ED_ERR);
        CHECK_MSG(err, "invalid UTF-8 at byte 2");
        int32_t oob = 999999;
        char *txt = NULL;
        CHECK(tokenizer_decode(t, &oob, 1, 1, &txt, NULL, &err) == ED_ERR);
        CHECK_MSG(err, "ids[0] = 999999");
        tokenizer_destroy(t);
    }
}

/* 1 when a and b encode to the same ids. */
static int same_ids(const tokenizer *t, const char *a, const char *b) {
    size_t na, nb;
    int32_t *ia = enc(t, a, NULL, &na), *ib = enc(t, b, NULL, &nb);
    int same = na > 0 && na == nb && !memcmp(ia, ib, na * sizeof *ia);
    if (!same) {
        fprintf(stderr, "  \"%s\" and \"%s\" encode differently:\n", a, b);
        print_ids("first ", ia, na);
        print_ids("second", ib, nb);
    }
    free(ia);
    free(ib);
    return same;
}

/* The local tokenizer of one kind (root/kind); NULL, its reason printed and a check failed, when
 * it does not load. */
static tokenizer *load_kind(const char *root, const char *kind) {
    char dir[1024];
    ed_error err;
    tokenizer *t = NULL;
    snprintf(dir, sizeof dir, "%s/%s", root, kind);
    if (tokenizer_load_dir(&t, dir, &err) == ED_OK) return t;
    fprintf(stderr, "%s: %s\n", kind, err.msg);
    CHECK(0);
    return NULL;
}

/* Whitespace as transformers 5 sees it AFTER the character map (which leaves U+0085 alone, turns
 * U+200C into a space and drops U+0008). T5's WhitespaceSplit splits on every Unicode whitespace
 * character (Rust's char::is_whitespace), U+0085 included. mBART-50 / NLLB's Metaspace alone
 * counts only ' ', and only in the mapped text: "x \b" and "x\u200c" end in a space there (a
 * last "▁" piece), "a\u0085" does not. */
static void whitespace_after_map(const char *root) {
    char dir[1024];
    ed_error err;
    tokenizer *t = load_kind(root, "t5");
    if (t) {
        CHECK(same_ids(t, "a\xC2\x85" "b", "a b"));
        CHECK(same_ids(t, "a\xC2\x85", "a"));
        CHECK(same_ids(t, "\xC2\x85 \xE2\x80\xA8", ""));
        tokenizer_destroy(t);
    }
    static const char *const kinds[] = {"mbart50", "nllb"};
    for (size_t k = 0; k < 2; k++) {
        snprintf(dir, sizeof dir, "%s/%s", root, kinds[k]);
        if (tokenizer_load_dir(&t, dir, &err)) {
            CHECK(0);
            continue;
        }
        int space = tokenizer_token_to_id(t, "\xE2\x96\x81");
        CHECK(space > 3);
        CHECK(same_ids(t, "x \b", "x "));
        CHECK(same_ids(t, "x\xE2\x80\x8C", "x "));
        CHECK(same_ids(t, " \b", " "));
        size_t n;
        int32_t *ids = enc(t, " \b", NULL, &n); /* [code] ▁ </s> */
        CHECK(n == 3 && ids[1] == space);
        free(ids);
        ids = enc(t, "a\xC2\x85", NULL, &n); /* [code] ▁a <unk> </s> */
        CHECK(n >= 3 && ids[n - 2] != space && ids[n - 2] == tokenizer_token_to_id(t, "<unk>"));
        free(ids);
        tokenizer_destroy(t);
    }
}

/* 1 when text encodes to want[n_want] exactly. */
static int ids_are(const tokenizer *t, const char *text, const int32_t *want, size_t n_want) {
    size_t n;
    int32_t *ids = enc(t, text, NULL, &n);
    int same = n == n_want && !memcmp(ids, want, n * sizeof *ids);
    if (!same) {
        fprintf(stderr, "  \"%s\":\n", text);
        print_ids("got ", ids, n);
        print_ids("want", want, n_want);
    }
    free(ids);
    return same;
}

/* 1 when ids[n] decode (skip_special or not) to want. */
static int decodes_to(const tokenizer *t, const int32_t *ids, size_t n, int skip,
                      const char *want) {
    char *text = NULL;
    ed_error err;
    if (tokenizer_decode(t, ids, n, skip, &text, NULL, &err)) {
        fprintf(stderr, "  decode: %s\n", err.msg);
        return 0;
    }
    int same = !strcmp(text, want);
    if (!same) fprintf(stderr, "  decode: \"%s\", want \"%s\"\n", text, want);
    free(text);
    return same;
}

/* Loads dir's files with the files names[k] replaced by datas[k] (NULL: left out), k < n_patch,
 * under origin "patched". */
static ed_status load_patched_n(const char *dir, const char *const *names,
                                const char *const *datas, size_t n_patch, tokenizer **t,
                                ed_error *err) {
    dir_files d;
    read_dir_files(dir, &d);
    tokenizer_file f[32];
    size_t n = 0;
    for (size_t i = 0; i < d.n; i++) {
        int patched = 0;
        for (size_t k = 0; k < n_patch; k++) patched |= !strcmp(d.f[i].name, names[k]);
        if (!patched) f[n++] = d.f[i];
    }
    for (size_t k = 0; k < n_patch; k++)
        if (datas[k]) f[n++] = (tokenizer_file){names[k], datas[k], strlen(datas[k])};
    ed_status st = tokenizer_load_files(t, f, n, "patched", err);
    free_dir_files(&d);
    return st;
}

/* Loads dir's files with `name` replaced by data[len] (NULL: left out), under origin "patched". */
static ed_status load_patched(const char *dir, const char *name, const char *data, size_t len,
                              tokenizer **t, ed_error *err) {
    char *copy = data ? strndup(data, len) : NULL;
    const char *datas[] = {copy};
    ed_status st = load_patched_n(dir, &name, datas, 1, t, err);
    free(copy);
    return st;
}

/* One file of a tokenizer folder replaced by `data` (NULL: removed), and a piece of the error
 * its load must fail with. */
typedef struct bad_file {
    const char *name, *data, *why;
} bad_file;

/* Every bad[i] applied alone to the folder dir must be refused, naming bad[i].why and the
 * patched origin, with no tokenizer returned. */
static void expect_refused(const char *dir, const bad_file *bad, size_t n) {
    for (size_t i = 0; i < n; i++) {
        tokenizer *t = NULL;
        ed_error err;
        CHECK(load_patched(dir, bad[i].name, bad[i].data, bad[i].data ? strlen(bad[i].data) : 0,
                           &t, &err) == ED_ERR);
        CHECK(t == NULL);
        CHECK_MSG(err, bad[i].why);
        CHECK_MSG(err, "patched");
    }
}

/* The local Marian tokenizer (opus-mt's layout: vocab.json </s> 0, <unk> 1, >>de<< 2, >>fr<< 3,
 * >>es<< 4, ..., <pad> last). Known answers from its committed source.spm: "The house" is
 * ▁The ▁h ou se there (target.spm cuts ▁The ▁ ho u se), each piece's id vocab.json's (not
 * SentencePiece's own, 3 lower), then </s>. A leading ">>xx<<" is one token; special tokens in
 * the text are matched first; decode writes a kept special token and a space, then strips. */
static void marian_answers(const char *root) {
    char dir[1024];
    ed_error err;
    snprintf(dir, sizeof dir, "%s/marian", root);
    tokenizer *t = load_kind(root, "marian");
    if (!t) return;
    int V = tokenizer_vocab_size(t);
    CHECK(!strcmp(tokenizer_kind(t), "marian"));
    CHECK(tokenizer_eos_id(t) == 0 && tokenizer_token_to_id(t, "<unk>") == 1);
    CHECK(tokenizer_token_to_id(t, "<pad>") == V - 1 && tokenizer_is_special(t, V - 1));
    CHECK(tokenizer_token_to_id(t, ">>de<<") == 2 && !tokenizer_is_special(t, 2));
    static const char *const house[] = {"\xE2\x96\x81The", "\xE2\x96\x81h", "ou", "se"};
    int32_t want[8] = {2};
    for (int i = 0; i < 4; i++) want[1 + i] = tokenizer_token_to_id(t, house[i]);
    want[5] = 0;
    CHECK(want[1] > 5 && want[2] > 5 && want[3] > 5 && want[4] > 5);
    CHECK(ids_are(t, "The house", want + 1, 5));
    CHECK(ids_are(t, ">>de<< The house", want, 6));
    want[0] = 3;
    CHECK(ids_are(t, ">>fr<<The house", want, 6));
    CHECK(decodes_to(t, want, 6, 1, ">>fr<< The house"));
    size_t n;
    int32_t *ids = enc(t, "The >>de<< house", NULL, &n); /* a code inside the text is no code */
    for (size_t i = 0; i < n; i++) CHECK(ids[i] != 2);
    free(ids);
    int32_t with_eos[] = {want[1], 0, want[2], want[3], want[4], 0};
    CHECK(ids_are(t, "The </s> house", with_eos, 6));
    CHECK(decodes_to(t, with_eos, 6, 1, "The house"));
    CHECK(decodes_to(t, with_eos, 6, 0, "The</s> house</s>"));
    int32_t empty[] = {0};
    CHECK(ids_are(t, "  ", empty, 1));
    tokenizer_destroy(t);

    /* Older opus-mt repos name no tokenizer_class: source.spm says Marian. */
    static const char plain_cfg[] = "{\"source_lang\": \"en\", \"target_lang\": \"de\"}";
    CHECK(load_patched(dir, "tokenizer_config.json", plain_cfg, sizeof plain_cfg - 1, &t, &err) ==
          ED_OK);
    if (t) CHECK(!strcmp(tokenizer_kind(t), "marian"));
    tokenizer_destroy(t);
    /* Bad files are refused naming the file. */
    static const bad_file bad[] = {
        {"target.spm", NULL, "target.spm is missing"},
        {"source.spm", "not a model", "source.spm is not a SentencePiece model"},
        {"vocab.json", NULL, "vocab.json is missing"},
        {"vocab.json", "[1, 2]", "vocab.json is not a JSON object"},
        {"vocab.json", "{\"<unk>\": 0, \"</s>\": \"one\"}", "vocab.json: \"</s>\" must map"},
        {"vocab.json", "{\"</s>\": 0, \"a\": 1}", "vocab.json has no unk token \"<unk>\""},
        {"vocab.json", "{\"</s>\": 0, \"<unk>\": 2}", "id 1 has no token"},
        {"tokenizer_config.json", "{\"tokenizer_class\": \"MarianTokenizer\", "
                                  "\"separate_vocabs\": true}", "separate_vocabs"},
    };
    expect_refused(dir, bad, sizeof bad / sizeof bad[0]);
}

/* The local Pegasus tokenizer: <pad> 0, </s> 1, its config's mask_token <mask_2> 2 and
 * mask_token_sent <mask_1> 3 (transformers 5.17's order from spiece.model), <unk_2> ..
 * <unk_102> 4 .. 104, then spiece.model's piece k >= 2 at k + 103 (<unk> 105). Known answer:
 * "The house" is ▁The ▁ ho us e in its committed spiece.model. Metaspace alone, as mBART's: a
 * trailing space is a last "▁" piece. Without mask keys in the config, <mask_1> is 2. */
static void pegasus_answers(const char *root) {
    char dir[1024], path[1100];
    ed_error err;
    tokenizer *t = NULL;
    snprintf(dir, sizeof dir, "%s/pegasus", root);
    snprintf(path, sizeof path, "%s/spiece.model", dir);
    size_t len;
    char *model = slurp(path, &len), why[256];
    tok_sp *sp = model ? tok_sp_load(model, len, why, sizeof why) : NULL;
    free(model);
    if (!sp || tokenizer_load_dir(&t, dir, &err)) {
        CHECK(0);
        tok_sp_destroy(sp);
        return;
    }
    CHECK(!strcmp(tokenizer_kind(t), "pegasus"));
    CHECK(tokenizer_vocab_size(t) == tok_sp_size(sp) + 103);
    static const struct { const char *tok; int id; } fixed[] = {
        {"<pad>", 0}, {"</s>", 1}, {"<mask_2>", 2}, {"<mask_1>", 3}, {"<unk_2>", 4},
        {"<unk_102>", 104}, {"<unk>", 105}, {"\xE2\x96\x81", 106},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        CHECK(tokenizer_token_to_id(t, fixed[i].tok) == fixed[i].id);
        CHECK(tokenizer_is_special(t, fixed[i].id) == (fixed[i].id < 106));
    }
    CHECK(tokenizer_eos_id(t) == 1);
    static const char *const house[] = {"\xE2\x96\x81The", "\xE2\x96\x81", "ho", "us", "e"};
    int32_t want[9] = {2};
    for (int i = 0; i < 5; i++) {
        want[1 + i] = tok_sp_piece_to_id(sp, house[i], strlen(house[i])) + 103;
        CHECK(want[1 + i] > 105 && tokenizer_token_to_id(t, house[i]) == want[1 + i]);
    }
    want[6] = 1;
    CHECK(ids_are(t, "The house", want + 1, 6));
    want[0] = 3;
    want[6] = 2;
    want[7] = 1;
    CHECK(ids_are(t, "<mask_1> The house<mask_2>", want, 8));
    CHECK(decodes_to(t, want, 8, 1, "The house"));
    CHECK(decodes_to(t, want, 8, 0, "<mask_1> The house<mask_2></s>"));
    want[6] = 106; /* "▁" */
    CHECK(ids_are(t, "The house ", want + 1, 7));
    tok_sp_destroy(sp);
    tokenizer_destroy(t);
    static const char no_masks[] = "{\"tokenizer_class\": \"PegasusTokenizer\"}";
    CHECK(load_patched(dir, "tokenizer_config.json", no_masks, sizeof no_masks - 1, &t, &err) ==
          ED_OK);
    if (t) {
        CHECK(tokenizer_token_to_id(t, "<mask_1>") == 2 && tokenizer_token_to_id(t, "<mask_2>") == 3);
        CHECK(tokenizer_token_to_id(t, "<unk>") == 105);
    }
    tokenizer_destroy(t);
    static const char bad_offset[] = "{\"tokenizer_class\": \"PegasusTokenizer\", \"offset\": 1.5}";
    t = NULL;
    CHECK(load_patched(dir, "tokenizer_config.json", bad_offset, sizeof bad_offset - 1, &t,
                       &err) == ED_ERR);
    CHECK_MSG(err, "tokenizer_config.json: key offset");
    CHECK(load_patched(dir, "spiece.model", NULL, 0, &t, &err) == ED_ERR);
    CHECK_MSG(err, "spiece.model is missing");
}

/* The local M2M100 tokenizer (facebook/m2m100_*'s layout). Its committed vocab.json is fairseq's
 * dictionary: <s> 0, <pad> 1, </s> 2, <unk> 3, then 2,994 pieces by frequency (not
 * sentencepiece.bpe.model's order), 2,998 entries; three pieces of the model ("압", "축", "👩")
 * are not in it. So the language codes start at 2998: __af__ 2998, __de__ 3014 (code 16),
 * __en__ 3016 (18), __fr__ 3022 (24), __zu__ 3097 (99), then 8 made-up words 3098 .. 3105 named
 * "<unk>"; 3106 ids. Known answers from the committed files: "The house" is SentencePiece's
 * ▁T he ▁h o us e, vocab.json's 165 108 152 11 171 6 (the model's own ids are 102 29 71 372 70
 * 366); "압" is ▁ 압, 4 and <unk> 3; "de" is the piece ▁de 24, not the code. Encoding is
 * [src code] X </s> (config src_lang en); decode keeps a special token's text with no space and
 * strips; a made-up word decodes to "<unk>" even with special tokens skipped (HF's token for it
 * is the unk token's text, written as a special token's). */
static void m2m100_answers(const char *root) {
    char dir[1024];
    ed_error err;
    snprintf(dir, sizeof dir, "%s/m2m100", root);
    tokenizer *t = load_kind(root, "m2m100");
    if (!t) return;
    CHECK(!strcmp(tokenizer_kind(t), "m2m100"));
    CHECK(tokenizer_vocab_size(t) == 3106);
    static const struct { const char *tok; int id, special; } fixed[] = {
        {"<s>", 0, 1},      {"<pad>", 1, 1},    {"</s>", 2, 1},     {"<unk>", 3, 1},
        {"__af__", 2998, 1}, {"__de__", 3014, 1}, {"__en__", 3016, 1}, {"__zu__", 3097, 1},
        {"\xE2\x96\x81", 4, 0}, {"\xE2\x96\x81" "de", 24, 0},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        CHECK(tokenizer_token_to_id(t, fixed[i].tok) == fixed[i].id);
        CHECK(tokenizer_is_special(t, fixed[i].id) == fixed[i].special);
    }
    CHECK(tokenizer_eos_id(t) == 2);
    CHECK(!strcmp(tokenizer_id_to_token(t, 3098), "<unk>") && !tokenizer_is_special(t, 3098));
    CHECK(!strcmp(tokenizer_id_to_token(t, 3105), "<unk>"));
    CHECK(tokenizer_token_to_id(t, "\xEC\x95\x95") < 0); /* 압: a model piece vocab.json lacks */
    CHECK(tokenizer_lang_id(t, "de") == 3014 && tokenizer_lang_id(t, "zu") == 3097);
    CHECK(tokenizer_lang_id(t, "ast") == 2998 + 3);
    CHECK(tokenizer_lang_id(t, "de_DE") < 0 && tokenizer_lang_id(t, "__de__") < 0 &&
          tokenizer_lang_id(t, "xx") < 0);
    CHECK(tokenizer_tgt_lang_id(t) == 3022);
    int32_t house[] = {3016, 165, 108, 152, 11, 171, 6, 2};
    size_t n;
    int32_t *ids = enc(t, "The house", NULL, &n);
    CHECK(n == 8 && !memcmp(ids, house, sizeof house));
    free(ids);
    house[0] = 3014;
    ids = enc(t, "The house", "de", &n);
    CHECK(n == 8 && !memcmp(ids, house, sizeof house));
    free(ids);
    CHECK(tokenizer_encode(t, "x", 1, "de_DE", &ids, &n, &err) == ED_ERR);
    CHECK_MSG(err, "'de_DE' is not a language code");
    CHECK(tokenizer_encode(t, "x", 1, "__de__", &ids, &n, &err) == ED_ERR);
    int32_t unk_piece[] = {3016, 4, 3, 2};
    CHECK(ids_are(t, "\xEC\x95\x95", unk_piece, 4));
    int32_t de_piece[] = {3016, 24, 2};
    CHECK(ids_are(t, "de", de_piece, 3));
    /* Codes and special tokens in the text are matched first (no space stripped around them). */
    int32_t codes[] = {3016, 3014, 454, 2, 454, 3022, 2};
    CHECK(ids_are(t, "__de__ x</s> x__fr__", codes, 7));
    int32_t empty[] = {3016, 2};
    CHECK(ids_are(t, "", empty, 2));
    CHECK(ids_are(t, "  ", empty, 2));
    /* Decode: special tokens dropped, or kept as they are with no space around them. */
    house[0] = 3016;
    CHECK(decodes_to(t, house, 8, 1, "The house"));
    CHECK(decodes_to(t, house, 8, 0, "__en__The house</s>"));
    CHECK(decodes_to(t, codes, 7, 1, "x x"));
    CHECK(decodes_to(t, codes, 7, 0, "__en____de__x</s>x__fr__</s>"));
    int32_t madeup[] = {165, 108, 3098, 152, 11, 171, 6};
    CHECK(decodes_to(t, madeup, 7, 1, "The<unk>house"));
    CHECK(decodes_to(t, unk_piece, 4, 1, ""));
    CHECK(decodes_to(t, unk_piece, 4, 0, "__en__<unk></s>"));
    tokenizer_destroy(t);

    /* No tokenizer_class: sentencepiece.bpe.model beside vocab.json is M2M100's layout. */
    static const char *const cfg[] = {"tokenizer_config.json"};
    const char *plain[] = {"{\"src_lang\": \"ast\"}"};
    CHECK(load_patched_n(dir, cfg, plain, 1, &t, &err) == ED_OK);
    if (t) {
        CHECK(!strcmp(tokenizer_kind(t), "m2m100") && tokenizer_tgt_lang_id(t) == -1);
        ids = enc(t, "x", NULL, &n);
        CHECK(n == 3 && ids[0] == 3001);
        free(ids);
    }
    tokenizer_destroy(t);
    /* Without special_tokens_map.json's list the codes still sit at len(vocab.json) + i. A list
     * in another order is added as PreTrainedTokenizer._add_tokens adds it: the listed tokens take
     * 2998, 2999, ... in its order, while the src_lang prefix stays get_lang_id's. */
    static const char *const map[] = {"special_tokens_map.json"};
    const char *none[] = {NULL};
    CHECK(load_patched_n(dir, map, none, 1, &t, &err) == ED_OK);
    if (t) {
        CHECK(tokenizer_token_to_id(t, "__de__") == 3014 && tokenizer_is_special(t, 3014));
        int32_t en_en[] = {3016, 3016, 2};
        CHECK(ids_are(t, "__en__", en_en, 3));
    }
    tokenizer_destroy(t);
    const char *reordered[] = {"{\"additional_special_tokens\": [\"__de__\", \"__en__\"]}"};
    CHECK(load_patched_n(dir, map, reordered, 1, &t, &err) == ED_OK);
    if (t) {
        int32_t en_de[] = {3016, 2998, 2999, 2};
        CHECK(ids_are(t, "__de____en__", en_de, 4));
        CHECK(!tokenizer_is_special(t, 3014) && tokenizer_lang_id(t, "de") == 3014);
    }
    tokenizer_destroy(t);
    /* language_codes wmt21: its 8 codes (en ha is ja cs ru zh de) after vocab.json. */
    static const char *const both[] = {"tokenizer_config.json", "special_tokens_map.json"};
    const char *wmt21[] = {"{\"tokenizer_class\": \"M2M100Tokenizer\", \"language_codes\": "
                           "\"wmt21\", \"src_lang\": \"de\"}",
                           NULL};
    CHECK(load_patched_n(dir, both, wmt21, 2, &t, &err) == ED_OK);
    if (t) {
        CHECK(tokenizer_vocab_size(t) == 2998 + 8 + 8);
        CHECK(tokenizer_lang_id(t, "en") == 2998 && tokenizer_lang_id(t, "de") == 3005);
        CHECK(tokenizer_lang_id(t, "fr") < 0);
        ids = enc(t, "x", NULL, &n);
        CHECK(n == 3 && ids[0] == 3005);
        free(ids);
    }
    tokenizer_destroy(t);
    /* Bad files are refused naming the file and key. */
    static const bad_file bad[] = {
        {"vocab.json", NULL, "vocab.json is missing"},
        {"sentencepiece.bpe.model", NULL, "sentencepiece.bpe.model is missing"},
        {"sentencepiece.bpe.model", "not a model", "sentencepiece.bpe.model is not a Sentence"},
        {"vocab.json", "[1, 2]", "vocab.json is not a JSON object"},
        {"vocab.json", "{\"<unk>\": 0, \"</s>\": 1.5}", "vocab.json: \"</s>\" must map"},
        {"vocab.json", "{\"</s>\": 0, \"a\": 1}", "vocab.json has no unk token \"<unk>\""},
        {"vocab.json", "{\"</s>\": 0, \"<unk>\": 2}", "its 2 entries must have the ids 0 .. 1"},
        {"tokenizer_config.json", "{\"tokenizer_class\": \"M2M100Tokenizer\", \"src_lang\": "
                                  "\"en_XX\"}", "src_lang 'en_XX' is not one of"},
        {"tokenizer_config.json", "{\"tokenizer_class\": \"M2M100Tokenizer\", \"tgt_lang\": "
                                  "\"xx\"}", "tgt_lang 'xx' is not one of"},
        {"tokenizer_config.json", "{\"tokenizer_class\": \"M2M100Tokenizer\", "
                                  "\"language_codes\": \"m2m200\"}",
         "key language_codes: 'm2m200'"},
        {"tokenizer_config.json", "{\"tokenizer_class\": \"M2M100Tokenizer\", "
                                  "\"num_madeup_words\": -1}", "key num_madeup_words"},
        {"special_tokens_map.json", "{\"additional_special_tokens\": [7]}",
         "additional_special_tokens[0] is not a token"},
    };
    expect_refused(dir, bad, sizeof bad / sizeof bad[0]);
}

/* s through the charsmap as Hugging Face's Precompiled normalizer does it (malloc'd). */
static char *cm_norm(const tok_charsmap *cm, const char *s) {
    tok_buf b = {0};
    ed_error err;
    if (tok_charsmap_normalize(cm, s, strlen(s), &b, &err) || tok_buf_add(&b, "", 0)) {
        fprintf(stderr, "  charsmap \"%s\": %s\n", s, err.msg);
        free(b.data);
        return NULL;
    }
    return b.data;
}

static int cm_norm_is(const tok_charsmap *cm, const char *s, const char *want) {
    char *got = cm_norm(cm, s);
    int ok = got && !strcmp(got, want);
    if (got && !ok) fprintf(stderr, "  charsmap \"%s\" -> \"%s\", want \"%s\"\n", s, got, want);
    free(got);
    return ok;
}

/* A blob of `units` (little-endian u32) then `strings`, for hand-made charsmaps. */
static size_t cm_blob(unsigned char *out, const uint32_t *units, size_t n_units,
                      const char *strings, size_t str_len) {
    uint32_t trie = (uint32_t)(4 * n_units);
    for (int k = 0; k < 4; k++) out[k] = (unsigned char)(trie >> (8 * k));
    for (size_t i = 0; i < n_units; i++)
        for (int k = 0; k < 4; k++) out[4 + 4 * i + k] = (unsigned char)(units[i] >> (8 * k));
    memcpy(out + 4 + trie, strings, str_len);
    return 4 + trie + str_len;
}

/* Corrupt charsmaps are refused naming what is wrong, at load or (a trie leading outside
 * itself) at lookup; a hand-made one-key trie ("a" -> the string at `value`) works. */
static void charsmap_corrupt(void) {
    tok_charsmap *cm = NULL;
    ed_error err;
    static const struct { const char *blob; size_t n; const char *why; } bad[] = {
        {"\x04\x00\x00", 3, "shorter than its trie size"},
        {"\x00\x00\x00\x00x", 5, "the trie is empty"},
        {"\x06\x00\x00\x00" "abcdefgh", 12, "not a whole number of 4-byte units"},
        {"\x40\x00\x00\x00" "abcdefgh", 12, "runs past the end of the blob"},
        {"\x04\x00\x00\x00" "\x00\x00\x00\x00" "a\xff", 10, "not UTF-8"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        CHECK(tok_charsmap_create(&cm, bad[i].blob, bad[i].n, "cm.model", &err) == ED_ERR);
        CHECK(cm == NULL);
        CHECK_MSG(err, "cm.model: precompiled_charsmap");
        CHECK_MSG(err, bad[i].why);
    }
    /* Darts: the root's offset 1 sends 'a' to unit 1 ^ 0x61 = 96 (label 'a', a leaf, offset 1),
     * whose leaf is unit 97 (value: an offset into the strings); 256 units hold every byte's
     * child slot, as Darts' blocks do. */
    uint32_t units[256] = {1u << 10};
    units[96] = 0x61u | 1u << 8 | 1u << 10;
    unsigned char blob[4 + sizeof units + 8];
    const char *rep;
    size_t rn;
    static const struct { uint32_t value; const char *strings; size_t n; int hit; } leaf[] = {
        {2, "z\0xy\0", 5, 1},          /* "xy" */
        {100, "z\0xy\0", 5, -1},       /* past the strings */
        {1, "\xC3\xA9\0", 3, -1},      /* inside a character */
    };
    for (size_t i = 0; i < sizeof leaf / sizeof leaf[0]; i++) {
        units[97] = 0x80000000u | leaf[i].value;
        size_t n = cm_blob(blob, units, 256, leaf[i].strings, leaf[i].n);
        CHECK(tok_charsmap_create(&cm, blob, n, "cm.model", &err) == ED_OK);
        if (!cm) continue;
        CHECK(tok_charsmap_lookup(cm, "ab", 2, &rep, &rn, &err) == leaf[i].hit);
        if (leaf[i].hit == 1) {
            CHECK(rn == 2 && !memcmp(rep, "xy", 2));
            CHECK(tok_charsmap_lookup(cm, "ba", 2, &rep, &rn, &err) == 0);
            CHECK(cm_norm_is(cm, "bab", "bxyb"));
        } else {
            CHECK_MSG(err, "corrupt trie (replacement offset");
        }
        tok_charsmap_destroy(cm);
    }
    units[0] = 1000u << 10; /* the root's children lie past the array */
    size_t n = cm_blob(blob, units, 256, "", 0);
    CHECK(tok_charsmap_create(&cm, blob, n, "cm.model", &err) == ED_OK);
    if (cm) {
        CHECK(tok_charsmap_lookup(cm, "a", 1, &rep, &rn, &err) == -1);
        CHECK_MSG(err, "corrupt trie (unit");
        tok_buf b = {0};
        CHECK(tok_charsmap_normalize(cm, "a", 1, &b, &err) == ED_ERR);
        CHECK_MSG(err, "cm.model: precompiled_charsmap: corrupt trie");
        free(b.data);
        tok_charsmap_destroy(cm);
    }
    tok_charsmap_destroy(NULL);
}

/* A model whose precompiled_charsmap is corrupt does not load: its trie size, patched in a copy
 * of the .model to one byte less (the proto stays well-formed, and SentencePiece, which ignores
 * a partial unit, still loads it). */
static void charsmap_corrupt_model(const char *dir, const tok_sp_normalizer *ns) {
    dir_files d;
    read_dir_files(dir, &d);
    tokenizer_file *m = find_file(&d, "spiece.model");
    CHECK(m != NULL && ns->charsmap_len > 64);
    char *at = NULL;
    for (size_t i = 0; m && ns->charsmap_len > 64 && i + 64 <= m->len && !at; i++)
        if (!memcmp(m->data + i, ns->charsmap, 64)) at = (char *)m->data + i;
    CHECK(at != NULL);
    if (at) {
        uint32_t trie = (uint32_t)(unsigned char)at[0] | (uint32_t)(unsigned char)at[1] << 8 |
                        (uint32_t)(unsigned char)at[2] << 16 | (uint32_t)(unsigned char)at[3] << 24;
        trie--;
        for (int k = 0; k < 4; k++) at[k] = (char)(trie >> (8 * k));
        tokenizer *t = NULL;
        ed_error err;
        CHECK(tokenizer_load_files(&t, d.f, d.n, "patched", &err) == ED_ERR);
        CHECK_MSG(err, "spiece.model: precompiled_charsmap");
        CHECK_MSG(err, "not a whole number of 4-byte units");
    }
    free_dir_files(&d);
}

/* Hugging Face's Precompiled normalizer on the local T5 model's nmt_nfkc charsmap. A cluster
 * under 6 bytes goes whole to its SHORTEST prefix entry: "o\u0302\u0323" -> "ô" (the dot below
 * dropped; SentencePiece's longest match keeps it). A cluster of 6 bytes or more goes character
 * by character: halfwidth "ｶﾞ" -> "カ" + U+3099, neither longest match's "ガ" nor the
 * whole-cluster "カ". */
static void charsmap_answers(const char *root) {
    char dir[1024], path[1100];
    snprintf(dir, sizeof dir, "%s/t5", root);
    snprintf(path, sizeof path, "%s/spiece.model", dir);
    size_t len;
    char *model = slurp(path, &len), why[256] = "";
    tok_sp *sp = model ? tok_sp_load(model, len, why, sizeof why) : NULL;
    free(model);
    CHECK(sp != NULL);
    if (!sp) return;
    const tok_sp_normalizer *ns = tok_sp_normalizer_spec(sp);
    CHECK(ns->charsmap_len > 0 && ns->add_dummy_prefix && ns->remove_extra_whitespaces &&
          ns->escape_whitespaces);
    tok_charsmap *cm = NULL, *id = NULL;
    ed_error err;
    CHECK(tok_charsmap_create(&cm, ns->charsmap, ns->charsmap_len, path, &err) == ED_OK);
    if (cm) {
        CHECK(cm_norm_is(cm, "o\xCC\x82\xCC\xA3r", "\xC3\xB4r"));
        CHECK(cm_norm_is(cm, "\xEF\xBD\xB6\xEF\xBE\x9E", "\xE3\x82\xAB\xE3\x82\x99"));
        CHECK(cm_norm_is(cm, "\xEF\xBD\xB6", "\xE3\x82\xAB"));
        CHECK(cm_norm_is(cm, "\xEF\xAC\x81 x\t\xC2\xA0y", "fi x  y"));
        const char *rep;
        size_t rn;
        CHECK(tok_charsmap_lookup(cm, "\xEF\xBD\xB6\xEF\xBE\x9E", 6, &rep, &rn, &err) == 1 &&
              rn == 3 && !memcmp(rep, "\xE3\x82\xAB", 3));
        tok_charsmap_destroy(cm);
    }
    CHECK(tok_charsmap_create(&id, NULL, 0, "identity", &err) == ED_OK);
    static const char plain[] = "o\xCC\x82\xCC\xA3r \xEF\xBD\xB6";
    if (id) CHECK(cm_norm_is(id, plain, plain));
    tok_charsmap_destroy(id);
    charsmap_corrupt_model(dir, ns);
    tok_sp_destroy(sp);
    /* The same through the tokenizers: "o\u0302\u0323r" encodes as "ôr" does. */
    static const char *const kinds[] = {"t5", "mbart50"};
    for (size_t k = 0; k < 2; k++) {
        tokenizer *t = NULL;
        snprintf(dir, sizeof dir, "%s/%s", root, kinds[k]);
        if (tokenizer_load_dir(&t, dir, &err)) {
            CHECK(0);
            continue;
        }
        size_t n1, n2;
        int32_t *a = enc(t, "x o\xCC\x82\xCC\xA3r", NULL, &n1);
        int32_t *b = enc(t, "x \xC3\xB4r", NULL, &n2);
        CHECK(n1 > 0 && n1 == n2 && !memcmp(a, b, n1 * sizeof *a));
        free(a);
        free(b);
        tokenizer_destroy(t);
    }
    charsmap_corrupt();
}

/* Encodes and decodes every line from several threads at once on one tokenizer: each thread
 * must get the single-threaded ids (models/tokenizer.h promises concurrent encode/decode). */
typedef struct thread_job {
    const tokenizer *t;
    const lines *l;
    int32_t **want;
    size_t *want_n;
    int differ;
} thread_job;

static void *thread_run(void *arg) {
    thread_job *j = arg;
    for (int rep = 0; rep < 3; rep++)
        for (size_t i = 0; i < j->l->n; i++) {
            int32_t *ids = NULL;
            size_t n = 0;
            char *text = NULL;
            ed_error err;
            if (tokenizer_encode(j->t, j->l->v[i], strlen(j->l->v[i]), NULL, &ids, &n, &err) ||
                n != j->want_n[i] || memcmp(ids, j->want[i], n * sizeof *ids) ||
                tokenizer_decode(j->t, ids, n, 1, &text, NULL, &err))
                j->differ++;
            free(ids);
            free(text);
        }
    return NULL;
}

static void concurrent_use(const tokenizer *t, const lines *l, const char *kind) {
    int32_t **want = calloc(l->n, sizeof *want);
    size_t *want_n = calloc(l->n, sizeof *want_n);
    for (size_t i = 0; i < l->n; i++) want[i] = enc(t, l->v[i], NULL, &want_n[i]);
    enum { N_THREADS = 4 };
    pthread_t th[N_THREADS];
    thread_job jobs[N_THREADS];
    for (int k = 0; k < N_THREADS; k++) {
        jobs[k] = (thread_job){t, l, want, want_n, 0};
        CHECK(pthread_create(&th[k], NULL, thread_run, &jobs[k]) == 0);
    }
    int differ = 0;
    for (int k = 0; k < N_THREADS; k++) {
        pthread_join(th[k], NULL);
        differ += jobs[k].differ;
    }
    printf("%s from %d threads at once: %d encodes differ from the single-threaded ones\n", kind,
           N_THREADS, differ);
    CHECK(differ == 0);
    for (size_t i = 0; i < l->n; i++) free(want[i]);
    free(want);
    free(want_n);
}

static int local_tests(const char *root, const char *scratch) {
    static const char *const kinds[] = {"t5",   "t5_bytefb", "mbart50", "nllb",
                                        "bart", "marian",    "pegasus", "m2m100"};
    char path[1100];
    lines l;
    snprintf(path, sizeof path, "%s/lines.txt", root);
    read_lines(path, &l);
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char dir[1024], h5[1100];
        snprintf(dir, sizeof dir, "%s/%s", root, kinds[k]);
        tokenizer *t = NULL;
        ed_error err;
        if (tokenizer_load_dir(&t, dir, &err)) {
            fprintf(stderr, "%s: %s\n", kinds[k], err.msg);
            CHECK(0);
            continue;
        }
        int bad = 0;
        for (size_t i = 0; i < l.n; i++) bad += check_line(t, kinds[k], l.v[i], NULL);
        for (size_t i = 0; i < N_HARD; i++) bad += check_line(t, kinds[k], hard[i], NULL);
        const char *src = !strcmp(kinds[k], "mbart50") ? "zh_CN"
                          : !strcmp(kinds[k], "nllb") ? "deu_Latn"
                          : !strcmp(kinds[k], "m2m100") ? "ast" : NULL;
        for (size_t i = 0; src && i < 100; i++) bad += check_line(t, kinds[k], l.v[i], src);
        printf("%s (%s): %zu lines + %zu hard cases, %d failed\n", kinds[k], tokenizer_kind(t),
               l.n, N_HARD, bad);
        CHECK(bad == 0);
        snprintf(h5, sizeof h5, "%s/tok_%s.h5", scratch, kinds[k]);
        tokenizer *th = h5_round_trip(dir, h5);
        CHECK(th != NULL);
        if (th) {
            int differ = count_differ(t, th, &l);
            printf("%s from the .h5: %d lines differ from the directory's\n", kinds[k], differ);
            CHECK(differ == 0);
            CHECK(tokenizer_vocab_size(th) == tokenizer_vocab_size(t));
        }
        remove(h5);
        if (!strcmp(kinds[k], "bart")) dropped_merge_changes_ids(dir, t, &l);
        if (!strcmp(kinds[k], "bart") || !strcmp(kinds[k], "mbart50")) concurrent_use(t, &l, kinds[k]);
        tokenizer_destroy(th);
        tokenizer_destroy(t);
    }
    free_lines(&l);
    known_answers(root);
    whitespace_after_map(root);
    marian_answers(root);
    pegasus_answers(root);
    m2m100_answers(root);
    charsmap_answers(root);
    bad_files();
    return 0;
}

/* The language ids meta.json records (M2M100: HF's get_lang_id of every code, its tgt_lang's):
 * tokenizer_lang_id and tokenizer_tgt_lang_id must give the same. Returns the mismatches. */
static int meta_lang_ids(const char *kind, const tokenizer *t, const char *meta_path) {
    size_t len;
    char *text = slurp(meta_path, &len);
    cJSON *meta = text ? cJSON_Parse(text) : NULL;
    free(text);
    const cJSON *langs = cJSON_GetObjectItem(meta, "lang_ids");
    const cJSON *tgt = cJSON_GetObjectItem(meta, "tgt_lang_id");
    int bad = 0, n = 0;
    for (const cJSON *e = langs ? langs->child : NULL; e; e = e->next, n++)
        if (tokenizer_lang_id(t, e->string) != e->valueint) {
            fprintf(stderr, "  %s: language code %s: id %d, HF's get_lang_id %d\n", kind,
                    e->string, tokenizer_lang_id(t, e->string), e->valueint);
            bad++;
        }
    if (cJSON_IsNumber(tgt) && tokenizer_tgt_lang_id(t) != tgt->valueint) {
        fprintf(stderr, "  %s: tgt_lang id %d, HF's %d\n", kind, tokenizer_tgt_lang_id(t),
                tgt->valueint);
        bad++;
    }
    if (langs) printf("%s: %d language codes' ids, %d differ from HF's\n", kind, n, bad);
    cJSON_Delete(meta);
    return bad;
}

static void hf_tests(const char *root, const char *scratch) {
    /* The first six must be there; Marian's, Pegasus' (issue 24) and M2M100's are checked once
     * made. */
    static const char *const kinds[] = {"t5",   "t5_bytefb", "mbart50", "nllb",  "bart",
                                        "byt5", "marian",    "pegasus", "m2m100"};
    enum { N_REQUIRED = 6 };
    int kinds_found = 0;
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        char dir[1024], path[1100], h5[1100];
        snprintf(dir, sizeof dir, "%s/%s/hf", root, kinds[k]);
        snprintf(path, sizeof path, "%s/%s/cases.jsonl.gz", root, kinds[k]);
        fixture fx;
        if (load_fixture(path, &fx)) {
            fprintf(stderr, "%s: no fixture %s%s\n", kinds[k], path,
                    k < N_REQUIRED ? "" : " (gen_tokenizer_fixtures.py makes it: not checked)");
            continue;
        }
        kinds_found += k < N_REQUIRED;
        tokenizer *t = NULL;
        ed_error err;
        if (tokenizer_load_dir(&t, dir, &err)) {
            fprintf(stderr, "%s: %s\n", kinds[k], err.msg);
            CHECK(0);
            free_fixture(&fx);
            continue;
        }
        tokenizer *legacy = !strcmp(kinds[k], "nllb") ? load_legacy(dir) : NULL;
        int n_run = 0;
        int bad = run_cases(kinds[k], t, legacy, &fx, 1, &n_run);
        printf("%s (%s): %d cases, %d differ from HF\n", kinds[k], tokenizer_kind(t), n_run, bad);
        CHECK(bad == 0);
        CHECK(n_run >= 2000);
        snprintf(path, sizeof path, "%s/%s/meta.json", root, kinds[k]);
        CHECK(meta_lang_ids(kinds[k], t, path) == 0);
        snprintf(h5, sizeof h5, "%s/tok_hf_%s.h5", scratch, kinds[k]);
        tokenizer *th = h5_round_trip(dir, h5);
        CHECK(th != NULL);
        remove(h5);
        tokenizer_destroy(th);
        tokenizer_destroy(legacy);
        tokenizer_destroy(t);
        free_fixture(&fx);
    }
    CHECK(kinds_found == N_REQUIRED);
}

int main(int argc, char **argv) {
    if (argc < 4 || (strcmp(argv[1], "local") && strcmp(argv[1], "hf"))) {
        fprintf(stderr, "usage: test_tokenizer local|hf DIR SCRATCH_DIR\n");
        return 2;
    }
    if (!strcmp(argv[1], "local")) local_tests(argv[2], argv[3]);
    else hf_tests(argv[2], argv[3]);
    TEST_MAIN_END("test_tokenizer");
}
