/* The backend: a table of function pointers that the model code calls for every op. Model code
 * never includes a CUDA header; the CPU backend (kernels/cpu/) is plain C + OpenBLAS, and the
 * CUDA backend (kernels/cuda/, its own issue) fills the same table with launchers.
 * Buffers are backend memory obtained from alloc(). Activations are fp32 on every backend;
 * weight matrices (the `const void *w` / `table` arguments) are stored in a weight dtype `wtype`
 * (ed_dtype of common/dtype.h: fp32, fp16 or bf16), or quantized (matmul_wq).
 * All shapes are row-major; "[m, k]" means m rows of k contiguous elements. */
#ifndef ENCDEC_BACKEND_H
#define ENCDEC_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "common/dtype.h"
#include "kernels/backend_kind.h"
#include "common/status.h"

/* Shared parameters of one batched attention call over this rank's local heads.
 * score(i, j) = scale * q_i . k_j + bias(h, bucket(j - q_pos))   (bias only if rel_bias)
 * Rows hold all local heads: head h at columns [h * d_kv, (h + 1) * d_kv) of a row of `row`
 * floats (row = heads * d_kv). */
enum { MATMUL_ACCUMULATE = 1, MATMUL_SAME_INPUT = 2, MATMUL_X_IN_WTYPE = 4,
       MATMUL_RELU_TO_BF16 = 8 }; /* matmul_wt flags */

typedef struct attn_params {
    int heads, d_kv, row;
    float scale;
    const float *rel_bias; /* [buckets, rel_ld] bucket table, this rank's head 0 = column 0; or NULL */
    int rel_ld, buckets, max_distance, bidirectional;
    float bucket_log_ratio; /* relbias_log_ratio(bidirectional, buckets, max_distance), with a bias */
    int causal;            /* key j visible to query position p iff j <= p */
    int max_keys;          /* upper bound of the keys any query of the call sees (scratch size) */
    int tf32;              /* prefill may multiply on TF32 tensor cores (10-bit mantissas, fp32
                            * sums); set with 16-bit weight dtypes; the CPU ignores it */
    int out_type;          /* out's dtype: fp32 (0), or the 16-bit weight dtype: out is then the
                            * input of the output projection, rounded as matmul_wt rounds */
    int q_ld;              /* attention_paged: floats between query rows; 0 = row (prefill: 0) */
    int kv_share;          /* attention_paged: the longest run of consecutive entries with the
                            * same table offset and key count (the beams of one request over
                            * its cross K/V); above 1 the backend may compute such entries
                            * together, reading each key once for all of them. 0 or 1: none */
} attn_params;

/* A GEMM input given as its pre-norm, not yet computed: the rows h[r, :] = g * (x[r, :] *
 * rsqrt(mean(x[r, :]^2) + eps)) of RMSNorm (rms_norm's y for x without a delta). x [m, k] fp32
 * is only read. */
typedef struct normed_input {
    const float *x, *g;
    float eps;
} normed_input;

/* Rows a decoder step appends to the self-attention pool inside attention_paged, before the
 * keys are read: row i of k and of v (ld floats apart) goes to position q_pos[i] of entry i's
 * table, in the pool's dtype, exactly as kv_scatter would write it. */
typedef struct kv_append {
    const float *k, *v;
    int ld;
} kv_append;

/* One layer of a paged KV pool (models/kv_store.h): key/value row `pos` of a sequence whose
 * block table is tbl lives at element k (or v) + tbl[pos / block_size] * block_stride +
 * (pos % block_size) * row, stored in dtype (ed_dtype: fp32, or fp16 / bf16 rounded to nearest
 * even as the kv_scatter op writes it; attention widens it to fp32).
 * DTYPE_FP8 (the CPU backend only): the elements are E4M3 codes (common/quant.h), and head h of
 * that row has the fp32 scale k_scale (or v_scale)[tbl[pos / block_size] * scale_stride +
 * (pos % block_size) * heads + h]: amax over the head's d_kv values / 448 (1 for zeros), each
 * element the code of value / scale, read back as code * scale. */
typedef struct kv_layout {
    void *k, *v;
    size_t block_stride; /* elements */
    int block_size, row;
    int dtype;
    float *k_scale, *v_scale; /* DTYPE_FP8 only, else NULL */
    size_t scale_stride;      /* floats between blocks' scales */
    int heads;                /* heads in a row (row = heads * d_kv) */
} kv_layout;

/* Graphs (CUDA graphs), optional: NULL members on backends without them. Ops queued between
 * graph_begin and graph_end are recorded instead of run; graph_end returns a replayable graph
 * (NULL if recording failed: the ops then did not run). Recorded ops must not allocate or wait
 * for the host; their pointers and sizes are baked in. */
typedef struct backend_graphs {
    void (*begin)(void);
    void *(*end)(void);
    void (*launch)(void *graph);
    void (*destroy)(void *graph);
    /* Sizes every internal scratch buffer for GEMM inputs of up to n elements now, so that no
     * later op (or a recorded one) allocates. */
    void (*reserve_gemm_input)(size_t n);
    /* Sizes decoder attention's scratch for steps of up to `entries` entries of `heads` heads
     * over at most max_keys keys, now (a recorded step must find it in place). */
    void (*reserve_attention)(int entries, int heads, int max_keys, int d_kv);
} backend_graphs;

/* The order of (value, index) pairs that argmax_rows and topk_rows pick by, and the host's
 * merge of per-rank picks: (v, i) ranks before (bv, bi) when v is higher, ties to the lower
 * index; bi < 0 = nothing picked yet. Indices as ints or as the floats of the pair buffers
 * (exact below 2^24). */
static inline int rank_pair_before(float v, double i, float bv, double bi) {
    return bi < 0 || v > bv || (v == bv && i < bi);
}

typedef struct backend {
    const char *name;
    void *(*alloc)(size_t bytes);                /* zero-filled; NULL when out of memory */
    void (*free)(void *buf);
    size_t (*free_memory)(void);                 /* bytes free for new buffers, for kv_memory */
    void *(*stream)(void);                       /* the cudaStream_t for NCCL; NULL on the CPU */
    void (*synchronize)(void);                   /* waits for all queued work (timing) */
    /* Faults: ops return nothing, so a failing op (a rejected launch, a library call's error, a
     * device fault, a CPU allocation that failed) is recorded by the backend, the first one
     * kept. check() waits for the queued work, then returns ED_OK, or ED_ERR with a message
     * naming the op that failed (for a fault found only at the wait: the last op launched
     * before it) and clears the record. The engine calls it after each step and carries its
     * verdict to the ranks' agreement; no backend code aborts the process. A failing op
     * returns without finishing its work (its outputs are then undefined); later ops still run.
     * Messages: "<op>: <what failed>", "device fault after <op>: <error>" (CUDA), "injected
     * fault in <op> (call <n>)". The record is kernels/fault.h's, one per process.
     * Test hook: ENCDEC_INJECT_FAULT=<op>[:<n>] in the environment (read once, by the first
     * backend_get) makes the n-th call (default the 1st) on this process of the op named as in
     * this table (matmul_wt, matmul_gated, rms_matmul, rms_matmul_gated, matmul_wq,
     * matmul_wq_gated, embed,
     * embed_q, rms_norm, layer_norm, add_bias, add, scale, activation,
     * gated_activation, argmax_rows, topk_rows, attention_prefill, attention_paged,
     * kv_scatter; copy, upload, download on CUDA) record an injected fault and do nothing,
     * on either backend. */
    ed_status (*check)(ed_error *err);
    void (*upload)(void *dst, const float *src, size_t n);   /* host fp32 -> buffer */
    void (*upload_raw)(void *dst, const void *src, size_t bytes); /* host bytes -> buffer */
    void (*download)(float *dst, const void *src, size_t n); /* buffer -> host fp32 */
    void (*copy)(float *dst, const float *src, size_t n);    /* buffer -> buffer */
    /* y[m, n] = x[m, k] @ w[n, k]^T + bias (y += that with MATMUL_ACCUMULATE); bias [n] fp32 or
     * NULL (none), added to each row's fp32 sums; w in wtype, products accumulated in fp32. With a 16-bit wtype, x is rounded to wtype first (fp16: clamped to
     * +-65504, as Hugging Face clamps T5's fp16 hidden states), y stays fp32. flags:
     * MATMUL_ACCUMULATE; MATMUL_SAME_INPUT = x is the buffer of the previous matmul_wt call,
     * same m, k and wtype, unchanged since (Q/K/V of one input): its rounding may be reused;
     * MATMUL_X_IN_WTYPE = x holds [m, k] values already in wtype (a producer's output with
     * ytype = wtype, below), used as they are; MATMUL_RELU_TO_BF16 (bf16 weights, without
     * MATMUL_ACCUMULATE, bias NULL) = y holds [m, n] bf16 values, max(0, product) rounded to
     * nearest: the bits `activation(ACT_RELU, ..., DTYPE_BF16)` writes from the fp32 product. */
    void (*matmul_wt)(const void *x, const void *w, int wtype, const float *bias, float *y, int m,
                      int n, int k, int flags);
    /* The gated FFN input, one op: p[m, 2f] = x[m, k] @ w[2f, k]^T as matmul_wt computes it (w
     * a joint matrix: the f gate rows, then the f lin rows; flags MATMUL_SAME_INPUT,
     * MATMUL_X_IN_WTYPE), then y[r, c] = act(p[r, c]) * p[r, f + c] in ytype as
     * gated_activation writes it. prod: fp32 scratch [m, 2f] the backend may hold p in (a fused
     * kernel does not). y must not overlap x or prod. */
    void (*matmul_gated)(int act, const void *x, const void *w, int wtype, float *prod, void *y,
                         int ytype, int m, int f, int k, int flags);
    /* matmul_wt and matmul_gated of a pre-norm's output, the norm folded in: the same results as
     * rms_norm(in->x, NULL, in->g, in->eps, m, k, h, wtype) followed by matmul_wt(h, ...,
     * MATMUL_X_IN_WTYPE | flags) or matmul_gated(act, h, ..., MATMUL_X_IN_WTYPE), up to the
     * order of the sum of squares (a kernel of the CUDA backend computes the norm while it
     * loads its input; the CPU runs the two ops). flags: MATMUL_ACCUMULATE,
     * MATMUL_RELU_TO_BF16 as matmul_wt's. y must not overlap in->x. */
    void (*rms_matmul)(const normed_input *in, const void *w, int wtype, const float *bias,
                       float *y, int m, int n, int k, int flags);
    void (*rms_matmul_gated)(int act, const normed_input *in, const void *w, int wtype,
                             float *prod, void *y, int ytype, int m, int f, int k);
    /* y[m, n] = (x[m, k] @ q[n, k]^T) * scale[n] (y += that with MATMUL_ACCUMULATE): a
     * weight-only quantized matrix (common/quant.h): q holds n x k codes of `quant` (QUANT_INT8
     * or QUANT_FP8), scale the n fp32 row scales. x is treated as matmul_wt treats it with xtype
     * (the run's weight dtype) in place of wtype: rounded to xtype, or already in xtype with
     * MATMUL_X_IN_WTYPE. Each code's exact value times the rounded x, summed in fp32; the sum
     * times scale[row]. Flags: MATMUL_ACCUMULATE, MATMUL_SAME_INPUT, MATMUL_X_IN_WTYPE. NULL on
     * a backend without quantized kernels (models/weights.h then dequantizes at load). */
    void (*matmul_wq)(const void *x, int xtype, const uint8_t *q, int quant, const float *scale,
                      float *y, int m, int n, int k, int flags);
    /* The gated FFN input of quantized weights, one op: g = matmul_wq(x, xtype, q_gate, quant,
     * s_gate, ...) and l = the same with q_lin, s_lin (each [m, f], f rows of k codes), then
     * y[r, c] = act(g[r, c]) * l[r, c] in ytype as gated_activation writes it. flags
     * MATMUL_SAME_INPUT, MATMUL_X_IN_WTYPE. prod: fp32 scratch [2, m, f] the backend may hold g
     * and l in (a fused kernel does not). y must not overlap x or prod. NULL exactly where
     * matmul_wq is. */
    void (*matmul_wq_gated)(int act, const void *x, int xtype, const uint8_t *q_gate,
                            const float *s_gate, const uint8_t *q_lin, const float *s_lin,
                            int quant, float *prod, void *y, int ytype, int m, int f, int k,
                            int flags);
    /* y[i, :] = value(table[ids[i], :]) * scale[ids[i]] for i < n: a quantized table ([V, d]
     * codes of `quant`, V row scales), as matmul_wq reads a matrix. NULL exactly where
     * matmul_wq is. */
    void (*embed_q)(const uint8_t *table, int quant, const float *scale, const int32_t *ids,
                    int n, int d, float *y);
    /* y[i, :] = table[ids[i], :] (as fp32) for i < n; table is [V, d] in wtype; ids: backend int
     * buffer. */
    void (*embed)(const void *table, int wtype, const int32_t *ids, int n, int d, float *y);
    /* y[r, :] = x[r, :] * rsqrt(mean(x[r, :]^2) + eps) * w  (T5LayerNorm / RMSNorm).
     * With a residual delta (not NULL), x += delta first, in place, and y = norm of the sum (the
     * residual add fused with the norm). x and y may be the same buffer (as for layer_norm).
     * y is in ytype: fp32, or a 16-bit weight dtype rounded as matmul_wt rounds its inputs (a
     * GEMM input made by the producer: no separate rounding pass; y then must not be x). */
    void (*rms_norm)(float *x, const float *delta, const float *w, float eps, int rows, int d,
                     void *y, int ytype);
    /* y[r, :] = (x[r, :] - mean) * rsqrt(var + eps) * w + b  (nn.LayerNorm, biased variance). */
    void (*layer_norm)(float *x, const float *delta, const float *w, const float *b, float eps,
                       int rows, int d, void *y, int ytype);
    /* y[r, :] += b for r < rows; y is [rows, n]. */
    void (*add_bias)(float *y, const float *b, int rows, int n);
    void (*add)(float *y, const float *x, size_t n);   /* y += x */
    void (*scale)(float *y, float s, size_t n);        /* y *= s */
    /* y = act(x) elementwise (act_kind), y in ytype as for rms_norm: fp32 y may be x (in place),
     * a 16-bit y must not overlap x. */
    void (*activation)(int act, const float *x, void *y, int ytype, size_t n);
    /* y[r, c] = act(gate[r * ld + c]) * lin[r * ld + c] for r < rows, c < cols: y [rows, cols]
     * in ytype as for rms_norm (a 16-bit y must not overlap gate or lin). One GEMM's output
     * [rows, 2 cols] holds both (gate, lin = gate + cols, ld = 2 cols). */
    void (*gated_activation)(int act, const float *gate, const float *lin, size_t ld, void *y,
                             int ytype, size_t rows, size_t cols);
    /* Copies n int32 values from host memory into a backend int buffer (alloc'd like any). */
    void (*upload_i32)(int32_t *dst, const int32_t *src, size_t n);

    /* Per row r < rows of x[rows, n]: the largest value and its column + index_base, ties to
     * the lower column (rank_pair_before), skipping column ban[r] - index_base when it is in
     * [0, n) (ban: backend int buffer, -1 = none). out[2r] = value, out[2r + 1] = index as a
     * float (exact below 2^24); (-inf, -1) when nothing is left; (NaN, -2) when the row holds a
     * NaN outside the banned column (the host then fails that request, as it does when it sees
     * the logits). out: backend buffer [rows, 2]. */
    void (*argmax_rows)(const float *x, int rows, int n, int index_base, const int32_t *ban,
                        float *out);
    /* Per row r of x[rows, n], into out[r * (2 + 2k) ...]: the row's max over every column
     * (NaNs skipped; NaN instead when the row holds a NaN outside the banned column, so the
     * host fails that request), the sum of exp(x - max) over them (for a log-softmax over ranks),
     * then its k best (value, column + index_base) pairs, best first, ties to the lower column,
     * column ban[r] - index_base and NaNs skipped; (-inf, -1) past the end. Beam search without
     * logits processors needs only these. out: backend buffer [rows, 2 + 2k]. */
    void (*topk_rows)(const float *x, int rows, int n, int index_base, const int32_t *ban, int k,
                      float *out);

    /* Encoder (prefill) attention over packed sequences with contiguous K/V: sequence s owns
     * rows [off[s], off[s] + len[s]) of q, k, v and out ([tokens, row] each); query row t of
     * the sequence sits at position t. off and len: backend int buffers [n_seqs]. out's elements
     * are in p->out_type (so are the attention_paged ones). */
    void (*attention_prefill)(const attn_params *p, const float *q, const float *k, const float *v,
                              void *out, int n_seqs, const int32_t *off, const int32_t *len);
    /* Decoder attention, one query per entry over paged K/V: entry i's query is row i of q
     * (q + i * q_ld, row floats), its keys are positions [0, n_k[i]) of the table at blocks +
     * table_off[i], its query position q_pos[i]; output row i of out ([n, row]). append (or
     * NULL): the entries' new K/V rows, written first (kv_append). Index arrays: backend int
     * buffers. */
    void (*attention_paged)(const attn_params *p, const float *q, void *out, int n,
                            const kv_layout *kv, const kv_append *append, const int32_t *blocks,
                            const int32_t *table_off, const int32_t *n_k, const int32_t *q_pos);
    /* Writes row i of src ([n, row]) into the pool's K (which = 0) or V (which = 1) at position
     * pos[i] of the table at blocks + table_off[i], in the pool's dtype; rows with
     * table_off[i] < 0 are skipped. */
    void (*kv_scatter)(const float *src, int n, const kv_layout *kv, int which,
                       const int32_t *blocks, const int32_t *table_off, const int32_t *pos);
    const backend_graphs *graphs; /* NULL: no graphs */
} backend;

/* The backend for a config's backend_kind, set up for the node-local rank (which GPU); an error
 * names the key when it is not built in or no device is usable. */
const backend *backend_get(int backend_kind, int local_rank, ed_error *err);

#ifdef __cplusplus
extern "C" { /* (the CUDA backend's .cu files call these) */
#endif

/* matmul_wq_gated through be's other ops: matmul_wq of the gate rows into prod, of the lin rows
 * into prod + m f (x's rounding reused), then gated_activation into y; flags as the op's. What a
 * backend runs where it does not fuse them (the CPU always). */
void backend_matmul_wq_gated_parts(const backend *be, int act, const void *x, int xtype,
                                   const uint8_t *q_gate, const float *s_gate,
                                   const uint8_t *q_lin, const float *s_lin, int quant,
                                   float *prod, void *y, int ytype, int m, int f, int k,
                                   int flags);

extern const backend backend_cpu;
#ifdef ENCDEC_HAVE_CUDA
extern const backend backend_cuda;
ed_status cuda_backend_init(int local_rank, ed_error *err);
#endif

#ifdef __cplusplus
}
#endif

#endif
