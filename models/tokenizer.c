/* Loading a tokenizer: its files (an HF directory or the .h5's /tokenizer group), the kind, the
 * base model's ids, added tokens and the settings of tokenizer_config.json. */
#include "models/tokenizer_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/h5_model.h"

const char *const tokenizer_file_names[] = {
    "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    "spiece.model", "sentencepiece.bpe.model", "vocab.json", "merges.txt", "source.spm",
    "target.spm", NULL};

typedef struct file_set {
    const tokenizer_file *files;
    size_t n;
    const char *origin;
    cJSON *config, *special_map, *added_json, *tok_json; /* parsed JSON files (NULL: absent) */
} file_set;

static const tokenizer_file *get_file(const file_set *fs, const char *name) {
    for (size_t i = 0; i < fs->n; i++)
        if (!strcmp(fs->files[i].name, name)) return &fs->files[i];
    return NULL;
}

static ed_status parse_json(const file_set *fs, const char *name, cJSON **out, ed_error *err) {
    const tokenizer_file *f = get_file(fs, name);
    *out = NULL;
    if (!f) return ED_OK;
    const char *end = NULL;
    *out = cJSON_ParseWithLengthOpts(f->data, f->len, &end, 0);
    if (!cJSON_IsObject(*out)) {
        size_t at = end ? (size_t)(end - (const char *)f->data) : 0;
        cJSON_Delete(*out);
        *out = NULL;
        return ed_fail(err, "%s: %s is not a JSON object (parsing stopped at byte %zu)",
                       fs->origin, name, at);
    }
    return ED_OK;
}

/* A token given as "text" or {"content": "text", ...} (tokenizer_config.json's forms). */
static const char *token_text(const cJSON *v) {
    if (cJSON_IsString(v)) return v->valuestring;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(v, "content");
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

static int json_flag(const cJSON *obj, const char *key, int dflt) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

static const char *config_str(const file_set *fs, const char *key) {
    const cJSON *v = fs->config ? cJSON_GetObjectItemCaseSensitive(fs->config, key) : NULL;
    return token_text(v);
}

static ed_status pick_kind(tokenizer *t, const file_set *fs, ed_error *err) {
    const char *cls = config_str(fs, "tokenizer_class");
    static const struct { const char *name; tok_kind kind; } classes[] = {
        {"T5Tokenizer", TK_T5}, {"MT5Tokenizer", TK_T5}, {"UMT5Tokenizer", TK_T5},
        {"MBart50Tokenizer", TK_MBART50}, {"MBartTokenizer", TK_MBART},
        {"NllbTokenizer", TK_NLLB}, {"BartTokenizer", TK_BART}, {"RobertaTokenizer", TK_BART},
        {"ByT5Tokenizer", TK_BYT5}, {"MarianTokenizer", TK_MARIAN},
        {"PegasusTokenizer", TK_PEGASUS}, {"M2M100Tokenizer", TK_M2M100},
    };
    if (cls) {
        size_t n = strlen(cls);
        if (n > 4 && !strcmp(cls + n - 4, "Fast")) n -= 4;
        for (size_t i = 0; i < sizeof classes / sizeof classes[0]; i++)
            if (strlen(classes[i].name) == n && !strncmp(cls, classes[i].name, n)) {
                t->kind = classes[i].kind;
                return ED_OK;
            }
        return ed_fail(err, "%s: tokenizer_config.json: key tokenizer_class: '%s' is not "
                            "supported (T5Tokenizer, MT5Tokenizer, UMT5Tokenizer, "
                            "MBart50Tokenizer, MBartTokenizer, NllbTokenizer, BartTokenizer, "
                            "RobertaTokenizer, ByT5Tokenizer, MarianTokenizer, "
                            "PegasusTokenizer, M2M100Tokenizer and their Fast forms are)",
                       fs->origin, cls);
    }
    /* Marian's hub repos ship no tokenizer_class (transformers reads it from config.json); a
     * SentencePiece model beside vocab.json (or M2M100's own config keys) is M2M100's layout. */
    const cJSON *m2m_key = NULL;
    if (fs->config && !(m2m_key = cJSON_GetObjectItemCaseSensitive(fs->config, "language_codes")))
        m2m_key = cJSON_GetObjectItemCaseSensitive(fs->config, "num_madeup_words");
    if (get_file(fs, "source.spm")) t->kind = TK_MARIAN;
    else if (get_file(fs, "spiece.model")) t->kind = TK_T5;
    else if (get_file(fs, "sentencepiece.bpe.model") && (get_file(fs, "vocab.json") || m2m_key))
        t->kind = TK_M2M100;
    else if (get_file(fs, "sentencepiece.bpe.model")) t->kind = TK_MBART50;
    else if (get_file(fs, "vocab.json") || get_file(fs, "tokenizer.json")) t->kind = TK_BART;
    else return ed_fail(err, "%s: no tokenizer files (spiece.model, sentencepiece.bpe.model, "
                             "sentencepiece.bpe.model + vocab.json, source.spm + target.spm + "
                             "vocab.json, vocab.json + merges.txt, tokenizer.json, or "
                             "tokenizer_config.json naming its tokenizer_class)", fs->origin);
    return ED_OK;
}

/* Sets id -> token (growing the tables); the token -> id map keeps the first id of a string. */
static ed_status set_token(tokenizer *t, int id, const char *tok, int special, ed_error *err) {
    if (id < 0 || id > 10000000) return ed_fail(err, "%s: token \"%s\" has id %d, outside "
                                                     "[0, 10000000]", t->origin, tok, id);
    if (id >= t->vocab_size) {
        int cap = id + 1;
        char **it = realloc(t->id_token, (size_t)cap * sizeof *it);
        if (it) t->id_token = it;
        unsigned char *sp = realloc(t->special, (size_t)cap);
        if (sp) t->special = sp;
        if (!it || !sp) return ed_fail(err, "%s: out of memory", t->origin);
        for (int i = t->vocab_size; i < cap; i++) {
            t->id_token[i] = NULL;
            t->special[i] = 0;
        }
        t->vocab_size = cap;
    }
    char *copy = strdup(tok);
    if (!copy) return ed_fail(err, "%s: out of memory", t->origin);
    free(t->id_token[id]);
    t->id_token[id] = copy;
    t->special[id] = (unsigned char)special;
    if (tok_map_get(t->token_id, tok, strlen(tok)) < 0 &&
        tok_map_put(t->token_id, tok, strlen(tok), id))
        return ed_fail(err, "%s: out of memory", t->origin);
    return ED_OK;
}

/* Pegasus' special tokens after pad and eos, as transformers 5.17 lays them out from
 * spiece.model (PegasusConverter.convert_from_spm): id 2 the mask_token of tokenizer_config.json
 * (else "<mask_1>"), id 3 its mask_token_sent (else "<mask_2>"; left out when the same), then
 * <unk_2> .. <unk_{offset-1}>. Writes up to offset names into names[] (pointing into fs or buf,
 * which holds offset * 16 bytes) and returns how many. */
static int pegasus_specials(const file_set *fs, int offset, const char **names, char *buf) {
    const char *mask = config_str(fs, "mask_token"), *sent = config_str(fs, "mask_token_sent");
    int n = 0;
    names[n++] = mask ? mask : "<mask_1>";
    if (!sent) sent = "<mask_2>";
    if (strcmp(sent, names[0])) names[n++] = sent;
    for (int i = 2; i < offset; i++, buf += 16) {
        snprintf(buf, 16, "<unk_%d>", i);
        names[n++] = buf;
    }
    return n;
}

/* Pegasus' ids (transformers 5.17's PegasusTokenizer from spiece.model): pad 0, eos 1, the
 * pegasus_specials from 2, then SentencePiece's piece k >= 2 (its pieces 0 and 1 are pad and
 * eos) right after them: k + offset with both masks. offset: tokenizer_config.json's, else 103.
 * When tokenizer.json ships, its added_tokens (load_added) name the ids 0 .. offset + 1. */
static ed_status pegasus_ids(tokenizer *t, const file_set *fs, ed_error *err) {
    const cJSON *o = fs->config ? cJSON_GetObjectItemCaseSensitive(fs->config, "offset") : NULL;
    int off = cJSON_IsNumber(o) ? o->valueint : 103;
    if (off < 2 || off > 100000 || (cJSON_IsNumber(o) && o->valuedouble != (double)off))
        return ed_fail(err, "%s: tokenizer_config.json: key offset: %g is not an integer in "
                            "[2, 100000]", fs->origin, cJSON_IsNumber(o) ? o->valuedouble : 0.0);
    const char **names = malloc((size_t)off * sizeof *names);
    char *buf = malloc((size_t)off * 16);
    ed_status st = names && buf ? ED_OK : ed_fail(err, "%s: out of memory", fs->origin);
    int n = st ? 0 : pegasus_specials(fs, off, names, buf);
    const char *pad = config_str(fs, "pad_token"), *eos = config_str(fs, "eos_token");
    if (!st) st = set_token(t, 0, pad ? pad : "<pad>", 1, err);
    if (!st) st = set_token(t, 1, eos ? eos : "</s>", 1, err);
    for (int i = 0; i < n && !st; i++) st = set_token(t, 2 + i, names[i], 1, err);
    t->sp_offset = n;
    for (int k = 2; k < tok_sp_size(t->sp) && !st; k++) {
        int ty = tok_sp_type(t->sp, k);
        st = set_token(t, k + n, tok_sp_piece(t->sp, k),
                       ty == TOK_SP_CONTROL || ty == TOK_SP_UNKNOWN, err);
    }
    free(names);
    free(buf);
    return st;
}

static ed_status load_sp(tokenizer *t, const file_set *fs, const char *name, ed_error *err) {
    const tokenizer_file *f = get_file(fs, name);
    if (!f) return ed_fail(err, "%s: %s is missing (the %s tokenizer needs it)", fs->origin, name,
                           tokenizer_kind(t));
    char why[256] = "";
    if (!(t->sp = tok_sp_load(f->data, f->len, why, sizeof why)))
        return ed_fail(err, "%s: %s is not a SentencePiece model (%s)", fs->origin, name, why);
    const tok_sp_normalizer *ns = tok_sp_normalizer_spec(t->sp);
    char what[1100];
    snprintf(what, sizeof what, "%s: %s", fs->origin, name);
    if (tok_charsmap_create(&t->charsmap, ns->charsmap, ns->charsmap_len, what, err)) return ED_ERR;
    /* transformers 5 builds these models with byte_fallback=False, whatever the .model says. */
    if (tok_sp_model_type(t->sp) == TOK_SP_BPE ? !(t->spbpe = tok_spbpe_create(t->sp, 0))
                                                : !(t->uni = tok_unigram_create(t->sp, 0)))
        return ed_fail(err, "%s: out of memory", fs->origin);
    int n = tok_sp_size(t->sp);
    if (t->kind == TK_T5) {
        for (int i = 0; i < n; i++) {
            int ty = tok_sp_type(t->sp, i);
            if (set_token(t, i, tok_sp_piece(t->sp, i), ty == TOK_SP_CONTROL || ty == TOK_SP_UNKNOWN,
                          err))
                return ED_ERR;
        }
        return ED_OK;
    }
    if (t->kind == TK_PEGASUS) return pegasus_ids(t, fs, err);
    /* fairseq's dictionary: <s> <pad> </s> <unk>, then the pieces after SentencePiece's three
     * (<unk> <s> </s>) shifted by one. */
    t->sp_offset = 1;
    static const char *const fairseq[] = {"<s>", "<pad>", "</s>", "<unk>"};
    for (int i = 0; i < 4; i++)
        if (set_token(t, i, fairseq[i], 1, err)) return ED_ERR;
    for (int i = 3; i < n; i++)
        if (set_token(t, i + 1, tok_sp_piece(t->sp, i), tok_sp_type(t->sp, i) == TOK_SP_CONTROL,
                      err))
            return ED_ERR;
    return ED_OK;
}

int tok_sp_to_id(const tokenizer *t, int sp_id) {
    if (!t->sp_offset) return sp_id;
    if (t->kind == TK_PEGASUS) return sp_id < 2 ? sp_id : sp_id + t->sp_offset;
    if (sp_id == tok_sp_unk_id(t->sp)) return 3;
    if (sp_id == 1) return 0;
    if (sp_id == 2) return 2;
    return sp_id + t->sp_offset;
}

/* The kinds whose Python class runs the sentencepiece library itself over a model file and maps
 * its pieces through vocab.json: Marian (source.spm, target.spm) and M2M100
 * (sentencepiece.bpe.model). `needs` names the files the kind needs, for messages. */
static ed_status load_spm_file(tok_sp **out, const file_set *fs, const char *name,
                               const char *needs, ed_error *err) {
    const tokenizer_file *f = get_file(fs, name);
    char why[256] = "";
    if (!f) return ed_fail(err, "%s: %s is missing (the tokenizer needs %s)", fs->origin, name,
                           needs);
    if (!(*out = tok_sp_load(f->data, f->len, why, sizeof why)))
        return ed_fail(err, "%s: %s is not a SentencePiece model (%s)", fs->origin, name, why);
    return ED_OK;
}

/* vocab.json (token -> id) into the id tables; a later entry with the same id wins, as Python's
 * {id: token} of it does. *entries: how many entries it has (Python's len() of it). */
static ed_status load_vocab_json(tokenizer *t, const file_set *fs, const char *needs,
                                 int *entries, ed_error *err) {
    *entries = 0;
    if (!get_file(fs, "vocab.json"))
        return ed_fail(err, "%s: vocab.json is missing (the tokenizer needs %s)", fs->origin,
                       needs);
    cJSON *v = NULL;
    if (parse_json(fs, "vocab.json", &v, err)) return ED_ERR;
    ed_status st = ED_OK;
    for (const cJSON *e = v->child; e && !st; e = e->next, ++*entries) {
        if (!cJSON_IsNumber(e) || e->valuedouble != (double)e->valueint || e->valueint < 0)
            st = ed_fail(err, "%s: vocab.json: \"%s\" must map to an integer id >= 0",
                         fs->origin, e->string);
        else
            st = set_token(t, e->valueint, e->string, 0, err);
    }
    cJSON_Delete(v);
    if (!st && t->vocab_size == 0) st = ed_fail(err, "%s: vocab.json is empty", fs->origin);
    return st;
}

static ed_status load_marian(tokenizer *t, const file_set *fs, ed_error *err) {
    static const char needs[] = "source.spm, target.spm and vocab.json";
    if (json_flag(fs->config, "separate_vocabs", 0))
        return ed_fail(err, "%s: tokenizer_config.json: key separate_vocabs: true (a Marian model "
                            "with its own target vocabulary, target_vocab.json) is not supported",
                       fs->origin);
    int entries;
    if (load_spm_file(&t->sp, fs, "source.spm", needs, err) ||
        load_spm_file(&t->sp_target, fs, "target.spm", needs, err))
        return ED_ERR;
    return load_vocab_json(t, fs, needs, &entries, err);
}

/* transformers' FAIRSEQ_LANGUAGE_CODES for M2M100Tokenizer, chosen by tokenizer_config.json's
 * language_codes ("m2m100", the default, or "wmt21"). */
static const char *const m2m100_codes[] = {
    "af", "am", "ar", "ast", "az", "ba", "be", "bg", "bn", "br", "bs", "ca", "ceb", "cs", "cy",
    "da", "de", "el", "en", "es", "et", "fa", "ff", "fi", "fr", "fy", "ga", "gd", "gl", "gu",
    "ha", "he", "hi", "hr", "ht", "hu", "hy", "id", "ig", "ilo", "is", "it", "ja", "jv", "ka",
    "kk", "km", "kn", "ko", "lb", "lg", "ln", "lo", "lt", "lv", "mg", "mk", "ml", "mn", "mr",
    "ms", "my", "ne", "nl", "no", "ns", "oc", "or", "pa", "pl", "ps", "pt", "ro", "ru", "sd",
    "si", "sk", "sl", "so", "sq", "sr", "ss", "su", "sv", "sw", "ta", "th", "tl", "tn", "tr",
    "uk", "ur", "uz", "vi", "wo", "xh", "yi", "yo", "zh", "zu"};
static const char *const wmt21_codes[] = {"en", "ha", "is", "ja", "cs", "ru", "zh", "de"};

/* An integer config key in [lo, hi] (dflt when absent); refused naming the key. */
static ed_status config_int(const file_set *fs, const char *key, int lo, int hi, int dflt,
                            int *out, ed_error *err) {
    const cJSON *v = fs->config ? cJSON_GetObjectItemCaseSensitive(fs->config, key) : NULL;
    *out = dflt;
    if (!v || cJSON_IsNull(v)) return ED_OK;
    if (!cJSON_IsNumber(v) || v->valuedouble != (double)v->valueint || v->valueint < lo ||
        v->valueint > hi)
        return ed_fail(err, "%s: tokenizer_config.json: key %s must be an integer in [%d, %d]",
                       fs->origin, key, lo, hi);
    *out = v->valueint;
    return ED_OK;
}

/* M2M100 (transformers' M2M100Tokenizer): sentencepiece.bpe.model run by the library itself,
 * vocab.json's ids for its pieces (fairseq's dictionary: <s> 0, <pad> 1, </s> 2, <unk> 3, then
 * the pieces in the dictionary's order, not the model's), then lang_token_to_id: language code i
 * of language_codes is "__xx__" at id len(vocab.json) + i, then num_madeup_words ids (default 8)
 * that HF names "<unk>" (the model's vocabulary counts them: 128,112 for m2m100_418M). vocab.json's
 * ids must be 0 .. len - 1 (a code's id would otherwise name a piece). The codes are made added
 * (matched in text), special tokens later, as the files say (m2m100_added). */
static ed_status load_m2m100(tokenizer *t, const file_set *fs, ed_error *err) {
    static const char needs[] = "sentencepiece.bpe.model and vocab.json";
    const char *which = config_str(fs, "language_codes");
    if (!which || !strcmp(which, "m2m100")) {
        t->lang_codes = m2m100_codes;
        t->n_lang_codes = (int)(sizeof m2m100_codes / sizeof m2m100_codes[0]);
    } else if (!strcmp(which, "wmt21")) {
        t->lang_codes = wmt21_codes;
        t->n_lang_codes = (int)(sizeof wmt21_codes / sizeof wmt21_codes[0]);
    } else {
        return ed_fail(err, "%s: tokenizer_config.json: key language_codes: '%s' is not one of "
                            "m2m100, wmt21", fs->origin, which);
    }
    int madeup, entries;
    if (config_int(fs, "num_madeup_words", 0, 1000, 8, &madeup, err) ||
        load_spm_file(&t->sp, fs, "sentencepiece.bpe.model", needs, err) ||
        load_vocab_json(t, fs, needs, &entries, err))
        return ED_ERR;
    if (t->vocab_size != entries)
        return ed_fail(err, "%s: vocab.json: its %d entries must have the ids 0 .. %d (the "
                            "largest is %d; M2M100's language codes follow them)",
                       fs->origin, entries, entries - 1, t->vocab_size - 1);
    const char *unk = config_str(fs, "unk_token");
    if (!unk) unk = "<unk>";
    if (tok_map_get(t->token_id, unk, strlen(unk)) < 0)
        return ed_fail(err, "%s: vocab.json has no unk token \"%s\" (M2M100Tokenizer needs it)",
                       fs->origin, unk);
    t->lang_base = entries;
    char name[16];
    for (int i = 0; i < t->n_lang_codes; i++) {
        snprintf(name, sizeof name, "__%s__", t->lang_codes[i]);
        if (set_token(t, entries + i, name, 0, err)) return ED_ERR;
    }
    for (int i = 0; i < madeup; i++)
        if (set_token(t, entries + t->n_lang_codes + i, unk, 0, err)) return ED_ERR;
    return ED_OK;
}

static ed_status load_base(tokenizer *t, const file_set *fs, ed_error *err) {
    switch (t->kind) {
    case TK_T5: case TK_PEGASUS: return load_sp(t, fs, "spiece.model", err);
    case TK_MARIAN: return load_marian(t, fs, err);
    case TK_M2M100: return load_m2m100(t, fs, err);
    case TK_MBART50: case TK_MBART: case TK_NLLB:
        return load_sp(t, fs, "sentencepiece.bpe.model", err);
    case TK_BYT5: {
        static const char *const sp3[] = {"<pad>", "</s>", "<unk>"};
        for (int i = 0; i < 3; i++)
            if (set_token(t, i, sp3[i], 1, err)) return ED_ERR;
        for (int b = 0; b < 256; b++) { /* HF's token for a byte: chr(byte) */
            char s[5] = {0};
            utf8_encode((uint32_t)b, s);
            if (set_token(t, b + 3, s, 0, err)) return ED_ERR;
        }
        return ED_OK;
    }
    case TK_BART: {
        const tokenizer_file *v = get_file(fs, "vocab.json"), *m = get_file(fs, "merges.txt");
        ed_status st;
        if (v && m) {
            char origin[1100];
            snprintf(origin, sizeof origin, "%s: vocab.json / merges.txt", fs->origin);
            st = tok_bbpe_load(&t->bbpe, v->data, v->len, m->data, m->len, origin, err);
        } else if (fs->tok_json) {
            char origin[1100];
            snprintf(origin, sizeof origin, "%s: tokenizer.json", fs->origin);
            const cJSON *model = cJSON_GetObjectItemCaseSensitive(fs->tok_json, "model");
            st = tok_bbpe_load_json(&t->bbpe, model, origin, err);
        } else {
            return ed_fail(err, "%s: vocab.json and merges.txt (or tokenizer.json) are missing "
                                "(the byte-level BPE tokenizer needs them)", fs->origin);
        }
        if (st) return ED_ERR;
        for (int i = 0; i < tok_bbpe_size(t->bbpe); i++) {
            const char *s = tok_bbpe_token(t->bbpe, i);
            if (s && set_token(t, i, s, 0, err)) return ED_ERR;
        }
        return ED_OK;
    }
    }
    return ED_ERR;
}

static ed_status add_token(tokenizer *t, const char *content, int id, int special, int lstrip,
                           int rstrip, int single_word, ed_error *err) {
    if (set_token(t, id, content, special, err)) return ED_ERR;
    /* The added token's own id wins over a model piece with the same text. */
    if (tok_map_put(t->token_id, content, strlen(content), id) ||
        tok_added_put(&t->added, content, id, special, lstrip, rstrip, single_word))
        return ed_fail(err, "%s: out of memory", t->origin);
    return ED_OK;
}

/* tokenizer.json's added_tokens, else tokenizer_config.json's added_tokens_decoder; then
 * added_tokens.json. Returns how many were found in *count. */
static ed_status load_added(tokenizer *t, const file_set *fs, int *count, ed_error *err) {
    *count = 0;
    const cJSON *list = fs->tok_json ? cJSON_GetObjectItemCaseSensitive(fs->tok_json,
                                                                         "added_tokens") : NULL;
    if (list && !cJSON_IsArray(list))
        return ed_fail(err, "%s: tokenizer.json: added_tokens must be an array", fs->origin);
    int i = 0;
    for (const cJSON *e = list ? list->child : NULL; e; e = e->next, i++) {
        const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
        const char *content = token_text(e);
        if (!cJSON_IsNumber(id) || !content)
            return ed_fail(err, "%s: tokenizer.json: added_tokens[%d] needs an integer id and "
                                "a string content", fs->origin, i);
        if (add_token(t, content, id->valueint, json_flag(e, "special", 0),
                      json_flag(e, "lstrip", 0), json_flag(e, "rstrip", 0),
                      json_flag(e, "single_word", 0), err))
            return ED_ERR;
        (*count)++;
    }
    const cJSON *dec = !list && fs->config ? cJSON_GetObjectItemCaseSensitive(
                                                 fs->config, "added_tokens_decoder") : NULL;
    for (const cJSON *e = cJSON_IsObject(dec) ? dec->child : NULL; e; e = e->next) {
        char *endp = NULL;
        long id = strtol(e->string, &endp, 10);
        const char *content = token_text(e);
        if (!endp || *endp || !content)
            return ed_fail(err, "%s: tokenizer_config.json: added_tokens_decoder entry \"%s\" "
                                "needs an integer key and a content", fs->origin, e->string);
        if (add_token(t, content, (int)id, json_flag(e, "special", 0), json_flag(e, "lstrip", 0),
                      json_flag(e, "rstrip", 0), json_flag(e, "single_word", 0), err))
            return ED_ERR;
        (*count)++;
    }
    for (const cJSON *e = fs->added_json ? fs->added_json->child : NULL; e; e = e->next) {
        if (!cJSON_IsNumber(e))
            return ed_fail(err, "%s: added_tokens.json: \"%s\" must map to an integer id",
                           fs->origin, e->string);
        if (!tok_added_find(&t->added, e->string, strlen(e->string))) {
            if (add_token(t, e->string, e->valueint, 0, 0, 0, 0, err)) return ED_ERR;
            (*count)++;
        }
    }
    return ED_OK;
}

/* The additional special tokens a file lists: special_tokens_map.json's (when use_map) before
 * tokenizer_config.json's, under transformers 4's key additional_special_tokens or 5's
 * extra_special_tokens (a list); NULL when none lists any. */
static const cJSON *listed_specials(const file_set *fs, int use_map) {
    static const char *const keys[] = {"additional_special_tokens", "extra_special_tokens"};
    const cJSON *objs[] = {use_map ? fs->special_map : NULL, fs->config};
    for (int o = 0; o < 2; o++)
        for (int k = 0; k < 2; k++) {
            const cJSON *a = objs[o] ? cJSON_GetObjectItemCaseSensitive(objs[o], keys[k]) : NULL;
            if (cJSON_IsArray(a) && cJSON_GetArraySize(a) > 0) return a;
        }
    return NULL;
}

/* M2M100's added tokens besides those the files give with ids (tokenizer.json's added_tokens,
 * tokenizer_config.json's added_tokens_decoder: load_added), as transformers 5 loads them and
 * PreTrainedTokenizer._add_tokens adds them: each listed additional special token not added yet
 * (special_tokens_map.json's list is read only when tokenizer_config.json has no
 * added_tokens_decoder) becomes a special added token; one of vocab.json keeps its id, the others
 * take the next ids from len(vocab.json) in list order. The hub's list is every code in
 * language_codes' order, so each "__xx__" lands on its lang_token_to_id. When no file makes any
 * code an added token, every code is made one at its lang_token_to_id: transformers' class adds
 * none itself (its text "__en__" would then be SentencePiece pieces and decode would keep the
 * codes), but no hub repo ships M2M100 without the list. */
static ed_status m2m100_added(tokenizer *t, const file_set *fs, ed_error *err) {
    const cJSON *dec = fs->config ? cJSON_GetObjectItemCaseSensitive(fs->config,
                                                                      "added_tokens_decoder")
                                  : NULL;
    const cJSON *list = listed_specials(fs, dec == NULL);
    int next = t->lang_base, i = 0;
    for (size_t k = 0; k < t->added.n; k++)
        if (t->added.items[k].id >= next) next = t->added.items[k].id + 1;
    for (const cJSON *e = list ? list->child : NULL; e; e = e->next, i++) {
        const char *c = token_text(e);
        if (!c) return ed_fail(err, "%s: additional_special_tokens[%d] is not a token",
                               fs->origin, i);
        if (tok_added_find(&t->added, c, strlen(c))) continue;
        int id = tok_map_get(t->token_id, c, strlen(c));
        if (id < 0 || id >= t->lang_base) id = next++;
        if (add_token(t, c, id, 1, json_flag(e, "lstrip", 0), json_flag(e, "rstrip", 0),
                      json_flag(e, "single_word", 0), err))
            return ED_ERR;
    }
    char name[16];
    for (int k = 0; k < t->n_lang_codes; k++) {
        snprintf(name, sizeof name, "__%s__", t->lang_codes[k]);
        if (tok_added_find(&t->added, name, strlen(name))) return ED_OK;
    }
    for (int k = 0; k < t->n_lang_codes; k++) {
        snprintf(name, sizeof name, "__%s__", t->lang_codes[k]);
        if (add_token(t, name, t->lang_base + k, 1, 0, 0, 0, err)) return ED_ERR;
    }
    return ED_OK;
}

/* Kinds' added tokens when no file lists them (HF's classes add these themselves). */
static ed_status default_added(tokenizer *t, const file_set *fs, ed_error *err) {
    const cJSON *x = fs->config ? cJSON_GetObjectItemCaseSensitive(fs->config, "extra_ids") : NULL;
    char name[64];
    if (t->kind == TK_T5 || t->kind == TK_BYT5) {
        int extra = cJSON_IsNumber(x) ? x->valueint : t->kind == TK_T5 ? 100 : 125;
        int base = t->vocab_size;
        for (int i = 0; i < extra; i++) {
            snprintf(name, sizeof name, "<extra_id_%d>", i);
            if (add_token(t, name, base + extra - 1 - i, 1, 0, 0, 0, err)) return ED_ERR;
        }
    }
    if (t->kind == TK_MBART50 || t->kind == TK_MBART || t->kind == TK_NLLB) {
        const cJSON *codes = listed_specials(fs, 1);
        if (!codes)
            return ed_fail(err, "%s: the language codes are missing: neither tokenizer.json's "
                                "added_tokens, tokenizer_config.json's added_tokens_decoder nor "
                                "additional_special_tokens lists them", fs->origin);
        int base = t->vocab_size;
        int i = 0;
        for (const cJSON *e = codes->child; e; e = e->next, i++) {
            const char *c = token_text(e);
            if (!c) return ed_fail(err, "%s: additional_special_tokens[%d] is not a token",
                                   fs->origin, i);
            if (add_token(t, c, base + i, 1, 0, 0, 0, err)) return ED_ERR;
        }
        if (add_token(t, "<mask>", base + i, 1, 1, 0, 0, err)) return ED_ERR;
    }
    if (t->kind == TK_PEGASUS) /* the masks and <unk_N>: PegasusTokenizer's specials */
        for (int id = 2; id < t->sp_offset + 2; id++) {
            char *name = strdup(t->id_token[id]);
            ed_status st = name ? add_token(t, name, id, 1, 0, 0, 0, err)
                                : ed_fail(err, "%s: out of memory", t->origin);
            free(name);
            if (st) return ED_ERR;
        }
    if (t->kind == TK_BART) {
        int id = tok_map_get(t->token_id, "<mask>", 6);
        if (id >= 0 && add_token(t, "<mask>", id, 1, 1, 0, 0, err)) return ED_ERR;
    }
    return ED_OK;
}

static ed_status finish_specials(tokenizer *t, const file_set *fs, ed_error *err) {
    static const char *const names[] = {"<s>", "</s>", "<unk>", "<pad>"};
    static const char *const keys[] = {"bos_token", "eos_token", "unk_token", "pad_token"};
    int *ids[] = {&t->bos_id, &t->eos_id, &t->unk_id, &t->pad_id};
    for (int i = 0; i < 4; i++) {
        const char *name = config_str(fs, keys[i]);
        if (!name) name = names[i];
        int id = tok_map_get(t->token_id, name, strlen(name));
        *ids[i] = id;
        if (id >= 0) {
            t->special[id] = 1;
            const tok_added *a = tok_added_find(&t->added, name, strlen(name));
            if (!a && tok_added_put(&t->added, name, id, 1, 0, 0, 0))
                return ed_fail(err, "%s: out of memory", t->origin);
        }
    }
    if (t->kind == TK_BYT5 || t->kind == TK_T5 || t->kind == TK_MARIAN || t->kind == TK_PEGASUS)
        t->bos_id = -1;
    if (t->kind == TK_MARIAN && t->unk_id < 0) {
        const char *unk = config_str(fs, "unk_token");
        return ed_fail(err, "%s: vocab.json has no unk token \"%s\" (MarianTokenizer needs it)",
                       t->origin, unk ? unk : "<unk>");
    }
    if (t->eos_id < 0) return ed_fail(err, "%s: the tokenizer has no end-of-sequence token",
                                      t->origin);
    /* The default language codes: HF's classes fail on an unknown src_lang at load and on an
     * unknown tgt_lang when they first switch to it; both are refused here, naming the key. */
    t->src_lang_id = t->tgt_lang_id = -1;
    if (t->kind == TK_MBART50 || t->kind == TK_MBART || t->kind == TK_NLLB ||
        t->kind == TK_M2M100) {
        const char *src = config_str(fs, "src_lang"), *tgt = config_str(fs, "tgt_lang");
        if (!src) src = t->kind == TK_NLLB ? "eng_Latn" : t->kind == TK_M2M100 ? "en" : "en_XX";
        const char *keys[] = {"src_lang", "tgt_lang"}, *codes[] = {src, tgt};
        int *ids[] = {&t->src_lang_id, &t->tgt_lang_id};
        for (int i = 0; i < 2; i++)
            if (codes[i] && (*ids[i] = tokenizer_lang_id(t, codes[i])) < 0)
                return ed_fail(err, "%s: tokenizer_config.json: %s '%s' is not one of the "
                                    "tokenizer's language codes%s", t->origin, keys[i], codes[i],
                               t->kind == TK_M2M100 ? " (M2M100's are written as 'en', 'de', "
                                                      "...: language_codes' list)" : "");
    }
    /* HF's classes (transformers 5) build these pipelines in code, whatever tokenizer.json says. */
    t->sp_ws_split = t->kind == TK_T5;
    t->legacy = json_flag(fs->config, "legacy_behaviour", 0);
    t->clean_up = json_flag(fs->config, "clean_up_tokenization_spaces", 0);
    t->add_prefix_space = json_flag(fs->config, "add_prefix_space", 0);
    if (t->bbpe) tok_bbpe_set_add_prefix_space(t->bbpe, t->add_prefix_space);
    if (tok_added_finish(&t->added)) return ed_fail(err, "%s: out of memory", t->origin);
    for (int i = 0; i < t->vocab_size; i++)
        if (!t->id_token[i]) return ed_fail(err, "%s: id %d has no token (the vocabulary has a "
                                                 "hole)", t->origin, i);
    return ED_OK;
}

ed_status tokenizer_load_files(tokenizer **out, const tokenizer_file *files, size_t n,
                               const char *origin, ed_error *err) {
    file_set fs = {files, n, origin, NULL, NULL, NULL, NULL};
    tokenizer *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t || !(t->token_id = tok_map_create(4096))) {
        free(t);
        return ed_fail(err, "%s: out of memory", origin);
    }
    snprintf(t->origin, sizeof t->origin, "%s", origin);
    int n_added = 0;
    if (parse_json(&fs, "tokenizer_config.json", &fs.config, err) ||
        parse_json(&fs, "special_tokens_map.json", &fs.special_map, err) ||
        parse_json(&fs, "added_tokens.json", &fs.added_json, err) ||
        parse_json(&fs, "tokenizer.json", &fs.tok_json, err) || pick_kind(t, &fs, err) ||
        load_base(t, &fs, err) || load_added(t, &fs, &n_added, err) ||
        (t->kind == TK_M2M100 ? m2m100_added(t, &fs, err)
                              : n_added == 0 && default_added(t, &fs, err)) ||
        finish_specials(t, &fs, err)) {
        tokenizer_destroy(t);
        t = NULL;
    }
    cJSON_Delete(fs.config);
    cJSON_Delete(fs.special_map);
    cJSON_Delete(fs.added_json);
    cJSON_Delete(fs.tok_json);
    *out = t;
    return t ? ED_OK : ED_ERR;
}

void tokenizer_destroy(tokenizer *t) {
    if (!t) return;
    tok_sp_destroy(t->sp);
    tok_sp_destroy(t->sp_target);
    tok_charsmap_destroy(t->charsmap);
    tok_unigram_destroy(t->uni);
    tok_spbpe_destroy(t->spbpe);
    tok_bbpe_destroy(t->bbpe);
    for (int i = 0; i < t->vocab_size; i++) free(t->id_token[i]);
    free(t->id_token);
    free(t->special);
    tok_map_destroy(t->token_id);
    tok_added_free(&t->added);
    free(t);
}

/* Files gathered for tokenizer_load_files (owned copies). */
typedef struct file_list {
    tokenizer_file items[16];
    size_t n;
} file_list;

static void file_list_free(file_list *l) {
    for (size_t i = 0; i < l->n; i++) {
        free((void *)l->items[i].name);
        free((void *)l->items[i].data);
    }
    l->n = 0;
}

static int file_list_add(file_list *l, const char *name, void *data, size_t len) {
    if (l->n == sizeof l->items / sizeof l->items[0]) return -1;
    char *nm = strdup(name);
    if (!nm) return -1;
    l->items[l->n++] = (tokenizer_file){nm, data, len};
    return 0;
}

static int is_known_name(const char *name) {
    for (const char *const *p = tokenizer_file_names; *p; p++)
        if (!strcmp(*p, name)) return 1;
    return 0;
}

ed_status tokenizer_load_dir(tokenizer **out, const char *dir, ed_error *err) {
    file_list l = {0};
    *out = NULL;
    for (const char *const *p = tokenizer_file_names; *p; p++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, *p);
        FILE *f = fopen(path, "rb");
        if (!f) {
            if (errno == ENOENT) continue;
            file_list_free(&l);
            return ed_fail(err, "%s: cannot open: %s", path, strerror(errno));
        }
        char *data = NULL;
        size_t len = 0, cap = 0;
        int bad = 0;
        for (;;) {
            if (len == cap) {
                cap = cap ? 2 * cap : 65536;
                char *d = realloc(data, cap + 1);
                if (!d) { bad = 1; break; }
                data = d;
            }
            size_t got = fread(data + len, 1, cap - len, f);
            len += got;
            if (got == 0) break;
        }
        if (ferror(f)) bad = 1;
        fclose(f);
        if (bad || file_list_add(&l, *p, data, len)) {
            free(data);
            file_list_free(&l);
            return ed_fail(err, "%s: cannot read", path);
        }
    }
    ed_status st = tokenizer_load_files(out, l.items, l.n, dir, err);
    file_list_free(&l);
    return st;
}

static int collect_file(void *ctx, const char *name, const void *data, size_t len) {
    file_list *l = ctx;
    if (!is_known_name(name)) return 0; /* a newer writer's extra file: not ours to read */
    void *copy = malloc(len + 1);
    if (!copy) return -1;
    memcpy(copy, data, len);
    ((char *)copy)[len] = 0;
    if (file_list_add(l, name, copy, len)) {
        free(copy);
        return -1;
    }
    return 0;
}

ed_status tokenizer_load_h5(tokenizer **out, const char *h5_path, ed_error *err) {
    h5_model *f = NULL;
    file_list l = {0};
    *out = NULL;
    if (h5_model_open(&f, h5_path, err)) return ED_ERR;
    if (!h5_model_has_files(f)) {
        h5_model_close(f, NULL);
        return ed_fail(err, "%s: the model was converted without tokenizer files (its HF "
                            "directory had none): it serves token ids only; convert it again "
                            "from a directory with the tokenizer files to use text",
                       h5_path);
    }
    ed_error inner = {{0}};
    ed_status st = h5_model_read_files(f, collect_file, &l, &inner);
    h5_model_close(f, NULL);
    if (st) {
        file_list_free(&l);
        return ed_fail(err, "%s", inner.msg[0] ? inner.msg : "out of memory");
    }
    st = tokenizer_load_files(out, l.items, l.n, h5_path, err);
    file_list_free(&l);
    return st;
}

int tokenizer_h5_has(const char *h5_path) {
    h5_model *f = NULL;
    if (h5_model_open(&f, h5_path, NULL)) return 0;
    int has = h5_model_has_files(f);
    h5_model_close(f, NULL);
    return has;
}

int tokenizer_token_to_id(const tokenizer *t, const char *token) {
    return tok_map_get(t->token_id, token, strlen(token));
}
const char *tokenizer_id_to_token(const tokenizer *t, int32_t id) {
    return id >= 0 && id < t->vocab_size ? t->id_token[id] : NULL;
}
int tokenizer_vocab_size(const tokenizer *t) { return t->vocab_size; }
int tokenizer_eos_id(const tokenizer *t) { return t->eos_id; }
int tokenizer_is_special(const tokenizer *t, int32_t id) {
    return id >= 0 && id < t->vocab_size && t->special[id];
}
const char *tokenizer_kind(const tokenizer *t) {
    static const char *const names[] = {"t5",   "mbart50", "mbart",   "nllb",
                                        "bart", "byt5",    "marian",  "pegasus", "m2m100"};
    return names[t->kind];
}

int tokenizer_lang_id(const tokenizer *t, const char *code) {
    if (!code) return -1;
    if (t->kind == TK_M2M100) {
        for (int i = 0; i < t->n_lang_codes; i++)
            if (!strcmp(t->lang_codes[i], code)) return t->lang_base + i;
        return -1;
    }
    if (t->kind != TK_MBART50 && t->kind != TK_MBART && t->kind != TK_NLLB) return -1;
    /* A special added token written like a code ("de_DE", "deu_Latn"): not <s> or <mask>. */
    int id = tok_map_get(t->token_id, code, strlen(code));
    const tok_added *a = id >= 0 ? tok_added_find(&t->added, code, strlen(code)) : NULL;
    return a && a->special && strchr(code, '_') ? id : -1;
}

int tokenizer_tgt_lang_id(const tokenizer *t) { return t->tgt_lang_id; }
