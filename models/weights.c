#include "models/weights.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "common/dtype.h"
#include "common/log.h"
#include "common/quant.h"
#include "models/h5_model.h"
#include "models/weight_table.h"
#include "parallel/comm.h"

/* Where a ref's pointer lives inside w: a `void *` field for matrices, `float *` otherwise. */
static char *weight_field(model_weights *w, const weight_ref *r) {
    char *base;
    if (r->decl->scope == SCOPE_MODEL) base = (char *)w;
    else if (r->decl->scope == SCOPE_STACK) base = (char *)(r->stack == 0 ? &w->enc : &w->dec);
    else base = (char *)&(r->stack == 0 ? w->enc.layers : w->dec.layers)[r->layer];
    return base + r->decl->field;
}

static size_t aligned(size_t bytes) { return (bytes + 63) & ~(size_t)63; } /* 64-byte views */

/* Whether r is stored quantized in this load (weight_is_quantized). */
static int is_quantized(const model_weights *w, const weight_ref *r) {
    return weight_is_quantized(r->decl, w->quant, w->quant_embed);
}

/* Arena bytes of r's local slice (rows x cols): fp32 vectors, matrices in wtype, quantized
 * projections as their codes then their row scales (model_weights_scales). */
static size_t slot_bytes(const model_weights *w, const weight_ref *r, size_t rows, size_t cols) {
    if (is_quantized(w, r)) return aligned(rows * cols) + aligned(rows * sizeof(float));
    return aligned(rows * cols * (weight_is_matrix(r->decl) ? dtype_bytes(w->wtype) : sizeof(float)));
}

const float *model_weights_scales(const void *matrix, int rows, int cols) {
    return (const float *)((const char *)matrix + aligned((size_t)rows * (size_t)cols));
}

typedef struct load_ctx {
    model_weights *w;
    h5_model *file;
    float *staging;     /* host fp32, max_slice floats */
    uint16_t *half;     /* host fp16/bf16, max_slice values (16-bit weight dtypes only) */
    uint8_t *codes;     /* host codes, max_slice bytes (quantized loads only) */
    float *scales;      /* host row scales, max_rows floats (quantized loads only) */
    size_t max_slice;   /* elements */
    size_t max_rows;    /* rows of the tallest quantized slice */
    size_t total, offset; /* bytes */
    ed_error *err;
} load_ctx;

static int measure(void *vctx, const weight_ref *r) {
    load_ctx *c = vctx;
    int64_t start[2], count[2];
    if (weight_local_slice(r, c->w->tp_rank, c->w->tp_size, c->w->vocab_parallel, start, count)) {
        ed_fail(c->err, "tensor %s: dimension does not divide by tp=%d", r->name, c->w->tp_size);
        return -1;
    }
    size_t n = (size_t)count[0] * (size_t)count[1];
    c->total += slot_bytes(c->w, r, (size_t)count[0], (size_t)count[1]);
    if (n > c->max_slice) c->max_slice = n;
    if (is_quantized(c->w, r)) { /* quantizing at load reads whole rows */
        if ((size_t)r->shape[1] > c->max_slice) c->max_slice = (size_t)r->shape[1];
        if ((size_t)count[0] > c->max_rows) c->max_rows = (size_t)count[0];
    }
    return 0;
}

/* Codes and row scales of r's local slice into c->codes / c->scales: read as stored when the
 * file holds r quantized the same way, else quantized here from its values, each row's scale
 * taken over the whole row (not this rank's columns only), so that every TP size and a file
 * converted with --quantize give the same codes. */
static int quantized_slice(load_ctx *c, const weight_ref *r, const int64_t start[2],
                           const int64_t count[2]) {
    int stored;
    if (h5_model_tensor_quant(c->file, r->name, 2, r->shape, &stored, c->err)) return -1;
    if (stored == c->w->quant)
        return h5_model_read_quantized(c->file, r->name, r->shape, start, count, stored,
                                       c->codes, c->scales, c->err) ? -1 : 0;
    if (stored != QUANT_NONE) {
        ed_fail(c->err, "tensor %s is stored as %s; quantize: %s would quantize it again (convert "
                        "from the checkpoint with --quantize %s instead)", r->name,
                quant_dtype_attr(stored), quant_names[c->w->quant], quant_names[c->w->quant]);
        return -1;
    }
    size_t cols = (size_t)r->shape[1], chunk = c->max_slice / cols;
    for (int64_t r0 = 0; r0 < count[0]; r0 += (int64_t)chunk) {
        int64_t rows = count[0] - r0 < (int64_t)chunk ? count[0] - r0 : (int64_t)chunk;
        int64_t fstart[2] = {start[0] + r0, 0}, fcount[2] = {rows, (int64_t)cols};
        if (h5_model_read_slice(c->file, r->name, 2, r->shape, fstart, fcount, c->staging, c->err))
            return -1;
        long bad = quant_rows(c->w->quant, c->staging, (size_t)rows, cols, (size_t)start[1],
                              (size_t)count[1], c->scales + r0,
                              c->codes + (size_t)r0 * (size_t)count[1]);
        if (bad >= 0) {
            ed_fail(c->err, "tensor %s: row %lld holds a NaN or an infinity: it cannot be "
                            "quantized", r->name, (long long)(start[0] + r0 + bad));
            return -1;
        }
    }
    return 0;
}

static int load_one(void *vctx, const weight_ref *r) {
    load_ctx *c = vctx;
    int64_t start[2], count[2];
    weight_local_slice(r, c->w->tp_rank, c->w->tp_size, c->w->vocab_parallel, start, count);
    size_t n = (size_t)count[0] * (size_t)count[1];
    void *dst = (char *)c->w->arena + c->offset;
    if (is_quantized(c->w, r)) {
        if (n && quantized_slice(c, r, start, count)) return -1;
        const float *scales = (const float *)((char *)dst + aligned(n));
        c->w->be->upload_raw(dst, c->codes, n);
        c->w->be->upload_raw((void *)scales, c->scales, (size_t)count[0] * sizeof(float));
        if (weight_is_vocab_matrix(r->decl)) { /* model scope: fields of model_weights */
            if (r->decl->field == offsetof(model_weights, embed)) c->w->embed_scale = scales;
            else c->w->lm_head_scale = scales;
        }
    } else {
        if (n && h5_model_read_slice(c->file, r->name, r->rank, r->shape, start, count,
                                     c->staging, c->err))
            return -1;
        if (!weight_is_matrix(r->decl) || c->w->wtype == DTYPE_FP32) {
            c->w->be->upload(dst, c->staging, n);
        } else {
            dtype_f32_to_16bit(c->staging, n, c->w->wtype == DTYPE_BF16, c->half);
            c->w->be->upload_raw(dst, c->half, n * dtype_bytes(c->w->wtype));
        }
    }
    if (weight_is_matrix(r->decl)) *(void **)weight_field(c->w, r) = dst;
    else *(float **)weight_field(c->w, r) = dst;
    c->offset += slot_bytes(c->w, r, (size_t)count[0], (size_t)count[1]);
    return 0;
}

/* 1 when the n tensors at p[0..n) of `each` bytes apiece follow one another (all NULL: 1). */
static int back_to_back(const void *const *p, int n, size_t each) {
    if (!p[0]) {
        for (int i = 1; i < n; i++)
            if (p[i]) return 0;
        return 1;
    }
    for (int i = 1; i < n; i++)
        if ((const char *)p[i] != (const char *)p[0] + i * each) return 0;
    return 1;
}

/* The joint flags of layer_weights (the arena keeps table order; 64-byte padding between
 * tensors whose size is not a multiple of 64 bytes leaves them apart). */
static void mark_joint(model_weights *w, stack_weights *st) {
    size_t esize = dtype_bytes(w->wtype), I_l = spec_inner(&w->spec) / w->tp_size;
    size_t D = w->spec.d_model, F_l = w->spec.d_ff / w->tp_size;
    for (int l = 0; l < st->n_layers; l++) {
        layer_weights *lw = &st->layers[l];
        const void *qkv[3] = {lw->self_q, lw->self_k, lw->self_v};
        const void *qkv_b[3] = {lw->self_q_b, lw->self_k_b, lw->self_v_b};
        const void *wi[2] = {lw->ffn_wi0, lw->ffn_wi1};
        /* quantized matrices are never joint: each one's scales follow its codes */
        lw->self_qkv_joint = !w->quant && back_to_back(qkv, 3, I_l * D * esize) &&
                             back_to_back(qkv_b, 3, I_l * sizeof(float));
        lw->ffn_wi_joint = !w->quant && lw->ffn_wi0 && back_to_back(wi, 2, F_l * D * esize);
    }
}

ed_status model_weights_check_tp(const model_spec *s, int tp, ed_error *err) {
    if (tp < 1) return ed_fail(err, "config: key 'tp' must be >= 1");
    if (s->num_heads % tp)
        return ed_fail(err, "model: num_heads=%d does not divide by tp=%d", s->num_heads, tp);
    if (s->d_ff % tp) return ed_fail(err, "model: d_ff=%d does not divide by tp=%d", s->d_ff, tp);
    return ED_OK;
}

/* weight_table_foreach visitor: the storage (ed_quant) of the first tensor `which` selects. */
typedef struct first_stored {
    int (*which)(const weight_decl *decl);
    h5_model *file;
    int quant;
    ed_error *err;
} first_stored;

static int stored_format(void *vctx, const weight_ref *r) {
    first_stored *fs = vctx;
    if (!fs->which(r->decl)) return 0;
    return h5_model_tensor_quant(fs->file, r->name, r->rank, r->shape, &fs->quant, fs->err) ? -1
                                                                                           : 1;
}

/* The quantization this load uses: the config's (auto: what the file's projections are stored
 * in), none where the backend has no quantized kernels (the stored codes are then dequantized
 * to wtype, with a warning); then whether the vocabulary matrices are quantized too. */
static ed_status resolve_quant(model_weights *w, h5_model *file, int quant, int quant_embed,
                               const char *path, ed_error *err) {
    if (quant == QUANT_AUTO) {
        first_stored fs = {weight_is_projection, file, QUANT_NONE, err};
        if (weight_table_foreach(&w->spec, stored_format, &fs) < 0) return ED_ERR;
        quant = fs.quant;
    }
    if (quant != QUANT_NONE && !w->be->matmul_wq) {
        log_warn("%s: the %s backend has no %s kernels in this build: the projections are "
                 "dequantized to %s at load (no memory or speed gain)", path, w->be->name,
                 quant_names[quant], dtype_name(w->wtype));
        quant = QUANT_NONE;
        quant_embed = 0;
    }
    w->quant = quant;
    if (quant_embed == 2) { /* auto: quantized when the file's embedding is stored so */
        first_stored fs = {weight_is_vocab_matrix, file, QUANT_NONE, err};
        if (weight_table_foreach(&w->spec, stored_format, &fs) < 0) return ED_ERR;
        quant_embed = quant != QUANT_NONE && fs.quant == quant;
    } else if (quant_embed && quant == QUANT_NONE) {
        return ed_fail(err, "config: key 'quantize_embeddings': on needs 'quantize' int8 or fp8 "
                            "(the projections are %s)", dtype_name(w->wtype));
    }
    w->quant_embed = quant_embed;
    return ED_OK;
}

ed_status model_weights_load(model_weights **out, const char *path, int tp_rank, int tp_size,
                             int vocab_parallel, int wtype, int quant, int quant_embed,
                             const backend *be, ed_error *err) {
    *out = NULL;
    h5_model *file = NULL;
    model_weights *w = calloc(1, sizeof *w);
    load_ctx c = {.w = w, .err = err};
    if (!w) return ed_fail(err, "out of memory");
    w->tp_rank = tp_rank;
    w->tp_size = tp_size;
    w->vocab_parallel = vocab_parallel && tp_size > 1;
    w->be = be;
    w->wtype = wtype;
    if (h5_model_open(&file, path, err) || h5_model_read_spec(file, &w->spec, err)) goto fail;
    if (model_weights_check_tp(&w->spec, tp_size, err)) {
        ed_wrap(err, "%s: ", path);
        goto fail;
    }
    w->enc.n_layers = w->spec.enc_layers;
    w->dec.n_layers = w->spec.dec_layers;
    w->enc.layers = calloc((size_t)w->enc.n_layers, sizeof(layer_weights));
    w->dec.layers = calloc((size_t)w->dec.n_layers, sizeof(layer_weights));
    if (!w->enc.layers || !w->dec.layers) {
        ed_fail(err, "out of memory");
        goto fail;
    }
    c.file = file;
    if (resolve_quant(w, file, quant, quant_embed, path, err) ||
        weight_table_foreach(&w->spec, measure, &c))
        goto fail;
    w->arena_bytes = c.total;
    w->arena = be->alloc(w->arena_bytes);
    c.staging = malloc(c.max_slice * sizeof(float));
    if (wtype != DTYPE_FP32) c.half = malloc(c.max_slice * sizeof(uint16_t));
    if (w->quant) {
        c.codes = malloc(c.max_slice + 1);
        c.scales = malloc(c.max_rows * sizeof(float) + 1);
    }
    if (!w->arena || !c.staging || (wtype != DTYPE_FP32 && !c.half) ||
        (w->quant && (!c.codes || !c.scales))) {
        ed_fail(err, "%s: cannot allocate %zu bytes for the weights", path, w->arena_bytes);
        goto fail;
    }
    if (weight_table_foreach(&w->spec, load_one, &c)) goto fail;
    mark_joint(w, &w->enc);
    mark_joint(w, &w->dec);
    w->v0 = 0;
    w->v_local = w->spec.vocab_size;
    if (w->vocab_parallel) tp_chunk(w->spec.vocab_size, tp_rank, tp_size, &w->v0, &w->v_local);
    if (w->spec.tied_head) { /* this rank's rows of the embedding (codes, or wtype values) */
        size_t esize = w->quant_embed ? 1 : dtype_bytes(wtype);
        w->lm_head = (char *)w->embed + (size_t)w->v0 * w->spec.d_model * esize;
        if (w->quant_embed) w->lm_head_scale = w->embed_scale + w->v0;
    }
    free(c.staging);
    free(c.half);
    free(c.codes);
    free(c.scales);
    if (h5_model_close(file, err)) {
        file = NULL;
        goto fail;
    }
    *out = w;
    return ED_OK;
fail:
    free(c.staging);
    free(c.half);
    free(c.codes);
    free(c.scales);
    h5_model_close(file, NULL);
    model_weights_destroy(w);
    return ED_ERR;
}

void model_weights_destroy(model_weights *w) {
    if (!w) return;
    if (w->arena) w->be->free(w->arena);
    free(w->enc.layers);
    free(w->dec.layers);
    free(w);
}
