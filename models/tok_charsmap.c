#include "models/tok_charsmap.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct tok_charsmap {
    uint32_t *units; /* the double array (NULL: identity map) */
    size_t n_units;
    char *strings;   /* the normalized strings, NUL-separated (plus a NUL of ours) */
    size_t strings_len;
    pcre2_code *grapheme; /* \X: one extended grapheme cluster */
    char origin[256];     /* the model, for messages */
};

/* Darts-clone's unit layout (darts.h, DoubleArrayUnit). */
static int unit_has_leaf(uint32_t u) { return (u >> 8) & 1; }
static uint32_t unit_value(uint32_t u) { return u & 0x7FFFFFFFu; }
static uint32_t unit_label(uint32_t u) { return u & (0x80000000u | 0xFFu); }
static size_t unit_offset(uint32_t u) { return (size_t)(u >> 10) << ((u & (1u << 9)) >> 6); }

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

ed_status tok_charsmap_create(tok_charsmap **out, const void *blob, size_t n, const char *origin,
                              ed_error *err) {
    const unsigned char *b = blob;
    *out = NULL;
    tok_charsmap *cm = calloc(1, sizeof *cm);
    if (!cm) return ed_fail(err, "%s: out of memory", origin);
    snprintf(cm->origin, sizeof cm->origin, "%s", origin);
    if (n == 0) {
        *out = cm;
        return ED_OK;
    }
    if (n < 4) {
        free(cm);
        return ed_fail(err, "%s: precompiled_charsmap: %zu bytes, shorter than its trie size",
                       origin, n);
    }
    uint32_t trie = le32(b);
    const char *bad = trie == 0 ? "the trie is empty"
                      : trie % 4 ? "the trie size is not a whole number of 4-byte units"
                      : trie > n - 4 ? "the trie runs past the end of the blob" : NULL;
    if (bad) {
        free(cm);
        return ed_fail(err, "%s: precompiled_charsmap (%zu bytes, trie size %u): %s", origin, n,
                       trie, bad);
    }
    const unsigned char *str = b + 4 + trie;
    size_t str_len = n - 4 - trie;
    for (size_t i = 0, cl; i < str_len; i += cl)
        if (!(cl = utf8_char_len(str + i, str_len - i))) {
            free(cm);
            return ed_fail(err, "%s: precompiled_charsmap: its normalized strings are not UTF-8 "
                                "(byte %zu of %zu)", origin, i, str_len);
        }
    cm->n_units = trie / 4;
    cm->units = malloc(cm->n_units * sizeof *cm->units);
    cm->strings = malloc(str_len + 1);
    int ec;
    PCRE2_SIZE eo;
    cm->grapheme = pcre2_compile((PCRE2_SPTR) "\\X", PCRE2_ZERO_TERMINATED, PCRE2_UTF, &ec, &eo,
                                 NULL);
    if (!cm->units || !cm->strings || !cm->grapheme) {
        tok_charsmap_destroy(cm);
        return ed_fail(err, "%s: out of memory (precompiled_charsmap)", origin);
    }
    pcre2_jit_compile(cm->grapheme, PCRE2_JIT_COMPLETE); /* optional: matching works without it */
    for (size_t i = 0; i < cm->n_units; i++) cm->units[i] = le32(b + 4 + 4 * i);
    memcpy(cm->strings, str, str_len);
    cm->strings[str_len] = 0;
    cm->strings_len = str_len;
    *out = cm;
    return ED_OK;
}

void tok_charsmap_destroy(tok_charsmap *cm) {
    if (!cm) return;
    free(cm->units);
    free(cm->strings);
    if (cm->grapheme) pcre2_code_free(cm->grapheme);
    free(cm);
}

static int corrupt(const tok_charsmap *cm, ed_error *err, const char *what, size_t at,
                   size_t limit) {
    ed_fail(err, "%s: precompiled_charsmap: corrupt trie (%s %zu, limit %zu)", cm->origin, what, at,
            limit);
    return -1;
}

int tok_charsmap_lookup(const tok_charsmap *cm, const char *s, size_t n, const char **rep,
                        size_t *rep_len, ed_error *err) {
    if (!cm->units) return 0;
    size_t pos = unit_offset(cm->units[0]);
    for (size_t i = 0; i < n && s[i]; i++) {
        unsigned char c = (unsigned char)s[i];
        pos ^= c;
        if (pos >= cm->n_units) return corrupt(cm, err, "unit", pos, cm->n_units);
        uint32_t u = cm->units[pos];
        if (unit_label(u) != c) return 0;
        pos ^= unit_offset(u);
        if (!unit_has_leaf(u)) continue;
        if (pos >= cm->n_units) return corrupt(cm, err, "leaf unit", pos, cm->n_units);
        size_t v = unit_value(cm->units[pos]);
        /* A replacement starts on a character boundary and runs to its NUL (or the end). */
        if (v > cm->strings_len || ((unsigned char)cm->strings[v] & 0xC0) == 0x80)
            return corrupt(cm, err, "replacement offset", v, cm->strings_len);
        *rep = cm->strings + v;
        *rep_len = strlen(cm->strings + v);
        return 1;
    }
    return 0;
}

/* One character or cluster g[gn] through the map: its replacement, or (keep) itself. */
static int put(const tok_charsmap *cm, const char *g, size_t gn, int keep, tok_buf *out,
               ed_error *err) {
    const char *rep;
    size_t rn;
    int hit = tok_charsmap_lookup(cm, g, gn, &rep, &rn, err);
    if (hit < 0) return -1;
    if (hit) return tok_buf_add(out, rep, rn) ? -1 : 1;
    return keep && tok_buf_add(out, g, gn) ? -1 : 0;
}

ed_status tok_charsmap_normalize(const tok_charsmap *cm, const char *s, size_t n, tok_buf *out,
                                 ed_error *err) {
    if (!cm->units) return tok_buf_add(out, s, n) ? ed_fail(err, "text: out of memory") : ED_OK;
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    if (!md) return ed_fail(err, "text: out of memory");
    err->msg[0] = 0;
    int rc = 0;
    for (size_t pos = 0; pos < n && rc >= 0;) {
        uint32_t opt = PCRE2_ANCHORED | PCRE2_NO_UTF_CHECK;
        if (pcre2_match(cm->grapheme, (PCRE2_SPTR)s, n, pos, opt, md, NULL) < 0) {
            rc = -1;
            ed_fail(err, "text: no grapheme cluster at byte %zu (not UTF-8?)", pos);
            break;
        }
        size_t end = pcre2_get_ovector_pointer(md)[1];
        if (end <= pos) {
            rc = -1;
            ed_fail(err, "text: empty grapheme cluster at byte %zu", pos);
            break;
        }
        /* HF's quirk, kept on purpose: a short cluster goes whole or not at all. */
        rc = end - pos < 6 ? put(cm, s + pos, end - pos, 0, out, err) : 0;
        for (size_t i = pos, cl; rc == 0 && i < end; i += cl) {
            cl = utf8_char_len((const unsigned char *)s + i, end - i);
            if (!cl) cl = 1; /* not reached on valid UTF-8: pass the byte through */
            rc = put(cm, s + i, cl, 1, out, err);
            if (rc > 0) rc = 0;
        }
        pos = end;
    }
    pcre2_match_data_free(md);
    if (rc < 0) return err->msg[0] ? ED_ERR : ed_fail(err, "text: out of memory");
    return ED_OK;
}
