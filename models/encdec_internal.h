/* The model's state shared by its files (private to models/encdec*.c):
 *   encdec.c          create/destroy, the activation arena plan, the public entry points
 *   encdec_forward.c  embedding, norms, projections, attention and FFN sublayers, the encoder
 *                     pass, the decoder layers and the decoder's output
 * and the modules it owns: kv_index (the plan's KV tables, uploaded with the model's inputs),
 * decoder_graphs (recorded decoder steps), lm_head (the LM head and per-rank outputs). */
#ifndef ENCDEC_ENCDEC_INTERNAL_H
#define ENCDEC_ENCDEC_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "models/decoder_graphs.h"
#include "models/encdec.h"
#include "models/kv_index.h"
#include "models/lm_head.h"

/* Offsets (int32s) of the model's per-plan index arrays in its region of the kv_index upload;
 * set by encdec_inputs_plan, filled per plan by encdec_inputs_fill. */
typedef struct encdec_inputs {
    size_t seq_off, seq_len; /* [max_enc] per encode entry: its first packed row, its length */
    size_t enc_ids, enc_pe;  /* [max_tokens] encoder tokens; their position-embedding rows */
    size_t dec_tok, dec_pe;  /* [max_dec] decoder tokens fed; their position-embedding rows */
    size_t ban;              /* [max_dec] plan_decode.ban per decode entry (LM head) */
} encdec_inputs;

struct encdec_model {
    /* Written by encdec_create only. */
    const model_weights *w;
    const model_spec *s;
    const backend *be;
    comm *comm;
    int D, H_l, I_l, F_l;    /* d_model; local heads, local attention width, local FFN width */
    int max_tokens;          /* packed rows of any step: max(max_enc_tokens, max_dec_tokens) */
    int max_dec, max_enc;    /* decode entries, encode entries per step */
    int joint_gemms;         /* encdec_limits.joint_gemms */
    int fused_norms;         /* 1: decoder steps fold each pre-norm into the GEMM after it
                              * (backend rms_matmul) and add each sublayer's output to x in its
                              * output projection: encdec_limits.fused_norms on, one rank (no
                              * all-reduce between a projection and the residual), pre-norm
                              * RMSNorm, 16-bit unquantized weights, a backend with the ops */
    float bucket_log_ratio[2]; /* relbias_log_ratio for the decoder (0) and encoder (1) buckets */
    /* Activations, views into `arena` (backend memory, owned); T = max_tokens. */
    float *x, *h, *out;      /* [T, D] residual stream, normed input, projection output */
    float *q, *k, *v, *att;  /* [T, I_l] */
    float *f0, *f1;          /* [T, F_l] FFN hidden; gated: f0 is [T, 2 F_l], f1 = f0 + T F_l
                              * (wi0's and wi1's outputs, or one joint [n, 2 F_l] output) */
    float *qkv;              /* [max_dec, 3 I_l] a decoder step's joint Q/K/V projection */
    void *xin;               /* [T, max(D, I_l)] a GEMM input its producer (pre-norm,
                              * attention) wrote in the 16-bit weight dtype; NULL with fp32 */
    void *ffn_hidden;        /* [T, F_l] the FFN's activation output, the input of its wo, in
                              * the 16-bit weight dtype (apart from xin: the fused gated and
                              * ReLU GEMMs write it while reading xin); NULL with fp32 */
    void *arena;
    size_t arena_bytes;
    encdec_inputs in;        /* layout of the model's region of kvi (encdec_inputs_plan) */
    const int32_t *d_in;     /* that region in backend memory (kv_index_extra) */
    kv_index *kvi;           /* the plan's KV tables and the model's inputs (owned) */
    decoder_graphs *graphs;  /* recorded decoder steps (owned) */
    lm_head *head;           /* LM head (owned); its logits and pairs live in `arena` */
    /* Written by encdec_forward.c only. */
    int pending_residual;    /* 1: out holds a sublayer output not yet added to x */
    normed_input norm_in;    /* the pre-norm the next fused GEMM folds in (its x is m->x) */
};

/* Lays out the model's index arrays for m's limits; returns the int32s they take. */
size_t encdec_inputs_plan(encdec_inputs *in, int max_tokens, int max_enc, int max_dec);
/* kv_index_fill_fn for the model's region: ctx is the encdec_model. */
void encdec_inputs_fill(const void *ctx, const step_plan *p, int32_t *region);

/* The encoder pass over p's encode entries, p's indices uploaded (encdec_encode's contract). */
ed_status encdec_forward_encoder(encdec_model *m, kv_store *kv, const step_plan *p,
                                 float *hidden_host, ed_error *err);
/* Embedding and every decoder layer for p's n decode entries (through the graph cache), p's
 * indices uploaded; leaves a residual pending as the eager pass does. */
ed_status encdec_forward_decoder(encdec_model *m, kv_store *kv, int n, ed_error *err);
/* The decoder's final hidden states [n, D] (backend fp32) after encdec_forward_decoder: the
 * final norm, and the 1/sqrt(D) scale of a spec that scales decoder outputs. */
const float *encdec_forward_decoder_out(encdec_model *m, int n);

#endif
