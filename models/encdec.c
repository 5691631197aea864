/* encdec.h's entry points: creation (the activation arena, planned once for the largest step,
 * and the modules the model owns) and the encoder and decoder steps, which upload the plan's
 * indices and hand the work to encdec_forward.c and lm_head.c. */
#include "models/encdec.h"

#include <stdint.h>
#include <stdlib.h>

#include "common/relbias.h"
#include "models/encdec_internal.h"

/* The widest row xin holds: max(D, I_l) values. */
static size_t widest_row(const encdec_model *m) {
    return (size_t)(m->D > m->I_l ? m->D : m->I_l);
}

static size_t round16(size_t floats) { return (floats + 15) & ~(size_t)15; }

/* Carves the activations and the LM head's device buffers out of one backend allocation, each
 * rounded up to 16 floats; sets arena, arena_bytes and the activation views. */
static ed_status arena_plan(encdec_model *m, float **logits, float **pairs, ed_error *err) {
    const model_spec *s = m->s;
    size_t T = (size_t)m->max_tokens, B = (size_t)m->max_dec;
    /* xin and ffn_hidden hold 16-bit values: half as many floats */
    int w16 = m->w->wtype != DTYPE_FP32;
    size_t xin_floats = w16 ? (T * widest_row(m) + 1) / 2 : 0;
    size_t hidden_floats = w16 ? (T * m->F_l + 1) / 2 : 0;
    size_t sizes[] = {T * m->D, T * m->D, T * m->D, T * m->I_l, T * m->I_l, T * m->I_l,
                      T * m->I_l, T * m->F_l * (s->gated_ffn ? 2 : 1), B * 3 * m->I_l,
                      B * m->w->v_local, B * LM_HEAD_PAIR_ROW, xin_floats, hidden_floats};
    float *xin = NULL, *hidden = NULL;
    float **slots[] = {&m->x, &m->h, &m->out, &m->q, &m->k, &m->v, &m->att, &m->f0, &m->qkv,
                       logits, pairs, &xin, &hidden};
    size_t total = 0;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) total += round16(sizes[i]);
    m->arena_bytes = total * sizeof(float);
    m->arena = m->be->alloc(m->arena_bytes);
    if (!m->arena)
        return ed_fail(err, "cannot allocate %zu bytes of activations for %zu tokens per step",
                       m->arena_bytes, T);
    float *p = m->arena;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        *slots[i] = p;
        p += round16(sizes[i]);
    }
    m->xin = xin_floats ? xin : NULL;
    m->ffn_hidden = hidden_floats ? hidden : NULL;
    m->f1 = s->gated_ffn ? m->f0 + T * m->F_l : NULL;
    return ED_OK;
}

ed_status encdec_create(encdec_model **out, const model_weights *w, comm *c,
                        const encdec_limits *lim, ed_error *err) {
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
    m->max_dec = lim->max_dec_tokens;
    m->max_enc = lim->max_dec_tokens; /* at most one encode entry per decode slot */
    m->max_tokens = lim->max_enc_tokens > lim->max_dec_tokens ? lim->max_enc_tokens
                                                              : lim->max_dec_tokens;
    m->joint_gemms = lim->joint_gemms;
    m->fused_norms = lim->fused_norms && w->tp_size == 1 && s->pre_norm && s->norm == NORM_RMS &&
                     w->wtype != DTYPE_FP32 && !w->quant && m->be->rms_matmul &&
                     m->be->rms_matmul_gated;
    for (int bidi = 0; bidi < 2; bidi++)
        m->bucket_log_ratio[bidi] = relbias_log_ratio(bidi, s->rel_buckets, s->rel_max_distance);
    int max_self_keys = lim->max_output_len + 1, max_cross_keys = lim->max_input_len;
    float *logits = NULL, *pairs = NULL;
    size_t n_in = encdec_inputs_plan(&m->in, m->max_tokens, m->max_enc, m->max_dec);
    if (arena_plan(m, &logits, &pairs, err) ||
        lm_head_create(&m->head, w, c, m->max_dec, logits, pairs, err) ||
        kv_index_create(&m->kvi, m->be, lim->max_plan_blocks, m->max_tokens, m->max_dec, n_in,
                        err) ||
        decoder_graphs_create(&m->graphs, m->be, lim->graphs && comm_graph_capturable(c),
                              m->max_dec, max_self_keys, max_cross_keys, err)) {
        encdec_destroy(m);
        return ED_ERR;
    }
    m->d_in = kv_index_extra(m->kvi);
    if (m->be->graphs) { /* scratch of any step sized now: recorded steps cannot allocate */
        m->be->graphs->reserve_gemm_input((size_t)m->max_tokens * widest_row(m));
        m->be->graphs->reserve_attention(m->max_dec, m->H_l,
                                         max_self_keys > max_cross_keys ? max_self_keys
                                                                        : max_cross_keys,
                                         s->d_kv);
    }
    *out = m;
    return ED_OK;
}

int encdec_fused_norms(const encdec_model *m) { return m->fused_norms; }

void encdec_destroy(encdec_model *m) {
    if (!m) return;
    decoder_graphs_destroy(m->graphs);
    kv_index_destroy(m->kvi);
    lm_head_destroy(m->head);
    if (m->arena) m->be->free(m->arena);
    free(m);
}

size_t encdec_workspace_bytes(const encdec_model *m) { return m->arena_bytes; }

void encdec_graph_counts(const encdec_model *m, long *replays, long *captures) {
    decoder_graphs_counts(m->graphs, replays, captures);
}

int encdec_candidate_sources(const encdec_model *m) { return lm_head_sources(m->head); }

size_t encdec_host_output_floats(const encdec_model *m) { return lm_head_host_floats(m->head); }

ed_status encdec_encode(encdec_model *m, kv_store *kv, const step_plan *p, float *hidden_host,
                        ed_error *err) {
    if (p->n_encode == 0) return ED_OK;
    if (p->n_ids > m->max_tokens)
        return ed_fail(err, "encoder step of %d tokens exceeds the planned %d", p->n_ids,
                       m->max_tokens);
    kv_index_upload(m->kvi, p, encdec_inputs_fill, m);
    return encdec_forward_encoder(m, kv, p, hidden_host, err);
}

ed_status encdec_decode_step(encdec_model *m, kv_store *kv, const step_plan *p, float *logits_host,
                             ed_error *err) {
    int n = p->n_decode;
    if (n == 0) return ED_OK;
    if (n > m->max_dec) return ed_fail(err, "decoder step of %d tokens exceeds the planned %d", n,
                                       m->max_dec);
    for (int i = 0; i < p->n_copies; i++)
        kv_store_copy_block(kv, KV_SELF, p->copies[i].src, p->copies[i].dst);
    kv_index_upload(m->kvi, p, encdec_inputs_fill, m);
    if (encdec_forward_decoder(m, kv, n, err)) return ED_ERR;
    if (!logits_host && !m->w->vocab_parallel) return ED_OK; /* replicated head: rank 0 only */
    const float *h = encdec_forward_decoder_out(m, n);
    return lm_head_run(m->head, h, n, p, m->d_in + m->in.ban, logits_host, err);
}
