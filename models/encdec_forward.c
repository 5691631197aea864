/* The forward pass of the generic encoder-decoder (encdec_internal.h): embedding, norms,
 * projections, the attention and FFN sublayers, the encoder pass with its cross-K/V writes, the
 * decoder layers (run through the graph cache) and the decoder's output; and the model's own
 * per-plan index arrays (tokens, position-embedding rows, encoder sequences, bans), which
 * kv_index uploads with the KV tables. Only backend ops and the all-reduce. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "models/encdec_internal.h"

/* y[n, D] = norm(x + delta) per the spec (RMSNorm, or LayerNorm with bias b), with x += delta
 * done by the same kernel when delta is not NULL; y in ytype (fp32: y may be x). */
static void norm(const encdec_model *m, const float *delta, const float *w, const float *b, int n,
                 void *y, int ytype) {
    if (m->s->norm == NORM_RMS) m->be->rms_norm(m->x, delta, w, m->s->norm_eps, n, m->D, y, ytype);
    else m->be->layer_norm(m->x, delta, w, b, m->s->norm_eps, n, m->D, y, ytype);
}

/* The input of a projection: fp32 activations, or values its producer already wrote in the
 * weight dtype (flags = MATMUL_X_IN_WTYPE; matmul_wt does not round them again), or (norm not
 * NULL, x unused) a pre-norm the GEMM folds in (rms_matmul). */
typedef struct gemm_input {
    const void *x;
    int flags;
    const normed_input *norm;
} gemm_input;

static gemm_input fp32_in(const float *x) { return (gemm_input){x, 0, NULL}; }

/* Where a producer (pre-norm, FFN activation, attention) writes the input of the projection
 * that follows it: xin, in the 16-bit weight dtype, when there is one (no rounding pass before
 * the GEMM), else the fp32 buffer `fp32_buf`. y and ytype for the producer, in for the GEMM. */
typedef struct gemm_dest {
    void *y;
    int ytype;
    gemm_input in;
} gemm_dest;

static gemm_dest dest_in(const encdec_model *m, void *buf16, float *fp32_buf) {
    if (buf16) return (gemm_dest){buf16, m->w->wtype, {buf16, MATMUL_X_IN_WTYPE, NULL}};
    return (gemm_dest){fp32_buf, DTYPE_FP32, fp32_in(fp32_buf)};
}

static gemm_dest gemm_dest_for(const encdec_model *m, float *fp32_buf) {
    return dest_in(m, m->xin, fp32_buf);
}

/* Pre-norm blocks leave their sublayer output in `out` (pending_residual = 1) and the next norm
 * adds it to the residual stream x in the same kernel. Returns the pending delta, or NULL, and
 * marks it consumed. */
static const float *take_residual(encdec_model *m) {
    const float *delta = m->pending_residual ? m->out : NULL;
    m->pending_residual = 0;
    return delta;
}

/* y[n, out] = x[n, in] @ w^T (+ b); flags as matmul_wt's. w is a projection of the layers:
 * quantized ones (model_weights.quant) go to matmul_wq with their row scales; a pre-norm input
 * to rms_matmul (which computes the norm again for each GEMM of the same input). */
static void project(const encdec_model *m, int flags, gemm_input x, const void *w,
                    const float *b, float *y, int n, int out, int in) {
    if (x.norm) {
        m->be->rms_matmul(x.norm, w, m->w->wtype, b, y, n, out, in,
                          flags & (MATMUL_ACCUMULATE | MATMUL_RELU_TO_BF16));
    } else if (m->w->quant) {
        m->be->matmul_wq(x.x, m->w->wtype, w, m->w->quant, model_weights_scales(w, out, in),
                         y, n, out, in, flags | x.flags);
        if (b) m->be->add_bias(y, b, n, out);
    } else {
        m->be->matmul_wt(x.x, w, m->w->wtype, b, y, n, out, in, flags | x.flags);
    }
}

static void linear(const encdec_model *m, gemm_input x, const void *w, const float *b, float *y,
                   int n, int out, int in) {
    project(m, 0, x, w, b, y, n, out, in);
}

/* linear() again on the x of the previous linear() call, unchanged since (its rounding to the
 * weight dtype is reused). */
static void linear_same_input(const encdec_model *m, gemm_input x, const void *w, const float *b,
                              float *y, int n, int out, int in) {
    project(m, MATMUL_SAME_INPUT, x, w, b, y, n, out, in);
}

/* The input of a sublayer: norm(x) for pre-norm blocks (the pending residual added on the way),
 * written by the norm straight in the weight dtype when it is 16-bit (into xin, else h); x
 * itself for post-norm ones; fused (decoder steps of a fused_norms model): the norm left to
 * the GEMMs that take the input (x holds every residual: none is pending). */
static gemm_input sublayer_in(encdec_model *m, int fused, const float *w, const float *b, int n) {
    if (fused) {
        m->norm_in = (normed_input){m->x, w, m->s->norm_eps};
        return (gemm_input){NULL, 0, &m->norm_in};
    }
    if (!m->s->pre_norm) return fp32_in(m->x);
    gemm_dest d = gemm_dest_for(m, m->h);
    norm(m, take_residual(m), w, b, n, d.y, d.ytype);
    return d.in;
}

/* Sums the row-parallel partial output `out` over ranks and adds its bias once. Pre-norm: `out`
 * becomes the pending residual (added by the next norm); post-norm: x = norm(x + out) now. */
static ed_status sublayer_out(encdec_model *m, const float *out_b, const float *norm_w,
                              const float *norm_b, int n, ed_error *err) {
    if (comm_allreduce_sum(m->comm, m->out, (size_t)n * m->D, err)) return ED_ERR;
    if (out_b) m->be->add_bias(m->out, out_b, n, m->D);
    if (m->s->pre_norm) m->pending_residual = 1;
    else norm(m, m->out, norm_w, norm_b, n, m->x, DTYPE_FP32);
    return ED_OK;
}

/* A sublayer's output projection of its [n, in] input and the residual: fused, x += in w^T + b
 * in the GEMM itself (one rank: nothing to sum); else out = in w^T, then sublayer_out. */
static ed_status out_proj(encdec_model *m, int fused, gemm_input in, const void *w,
                          const float *b, const float *norm_w, const float *norm_b, int n,
                          int in_dim, ed_error *err) {
    if (fused) {
        project(m, MATMUL_ACCUMULATE, in, w, b, m->x, n, m->D, in_dim);
        return ED_OK;
    }
    linear(m, in, w, NULL, m->out, n, m->D, in_dim);
    return sublayer_out(m, b, norm_w, norm_b, n, err);
}

/* Whether a layer takes its Q/K/V (decoder self-attention) from one GEMM, and its two gated-FFN
 * inputs from one GEMM (matmul_gated, the activation with it): joint_gemms on and the weights
 * back to back; the FFN also needs the 16-bit hidden buffer (with fp32 the activation works in
 * place, and rows of a joint output would overlap it). */
static int joint_qkv(const encdec_model *m, const layer_weights *lw) {
    return m->joint_gemms && lw->self_qkv_joint;
}
static int joint_wi(const encdec_model *m, const layer_weights *lw) {
    return m->s->gated_ffn && m->joint_gemms && lw->ffn_wi_joint && m->ffn_hidden;
}

/* Whether a plain (not gated) FFN's ReLU runs in its input GEMM's epilogue: ReLU, no bias,
 * joint_gemms on (the same switch: one launch fewer), a bf16 GEMM input buffer for the hidden
 * values (fp16 keeps its saturating activation kernel), and matmul_wt (not quantized). */
static int relu_in_gemm(const encdec_model *m, const layer_weights *lw) {
    return !m->s->gated_ffn && m->s->act == ACT_RELU && !lw->ffn_wi_b && m->joint_gemms &&
           m->ffn_hidden && m->w->wtype == DTYPE_BF16 && !m->w->quant;
}

/* Whether a quantized gated FFN takes its two inputs and the activation from one op
 * (matmul_wq_gated): joint_gemms on (the same switch: launches fewer) and the 16-bit hidden
 * buffer (with fp32 the activation works in place in f0, which the op may use as scratch). */
static int wq_gated(const encdec_model *m) {
    return m->s->gated_ffn && m->w->quant && m->joint_gemms && m->ffn_hidden &&
           m->be->matmul_wq_gated;
}

void encdec_joint_layers(const encdec_model *m, int *qkv, int *wi) {
    *qkv = *wi = 0;
    for (int l = 0; l < m->w->dec.n_layers; l++) {
        *qkv += joint_qkv(m, &m->w->dec.layers[l]);
        *wi += joint_wi(m, &m->w->dec.layers[l]);
    }
}

/* The FFN sublayer; fused as for sublayer_in and out_proj. */
static ed_status ffn_block(encdec_model *m, int fused, const layer_weights *lw, int n,
                           ed_error *err) {
    const backend *be = m->be;
    size_t nf = (size_t)n * m->F_l;
    gemm_input in = sublayer_in(m, fused, lw->ffn_norm, lw->ffn_norm_b, n);
    /* The activation writes ffn_hidden (16-bit weights) or works in place in f0 (fp32). */
    gemm_dest hidden = dest_in(m, m->ffn_hidden, m->f0);
    if (joint_wi(m, lw) && in.norm) { /* one GEMM for both inputs ([n, 2 F_l]), the norm first */
        be->rms_matmul_gated(m->s->act, in.norm, lw->ffn_wi0, m->w->wtype, m->f0, hidden.y,
                             hidden.ytype, n, m->F_l, m->D);
    } else if (joint_wi(m, lw)) { /* one GEMM for both inputs, and the activation, in one op */
        be->matmul_gated(m->s->act, in.x, lw->ffn_wi0, m->w->wtype, m->f0, hidden.y,
                         hidden.ytype, n, m->F_l, m->D, in.flags);
    } else if (wq_gated(m) && !in.norm) { /* quantized: both inputs and the activation */
        be->matmul_wq_gated(m->s->act, in.x, m->w->wtype, lw->ffn_wi0,
                            model_weights_scales(lw->ffn_wi0, m->F_l, m->D), lw->ffn_wi1,
                            model_weights_scales(lw->ffn_wi1, m->F_l, m->D), m->w->quant, m->f0,
                            hidden.y, hidden.ytype, n, m->F_l, m->D, in.flags);
    } else if (m->s->gated_ffn) {
        linear(m, in, lw->ffn_wi0, NULL, m->f0, n, m->F_l, m->D);
        linear_same_input(m, in, lw->ffn_wi1, NULL, m->f1, n, m->F_l, m->D);
        be->gated_activation(m->s->act, m->f0, m->f1, m->F_l, hidden.y, hidden.ytype, n, m->F_l);
    } else if (relu_in_gemm(m, lw)) { /* ReLU and the bf16 rounding in the GEMM's epilogue */
        project(m, MATMUL_RELU_TO_BF16, in, lw->ffn_wi, NULL, (float *)hidden.y, n, m->F_l, m->D);
    } else {
        linear(m, in, lw->ffn_wi, lw->ffn_wi_b, m->f0, n, m->F_l, m->D);
        be->activation(m->s->act, m->f0, hidden.y, hidden.ytype, nf);
    }
    return out_proj(m, fused, hidden.in, lw->ffn_wo, lw->ffn_wo_b, lw->ffn_norm, lw->ffn_norm_b,
                    n, m->F_l, err);
}

/* x[n, D] = embedding of ids (backend int buffer) with the position-embedding rows pe (learned
 * positions), per the spec (scale, learned positions, norm). Starts the residual stream: no
 * residual is pending after it. */
static void embed(encdec_model *m, const stack_weights *st, const int32_t *ids, const int32_t *pe,
                  int n) {
    const model_spec *s = m->s;
    m->pending_residual = 0;
    if (m->w->quant_embed)
        m->be->embed_q(m->w->embed, m->w->quant, m->w->embed_scale, ids, n, m->D, m->x);
    else
        m->be->embed(m->w->embed, m->w->wtype, ids, n, m->D, m->x);
    if (s->embed_scale != 1.0f) m->be->scale(m->x, s->embed_scale, (size_t)n * m->D);
    const float *pos = NULL;
    if (s->learned_pos) {
        m->be->embed(st->pos_embed, m->w->wtype, pe, n, m->D, m->out);
        pos = m->out;
    }
    if (s->embed_norm) /* x = layernorm_embedding(x + positions), one kernel */
        m->be->layer_norm(m->x, pos, st->embed_norm, st->embed_norm_b, s->norm_eps, n, m->D, m->x,
                          DTYPE_FP32);
    else if (pos)
        m->be->add(m->x, pos, (size_t)n * m->D);
}

/* The stack's output: final norm into h (the pending residual added on the way), or x itself
 * when the spec has none. */
static const float *stack_out(encdec_model *m, const stack_weights *st, int n) {
    if (!m->s->final_norm) {
        const float *delta = take_residual(m);
        if (delta) m->be->add(m->x, delta, (size_t)n * m->D);
        return m->x;
    }
    norm(m, take_residual(m), st->final_norm, st->final_norm_b, n, m->h, DTYPE_FP32);
    return m->h;
}

static attn_params attn_of(const encdec_model *m, const stack_weights *st,
                           const layer_weights *lw, int bidirectional, int causal) {
    const model_spec *s = m->s;
    return (attn_params){.heads = m->H_l, .d_kv = s->d_kv, .row = m->I_l, .scale = s->attn_scale,
                         .rel_bias = st ? (lw->rel_bias ? lw->rel_bias : st->rel_bias) : NULL,
                         .rel_ld = m->H_l, .buckets = s->rel_buckets,
                         .max_distance = s->rel_max_distance, .bidirectional = bidirectional,
                         .bucket_log_ratio = m->bucket_log_ratio[bidirectional],
                         .causal = causal};
}


size_t encdec_inputs_plan(encdec_inputs *in, int max_tokens, int max_enc, int max_dec) {
    size_t T = (size_t)max_tokens, E = (size_t)max_enc, B = (size_t)max_dec;
    in->seq_off = 0;
    in->seq_len = in->seq_off + E;
    in->enc_ids = in->seq_len + E;
    in->enc_pe = in->enc_ids + T;
    in->dec_tok = in->enc_pe + T;
    in->dec_pe = in->dec_tok + B;
    in->ban = in->dec_pe + B;
    return in->ban + B;
}

void encdec_inputs_fill(const void *ctx, const step_plan *p, int32_t *region) {
    const encdec_model *m = ctx;
    const encdec_inputs *l = &m->in;
    int32_t *h = region;
    memcpy(h + l->enc_ids, p->ids, sizeof(int32_t) * (size_t)p->n_ids);
    /* Position-table rows: position + pos_offset; with pos_skip_pad (fairseq), a pad token takes
     * row pad_id and the encoder counts only the other tokens (the decoder's one new token per
     * step counts every cached position before it, as HF's past_key_values_length does). */
    const model_spec *s = m->s;
    for (int e = 0; e < p->n_encode; e++) {
        const int32_t *ids = p->ids + p->enc[e].ids_offset;
        int32_t *pe = h + l->enc_pe + p->enc[e].ids_offset;
        h[l->seq_off + e] = p->enc[e].ids_offset;
        h[l->seq_len + e] = p->enc[e].len;
        for (int t = 0, pos = 0; t < p->enc[e].len; t++)
            pe[t] = s->pos_skip_pad && ids[t] == s->pad_id ? s->pad_id : pos++ + s->pos_offset;
    }
    for (int i = 0; i < p->n_decode; i++) {
        int pad = s->pos_skip_pad && p->dec[i].token == s->pad_id;
        h[l->dec_tok + i] = p->dec[i].token;
        h[l->dec_pe + i] = pad ? s->pad_id : p->dec[i].pos + s->pos_offset;
        h[l->ban + i] = p->dec[i].ban;
    }
}

ed_status encdec_forward_encoder(encdec_model *m, kv_store *kv, const step_plan *p,
                                 float *hidden_host, ed_error *err) {
    const stack_weights *enc = &m->w->enc;
    const kv_tables *kt = kv_index_tables(m->kvi);
    int T = p->n_ids;
    embed(m, enc, m->d_in + m->in.enc_ids, m->d_in + m->in.enc_pe, T);
    int max_len = 0;
    for (int e = 0; e < p->n_encode; e++)
        if (p->enc[e].len > max_len) max_len = p->enc[e].len;
    for (int l = 0; l < enc->n_layers; l++) {
        const layer_weights *lw = &enc->layers[l];
        gemm_input in = sublayer_in(m, 0, lw->self_norm, lw->self_norm_b, T);
        linear(m, in, lw->self_q, lw->self_q_b, m->q, T, m->I_l, m->D);
        linear_same_input(m, in, lw->self_k, lw->self_k_b, m->k, T, m->I_l, m->D);
        linear_same_input(m, in, lw->self_v, lw->self_v_b, m->v, T, m->I_l, m->D);
        attn_params ap = attn_of(m, enc, lw, 1, 0);
        ap.max_keys = max_len;
        ap.tf32 = m->w->wtype != DTYPE_FP32;
        gemm_dest att = gemm_dest_for(m, m->att);
        ap.out_type = att.ytype;
        m->be->attention_prefill(&ap, m->q, m->k, m->v, att.y, p->n_encode,
                                 m->d_in + m->in.seq_off, m->d_in + m->in.seq_len);
        linear(m, att.in, lw->self_o, NULL, m->out, T, m->D, m->I_l);
        if (sublayer_out(m, lw->self_o_b, lw->self_norm, lw->self_norm_b, T, err) ||
            ffn_block(m, 0, lw, T, err))
            return ED_ERR;
    }
    const float *enc_out = stack_out(m, enc, T);
    int want_output = 0, any_cross = 0;
    for (int e = 0; e < p->n_encode; e++) {
        want_output |= p->enc[e].want_output;
        any_cross |= p->enc[e].cross_blocks >= 0;
    }
    if (hidden_host && want_output) m->be->download(hidden_host, enc_out, (size_t)T * m->D);
    if (!any_cross) return ED_OK;
    /* Cross-attention K/V of every decoder layer, computed once per request and written into
     * its cross blocks, block_size rows at a time. */
    for (int l = 0; l < m->w->dec.n_layers; l++) {
        const layer_weights *lw = &m->w->dec.layers[l];
        /* enc_out stays unchanged through this loop: its rounding is made once. */
        gemm_input in = fp32_in(enc_out);
        if (l == 0) linear(m, in, lw->cross_k, lw->cross_k_b, m->k, T, m->I_l, m->D);
        else linear_same_input(m, in, lw->cross_k, lw->cross_k_b, m->k, T, m->I_l, m->D);
        linear_same_input(m, in, lw->cross_v, lw->cross_v_b, m->v, T, m->I_l, m->D);
        kv_layout cross = kv_store_layout(kv, KV_CROSS, l);
        m->be->kv_scatter(m->k, T, &cross, 0, kt->blocks, kt->row_tab, kt->row_pos);
        m->be->kv_scatter(m->v, T, &cross, 1, kt->blocks, kt->row_tab, kt->row_pos);
    }
    return ED_OK;
}

/* What decoder_body records: the model, the step's KV store. */
typedef struct decoder_ctx {
    encdec_model *m;
    kv_store *kv;
} decoder_ctx;

/* decoder_graphs_body_fn: embedding and every decoder layer (self K/V appended, self- and
 * cross-attention, FFN) for n entries; max_self / max_cross bound the keys. */
static ed_status decoder_body(void *ctx, int n, int max_self, int max_cross, ed_error *err) {
    encdec_model *m = ((decoder_ctx *)ctx)->m;
    kv_store *kv = ((decoder_ctx *)ctx)->kv;
    const backend *be = m->be;
    const stack_weights *dec = &m->w->dec;
    const kv_tables *kt = kv_index_tables(m->kvi);
    const int fused = m->fused_norms;
    embed(m, dec, m->d_in + m->in.dec_tok, m->d_in + m->in.dec_pe, n);
    for (int l = 0; l < dec->n_layers; l++) {
        const layer_weights *lw = &dec->layers[l];
        /* Causal self-attention over the sequence's own KV, this token's K/V appended by the
         * attention kernel itself; Q, K, V from one GEMM when their weights are joint. */
        gemm_input in = sublayer_in(m, fused, lw->self_norm, lw->self_norm_b, n);
        const float *q = m->q;
        kv_append app = {m->k, m->v, m->I_l};
        if (joint_qkv(m, lw)) {
            linear(m, in, lw->self_q, lw->self_q_b, m->qkv, n, 3 * m->I_l, m->D);
            q = m->qkv;
            app = (kv_append){m->qkv + m->I_l, m->qkv + 2 * m->I_l, 3 * m->I_l};
        } else {
            linear(m, in, lw->self_q, lw->self_q_b, m->q, n, m->I_l, m->D);
            linear_same_input(m, in, lw->self_k, lw->self_k_b, m->k, n, m->I_l, m->D);
            linear_same_input(m, in, lw->self_v, lw->self_v_b, m->v, n, m->I_l, m->D);
        }
        kv_layout self = kv_store_layout(kv, KV_SELF, l);
        attn_params sp = attn_of(m, dec, lw, 0, 1);
        sp.max_keys = max_self;
        sp.q_ld = app.ld;
        gemm_dest att = gemm_dest_for(m, m->att); /* the same for the cross-attention below */
        sp.out_type = att.ytype;
        be->attention_paged(&sp, q, att.y, n, &self, &app, kt->blocks, kt->self_tab, kt->self_nk,
                            kt->pos);
        if (out_proj(m, fused, att.in, lw->self_o, lw->self_o_b, lw->self_norm, lw->self_norm_b,
                     n, m->I_l, err))
            return ED_ERR;
        /* Cross-attention over the request's stored encoder K/V (no position bias). */
        in = sublayer_in(m, fused, lw->cross_norm, lw->cross_norm_b, n);
        linear(m, in, lw->cross_q, lw->cross_q_b, m->q, n, m->I_l, m->D);
        kv_layout cross = kv_store_layout(kv, KV_CROSS, l);
        attn_params cp = attn_of(m, NULL, lw, 0, 0);
        cp.max_keys = max_cross;
        cp.kv_share = kt->cross_run; /* beams of a request: one read of its cross K/V */
        cp.out_type = att.ytype;
        be->attention_paged(&cp, m->q, att.y, n, &cross, NULL, kt->blocks, kt->cross_tab,
                            kt->cross_nk, kt->pos);
        if (out_proj(m, fused, att.in, lw->cross_o, lw->cross_o_b, lw->cross_norm,
                     lw->cross_norm_b, n, m->I_l, err) ||
            ffn_block(m, fused, lw, n, err))
            return ED_ERR;
    }
    return ED_OK;
}

ed_status encdec_forward_decoder(encdec_model *m, kv_store *kv, int n, ed_error *err) {
    const kv_tables *kt = kv_index_tables(m->kvi);
    decoder_ctx ctx = {m, kv};
    if (decoder_graphs_run(m->graphs, n, kt->cross_run, kt->max_self_keys, kt->max_cross_keys,
                           decoder_body, &ctx, err))
        return ED_ERR;
    /* What decoder_body leaves pending: set here too, for a replayed graph did not run it
     * (fused: every output is in x already). */
    m->pending_residual = m->s->pre_norm && !m->fused_norms;
    return ED_OK;
}

const float *encdec_forward_decoder_out(encdec_model *m, int n) {
    const float *h = stack_out(m, &m->w->dec, n);
    if (m->s->scale_decoder_outputs) {
        if (h != m->h) m->be->copy(m->h, h, (size_t)n * m->D);
        m->be->scale(m->h, 1.0f / sqrtf((float)m->D), (size_t)n * m->D);
        h = m->h;
    }
    return h;
}
