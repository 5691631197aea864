#include "models/convert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "models/family.h"
#include "models/h5_model.h"
#include "models/hf_generation.h"
#include "models/pos_table.h"
#include "models/safetensors.h"
#include "models/tokenizer.h"
#include "common/log.h"
#include "common/dtype.h"

static const model_family *const families[] = {&family_t5, &family_bart, &family_m2m100,
                                               &family_marian, &family_pegasus};
#define N_FAMILIES (sizeof families / sizeof families[0])

static const model_family *family_for(const hf_config *cfg, ed_error *err) {
    const char *arch = hf_config_architecture(cfg);
    char supported[512] = "";
    for (size_t i = 0; i < N_FAMILIES; i++)
        for (const char *const *a = families[i]->architectures; *a; a++) {
            if (!strcmp(arch, *a)) return families[i];
            strncat(supported, supported[0] ? ", " : "", sizeof supported - strlen(supported) - 1);
            strncat(supported, *a, sizeof supported - strlen(supported) - 1);
        }
    ed_fail(err, "%s: key architectures: '%s' is not supported (supported: %s)",
            hf_config_path(cfg), arch[0] ? arch : "(missing)", supported);
    return NULL;
}

typedef struct convert_ctx {
    const model_family *fam;
    const model_spec *spec;
    st_archive *st;
    h5_model *out;
    int dtype, quantize, quantize_embeddings, progress;
    float *buf;
    size_t buf_cap, total_bytes, done_bytes;
    int n_tensors, n_done;
    time_t last_report;
    ed_error *err;
} convert_ctx;

static int is_computed(const convert_ctx *c, const weight_ref *r) {
    return !strcmp(r->decl->pattern, "%s.pos_embed") && pos_table_is_computed(c->spec);
}

/* The checkpoint tensor holding r (first candidate name present), or NULL with err set; for a
 * computed position table (models/pos_table.h) the checkpoint's optional copy, or NULL. */
static st_tensor *locate(convert_ctx *c, const weight_ref *r) {
    char names[512];
    c->fam->hf_names(c->spec, r, names, sizeof names);
    for (char *save = NULL, *n = strtok_r(names, "\n", &save); n; n = strtok_r(NULL, "\n", &save)) {
        st_tensor *t = st_archive_find(c->st, n);
        if (t) return t;
    }
    if (is_computed(c, r)) return NULL;
    c->fam->hf_names(c->spec, r, names, sizeof names);
    for (char *p = names; *p; p++)
        if (*p == '\n') *p = '|';
    ed_fail(c->err, "tensor %s is missing from the checkpoint (needed for %s)", names, r->name);
    return NULL;
}

/* A sinusoidal position table is computed into c->buf; a copy the checkpoint holds (t) must
 * match it. */
static int write_computed(convert_ctx *c, const weight_ref *r, const st_tensor *t) {
    pos_table_fill(c->spec, r->shape[0], r->shape[1], c->buf);
    if (!t) return 0;
    size_t n = st_tensor_numel(t);
    float *stored = malloc(n * sizeof(float));
    if (!stored) {
        ed_fail(c->err, "out of memory");
        return -1;
    }
    int bad = st_tensor_to_f32(t, stored, c->err) ||
              pos_table_check(c->buf, stored, (int64_t)n, t->name, c->err);
    free(stored);
    return bad ? -1 : 0;
}

static int check_one(void *vctx, const weight_ref *r) {
    convert_ctx *c = vctx;
    st_tensor *t = locate(c, r);
    if (!t && is_computed(c, r)) { /* computed, no copy in the checkpoint */
        size_t n = (size_t)r->shape[0] * (size_t)(r->rank == 2 ? r->shape[1] : 1);
        if (n > c->buf_cap) c->buf_cap = n;
        c->n_tensors++;
        return 0;
    }
    if (!t) return -1;
    int64_t n1 = r->rank == 2 ? r->shape[1] : 1;
    /* Leading dimensions of 1 are squeezed: HF stores final_logits_bias as [1, V]. */
    int lead = 0;
    while (t->rank - lead > r->rank && t->shape[lead] == 1) lead++;
    int ok = t->rank - lead == r->rank && t->shape[lead] == r->shape[0] &&
             (r->rank == 1 || t->shape[lead + 1] == n1);
    if (!ok) {
        char got[96] = "", want[64];
        for (int i = 0; i < t->rank; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? ", " : "",
                     (long long)t->shape[i]);
        if (r->rank == 2)
            snprintf(want, sizeof want, "%lld, %lld", (long long)r->shape[0], (long long)n1);
        else
            snprintf(want, sizeof want, "%lld", (long long)r->shape[0]);
        ed_fail(c->err, "tensor %s has shape [%s] but config.json implies [%s]", t->name, got, want);
        return -1;
    }
    if (t->dtype == ST_OTHER) {
        ed_fail(c->err, "tensor %s: dtype %s is not supported (F32, F16, BF16 are)", t->name,
                t->dtype_name);
        return -1;
    }
    t->used = 1;
    size_t n = st_tensor_numel(t);
    if (n > c->buf_cap) c->buf_cap = n;
    c->total_bytes += t->nbytes;
    c->n_tensors++;
    return 0;
}

static int write_one(void *vctx, const weight_ref *r) {
    convert_ctx *c = vctx;
    st_tensor *t = locate(c, r);
    if (is_computed(c, r)) {
        if (write_computed(c, r, t)) return -1;
    } else if (!t || st_tensor_to_f32(t, c->buf, c->err)) {
        return -1;
    }
    if (weight_is_quantized(r->decl, c->quantize, c->quantize_embeddings)
            ? h5_model_write_quantized(c->out, r->name, r->shape, c->buf, c->quantize, c->err)
            : h5_model_write_tensor(c->out, r->name, r->rank, r->shape, c->buf, c->dtype, c->err))
        return -1;
    c->done_bytes += t ? t->nbytes : 0;
    c->n_done++;
    time_t now = time(NULL);
    /* On a terminal one line, rewritten with \r each second; elsewhere (a log file) a line at
     * most every 10 s, and the last. */
    const int tty = isatty(STDERR_FILENO), last = c->n_done == c->n_tensors;
    if (c->progress && (now - c->last_report >= (tty ? 1 : 10) || last)) {
        c->last_report = now;
        fprintf(stderr, "%sencdec_convert: %d/%d tensors, %.1f/%.1f MB (%.0f%%)%s", tty ? "\r" : "",
                c->n_done,
                c->n_tensors, c->done_bytes / 1e6, c->total_bytes / 1e6,
                c->total_bytes ? 100.0 * c->done_bytes / c->total_bytes : 100.0,
                tty && !last ? "" : "\n");
    }
    return 0;
}

/* Copies the tokenizer files hf_dir ships (models/tokenizer.h's tokenizer_file_names) into the
 * .h5's /tokenizer group. None present: nothing stored, the model serves ids. Files that do not
 * make a tokenizer this build supports are stored all the same, with a warning naming why (a later
 * build may read them; requests with text then fail with that reason). */
static ed_status store_tokenizer_files(h5_model *out, const char *hf_dir, int progress,
                                       ed_error *err) {
    int stored = 0;
    for (const char *const *name = tokenizer_file_names; *name; name++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", hf_dir, *name);
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        char *data = NULL;
        size_t len = 0, cap = 0, got;
        int bad = 0;
        do {
            if (len == cap) {
                cap = cap ? 2 * cap : 65536;
                char *d = realloc(data, cap);
                if (!d) {
                    bad = 1;
                    break;
                }
                data = d;
            }
            got = fread(data + len, 1, cap - len, f);
            len += got;
        } while (got > 0);
        bad |= ferror(f);
        fclose(f);
        ed_status st = bad ? ed_fail(err, "%s: cannot read", path)
                           : h5_model_write_file(out, *name, data, len, err);
        free(data);
        if (st) return ED_ERR;
        stored++;
    }
    if (!stored) {
        if (progress) log_info("%s has no tokenizer files: the model serves token ids only", hf_dir);
        return ED_OK;
    }
    tokenizer *t = NULL;
    ed_error why;
    if (tokenizer_load_dir(&t, hf_dir, &why))
        log_warn("tokenizer files stored, but they do not make a tokenizer this build reads: %s",
                 why.msg);
    tokenizer_destroy(t);
    return ED_OK;
}

void convert_partial_path(const char *out_path, char *buf, size_t n) {
    snprintf(buf, n, "%s.partial-%ld", out_path, (long)getpid());
}

ed_status convert_hf_to_h5(const convert_options *opt, ed_error *err) {
    hf_config *cfg = NULL;
    st_archive *st = NULL;
    convert_ctx c = {.dtype = opt->dtype, .quantize = opt->quantize,
                     .quantize_embeddings = opt->quantize_embeddings, .progress = opt->progress,
                     .err = err};
    model_spec spec;
    char tmp[1100];
    int created = 0;
    convert_partial_path(opt->out_path, tmp, sizeof tmp);

    if (hf_config_load(&cfg, opt->hf_dir, err)) goto fail;
    if (!(c.fam = family_for(cfg, err))) goto fail;
    if (c.fam->spec_from_config(cfg, &spec, err)) goto fail;
    if (hf_generation_apply(opt->hf_dir, &spec, err)) goto fail;
    if (model_spec_validate(&spec, hf_config_path(cfg), err)) goto fail;
    c.spec = &spec;
    if (st_archive_open_dir(&st, opt->hf_dir, err)) goto fail;
    c.st = st;
    if (weight_table_foreach(&spec, check_one, &c)) goto fail;
    for (int i = 0; i < st_archive_count(st); i++) {
        const st_tensor *t = st_archive_get(st, i);
        if (!t->used && !c.fam->may_leave_unused(&spec, t->name)) {
            ed_fail(err, "tensor %s (in %s) is not used by the %s mapping: the checkpoint has "
                         "parts this converter does not implement", t->name,
                    st_archive_file_name(st, t->file), c.fam->name);
            goto fail;
        }
    }
    if (!(c.buf = malloc(c.buf_cap * sizeof(float)))) {
        ed_fail(err, "out of memory");
        goto fail;
    }
    if (h5_model_create(&c.out, tmp, err)) goto fail;
    created = 1;
    if (h5_model_write_spec(c.out, &spec, hf_config_architecture(cfg), err)) goto fail;
    if (weight_table_foreach(&spec, write_one, &c)) goto fail;
    if (store_tokenizer_files(c.out, opt->hf_dir, opt->progress, err)) goto fail;
    ed_status close_st = h5_model_close(c.out, err);
    c.out = NULL;
    if (close_st) goto fail;
    if (rename(tmp, opt->out_path)) {
        ed_fail(err, "%s: cannot rename the finished file into place", opt->out_path);
        goto fail;
    }
    free(c.buf);
    st_archive_close(st);
    hf_config_destroy(cfg);
    return ED_OK;
fail:
    if (c.out) h5_model_close(c.out, NULL);
    if (created) remove(tmp);
    free(c.buf);
    st_archive_close(st);
    hf_config_destroy(cfg);
    return ED_ERR;
}
