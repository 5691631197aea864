/* Helpers shared by the tokenizer tests (tests/unit/test_tokenizer.c: fixtures, lines, the .h5
 * copy; tests/unit/test_tokenizer_kinds.c: each kind's known answers and the charsmap). */
#ifndef ENCDEC_TEST_TOKENIZER_UTIL_H
#define ENCDEC_TEST_TOKENIZER_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "models/tok_utf8.h"
#include "models/tokenizer.h"

/* The whole file at path (NUL-terminated; its length in *len if given); NULL if unreadable. */
static inline char *slurp(const char *path, size_t *len) {
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


static inline void print_ids(const char *what, const int32_t *ids, size_t n) {
    fprintf(stderr, "    %s [", what);
    for (size_t i = 0; i < n; i++) fprintf(stderr, i ? ", %d" : "%d", ids[i]);
    fprintf(stderr, "]\n");
}


/* The files of an HF directory, as tokenizer_load_files takes them; `patch` (may be NULL)
 * edits one file's bytes (name, data, len) in place of the original. */
typedef struct dir_files {
    tokenizer_file f[16];
    char *data[16];
    size_t n;
} dir_files;

static inline void read_dir_files(const char *dir, dir_files *d) {
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

static inline void free_dir_files(dir_files *d) {
    for (size_t i = 0; i < d->n; i++) free(d->data[i]);
}

static inline tokenizer_file *find_file(dir_files *d, const char *name) {
    for (size_t i = 0; i < d->n; i++)
        if (!strcmp(d->f[i].name, name)) return &d->f[i];
    return NULL;
}

/* t's ids of text (with src_lang src, or NULL); on an error, NULL, *n = 0 and the reason printed. */
static inline int32_t *enc(const tokenizer *t, const char *text, const char *src, size_t *n) {
    int32_t *ids = NULL;
    ed_error err;
    if (tokenizer_encode(t, text, strlen(text), src, &ids, n, &err)) {
        fprintf(stderr, "  encode \"%s\": %s\n", text, err.msg);
        *n = 0;
    }
    return ids;
}

/* Each kind's known answers, whitespace after the character map, and the precompiled charsmap
 * (test_tokenizer_kinds.c) on the local tokenizers under root; adds its checks and failures to
 * *checks and *failures (check.h's counters are per file). */
void tokenizer_kind_answers(const char *root, int *checks, int *failures);

#endif
