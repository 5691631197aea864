#include "models/encdec.h"

#include <math.h>
#include <stdlib.h>

struct encdec_model {
    const model_weights *w;
    const backend *be;
    comm *comm;
    int D, H_l, I_l, F_l, V; /* local sizes on this rank */
    int max_tokens, max_dec;
    /* Activations, [max_tokens, ...] each, in backend memory. */
    float *x, *h, *out;      /* [T, D] residual stream, normed input, projection output */
    float *q, *k, *v, *att;  /* [T, I_l] */
    float *f0, *f1;          /* [T, F_l] FFN hidden */
    float *logits;           /* [max_dec, V] */
    int32_t *ids;            /* [T] host: token ids of the current pass */
    void *arena;
    size_t arena_bytes;
};

ed_status encdec_create(encdec_model **out, const model_weights *w, comm *c, int max_enc_tokens,
                        int max_dec_tokens, ed_error *err) {
    encdec_model *m = calloc(1, sizeof *m);
    if (!m) return ed_fail(err, "out of memory");
    const model_spec *s = &w->spec;
    m->w = w;
    m->be = w->be;
    m->comm = c;
    m->D = s->d_model;
    m->H_l = s->num_heads / w->tp_size;
    m->I_l = m->H_l * s->d_kv;
    m->F_l = s->d_ff / w->tp_size;
    m->V = s->vocab_size;
    m->max_dec = max_dec_tokens;
    m->max_tokens = max_enc_tokens > max_dec_tokens ? max_enc_tokens : max_dec_tokens;
    size_t T = (size_t)m->max_tokens;
    size_t sizes[] = {T * m->D, T * m->D, T * m->D, T * m->I_l, T * m->I_l, T * m->I_l,
                      T * m->I_l, T * m->F_l, T * m->F_l, (size_t)max_dec_tokens * m->V};
    float **slots[] = {&m->x, &m->h, &m->out, &m->q, &m->k, &m->v, &m->att, &m->f0, &m->f1,
                       &m->logits};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) total += (sizes[i] + 15) & ~(size_t)15;
    m->arena_bytes = total * sizeof(float);
    m->arena = m->be->alloc(m->arena_bytes);
    m->ids = malloc(T * sizeof(int32_t));
    if (!m->arena || !m->ids) {
        encdec_destroy(m);
        return ed_fail(err, "cannot allocate %zu bytes of activations for %zu tokens per step",
                       total * sizeof(float), T);
    }
    float *p = m->arena;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *slots[i] = p;
        p += (sizes[i] + 15) & ~(size_t)15;
    }
    *out = m;
    return ED_OK;
}

void encdec_destroy(encdec_model *m) {
    if (!m) return;
    if (m->arena) m->be->free(m->arena);
    free(m->ids);
    free(m);
}

size_t encdec_workspace_bytes(const encdec_model *m) { return m->arena_bytes; }

static const float *rel_table(const stack_weights *st, const layer_weights *lw) {
    return lw->rel_bias ? lw->rel_bias : st->rel_bias;
}

/* out = att @ wo^T, summed over ranks, added to the residual stream x. */
static ed_status out_proj_residual(encdec_model *m, const float *wo, int n, ed_error *err) {
    m->be->matmul_wt(m->att, wo, m->out, n, m->D, m->I_l, 0);
    if (comm_allreduce_sum(m->comm, m->out, (size_t)n * m->D, err)) return ED_ERR;
    m->be->add(m->x, m->out, (size_t)n * m->D);
    return ED_OK;
}

/* x += FFN(norm(x)) for n rows. */
static ed_status ffn_residual(encdec_model *m, const layer_weights *lw, int n, ed_error *err) {
    const model_spec *s = &m->w->spec;
    const backend *be = m->be;
    size_t nf = (size_t)n * m->F_l;
    be->rms_norm(m->x, lw->ffn_norm, s->norm_eps, n, m->D, m->h);
    if (s->gated_ffn) {
        be->matmul_wt(m->h, lw->ffn_wi0, m->f0, n, m->F_l, m->D, 0);
        be->matmul_wt(m->h, lw->ffn_wi1, m->f1, n, m->F_l, m->D, 0);
        be->gated_activation(s->act, m->f0, m->f1, m->f0, nf);
    } else {
        be->matmul_wt(m->h, lw->ffn_wi, m->f0, n, m->F_l, m->D, 0);
        be->activation(s->act, m->f0, nf);
    }
    be->matmul_wt(m->f0, lw->ffn_wo, m->out, n, m->D, m->F_l, 0);
    if (comm_allreduce_sum(m->comm, m->out, (size_t)n * m->D, err)) return ED_ERR;
    be->add(m->x, m->out, (size_t)n * m->D);
    return ED_OK;
}

static attn_desc base_desc(const encdec_model *m) {
    const model_spec *s = &m->w->spec;
    return (attn_desc){.q_stride = m->I_l, .kv_stride = m->I_l, .out_stride = m->I_l,
                       .heads = m->H_l, .d_kv = s->d_kv, .scale = 1.0f, .rel_ld = m->H_l,
                       .buckets = s->rel_buckets, .max_distance = s->rel_max_distance};
}

ed_status encdec_encode(encdec_model *m, kv_store *kv, const step_plan *p, ed_error *err) {
    if (p->n_encode == 0) return ED_OK;
    const model_spec *s = &m->w->spec;
    const backend *be = m->be;
    const stack_weights *enc = &m->w->enc;
    int T = p->n_ids;
    if (T > m->max_tokens)
        return ed_fail(err, "encoder step of %d tokens exceeds the planned %d", T, m->max_tokens);
    be->embed(m->w->embed, p->ids, T, m->D, m->x);
    for (int l = 0; l < enc->n_layers; l++) {
        const layer_weights *lw = &enc->layers[l];
        be->rms_norm(m->x, lw->self_norm, s->norm_eps, T, m->D, m->h);
        be->matmul_wt(m->h, lw->self_q, m->q, T, m->I_l, m->D, 0);
        be->matmul_wt(m->h, lw->self_k, m->k, T, m->I_l, m->D, 0);
        be->matmul_wt(m->h, lw->self_v, m->v, T, m->I_l, m->D, 0);
        for (int e = 0; e < p->n_encode; e++) {
            size_t off = (size_t)p->enc[e].ids_offset * m->I_l;
            attn_desc a = base_desc(m);
            a.q = m->q + off;
            a.k = m->k + off;
            a.v = m->v + off;
            a.out = m->att + off;
            a.n_q = a.n_k = p->enc[e].len;
            a.rel_bias = rel_table(enc, lw);
            a.bidirectional = 1;
            be->attention(&a);
        }
        if (out_proj_residual(m, lw->self_o, T, err) || ffn_residual(m, lw, T, err)) return ED_ERR;
    }
    be->rms_norm(m->x, enc->final_norm, s->norm_eps, T, m->D, m->h);
    /* Cross-attention K/V of every decoder layer, computed once per request. */
    for (int l = 0; l < m->w->dec.n_layers; l++) {
        const layer_weights *lw = &m->w->dec.layers[l];
        be->matmul_wt(m->h, lw->cross_k, m->k, T, m->I_l, m->D, 0);
        be->matmul_wt(m->h, lw->cross_v, m->v, T, m->I_l, m->D, 0);
        for (int e = 0; e < p->n_encode; e++) {
            size_t off = (size_t)p->enc[e].ids_offset * m->I_l, n = (size_t)p->enc[e].len * m->I_l;
            be->copy(kv_cross_k(kv, p->enc[e].slot, l), m->k + off, n);
            be->copy(kv_cross_v(kv, p->enc[e].slot, l), m->v + off, n);
        }
    }
    for (int e = 0; e < p->n_encode; e++) kv_set_cross_len(kv, p->enc[e].slot, p->enc[e].len);
    return ED_OK;
}

ed_status encdec_decode_step(encdec_model *m, kv_store *kv, const step_plan *p, float *logits_host,
                             ed_error *err) {
    int n = p->n_decode;
    if (n == 0) return ED_OK;
    if (n > m->max_dec) return ed_fail(err, "decoder step of %d tokens exceeds the planned %d", n,
                                       m->max_dec);
    const model_spec *s = &m->w->spec;
    const backend *be = m->be;
    const stack_weights *dec = &m->w->dec;
    for (int i = 0; i < n; i++) m->ids[i] = p->dec[i].token;
    be->embed(m->w->embed, m->ids, n, m->D, m->x);
    for (int l = 0; l < dec->n_layers; l++) {
        const layer_weights *lw = &dec->layers[l];
        /* Causal self-attention over the sequence's own KV, this token appended first. */
        be->rms_norm(m->x, lw->self_norm, s->norm_eps, n, m->D, m->h);
        be->matmul_wt(m->h, lw->self_q, m->q, n, m->I_l, m->D, 0);
        be->matmul_wt(m->h, lw->self_k, m->k, n, m->I_l, m->D, 0);
        be->matmul_wt(m->h, lw->self_v, m->v, n, m->I_l, m->D, 0);
        for (int i = 0; i < n; i++) {
            const plan_decode *d = &p->dec[i];
            float *K = kv_self_k(kv, d->slot, l), *Vv = kv_self_v(kv, d->slot, l);
            be->copy(K + (size_t)d->pos * m->I_l, m->k + (size_t)i * m->I_l, (size_t)m->I_l);
            be->copy(Vv + (size_t)d->pos * m->I_l, m->v + (size_t)i * m->I_l, (size_t)m->I_l);
            attn_desc a = base_desc(m);
            a.q = m->q + (size_t)i * m->I_l;
            a.out = m->att + (size_t)i * m->I_l;
            a.k = K;
            a.v = Vv;
            a.n_q = 1;
            a.n_k = d->pos + 1;
            a.q_pos0 = d->pos;
            a.causal = 1;
            a.rel_bias = rel_table(dec, lw);
            a.bidirectional = 0;
            be->attention(&a);
        }
        if (out_proj_residual(m, lw->self_o, n, err)) return ED_ERR;
        /* Cross-attention over the request's stored encoder K/V (no position bias). */
        be->rms_norm(m->x, lw->cross_norm, s->norm_eps, n, m->D, m->h);
        be->matmul_wt(m->h, lw->cross_q, m->q, n, m->I_l, m->D, 0);
        for (int i = 0; i < n; i++) {
            const plan_decode *d = &p->dec[i];
            attn_desc a = base_desc(m);
            a.q = m->q + (size_t)i * m->I_l;
            a.out = m->att + (size_t)i * m->I_l;
            a.k = kv_cross_k(kv, d->slot, l);
            a.v = kv_cross_v(kv, d->slot, l);
            a.n_q = 1;
            a.n_k = kv_cross_len(kv, d->slot);
            be->attention(&a);
        }
        if (out_proj_residual(m, lw->cross_o, n, err) || ffn_residual(m, lw, n, err)) return ED_ERR;
    }
    be->rms_norm(m->x, dec->final_norm, s->norm_eps, n, m->D, m->h);
    if (s->scale_decoder_outputs) be->scale(m->h, 1.0f / sqrtf((float)m->D), (size_t)n * m->D);
    if (logits_host) {
        be->matmul_wt(m->h, m->w->lm_head, m->logits, n, m->V, m->D, 0);
        be->download(logits_host, m->logits, (size_t)n * m->V);
    }
    return ED_OK;
}
