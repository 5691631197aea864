#include "models/encdec.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/relbias.h"

#define GRAPH_SLOTS 64
#define RUN_KEYS 17 /* graph keys per batch size: cross runs 0..15, and 16 for 16 or more */
#define PAIR_ROW (2 + 2 * STEP_PLAN_TOPK_MAX) /* floats per row of the pair buffers, at most */

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
    float *f0, *f1;          /* [T, F_l] FFN hidden; gated: f0 is [T, 2 F_l], f1 = f0 + T F_l
                              * (wi0's and wi1's outputs, or one joint [n, 2 F_l] output) */
    float *qkv;              /* [max_dec, 3 I_l] a decoder step's joint Q/K/V projection */
    void *xin;               /* [T, max(D, F_l)] a GEMM input its producer (pre-norm, gated
                              * activation) wrote in the 16-bit weight dtype; NULL with fp32 */
    float *logits;           /* [max_dec, V_l] this rank's logits slice */
    float *pairs;            /* [max_dec, PAIR_ROW] this rank's (best logit, token) per row, or
                              * its topk_rows output */
    float *host_pairs, *gathered_pairs; /* [max_dec, PAIR_ROW], [tp, max_dec, PAIR_ROW] host */
    float *host_logits, *gather_staging; /* [max_dec, V_l], [max_dec, V] host (vocab-parallel) */
    void *arena;
    size_t arena_bytes;
    /* Index arrays of the current plan, built on the host (h_*) and uploaded once per step into
     * backend int buffers (d_*); the layout of both is idx_layout. */
    int32_t *h_idx, *d_idx;
    size_t idx_len;
    uint64_t idx_plan_seq;   /* plan whose indices are uploaded; UINT64_MAX = none */
    int max_blocks, max_enc;
    int max_self_keys, max_cross_keys; /* attention scratch bounds of recorded steps */
    /* Recorded decoder steps, one per batch size n and cross run (graphs on only). A pair is
     * recorded the second time it is seen: the first run, eager, warms kernels and GEMM plans. */
    int graphs_on;
    int joint_gemms;         /* encdec_limits.joint_gemms */
    float bucket_log_ratio[2]; /* relbias_log_ratio for the decoder (0) and encoder (1) buckets */
    int pending_residual;    /* 1: out holds a sublayer output not yet added to x (take_residual) */
    int cross_run;           /* the plan's longest run of entries over one cross table (beams) */
    struct { int n, run; void *graph; } graphs[GRAPH_SLOTS]; /* per (n, run key) */
    int next_slot;
    unsigned char *seen;     /* [max_dec + 1][RUN_KEYS] (n, run key) pairs already run eagerly */
    long graph_replays, graph_captures;
};

/* Offsets (in int32s) of each index array inside h_idx / d_idx. */
typedef struct idx_layout {
    size_t blocks, seq_off, seq_len, row_tab, row_pos, self_tab, cross_tab, self_nk, cross_nk, pos,
        ban;
    size_t enc_ids, enc_pe; /* [T] encoder tokens; their position-embedding rows (learned_pos) */
    size_t dec_tok, dec_pe; /* [B] decoder tokens fed; their position-embedding rows */
} idx_layout;

static idx_layout idx_of(const encdec_model *m) {
    idx_layout l;
    size_t T = (size_t)m->max_tokens, B = (size_t)m->max_dec, E = (size_t)m->max_enc;
    l.blocks = 0;
    l.seq_off = l.blocks + (size_t)m->max_blocks;
    l.seq_len = l.seq_off + E;
    l.row_tab = l.seq_len + E;
    l.row_pos = l.row_tab + T;
    l.self_tab = l.row_pos + T;
    l.cross_tab = l.self_tab + B;
    l.self_nk = l.cross_tab + B;
    l.cross_nk = l.self_nk + B;
    l.pos = l.cross_nk + B;
    l.ban = l.pos + B;
    l.enc_ids = l.ban + B;
    l.enc_pe = l.enc_ids + T;
    l.dec_tok = l.enc_pe + T;
    l.dec_pe = l.dec_tok + B;
    return l;
}

ed_status encdec_create(encdec_model **out, const model_weights *w, comm *c,
                        const encdec_limits *lim, ed_error *err) {
    int max_enc_tokens = lim->max_enc_tokens, max_dec_tokens = lim->max_dec_tokens;
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
    m->max_enc = max_dec_tokens; /* at most one encode entry per decode slot */
    m->max_blocks = lim->max_plan_blocks;
    m->max_self_keys = lim->max_output_len + 1;
    m->max_cross_keys = lim->max_input_len;
    /* Recorded steps size the attention scratch for the longest keys: keep that in shared
     * memory (longer limits run eagerly, sized per step). */
    m->graphs_on = lim->graphs && m->be->graphs && comm_graph_capturable(c) &&
                   m->max_self_keys <= 8192 && m->max_cross_keys <= 8192;
    m->joint_gemms = lim->joint_gemms;
    for (int bidi = 0; bidi < 2; bidi++)
        m->bucket_log_ratio[bidi] = relbias_log_ratio(bidi, s->rel_buckets, s->rel_max_distance);
    m->max_tokens = max_enc_tokens > max_dec_tokens ? max_enc_tokens : max_dec_tokens;
    m->idx_plan_seq = UINT64_MAX;
    size_t T = (size_t)m->max_tokens;
    size_t widest = (size_t)(m->F_l > m->I_l ? m->F_l : m->I_l);
    if ((size_t)m->D > widest) widest = (size_t)m->D;
    size_t xin_floats = w->wtype == DTYPE_FP32 ? 0 : (T * widest + 1) / 2; /* 16-bit values */
    size_t sizes[] = {T * m->D, T * m->D, T * m->D, T * m->I_l, T * m->I_l, T * m->I_l,
                      T * m->I_l, T * m->F_l * (s->gated_ffn ? 2 : 1),
                      (size_t)max_dec_tokens * 3 * m->I_l, (size_t)max_dec_tokens * m->V_l,
                      (size_t)max_dec_tokens * PAIR_ROW, xin_floats};
    float *xin = NULL;
    float **slots[] = {&m->x, &m->h, &m->out, &m->q, &m->k, &m->v, &m->att, &m->f0, &m->qkv,
                       &m->logits, &m->pairs, &xin};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) total += (sizes[i] + 15) & ~(size_t)15;
    m->arena_bytes = total * sizeof(float);
    m->arena = m->be->alloc(m->arena_bytes);
    m->host_pairs = malloc(sizeof(float) * PAIR_ROW * (size_t)max_dec_tokens);
    m->gathered_pairs = malloc(sizeof(float) * PAIR_ROW * (size_t)max_dec_tokens * w->tp_size);
    if (w->vocab_parallel) {
        m->host_logits = malloc(sizeof(float) * (size_t)max_dec_tokens * (m->V_l ? m->V_l : 1));
        m->gather_staging = malloc(sizeof(float) * (size_t)max_dec_tokens * m->V);
    }
    idx_layout il = idx_of(m);
    m->idx_len = il.dec_pe + (size_t)max_dec_tokens;
    m->h_idx = malloc(m->idx_len * sizeof(int32_t));
    m->d_idx = m->be->alloc(m->idx_len * sizeof(int32_t));
    m->seen = calloc(((size_t)max_dec_tokens + 1) * RUN_KEYS, 1);
    if (!m->arena || !m->h_idx || !m->seen || !m->d_idx || !m->host_pairs ||
        !m->gathered_pairs ||
        (w->vocab_parallel && (!m->host_logits || !m->gather_staging))) {
        encdec_destroy(m);
        return ed_fail(err, "cannot allocate %zu bytes of activations for %zu tokens per step",
                       total * sizeof(float), T);
    }
    if (m->be->graphs) { /* scratch of any step sized now: recorded steps cannot allocate */
        m->be->graphs->reserve_gemm_input(T * widest);
        m->be->graphs->reserve_attention(max_dec_tokens, m->H_l,
                                         m->max_self_keys > m->max_cross_keys ? m->max_self_keys
                                                                              : m->max_cross_keys,
                                         s->d_kv);
    }
    float *p = m->arena;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *slots[i] = p;
        p += (sizes[i] + 15) & ~(size_t)15;
    }
    m->xin = xin_floats ? xin : NULL;
    m->f1 = s->gated_ffn ? m->f0 + T * m->F_l : NULL;
    *out = m;
    return ED_OK;
}

void encdec_destroy(encdec_model *m) {
    if (!m) return;
    if (m->arena) m->be->free(m->arena);
    free(m->host_pairs);
    free(m->gathered_pairs);
    free(m->host_logits);
    free(m->gather_staging);
    free(m->h_idx);
    free(m->seen);
    for (int i = 0; i < GRAPH_SLOTS; i++)
        if (m->graphs[i].graph) m->be->graphs->destroy(m->graphs[i].graph);
    if (m->d_idx) m->be->free(m->d_idx);
    free(m);
}

size_t encdec_workspace_bytes(const encdec_model *m) { return m->arena_bytes; }

void encdec_graph_counts(const encdec_model *m, long *replays, long *captures) {
    *replays = m->graph_replays;
    *captures = m->graph_captures;
}

/* y[n, D] = norm(x + delta) per the spec (RMSNorm, or LayerNorm with bias b), with x += delta
 * done by the same kernel when delta is not NULL; y in ytype (fp32: y may be x). */
static void norm(const encdec_model *m, const float *delta, const float *w, const float *b, int n,
                 void *y, int ytype) {
    if (m->s->norm == NORM_RMS) m->be->rms_norm(m->x, delta, w, m->s->norm_eps, n, m->D, y, ytype);
    else m->be->layer_norm(m->x, delta, w, b, m->s->norm_eps, n, m->D, y, ytype);
}

/* The input of a projection: fp32 activations, or values its producer already wrote in the
 * weight dtype (flags = MATMUL_X_IN_WTYPE; matmul_wt does not round them again). */
typedef struct gemm_input {
    const void *x;
    int flags;
} gemm_input;

static gemm_input fp32_in(const float *x) { return (gemm_input){x, 0}; }

/* Where a producer (pre-norm, FFN activation, attention) writes the input of the projection
 * that follows it: xin, in the 16-bit weight dtype, when there is one (no rounding pass before
 * the GEMM), else the fp32 buffer `fp32_buf`. y and ytype for the producer, in for the GEMM. */
typedef struct gemm_dest {
    void *y;
    int ytype;
    gemm_input in;
} gemm_dest;

static gemm_dest gemm_dest_for(const encdec_model *m, float *fp32_buf) {
    if (m->xin) return (gemm_dest){m->xin, m->w->wtype, {m->xin, MATMUL_X_IN_WTYPE}};
    return (gemm_dest){fp32_buf, DTYPE_FP32, fp32_in(fp32_buf)};
}

/* Pre-norm blocks leave their sublayer output in `out` (pending_residual = 1) and the next norm
 * adds it to the residual stream x in the same kernel. Returns the pending delta, or NULL, and
 * marks it consumed. */
static const float *take_residual(encdec_model *m) {
    const float *delta = m->pending_residual ? m->out : NULL;
    m->pending_residual = 0;
    return delta;
}

/* y[n, out] = x[n, in] @ w^T (+ b); flags as matmul_wt's. */
static void project(const encdec_model *m, int flags, gemm_input x, const void *w,
                    const float *b, float *y, int n, int out, int in) {
    m->be->matmul_wt(x.x, w, m->w->wtype, y, n, out, in, flags | x.flags);
    if (b) m->be->add_bias(y, b, n, out);
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
 * itself for post-norm ones. */
static gemm_input sublayer_in(encdec_model *m, const float *w, const float *b, int n) {
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

/* Whether a layer takes its Q/K/V (decoder self-attention) from one GEMM, and its two gated-FFN
 * inputs from one GEMM: joint_gemms on and the weights back to back; the FFN also needs a 16-bit
 * hidden buffer (with fp32 the activation works in place, and rows of a joint output would
 * overlap it). */
static int joint_qkv(const encdec_model *m, const layer_weights *lw) {
    return m->joint_gemms && lw->self_qkv_joint;
}
static int joint_wi(const encdec_model *m, const layer_weights *lw) {
    return m->s->gated_ffn && m->joint_gemms && lw->ffn_wi_joint && m->xin;
}

/* Whether a plain (not gated) FFN's ReLU runs in its input GEMM's epilogue: ReLU, no bias,
 * joint_gemms on (the same switch: one launch fewer), and a bf16 GEMM input buffer for the
 * hidden values (fp16 keeps its saturating activation kernel). */
static int relu_in_gemm(const encdec_model *m, const layer_weights *lw) {
    return !m->s->gated_ffn && m->s->act == ACT_RELU && !lw->ffn_wi_b && m->joint_gemms &&
           m->xin && m->w->wtype == DTYPE_BF16;
}

void encdec_joint_layers(const encdec_model *m, int *qkv, int *wi) {
    *qkv = *wi = 0;
    for (int l = 0; l < m->w->dec.n_layers; l++) {
        *qkv += joint_qkv(m, &m->w->dec.layers[l]);
        *wi += joint_wi(m, &m->w->dec.layers[l]);
    }
}

static ed_status ffn_block(encdec_model *m, const layer_weights *lw, int n, ed_error *err) {
    const backend *be = m->be;
    size_t nf = (size_t)n * m->F_l;
    gemm_input in = sublayer_in(m, lw->ffn_norm, lw->ffn_norm_b, n);
    /* The activation runs after the wi GEMMs have read `in`, so it may overwrite xin; with fp32
     * it works in place in f0. */
    gemm_dest hidden = gemm_dest_for(m, m->f0);
    if (joint_wi(m, lw)) { /* one GEMM for both inputs: [n, 2 F_l], gate then lin per row */
        linear(m, in, lw->ffn_wi0, NULL, m->f0, n, 2 * m->F_l, m->D);
        be->gated_activation(m->s->act, m->f0, m->f0 + m->F_l, 2 * (size_t)m->F_l, hidden.y,
                             hidden.ytype, n, m->F_l);
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
    linear(m, hidden.in, lw->ffn_wo, NULL, m->out, n, m->D, m->F_l);
    return sublayer_out(m, lw->ffn_wo_b, lw->ffn_norm, lw->ffn_norm_b, n, err);
}

/* x[n, D] = embedding of ids (backend int buffer) with the position-embedding rows pe (learned
 * positions), per the spec (scale, learned positions, norm). Starts the residual stream: no
 * residual is pending after it. */
static void embed(encdec_model *m, const stack_weights *st, const int32_t *ids, const int32_t *pe,
                  int n) {
    const model_spec *s = m->s;
    m->pending_residual = 0;
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

/* Builds the plan's index arrays on the host and uploads them once per plan. */
static void upload_indices(encdec_model *m, const step_plan *p) {
    if (m->idx_plan_seq == p->seq) return;
    idx_layout l = idx_of(m);
    int32_t *h = m->h_idx;
    memcpy(h + l.blocks, p->blocks, sizeof(int32_t) * (size_t)p->n_blocks);
    memcpy(h + l.enc_ids, p->ids, sizeof(int32_t) * (size_t)p->n_ids);
    for (int e = 0; e < p->n_encode; e++) {
        h[l.seq_off + e] = p->enc[e].ids_offset;
        h[l.seq_len + e] = p->enc[e].len;
        for (int t = 0; t < p->enc[e].len; t++) {
            h[l.row_tab + p->enc[e].ids_offset + t] = p->enc[e].cross_blocks;
            h[l.row_pos + p->enc[e].ids_offset + t] = t;
            h[l.enc_pe + p->enc[e].ids_offset + t] = t + m->s->pos_offset;
        }
    }
    m->cross_run = 0; /* the longest run of entries over one cross table: a request's beams */
    for (int i = 0, run = 0; i < p->n_decode; i++) {
        const plan_decode *d = &p->dec[i], *prev = i ? &p->dec[i - 1] : NULL;
        run = prev && prev->cross_blocks == d->cross_blocks && prev->cross_len == d->cross_len
                  ? run + 1 : 1;
        if (run > m->cross_run) m->cross_run = run;
        h[l.self_tab + i] = d->self_blocks;
        h[l.cross_tab + i] = d->cross_blocks;
        h[l.self_nk + i] = d->pos + 1;
        h[l.cross_nk + i] = d->cross_len;
        h[l.pos + i] = d->pos;
        h[l.ban + i] = d->ban;
        h[l.dec_tok + i] = d->token;
        h[l.dec_pe + i] = d->pos + m->s->pos_offset;
    }
    m->be->upload_i32(m->d_idx, m->h_idx, m->idx_len);
    m->idx_plan_seq = p->seq;
}

ed_status encdec_encode(encdec_model *m, kv_store *kv, const step_plan *p, float *hidden_host,
                        ed_error *err) {
    if (p->n_encode == 0) return ED_OK;
    const stack_weights *enc = &m->w->enc;
    int T = p->n_ids;
    if (T > m->max_tokens)
        return ed_fail(err, "encoder step of %d tokens exceeds the planned %d", T, m->max_tokens);
    upload_indices(m, p);
    idx_layout il = idx_of(m);
    embed(m, enc, m->d_idx + il.enc_ids, m->d_idx + il.enc_pe, T);
    int max_len = 0;
    for (int e = 0; e < p->n_encode; e++)
        if (p->enc[e].len > max_len) max_len = p->enc[e].len;
    for (int l = 0; l < enc->n_layers; l++) {
        const layer_weights *lw = &enc->layers[l];
        gemm_input in = sublayer_in(m, lw->self_norm, lw->self_norm_b, T);
        linear(m, in, lw->self_q, lw->self_q_b, m->q, T, m->I_l, m->D);
        linear_same_input(m, in, lw->self_k, lw->self_k_b, m->k, T, m->I_l, m->D);
        linear_same_input(m, in, lw->self_v, lw->self_v_b, m->v, T, m->I_l, m->D);
        attn_params ap = attn_of(m, enc, lw, 1, 0);
        ap.max_keys = max_len;
        ap.tf32 = m->w->wtype != DTYPE_FP32;
        gemm_dest att = gemm_dest_for(m, m->att);
        ap.out_type = att.ytype;
        m->be->attention_prefill(&ap, m->q, m->k, m->v, att.y, p->n_encode,
                                 m->d_idx + il.seq_off, m->d_idx + il.seq_len);
        linear(m, att.in, lw->self_o, NULL, m->out, T, m->D, m->I_l);
        if (sublayer_out(m, lw->self_o_b, lw->self_norm, lw->self_norm_b, T, err) ||
            ffn_block(m, lw, T, err))
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
        m->be->kv_scatter(m->k, T, &cross, 0, m->d_idx + il.blocks, m->d_idx + il.row_tab,
                          m->d_idx + il.row_pos);
        m->be->kv_scatter(m->v, T, &cross, 1, m->d_idx + il.blocks, m->d_idx + il.row_tab,
                          m->d_idx + il.row_pos);
    }
    return ED_OK;
}

/* argmax_only plans: each rank's best (logit, token) per row of its vocabulary slice; rank 0
 * keeps the best over ranks (ties to the lower token: lower ranks hold lower tokens). */
static ed_status argmax_out(encdec_model *m, int n, float *pairs_host, ed_error *err) {
    idx_layout il = idx_of(m);
    if (m->V_l) {
        m->be->argmax_rows(m->logits, n, m->V_l, m->w->v0, m->d_idx + il.ban, m->pairs);
        m->be->download(m->host_pairs, m->pairs, 2 * (size_t)n);
    } else {
        for (int i = 0; i < n; i++) m->host_pairs[2 * i] = -INFINITY, m->host_pairs[2 * i + 1] = -1;
    }
    if (!m->w->vocab_parallel) {
        memcpy(pairs_host, m->host_pairs, sizeof(float) * 2 * (size_t)n);
        return ED_OK;
    }
    if (comm_gather(m->comm, m->host_pairs, 2 * n, m->gathered_pairs, err)) return ED_ERR;
    if (!pairs_host) return ED_OK;
    for (int i = 0; i < n; i++) {
        const float *best = m->gathered_pairs + 2 * i;
        for (int r = 1; r < m->w->tp_size; r++) {
            const float *c = m->gathered_pairs + (size_t)r * 2 * n + 2 * i;
            if (c[1] >= 0 && rank_pair_before(c[0], c[1], best[0], best[1])) best = c;
        }
        pairs_host[2 * i] = best[0];
        pairs_host[2 * i + 1] = best[1];
    }
    return ED_OK;
}

/* Plans with topk = k: each rank's topk_rows over its vocabulary slice ([n, 2 + 2k]: softmax
 * max and sum, then k (logit, token) pairs); rank 0 merges the slices: log-softmax over the
 * whole vocabulary, the k best pairs over all slices (ties to the lower token), written as
 * [n, k] (logit - logsumexp, token) pairs into out_host. */
static ed_status topk_out(encdec_model *m, int n, int k, float *out_host, ed_error *err) {
    idx_layout il = idx_of(m);
    const int row = 2 + 2 * k;
    if (m->V_l) {
        m->be->topk_rows(m->logits, n, m->V_l, m->w->v0, m->d_idx + il.ban, k, m->pairs);
        m->be->download(m->host_pairs, m->pairs, (size_t)n * row);
    } else { /* no slice here: max -inf, sum 0, no pairs */
        for (int i = 0; i < n; i++) {
            float *o = m->host_pairs + (size_t)i * row;
            o[0] = -INFINITY, o[1] = 0.0f;
            for (int j = 0; j < k; j++) o[2 + 2 * j] = -INFINITY, o[3 + 2 * j] = -1.0f;
        }
    }
    const float *src = m->host_pairs;
    int n_src = 1;
    if (m->w->vocab_parallel) {
        if (comm_gather(m->comm, m->host_pairs, n * row, m->gathered_pairs, err)) return ED_ERR;
        src = m->gathered_pairs;
        n_src = m->w->tp_size;
    }
    if (!out_host) return ED_OK;
    for (int i = 0; i < n; i++) {
        double mx = -INFINITY, sum = 0.0;
        for (int r = 0; r < n_src; r++) mx = fmax(mx, src[((size_t)r * n + i) * row]);
        for (int r = 0; r < n_src; r++) {
            const float *t = src + ((size_t)r * n + i) * row;
            if (t[0] > -INFINITY) sum += t[1] * exp(t[0] - mx);
        }
        float lse = (float)(mx + log(sum));
        int next[n_src]; /* each slice's list is sorted: merge them */
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
            out_host[((size_t)i * k + j) * 2] = best < 0 ? -INFINITY : bv - lse;
            out_host[((size_t)i * k + j) * 2 + 1] = best < 0 ? -1.0f : bt;
        }
    }
    return ED_OK;
}

/* The device work of a decoder step between the plan's uploads and the final norm: embedding
 * and every layer (self K/V appended, self- and cross-attention, FFN). Only backend ops and the
 * all-reduce, so that it can be recorded into a graph; max_self / max_cross bound the keys. */
static ed_status decoder_body(encdec_model *m, kv_store *kv, int n, int max_self, int max_cross,
                              ed_error *err) {
    const backend *be = m->be;
    const stack_weights *dec = &m->w->dec;
    idx_layout il = idx_of(m);
    const int32_t *ib = m->d_idx + il.blocks;
    embed(m, dec, m->d_idx + il.dec_tok, m->d_idx + il.dec_pe, n);
    for (int l = 0; l < dec->n_layers; l++) {
        const layer_weights *lw = &dec->layers[l];
        /* Causal self-attention over the sequence's own KV, this token's K/V appended by the
         * attention kernel itself; Q, K, V from one GEMM when their weights are joint. */
        gemm_input in = sublayer_in(m, lw->self_norm, lw->self_norm_b, n);
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
        be->attention_paged(&sp, q, att.y, n, &self, &app, ib, m->d_idx + il.self_tab,
                            m->d_idx + il.self_nk, m->d_idx + il.pos);
        linear(m, att.in, lw->self_o, NULL, m->out, n, m->D, m->I_l);
        if (sublayer_out(m, lw->self_o_b, lw->self_norm, lw->self_norm_b, n, err)) return ED_ERR;
        /* Cross-attention over the request's stored encoder K/V (no position bias). */
        in = sublayer_in(m, lw->cross_norm, lw->cross_norm_b, n);
        linear(m, in, lw->cross_q, lw->cross_q_b, m->q, n, m->I_l, m->D);
        kv_layout cross = kv_store_layout(kv, KV_CROSS, l);
        attn_params cp = attn_of(m, NULL, lw, 0, 0);
        cp.max_keys = max_cross;
        cp.kv_share = m->cross_run; /* beams of a request: one read of its cross K/V */
        cp.out_type = att.ytype;
        be->attention_paged(&cp, m->q, att.y, n, &cross, NULL, ib, m->d_idx + il.cross_tab,
                            m->d_idx + il.cross_nk, m->d_idx + il.pos);
        linear(m, att.in, lw->cross_o, NULL, m->out, n, m->D, m->I_l);
        if (sublayer_out(m, lw->cross_o_b, lw->cross_norm, lw->cross_norm_b, n, err) ||
            ffn_block(m, lw, n, err))
            return ED_ERR;
    }
    return ED_OK;
}

/* Runs decoder_body for n entries: replays n's recorded graph, records one the second time n is
 * seen, or runs it eagerly (graphs off, first sight of n, keys past the recorded bounds, or a
 * failed recording). */
static ed_status run_decoder_body(encdec_model *m, kv_store *kv, int n, int max_self,
                                  int max_cross, ed_error *err) {
    if (!m->graphs_on || max_self > m->max_self_keys || max_cross > m->max_cross_keys)
        return decoder_body(m, kv, n, max_self, max_cross, err);
    const backend_graphs *g = m->be->graphs;
    /* The cross-attention launch depends on the plan's runs of shared cross tables too. */
    const int run = m->cross_run < RUN_KEYS ? m->cross_run : RUN_KEYS - 1;
    for (int i = 0; i < GRAPH_SLOTS; i++)
        if (m->graphs[i].graph && m->graphs[i].n == n && m->graphs[i].run == run) {
            g->launch(m->graphs[i].graph);
            m->graph_replays++;
            return ED_OK;
        }
    /* Fixed bounds, so that the eager run and the recording launch identical kernels. */
    if (!m->seen[(size_t)n * RUN_KEYS + run]) {
        m->seen[(size_t)n * RUN_KEYS + run] = 1;
        return decoder_body(m, kv, n, m->max_self_keys, m->max_cross_keys, err);
    }
    g->begin();
    ed_status st = decoder_body(m, kv, n, m->max_self_keys, m->max_cross_keys, err);
    void *graph = g->end();
    if (st) {
        if (graph) g->destroy(graph);
        return ED_ERR;
    }
    if (!graph) { /* recording failed: run it now, and do not try this size again */
        m->graphs_on = 0;
        return decoder_body(m, kv, n, max_self, max_cross, err);
    }
    int slot = m->next_slot;
    m->next_slot = (slot + 1) % GRAPH_SLOTS;
    if (m->graphs[slot].graph) g->destroy(m->graphs[slot].graph);
    m->graphs[slot].n = n;
    m->graphs[slot].run = run;
    m->graphs[slot].graph = graph;
    m->graph_captures++;
    g->launch(graph);
    m->graph_replays++;
    return ED_OK;
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
    upload_indices(m, p);
    int max_self = 0, max_cross = 0;
    for (int i = 0; i < n; i++) {
        if (p->dec[i].pos + 1 > max_self) max_self = p->dec[i].pos + 1;
        if (p->dec[i].cross_len > max_cross) max_cross = p->dec[i].cross_len;
    }
    if (run_decoder_body(m, kv, n, max_self, max_cross, err)) return ED_ERR;
    /* What decoder_body leaves pending: set here too, for a replayed graph did not run it. */
    m->pending_residual = m->s->pre_norm;
    if (!logits_host && !m->w->vocab_parallel) return ED_OK;
    const float *h = stack_out(m, dec, n);
    if (m->s->scale_decoder_outputs) {
        if (h != m->h) be->copy(m->h, h, (size_t)n * m->D);
        be->scale(m->h, 1.0f / sqrtf((float)m->D), (size_t)n * m->D);
        h = m->h;
    }
    if (m->V_l) linear(m, fp32_in(h), m->w->lm_head, m->w->logits_bias, m->logits, n, m->V_l, m->D);
    if (p->argmax_only) return argmax_out(m, n, logits_host, err);
    if (p->topk > 0) return topk_out(m, n, p->topk, logits_host, err);
    if (!m->w->vocab_parallel) {
        be->download(logits_host, m->logits, (size_t)n * m->V);
        return ED_OK;
    }
    be->download(m->host_logits, m->logits, (size_t)n * m->V_l);
    return comm_gather_vocab(m->comm, m->host_logits, n, m->V, logits_host, m->gather_staging, err);
}
