#include "runtime/token_choice.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h" /* rank_pair_before: the one (value, index) ranking rule */
#include "runtime/output_text.h"

struct token_choice {
    token_choice_config cfg;
    float *merged; /* [max_decode, STEP_PLAN_TOPK_MAX, 2] the sources merged: (value, token) */
};

ed_status token_choice_create(token_choice **out, const token_choice_config *cfg, ed_error *err) {
    token_choice *tc = calloc(1, sizeof *tc);
    if (tc) tc->merged = malloc(sizeof(float) * 2 * STEP_PLAN_TOPK_MAX *
                                (size_t)(cfg->max_decode > 0 ? cfg->max_decode : 1));
    if (!tc || !tc->merged) {
        token_choice_destroy(tc);
        return ed_fail(err, "out of memory for token choice");
    }
    tc->cfg = *cfg;
    *out = tc;
    return ED_OK;
}

void token_choice_destroy(token_choice *tc) {
    if (!tc) return;
    free(tc->merged);
    free(tc);
}

void token_choice_plan(const token_choice *tc, step_plan *p, const step_batch *batch) {
    int argmax_only = 1, topk = 1, topk_ok = 1; /* every sequence content with its rows' best */
    for (int i = 0, rows; i < p->n_decode; i += rows) {
        const sequence *seq = batch->dec_seq[i];
        rows = seq->n_beams; /* a request's beams are consecutive entries */
        int32_t ban;
        int argmax = sequence_argmax_suffices(seq, tc->cfg.eos_id, &ban);
        int k = argmax ? 1 : sequence_topk_suffices(seq, tc->cfg.eos_id, &ban);
        argmax_only &= argmax;
        topk_ok &= k > 0;
        if (k > topk) topk = k;
        for (int b = 0; b < rows; b++) p->dec[i + b].ban = ban;
    }
    if (!tc->cfg.device_argmax || p->n_decode == 0) argmax_only = topk_ok = 0;
    if (2 * topk > tc->cfg.vocab) topk_ok = 0; /* a row's pairs stay within a logits row */
    p->argmax_only = argmax_only;
    p->topk = !argmax_only && topk_ok ? topk : 0;
}

/* argmax_only: per row, the best pair over the sources (ties to the lower token: lower ranks
 * hold lower tokens) into merged[n, 2]. */
static void merge_argmax(token_choice *tc, const float *src, int n, int n_src) {
    for (int i = 0; i < n; i++) {
        int nan_seen = 0; /* a source's slice held a NaN (-2): the row fails */
        for (int r = 0; r < n_src; r++) nan_seen |= src[(size_t)r * 2 * n + 2 * i + 1] == -2.0f;
        if (nan_seen) {
            tc->merged[2 * i] = NAN;
            tc->merged[2 * i + 1] = -1;
            continue;
        }
        const float *best = src + 2 * i;
        for (int r = 1; r < n_src; r++) {
            const float *c = src + (size_t)r * 2 * n + 2 * i;
            if (c[1] >= 0 && rank_pair_before(c[0], c[1], best[0], best[1])) best = c;
        }
        tc->merged[2 * i] = best[0];
        tc->merged[2 * i + 1] = best[1];
    }
}

/* topk = k: per row, the log-softmax over the whole vocabulary from the sources' max and sum,
 * and the k best pairs over all sources (each source's list is sorted: a k-way merge, ties to
 * the lower token) into merged[n, k, 2] = (logit - logsumexp, token), (-inf, -1) past the end. */
static void merge_topk(token_choice *tc, const float *src, int n, int k, int n_src) {
    const int row = 2 + 2 * k;
    for (int i = 0; i < n; i++) {
        double mx = -INFINITY, sum = 0.0;
        int nan_seen = 0; /* a source's slice held a NaN (its max is NaN): the row fails */
        for (int r = 0; r < n_src; r++) {
            nan_seen |= isnan(src[((size_t)r * n + i) * row]);
            mx = fmax(mx, src[((size_t)r * n + i) * row]);
        }
        for (int r = 0; r < n_src; r++) {
            const float *t = src + ((size_t)r * n + i) * row;
            if (t[0] > -INFINITY) sum += t[1] * exp(t[0] - mx);
        }
        float lse = nan_seen ? NAN : (float)(mx + log(sum));
        int next[n_src];
        for (int r = 0; r < n_src; r++) next[r] = 0;
        for (int j = 0; j < k; j++) {
            int best = -1;
            float bv = -INFINITY, bt = -1.0f;
            for (int r = 0; r < n_src; r++) {
                if (next[r] >= k) continue;
                const float *c = src + ((size_t)r * n + i) * row + 2 + 2 * next[r];
                if (c[1] < 0) continue;
                if (rank_pair_before(c[0], c[1], bv, bt)) best = r, bv = c[0], bt = c[1];
            }
            if (best >= 0) next[best]++;
            tc->merged[((size_t)i * k + j) * 2] = best < 0 ? -INFINITY : bv - lse;
            tc->merged[((size_t)i * k + j) * 2 + 1] = best < 0 ? -1.0f : bt;
        }
    }
}

/* Ends seq with an error: the model gave it a non-finite output at this step (a NaN or an
 * infinity, or no candidate at all), which no choice of token can make right. */
static void fail_non_finite(sequence *seq, const char *what) {
    snprintf(seq->failure, sizeof seq->failure,
             "the model produced non-finite %s at decoder position %d; the request is stopped",
             what, seq->n_fed);
    seq->finish_reason = "error";
}

/* 1 when every value of rows[n] is finite. (Device argmax and top-k skip NaNs, so there a NaN
 * beside finite logits goes unseen; an infinite best value or a row of NaNs does not.) */
static int all_finite(const float *rows, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!isfinite(rows[i])) return 0;
    return 1;
}

/* Full logits rows [n_decode, vocab]: each sequence's rows are consecutive. Sequences advance
 * independently (their own tokens, beams, scratch and generator), so large steps use every core
 * of rank 0's node: log-softmax and top-k over vocab-sized rows is the host's heaviest work
 * (beam search). */
static void apply_logits(const token_choice *tc, const step_plan *p, const step_batch *batch,
                         const float *logits) {
    int V = tc->cfg.vocab, n_seqs = 0;
    int first_row[p->n_decode > 0 ? p->n_decode : 1];
    for (int i = 0; i < p->n_decode; i += batch->dec_seq[i]->n_beams) first_row[n_seqs++] = i;
    int parallel = n_seqs > 1 && (size_t)p->n_decode * V >= ((size_t)1 << 16);
#pragma omp parallel for schedule(dynamic, 1) if (parallel)
    for (int j = 0; j < n_seqs; j++) {
        sequence *seq = batch->dec_seq[first_row[j]];
        const float *rows = logits + (size_t)first_row[j] * V;
        if (all_finite(rows, (size_t)seq->n_beams * V)) sequence_advance(seq, rows, tc->cfg.eos_id);
        else fail_non_finite(seq, "logits");
    }
}

static void token_choice_advance(token_choice *tc, const step_plan *p, const step_batch *batch,
                                 const float *out, int n_src);

/* Stop strings: a sequence whose output text now holds one finishes ("stop"), its text cut
 * before the match (runtime/output_text.h). Requests with stop strings decode one beam. */
static void check_stop_strings(const token_choice *tc, const step_plan *p,
                               const step_batch *batch) {
    for (int i = 0; tc->cfg.tok && i < p->n_decode; i++) {
        sequence *seq = batch->dec_seq[i];
        if (!seq->req->n_stop_strings || seq->stop_at >= 0 ||
            (seq->finish_reason && !strcmp(seq->finish_reason, "error")))
            continue;
        size_t len;
        ed_error err;
        char *text = output_text_decode(tc->cfg.tok, seq->beams[0].tokens, seq->n_tokens, &len,
                                        &err);
        long at = text ? output_text_find_stop(seq->req, text, len) : -1;
        free(text);
        if (at >= 0) {
            seq->finish_reason = "stop";
            seq->stop_at = at;
        }
    }
}

void token_choice_apply(token_choice *tc, const step_plan *p, const step_batch *batch,
                        const float *out, int n_src) {
    token_choice_advance(tc, p, batch, out, n_src);
    check_stop_strings(tc, p, batch);
}

/* The step's tokens: each sequence advanced by its rows of out. */
static void token_choice_advance(token_choice *tc, const step_plan *p, const step_batch *batch,
                                 const float *out, int n_src) {
    const int n = p->n_decode, eos = tc->cfg.eos_id;
    if (p->argmax_only) {
        merge_argmax(tc, out, n, n_src);
        for (int i = 0; i < n; i++) {
            const float *best = tc->merged + 2 * i; /* NaNs are skipped: none left is -1 */
            if (isfinite(best[0]) && best[1] >= 0)
                sequence_advance_token(batch->dec_seq[i], (int32_t)best[1], eos);
            else fail_non_finite(batch->dec_seq[i], "logits");
        }
    } else if (p->topk > 0) {
        const int k = p->topk;
        merge_topk(tc, out, n, k, n_src);
        for (int i = 0, rows; i < n; i += rows) {
            sequence *seq = batch->dec_seq[i];
            rows = seq->n_beams; /* before the step rebuilds the beams */
            const float *best = tc->merged + (size_t)i * 2 * k;
            int ok = 1; /* every row's best score finite, with a token */
            for (int b = 0; b < rows; b++)
                ok &= isfinite(best[(size_t)b * 2 * k]) && best[(size_t)b * 2 * k + 1] >= 0;
            if (!ok) fail_non_finite(seq, "log-softmax scores");
            else if (seq->width > 1) sequence_advance_topk(seq, best, k, eos);
            else sequence_advance_token(seq, (int32_t)best[1], eos);
        }
    } else {
        apply_logits(tc, p, batch, out);
    }
}
