#include "models/encdec.h"

#include <math.h>
#include <stdlib.h>

struct encdec_model {
    const model_weights *w;
    const model_spec *s;
    const backend *be;
    comm *comm;
    int D, H_l, I_l, F_l, V; /* local sizes on this rank; V = full vocabulary */
    int V_l;                 /* this rank's LM-head rows (weights v_local) */
    int max_tokens, max_dec;
    /* Activations, [max_tokens, ...] each, in backend memory. */
    float *x, *h, *out;      /* [T, D] residual stream, normed input, projection output */
    float *q, *k, *v, *att;  /* [T, I_l] */
    float *f0, *f1;          /* [T, F_l] FFN hidden */
    float *logits;           /* [max_dec, V_l] this rank's logits slice */
    float *host_logits, *gather_staging; /* [max_dec, V_l], [max_dec, V] host (vocab-parallel) */
    int32_t *ids, *pos;      /* [T] host: token ids and positions of the current pass */
    void *arena;
    size_t arena_bytes;
};

ed_status encdec_create(encdec_model **out, const model_weights *w, comm *c, int max_enc_tokens,
                        int max_dec_tokens, ed_error *err) {
    encdec_model *m = calloc(1, sizeof *m);
    if (!m) return ed_fail(err, "out of memory");
    const model_spec *s = &w->spec;
    m->w = w;
    m->s = s;
    m->be = w->be;
    m->comm = c;
    m->D = s->d_model;
    m->H_l = s->num_heads / w->tp_size;
    m->I_l = m->H_l * s->d_kv;
    m->F_l = s->d_ff / w->tp_size;
    m->V = s->vocab_size;
    m->V_l = w->v_local;
    m->max_dec = max_dec_tokens;
    m->max_tokens = max_enc_tokens > max_dec_tokens ? max_enc_tokens : max_dec_tokens;
    size_t T = (size_t)m->max_tokens;
    size_t sizes[] = {T * m->D, T * m->D, T * m->D, T * m->I_l, T * m->I_l, T * m->I_l,
                      T * m->I_l, T * m->F_l, T * m->F_l, (size_t)max_dec_tokens * m->V_l};
    float **slots[] = {&m->x, &m->h, &m->out, &m->q, &m->k, &m->v, &m->att, &m->f0, &m->f1,
                       &m->logits};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) total += (sizes[i] + 15) & ~(size_t)15;
    m->arena_bytes = total * sizeof(float);
    m->arena = m->be->alloc(m->arena_bytes);
    m->ids = malloc(T * sizeof(int32_t));
    m->pos = malloc(T * sizeof(int32_t));
    if (w->vocab_parallel) {
        m->host_logits = malloc(sizeof(float) * (size_t)max_dec_tokens * (m->V_l ? m->V_l : 1));
        m->gather_staging = malloc(sizeof(float) * (size_t)max_dec_tokens * m->V);
    }
    if (!m->arena || !m->ids || !m->pos ||
        (w->vocab_parallel && (!m->host_logits || !m->gather_staging))) {
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
    free(m->pos);
    free(m->host_logits);
    free(m->gather_staging);
    free(m);
}

size_t encdec_workspace_bytes(const encdec_model *m) { return m->arena_bytes; }

/* y[n, D] = norm(x) per the spec (RMSNorm, or LayerNorm with bias b); x and y may alias. */
static void norm(const encdec_model *m, const float *x, const float *w, const float *b, int n,
                 float *y) {
    if (m->s->norm == NORM_RMS) m->be->rms_norm(x, w, m->s->norm_eps, n, m->D, y);
    else m->be->layer_norm(x, w, b, m->s->norm_eps, n, m->D, y);
}

/* y[n, out] = x[n, in] @ w^T (+ b). */
static void linear(const encdec_model *m, const float *x, const float *w, const float *b, float *y,
                   int n, int out, int in) {
    m->be->matmul_wt(x, w, y, n, out, in, 0);
    if (b) m->be->add_bias(y, b, n, out);
}

/* The input of a sublayer: norm(x) in h for pre-norm blocks, x itself for post-norm ones. */
static const float *sublayer_in(encdec_model *m, const float *w, const float *b, int n) {
    if (!m->s->pre_norm) return m->x;
    norm(m, m->x, w, b, n, m->h);
    return m->h;
}

/* Sums the row-parallel partial output `out` over ranks, adds its bias once, adds it to the
 * residual stream, and for post-norm blocks normalizes the stream. */
static ed_status sublayer_out(encdec_model *m, const float *out_b, const float *norm_w,
                              const float *norm_b, int n, ed_error *err) {
    if (comm_allreduce_sum(m->comm, m->out, (size_t)n * m->D, err)) return ED_ERR;
    if (out_b) m->be->add_bias(m->out, out_b, n, m->D);
    m->be->add(m->x, m->out, (size_t)n * m->D);
    if (!m->s->pre_norm) norm(m, m->x, norm_w, norm_b, n, m->x);
    return ED_OK;
}

static ed_status ffn_block(encdec_model *m, const layer_weights *lw, int n, ed_error *err) {
    const backend *be = m->be;
    size_t nf = (size_t)n * m->F_l;
    const float *in = sublayer_in(m, lw->ffn_norm, lw->ffn_norm_b, n);
    if (m->s->gated_ffn) {
        linear(m, in, lw->ffn_wi0, NULL, m->f0, n, m->F_l, m->D);
        linear(m, in, lw->ffn_wi1, NULL, m->f1, n, m->F_l, m->D);
        be->gated_activation(m->s->act, m->f0, m->f1, m->f0, nf);
    } else {
        linear(m, in, lw->ffn_wi, lw->ffn_wi_b, m->f0, n, m->F_l, m->D);
        be->activation(m->s->act, m->f0, nf);
    }
    be->matmul_wt(m->f0, lw->ffn_wo, m->out, n, m->D, m->F_l, 0);
    return sublayer_out(m, lw->ffn_wo_b, lw->ffn_norm, lw->ffn_norm_b, n, err);
}

/* x[n, D] = embedding of ids at positions pos, per the spec (scale, learned positions, norm). */
static void embed(encdec_model *m, const stack_weights *st, const int32_t *ids, const int32_t *pos,
                  int n) {
    const model_spec *s = m->s;
    m->be->embed(m->w->embed, ids, n, m->D, m->x);
    if (s->embed_scale != 1.0f) m->be->scale(m->x, s->embed_scale, (size_t)n * m->D);
    if (s->learned_pos) {
        for (int i = 0; i < n; i++) m->pos[i] = pos[i] + s->pos_offset;
        m->be->embed(st->pos_embed, m->pos, n, m->D, m->out);
        m->be->add(m->x, m->out, (size_t)n * m->D);
    }
    if (s->embed_norm)
        m->be->layer_norm(m->x, st->embed_norm, st->embed_norm_b, s->norm_eps, n, m->D, m->x);
}

/* The stack's output: final norm into h, or x itself when the spec has none. */
static const float *stack_out(encdec_model *m, const stack_weights *st, int n) {
    if (!m->s->final_norm) return m->x;
    norm(m, m->x, st->final_norm, st->final_norm_b, n, m->h);
    return m->h;
}

static attn_desc base_desc(const encdec_model *m, const stack_weights *st,
                           const layer_weights *lw) {
    const model_spec *s = m->s;
    return (attn_desc){.q_stride = m->I_l, .kv_stride = m->I_l, .out_stride = m->I_l,
                       .heads = m->H_l, .d_kv = s->d_kv, .scale = s->attn_scale,
                       .rel_bias = st ? (lw->rel_bias ? lw->rel_bias : st->rel_bias) : NULL,
                       .rel_ld = m->H_l, .buckets = s->rel_buckets,
                       .max_distance = s->rel_max_distance};
}

ed_status encdec_encode(encdec_model *m, kv_store *kv, const step_plan *p, ed_error *err) {
    if (p->n_encode == 0) return ED_OK;
    const stack_weights *enc = &m->w->enc;
    int T = p->n_ids;
    if (T > m->max_tokens)
        return ed_fail(err, "encoder step of %d tokens exceeds the planned %d", T, m->max_tokens);
    for (int e = 0; e < p->n_encode; e++)
        for (int t = 0; t < p->enc[e].len; t++) m->ids[p->enc[e].ids_offset + t] = t;
    embed(m, enc, p->ids, m->ids, T);
    for (int l = 0; l < enc->n_layers; l++) {
        const layer_weights *lw = &enc->layers[l];
        const float *in = sublayer_in(m, lw->self_norm, lw->self_norm_b, T);
        linear(m, in, lw->self_q, lw->self_q_b, m->q, T, m->I_l, m->D);
        linear(m, in, lw->self_k, lw->self_k_b, m->k, T, m->I_l, m->D);
        linear(m, in, lw->self_v, lw->self_v_b, m->v, T, m->I_l, m->D);
        for (int e = 0; e < p->n_encode; e++) {
            size_t off = (size_t)p->enc[e].ids_offset * m->I_l;
            attn_desc a = base_desc(m, enc, lw);
            a.q = m->q + off;
            a.k = m->k + off;
            a.v = m->v + off;
            a.out = m->att + off;
            a.n_q = a.n_k = p->enc[e].len;
            a.bidirectional = 1;
            m->be->attention(&a);
        }
        m->be->matmul_wt(m->att, lw->self_o, m->out, T, m->D, m->I_l, 0);
        if (sublayer_out(m, lw->self_o_b, lw->self_norm, lw->self_norm_b, T, err) ||
            ffn_block(m, lw, T, err))
            return ED_ERR;
    }
    const float *enc_out = stack_out(m, enc, T);
    /* Cross-attention K/V of every decoder layer, computed once per request and written into
     * its cross blocks, block_size rows at a time. */
    for (int l = 0; l < m->w->dec.n_layers; l++) {
        const layer_weights *lw = &m->w->dec.layers[l];
        linear(m, enc_out, lw->cross_k, lw->cross_k_b, m->k, T, m->I_l, m->D);
        linear(m, enc_out, lw->cross_v, lw->cross_v_b, m->v, T, m->I_l, m->D);
        for (int e = 0; e < p->n_encode; e++) {
            kv_view view = kv_store_view(kv, KV_CROSS, l, p->blocks + p->enc[e].cross_blocks);
            for (int t0 = 0; t0 < p->enc[e].len; t0 += view.block_size) {
                int rows = p->enc[e].len - t0 < view.block_size ? p->enc[e].len - t0 : view.block_size;
                size_t src = (size_t)(p->enc[e].ids_offset + t0) * m->I_l;
                m->be->copy(kv_view_row(&view, view.k, t0), m->k + src, (size_t)rows * m->I_l);
                m->be->copy(kv_view_row(&view, view.v, t0), m->v + src, (size_t)rows * m->I_l);
            }
        }
    }
    return ED_OK;
}

/* The attention descriptor of one decoder query over a paged view. */
static attn_desc paged_desc(const encdec_model *m, const stack_weights *st, const layer_weights *lw,
                            const kv_view *view, int i, int n_k) {
    attn_desc a = base_desc(m, st, lw);
    a.q = m->q + (size_t)i * m->I_l;
    a.out = m->att + (size_t)i * m->I_l;
    a.k = view->k;
    a.v = view->v;
    a.kv_blocks = view->blocks;
    a.block_size = view->block_size;
    a.block_stride = view->block_stride;
    a.n_q = 1;
    a.n_k = n_k;
    return a;
}

ed_status encdec_decode_step(encdec_model *m, kv_store *kv, const step_plan *p, float *logits_host,
                             ed_error *err) {
    int n = p->n_decode;
    if (n == 0) return ED_OK;
    if (n > m->max_dec) return ed_fail(err, "decoder step of %d tokens exceeds the planned %d", n,
                                       m->max_dec);
    const backend *be = m->be;
    const stack_weights *dec = &m->w->dec;
    for (int i = 0; i < p->n_copies; i++)
        kv_store_copy_block(kv, KV_SELF, p->copies[i].src, p->copies[i].dst);
    int32_t tokens[n], positions[n];
    for (int i = 0; i < n; i++) {
        tokens[i] = p->dec[i].token;
        positions[i] = p->dec[i].pos;
    }
    embed(m, dec, tokens, positions, n);
    for (int l = 0; l < dec->n_layers; l++) {
        const layer_weights *lw = &dec->layers[l];
        /* Causal self-attention over the sequence's own KV, this token appended first. */
        const float *in = sublayer_in(m, lw->self_norm, lw->self_norm_b, n);
        linear(m, in, lw->self_q, lw->self_q_b, m->q, n, m->I_l, m->D);
        linear(m, in, lw->self_k, lw->self_k_b, m->k, n, m->I_l, m->D);
        linear(m, in, lw->self_v, lw->self_v_b, m->v, n, m->I_l, m->D);
        for (int i = 0; i < n; i++) {
            const plan_decode *d = &p->dec[i];
            kv_view view = kv_store_view(kv, KV_SELF, l, p->blocks + d->self_blocks);
            be->copy(kv_view_row(&view, view.k, d->pos), m->k + (size_t)i * m->I_l, (size_t)m->I_l);
            be->copy(kv_view_row(&view, view.v, d->pos), m->v + (size_t)i * m->I_l, (size_t)m->I_l);
            attn_desc a = paged_desc(m, dec, lw, &view, i, d->pos + 1);
            a.q_pos0 = d->pos;
            a.causal = 1;
            a.bidirectional = 0;
            be->attention(&a);
        }
        be->matmul_wt(m->att, lw->self_o, m->out, n, m->D, m->I_l, 0);
        if (sublayer_out(m, lw->self_o_b, lw->self_norm, lw->self_norm_b, n, err)) return ED_ERR;
        /* Cross-attention over the request's stored encoder K/V (no position bias). */
        in = sublayer_in(m, lw->cross_norm, lw->cross_norm_b, n);
        linear(m, in, lw->cross_q, lw->cross_q_b, m->q, n, m->I_l, m->D);
        for (int i = 0; i < n; i++) {
            const plan_decode *d = &p->dec[i];
            kv_view view = kv_store_view(kv, KV_CROSS, l, p->blocks + d->cross_blocks);
            attn_desc a = paged_desc(m, NULL, lw, &view, i, d->cross_len);
            be->attention(&a);
        }
        be->matmul_wt(m->att, lw->cross_o, m->out, n, m->D, m->I_l, 0);
        if (sublayer_out(m, lw->cross_o_b, lw->cross_norm, lw->cross_norm_b, n, err) ||
            ffn_block(m, lw, n, err))
            return ED_ERR;
    }
    if (!logits_host && !m->w->vocab_parallel) return ED_OK;
    const float *h = stack_out(m, dec, n);
    if (m->s->scale_decoder_outputs) {
        if (h != m->h) be->copy(m->h, h, (size_t)n * m->D);
        be->scale(m->h, 1.0f / sqrtf((float)m->D), (size_t)n * m->D);
        h = m->h;
    }
    if (m->V_l) linear(m, h, m->w->lm_head, m->w->logits_bias, m->logits, n, m->V_l, m->D);
    if (!m->w->vocab_parallel) {
        be->download(logits_host, m->logits, (size_t)n * m->V);
        return ED_OK;
    }
    be->download(m->host_logits, m->logits, (size_t)n * m->V_l);
    return comm_gather_vocab(m->comm, m->host_logits, n, m->V, logits_host, m->gather_staging, err);
}
