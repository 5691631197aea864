/* golden_check EXPECTED.jsonl RESPONSES.jsonl [--tol REL] [--ids-only] [--margin-ids] [--logits-only]
 * Compares encdec_tp's responses with Hugging Face's: for every expected id, output_ids and
 * finish_reason must be identical and logits (when expected) within REL relative error
 * (max |diff| / max |ref| per request; default 1e-4).
 * --margin-ids (16-bit or quantized weights against HF's fp32): greedy ids must be identical
 * wherever HF's margin (its logit of its token minus its logit of ours) exceeds twice our logits
 * error at that step; at the first step where the margin is that small the ids may part, and the
 * request is compared up to that step only. --logits-only: only the expected requests with
 * logits are compared (those without give no margin to judge a parting by). Expected encoder states are compared with
 * a response's encoder_output (JSON or base64-f32, mean-pooled when its shape is [d_model]), and
 * with encode-only responses whose ids are "<prefix><id>" (--encode-only-prefix, repeatable).
 * Prints a summary line; exit 0 on pass. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void free_lines(cJSON **rows, int n) {
    for (int i = 0; i < n; i++) cJSON_Delete(rows[i]);
    free(rows);
}

/* Every non-blank line of path parsed as JSON, owned by the caller (free_lines); NULL with a
 * message on stderr when the file cannot be read or a line is not JSON. */
static cJSON **read_lines(const char *path, int *n) {
    FILE *f = fopen(path, "r");
    *n = 0;
    if (!f) {
        fprintf(stderr, "golden_check: cannot open %s\n", path);
        return NULL;
    }
    cJSON **rows = malloc(sizeof *rows);
    char *line = NULL;
    size_t cap = 0;
    int ok = rows != NULL;
    while (ok && getline(&line, &cap, f) >= 0) {
        if (strspn(line, " \r\n") == strlen(line)) continue;
        cJSON **grown = realloc(rows, sizeof *rows * (size_t)(*n + 1));
        if (!grown) {
            fprintf(stderr, "golden_check: %s: out of memory\n", path);
            ok = 0;
            break;
        }
        rows = grown;
        if (!(rows[*n] = cJSON_Parse(line))) {
            fprintf(stderr, "golden_check: %s: line %d is not JSON\n", path, *n + 1);
            ok = 0;
            break;
        }
        (*n)++;
    }
    free(line);
    fclose(f);
    if (!ok) {
        free_lines(rows, *n);
        *n = 0;
        return NULL;
    }
    return rows;
}

/* The request id as JSON text ("null" when absent), owned by the caller. */
static char *id_text(const cJSON *o) {
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    char *t = id ? cJSON_PrintUnformatted(id) : NULL;
    return t ? t : strdup("null");
}

/* JSON text of o (or "-" for NULL), owned by the caller. */
static char *json_text(const cJSON *o) {
    char *t = o ? cJSON_PrintUnformatted(o) : NULL;
    return t ? t : strdup("-");
}

/* HF pads shorter returned beams to the longest: ours must be a prefix of HF's, and HF's rest one
 * repeated (pad) token. */
static int same_beam(const cJSON *hf, const cJSON *ours) {
    int n_hf = cJSON_GetArraySize(hf), n = cJSON_GetArraySize(ours);
    if (!cJSON_IsArray(ours) || n > n_hf) return 0;
    for (int i = 0; i < n; i++)
        if (cJSON_GetArrayItem(hf, i)->valueint != cJSON_GetArrayItem(ours, i)->valueint) return 0;
    for (int i = n + 1; i < n_hf; i++)
        if (cJSON_GetArrayItem(hf, i)->valueint != cJSON_GetArrayItem(hf, n)->valueint) return 0;
    return 1;
}

/* Beam search: every returned sequence and its score (HF's sequences_scores). */
static int check_beams(const char *id, const cJSON *exp, const cJSON *got) {
    const cJSON *seqs = cJSON_GetObjectItemCaseSensitive(exp, "sequences");
    const cJSON *scores = cJSON_GetObjectItemCaseSensitive(exp, "scores");
    const cJSON *ours = cJSON_GetObjectItemCaseSensitive(got, "sequences");
    int n = cJSON_GetArraySize(seqs), failures = 0;
    for (int j = 0; j < n; j++) {
        const cJSON *o = n > 1 ? cJSON_GetArrayItem(ours, j) : got;
        const cJSON *ids = o ? cJSON_GetObjectItemCaseSensitive(o, "output_ids") : NULL;
        if (!ids || !same_beam(cJSON_GetArrayItem(seqs, j), ids)) {
            char *hf = json_text(cJSON_GetArrayItem(seqs, j)), *t = json_text(ids);
            printf("FAIL %s: returned sequence %d differs\n  hf:   %s\n  ours: %s\n", id, j, hf,
                   t);
            free(hf);
            free(t);
            failures++;
            continue;
        }
        const cJSON *sc = o ? cJSON_GetObjectItemCaseSensitive(o, "score") : NULL;
        if (scores) {
            double ref = cJSON_GetArrayItem(scores, j)->valuedouble;
            if (!sc || fabs(sc->valuedouble - ref) > 1e-4 * (1 + fabs(ref))) {
                printf("FAIL %s: sequence %d score %g, HF %g\n", id, j, sc ? sc->valuedouble : NAN,
                       ref);
                failures++;
            }
        }
    }
    return failures;
}

/* Flattens a number, an array of numbers or an array of arrays into out (at most cap). */
static int flatten(const cJSON *a, double *out, int cap) {
    int n = 0;
    if (cJSON_IsNumber(a)) {
        if (n < cap) out[n] = a->valuedouble;
        return 1;
    }
    for (const cJSON *e = a ? a->child : NULL; e; e = e->next) n += flatten(e, out + n, cap - n);
    return n;
}

/* Decodes standard base64 of little-endian fp32 into out; returns the count of floats. */
static int b64_floats(const char *s, double *out, int cap) {
    unsigned char buf[4];
    int nb = 0, n = 0;
    unsigned acc = 0, bits = 0;
    for (; *s && *s != '='; s++) {
        const char *tbl = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *p = strchr(tbl, *s);
        if (!p) return -1;
        acc = acc << 6 | (unsigned)(p - tbl), bits += 6;
        if (bits >= 8) {
            bits -= 8;
            buf[nb++] = (unsigned char)(acc >> bits);
            if (nb == 4) {
                float f;
                memcpy(&f, buf, 4);
                if (n < cap) out[n] = f;
                n++, nb = 0;
            }
        }
    }
    return n;
}

/* Relative error of got against HF's encoder states ref[len][dim]; mean-pooled when the shape
 * says [dim]. -1 on a shape mismatch. */
static double encoder_error(const cJSON *ref, const cJSON *resp) {
    static double r[1 << 20], g[1 << 20];
    int nr = flatten(ref, r, 1 << 20), ng;
    const cJSON *b64 = cJSON_GetObjectItemCaseSensitive(resp, "encoder_output_b64");
    if (b64) ng = b64_floats(b64->valuestring, g, 1 << 20);
    else ng = flatten(cJSON_GetObjectItemCaseSensitive(resp, "encoder_output"), g, 1 << 20);
    int len = cJSON_GetArraySize(ref), dim = len ? nr / len : 0;
    if (ng == dim && len > 1) { /* mean pooling */
        for (int d = 0; d < dim; d++) {
            double m = 0;
            for (int t = 0; t < len; t++) m += r[t * dim + d];
            r[d] = m / len;
        }
        nr = dim;
    }
    if (ng != nr || nr == 0) return -1;
    double md = 0, mr = 0;
    for (int i = 0; i < nr; i++) {
        if (fabs(r[i] - g[i]) > md) md = fabs(r[i] - g[i]);
        if (fabs(r[i]) > mr) mr = fabs(r[i]);
    }
    return mr > 0 ? md / mr : md;
}

/* 1 (and a FAIL line) when HF gave a finish_reason and ours differs. */
static int finish_differs(const char *id, const cJSON *hf, const cJSON *ours) {
    if (!hf || cJSON_Compare(hf, ours, 1)) return 0;
    printf("FAIL %s: finish_reason %s, HF %s\n", id, ours ? ours->valuestring : "-",
           hf->valuestring);
    return 1;
}

/* Relative logits error, or -1 when the shapes differ. */
static double logits_error(const cJSON *ref, const cJSON *got) {
    if (!cJSON_IsArray(got) || cJSON_GetArraySize(ref) != cJSON_GetArraySize(got)) return -1;
    double max_diff = 0, max_ref = 0;
    for (const cJSON *r = ref->child, *g = got->child; r; r = r->next, g = g->next) {
        if (cJSON_GetArraySize(r) != cJSON_GetArraySize(g)) return -1;
        for (const cJSON *a = r->child, *b = g->child; a; a = a->next, b = b->next) {
            double d = fabs(a->valuedouble - b->valuedouble);
            if (d > max_diff || isnan(d)) max_diff = isnan(d) ? INFINITY : d;
            if (fabs(a->valuedouble) > max_ref) max_ref = fabs(a->valuedouble);
        }
    }
    return max_ref > 0 ? max_diff / max_ref : max_diff;
}

/* Margin-aware greedy check (--margin-ids): walks the steps; returns the relative logits error
 * over the steps compared, or -1 on a shape mismatch, -2 when ids part where HF's margin is
 * larger than twice our error there. *parted = the step where ids parted legitimately, or -1. */
static double margin_check(const cJSON *e_ids, const cJSON *g_ids, const cJSON *e_log,
                           const cJSON *g_log, int *parted, double *margin_at) {
    int n_e = cJSON_GetArraySize(e_log), n_g = cJSON_IsArray(g_log) ? cJSON_GetArraySize(g_log) : -1;
    double max_diff = 0, max_ref = 0;
    *parted = -1;
    /* Score mode has one more logits row than ids (the step after the last forced token). */
    int n_ids = cJSON_GetArraySize(e_ids);
    if (n_g < 0 || !cJSON_IsArray(g_ids) || n_ids > n_e) return -1;
    for (int t = 0; t < n_e && t < n_g; t++) {
        const cJSON *r = cJSON_GetArrayItem(e_log, t), *g = cJSON_GetArrayItem(g_log, t);
        if (cJSON_GetArraySize(r) != cJSON_GetArraySize(g)) return -1;
        double step_diff = 0;
        for (const cJSON *a = r->child, *b = g->child; a; a = a->next, b = b->next) {
            double d = fabs(a->valuedouble - b->valuedouble);
            if (d > step_diff || isnan(d)) step_diff = isnan(d) ? INFINITY : d;
            if (fabs(a->valuedouble) > max_ref) max_ref = fabs(a->valuedouble);
        }
        if (step_diff > max_diff) max_diff = step_diff;
        if (t < n_ids && t < cJSON_GetArraySize(g_ids) &&
            cJSON_GetArrayItem(e_ids, t)->valueint != cJSON_GetArrayItem(g_ids, t)->valueint) {
            /* The margin that matters: HF's logit of its token over HF's logit of ours (their
             * order can flip only if our error there is at least half of it). Not top1 - top2:
             * a banned token (min_new_tokens' EOS) may be the raw top 1. */
            const cJSON *hf_tok = cJSON_GetArrayItem(r, cJSON_GetArrayItem(e_ids, t)->valueint);
            const cJSON *our_tok = cJSON_GetArrayItem(r, cJSON_GetArrayItem(g_ids, t)->valueint);
            if (!hf_tok || !our_tok) return -1;
            *margin_at = hf_tok->valuedouble - our_tok->valuedouble;
            if (*margin_at > 2 * step_diff) return -2;
            *parted = t;
            break;
        }
    }
    if (*parted < 0 && (n_e != n_g || n_ids != cJSON_GetArraySize(g_ids))) return -1;
    return max_ref > 0 ? max_diff / max_ref : max_diff;
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: golden_check EXPECTED RESPONSES [--tol REL] [--ids-only] [--margin-ids] "
                        "[--logits-only]\n");
        return 2;
    }
    double tol = 1e-4;
    int ids_only = 0, margin_ids = 0, logits_only = 0, n_parted = 0, n_prefixes = 0;
    const char *prefixes[8];
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--tol") && i + 1 < argc) tol = atof(argv[++i]);
        else if (!strcmp(argv[i], "--ids-only")) ids_only = 1;
        else if (!strcmp(argv[i], "--margin-ids")) margin_ids = 1;
        else if (!strcmp(argv[i], "--logits-only")) logits_only = 1;
        else if (!strcmp(argv[i], "--encode-only-prefix") && i + 1 < argc && n_prefixes < 8)
            prefixes[n_prefixes++] = argv[++i];
    }
    int n_exp, n_got;
    cJSON **exp = read_lines(argv[1], &n_exp), **got = exp ? read_lines(argv[2], &n_got) : NULL;
    if (!got) {
        free_lines(exp, n_exp);
        return 2;
    }
    int failures = 0, n_logits = 0, n_encoder = 0;
    double worst = 0, worst_enc = 0;
    for (int i = 0; i < n_exp; i++) {
        if (logits_only && !cJSON_GetObjectItemCaseSensitive(exp[i], "logits")) continue;
        char *id = id_text(exp[i]);
        const cJSON *match = NULL;
        for (int j = 0; j < n_got && !match; j++) {
            char *other = id_text(got[j]);
            if (!strcmp(id, other)) match = got[j];
            free(other);
        }
        if (!match) {
            printf("FAIL %s: no response\n", id);
            failures++;
        } else if (cJSON_GetObjectItemCaseSensitive(match, "error")) {
            char *t = json_text(cJSON_GetObjectItemCaseSensitive(match, "error"));
            printf("FAIL %s: error response: %s\n", id, t);
            free(t);
            failures++;
        } else {
            const cJSON *e_ids = cJSON_GetObjectItemCaseSensitive(exp[i], "output_ids");
            const cJSON *g_ids = cJSON_GetObjectItemCaseSensitive(match, "output_ids");
            const cJSON *e_fin = cJSON_GetObjectItemCaseSensitive(exp[i], "finish_reason");
            const cJSON *g_fin = cJSON_GetObjectItemCaseSensitive(match, "finish_reason");
            const cJSON *e_log = cJSON_GetObjectItemCaseSensitive(exp[i], "logits");
            if (cJSON_GetObjectItemCaseSensitive(exp[i], "sequences")) {
                failures += check_beams(id, exp[i], match);
            } else if (margin_ids && e_log) {
                int parted;
                double margin = 0;
                double err = margin_check(e_ids, g_ids, e_log,
                                          cJSON_GetObjectItemCaseSensitive(match, "logits"),
                                          &parted, &margin);
                n_logits++;
                if (err == -2) {
                    char *hf = json_text(e_ids), *t = json_text(g_ids);
                    printf("FAIL %s: output_ids part where HF's margin is %.3g\n  hf:   %s\n"
                           "  ours: %s\n", id, margin, hf, t);
                    free(hf);
                    free(t);
                    failures++;
                } else if (err < 0 || err > tol) {
                    printf("FAIL %s: logits %s (relative error %.3g, tolerance %.3g)\n", id,
                           err < 0 ? "missing or of another shape" : "differ", err, tol);
                    failures++;
                } else if (parted >= 0) {
                    printf("note %s: ids part at step %d where HF's margin is %.3g "
                           "(within our error); compared up to there\n", id, parted, margin);
                    n_parted++;
                } else {
                    failures += finish_differs(id, e_fin, g_fin);
                }
                if (err > worst) worst = err;
            } else if (!cJSON_Compare(e_ids, g_ids, 1)) {
                char *hf = json_text(e_ids), *t = json_text(g_ids);
                printf("FAIL %s: output_ids differ\n  hf:   %s\n  ours: %s\n", id, hf, t);
                free(hf);
                free(t);
                failures++;
            } else {
                failures += finish_differs(id, e_fin, g_fin);
            }
            if (e_log && !ids_only && !margin_ids) {
                double err = logits_error(e_log, cJSON_GetObjectItemCaseSensitive(match, "logits"));
                n_logits++;
                if (err < 0 || err > tol) {
                    printf("FAIL %s: logits %s (relative error %.3g, tolerance %.3g)\n", id,
                           err < 0 ? "missing or of another shape" : "differ", err, tol);
                    failures++;
                }
                if (err > worst) worst = err;
            }
        }
        /* Encoder states: the response itself, and encode-only variants "<prefix><id>". */
        const cJSON *e_enc = cJSON_GetObjectItemCaseSensitive(exp[i], "encoder_output");
        for (int v = -1; e_enc && v < n_prefixes; v++) {
            char want[160];
            snprintf(want, sizeof want, v < 0 ? "%s" : "\"%s%s", v < 0 ? id : prefixes[v],
                     id + 1);
            const cJSON *resp = NULL;
            for (int j = 0; j < n_got && !resp; j++) {
                char *other = id_text(got[j]);
                if (!strcmp(want, other) &&
                    (cJSON_GetObjectItemCaseSensitive(got[j], "encoder_output") ||
                     cJSON_GetObjectItemCaseSensitive(got[j], "encoder_output_b64")))
                    resp = got[j];
                free(other);
            }
            if (!resp) {
                if (v >= 0) {
                    printf("FAIL %s: no encoder output\n", want);
                    failures++;
                }
                continue;
            }
            double err = encoder_error(e_enc, resp);
            n_encoder++;
            if (err < 0 || err > tol) {
                printf("FAIL %s: encoder output %s (relative error %.3g)\n", want,
                       err < 0 ? "missing or of another shape" : "differs", err);
                failures++;
            }
            if (err > worst_enc) worst_enc = err;
        }
        free(id);
    }
    if (n_encoder)
        printf("golden_check: %d encoder outputs, worst relative error %.3g\n", n_encoder, worst_enc);
    if (margin_ids)
        printf("golden_check: %d requests parted from HF at a margin within our error\n",
               n_parted);
    printf("golden_check: %d requests, %d with logits, worst logits relative error %.3g "
           "(tolerance %.3g): %s (%d failures)\n", n_exp, n_logits, worst, tol,
           failures ? "FAIL" : "PASS", failures);
    free_lines(exp, n_exp);
    free_lines(got, n_got);
    return failures ? 1 : 0;
}
