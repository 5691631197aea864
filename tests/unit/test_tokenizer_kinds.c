/* Each tokenizer kind's known answers on the local tokenizers (tests/golden/tokenizers/local),
 * part of test_tokenizer (tests/unit/test_tokenizer.c runs them in local mode): whitespace judged
 * after the character map; Marian's vocab.json ids and >>xx<< codes; Pegasus' offset ids;
 * M2M100's vocab.json ids, __xx__ codes and made-up words; bad files of each refused naming the
 * file; the precompiled charsmap applied as Hugging Face does (per grapheme cluster) and corrupt
 * ones refused. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/tok_charsmap.h"
#include "models/tok_sp.h"
#include "tests/unit/check.h"
#include "tests/unit/tokenizer_test_util.h"

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

/* The local tokenizer of one kind (root/kind, a path load_kind_in leaves in dir); NULL, its
 * reason printed and a check failed, when it does not load. */
static tokenizer *load_kind_in(const char *root, const char *kind, char *dir, size_t cap) {
    ed_error err;
    tokenizer *t = NULL;
    snprintf(dir, cap, "%s/%s", root, kind);
    if (tokenizer_load_dir(&t, dir, &err) == ED_OK) return t;
    fprintf(stderr, "%s: %s\n", kind, err.msg);
    CHECK(0);
    return NULL;
}

static tokenizer *load_kind(const char *root, const char *kind) {
    char dir[1024];
    return load_kind_in(root, kind, dir, sizeof dir);
}

/* The SentencePiece model at path, or NULL (an unreadable file, or one libsentencepiece
 * refuses). */
static tok_sp *load_spiece(const char *path) {
    size_t len;
    char *model = slurp(path, &len), why[256] = "";
    tok_sp *sp = model ? tok_sp_load(model, len, why, sizeof why) : NULL;
    free(model);
    return sp;
}

/* Whitespace as transformers 5 sees it AFTER the character map (which leaves U+0085 alone, turns
 * U+200C into a space and drops U+0008). T5's WhitespaceSplit splits on every Unicode whitespace
 * character (Rust's char::is_whitespace), U+0085 included. mBART-50 / NLLB's Metaspace alone
 * counts only ' ', and only in the mapped text: "x \b" and "x\u200c" end in a space there (a
 * last "▁" piece), "a\u0085" does not. */
static void whitespace_after_map(const char *root) {
    tokenizer *t = load_kind(root, "t5");
    if (t) {
        CHECK(same_ids(t, "a\xC2\x85" "b", "a b"));
        CHECK(same_ids(t, "a\xC2\x85", "a"));
        CHECK(same_ids(t, "\xC2\x85 \xE2\x80\xA8", ""));
        tokenizer_destroy(t);
    }
    static const char *const kinds[] = {"mbart50", "nllb"};
    for (size_t k = 0; k < 2; k++) {
        if (!(t = load_kind(root, kinds[k]))) continue;
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
    tokenizer *t = load_kind_in(root, "marian", dir, sizeof dir);
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
    tok_sp *sp = load_spiece(path);
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
    tokenizer *t = load_kind_in(root, "m2m100", dir, sizeof dir);
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
    tok_sp *sp = load_spiece(path);
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
        if (!(t = load_kind(root, kinds[k]))) continue;
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

void tokenizer_kind_answers(const char *root, int *checks, int *failures) {
    whitespace_after_map(root);
    marian_answers(root);
    pegasus_answers(root);
    m2m100_answers(root);
    charsmap_answers(root);
    *checks += check_count;
    *failures += check_failures;
}
