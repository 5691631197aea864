#include "models/lm_head.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct lm_head {
    const model_weights *w;
    const backend *be;
    comm *comm;
    int D, V, V_l;           /* d_model, full vocabulary, this rank's rows (weights v_local) */
    int max_rows;
    float *logits;           /* [max_rows, V_l] backend: this rank's logits slice (borrowed) */
    float *pairs;            /* [max_rows, LM_HEAD_PAIR_ROW] backend: argmax_rows / topk_rows
                              * output of this rank's slice (borrowed) */
    float *host_pairs;       /* [max_rows, LM_HEAD_PAIR_ROW] host: `pairs` downloaded, or the
                              * empty-slice rows of a rank without vocabulary (owned) */
    float *host_logits;      /* [max_rows, V_l] host, vocab-parallel only: the slice (owned) */
    float *gather_staging;   /* [max_rows, V] host, vocab-parallel only: comm_gather_vocab's
                              * scratch (owned) */
};

ed_status lm_head_create(lm_head **out, const model_weights *w, comm *c, int max_rows,
                         float *logits, float *pairs, ed_error *err) {
    lm_head *h = calloc(1, sizeof *h);
    if (!h) return ed_fail(err, "out of memory");
    *h = (lm_head){.w = w, .be = w->be, .comm = c, .D = w->spec.d_model,
                   .V = w->spec.vocab_size, .V_l = w->v_local, .max_rows = max_rows,
                   .logits = logits, .pairs = pairs};
    size_t rows = (size_t)max_rows;
    h->host_pairs = malloc(sizeof(float) * LM_HEAD_PAIR_ROW * rows);
    if (w->vocab_parallel) {
        h->host_logits = malloc(sizeof(float) * rows * (h->V_l ? h->V_l : 1));
        h->gather_staging = malloc(sizeof(float) * rows * h->V);
    }
    if (!h->host_pairs || (w->vocab_parallel && (!h->host_logits || !h->gather_staging))) {
        lm_head_destroy(h);
        return ed_fail(err, "cannot allocate the LM head's host buffers for %d rows", max_rows);
    }
    *out = h;
    return ED_OK;
}

void lm_head_destroy(lm_head *h) {
    if (!h) return;
    free(h->host_pairs);
    free(h->host_logits);
    free(h->gather_staging);
    free(h);
}

int lm_head_sources(const lm_head *h) { return h->w->vocab_parallel ? h->w->tp_size : 1; }

size_t lm_head_host_floats(const lm_head *h) {
    size_t logits = (size_t)h->max_rows * h->V;
    size_t pairs = (size_t)lm_head_sources(h) * h->max_rows * LM_HEAD_PAIR_ROW;
    return logits > pairs ? logits : pairs;
}

/* host_pairs [n, row] -> out_host [n_src, n, row] on rank 0: gathered over ranks in rank order
 * with a vocab-parallel head, copied with a replicated one. */
static ed_status pairs_out(lm_head *h, int n, int row, float *out_host, ed_error *err) {
    if (h->w->vocab_parallel) return comm_gather(h->comm, h->host_pairs, n * row, out_host, err);
    memcpy(out_host, h->host_pairs, sizeof(float) * (size_t)n * row);
    return ED_OK;
}

/* argmax_only plans: this slice's best (logit, token) per row, ban excluded; (-inf, -1) for a
 * rank without a slice. */
static ed_status argmax_out(lm_head *h, int n, const int32_t *ban, float *out_host,
                            ed_error *err) {
    if (h->V_l) {
        h->be->argmax_rows(h->logits, n, h->V_l, h->w->v0, ban, h->pairs);
        h->be->download(h->host_pairs, h->pairs, 2 * (size_t)n);
    } else {
        for (int i = 0; i < n; i++) h->host_pairs[2 * i] = -INFINITY, h->host_pairs[2 * i + 1] = -1;
    }
    return pairs_out(h, n, 2, out_host, err);
}

/* Plans with topk = k: this slice's topk_rows per row ([2 + 2k]: softmax max and sum over the
 * slice, then its k best (logit, token) pairs, ban excluded); for a rank without a slice max
 * -inf, sum 0 and (-inf, -1) pairs. */
static ed_status topk_out(lm_head *h, int n, int k, const int32_t *ban, float *out_host,
                          ed_error *err) {
    const int row = 2 + 2 * k;
    if (h->V_l) {
        h->be->topk_rows(h->logits, n, h->V_l, h->w->v0, ban, k, h->pairs);
        h->be->download(h->host_pairs, h->pairs, (size_t)n * row);
    } else {
        for (int i = 0; i < n; i++) {
            float *o = h->host_pairs + (size_t)i * row;
            o[0] = -INFINITY, o[1] = 0.0f;
            for (int j = 0; j < k; j++) o[2 + 2 * j] = -INFINITY, o[3 + 2 * j] = -1.0f;
        }
    }
    return pairs_out(h, n, row, out_host, err);
}

ed_status lm_head_run(lm_head *h, const float *hidden, int n, const step_plan *p,
                      const int32_t *ban, float *out_host, ed_error *err) {
    const backend *be = h->be;
    if (h->V_l) { /* logits[n, V_l] = hidden @ lm_head^T (+ final_logits_bias) */
        if (h->w->quant_embed)
            be->matmul_wq(hidden, h->w->wtype, h->w->lm_head, h->w->quant, h->w->lm_head_scale,
                          h->logits, n, h->V_l, h->D, 0);
        else
            be->matmul_wt(hidden, h->w->lm_head, h->w->wtype, h->w->logits_bias, h->logits, n,
                          h->V_l, h->D, 0);
        if (h->w->quant_embed && h->w->logits_bias)
            be->add_bias(h->logits, h->w->logits_bias, n, h->V_l);
    }
    if (p->argmax_only) return argmax_out(h, n, ban, out_host, err);
    if (p->topk > 0) return topk_out(h, n, p->topk, ban, out_host, err);
    if (!h->w->vocab_parallel) {
        be->download(out_host, h->logits, (size_t)n * h->V);
        return ED_OK;
    }
    be->download(h->host_logits, h->logits, (size_t)n * h->V_l);
    return comm_gather_vocab(h->comm, h->host_logits, n, h->V, out_host, h->gather_staging, err);
}
