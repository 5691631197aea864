#include "models/step_floor.h"

/* Bytes of `rows` rows of `cols` weights: in weight_bytes, or quantized (codes and row scales). */
static double matrix_bytes(double rows, double cols, int quantized, const step_workload *w) {
    return quantized ? rows * cols + 4.0 * rows : rows * cols * (double)w->weight_bytes;
}

double step_floor_bytes(const model_spec *s, const step_workload *w) {
    const double d = s->d_model, inner = spec_inner(s), ff = s->d_ff;
    const int q = w->quant_projections;
    /* Per decoder layer: self Q, K, V and output; cross query and output; FFN in (two
     * matrices when gated) and out. */
    const double layer = 4.0 * matrix_bytes(inner, d, q, w) + 2.0 * matrix_bytes(d, inner, q, w) +
                         (s->gated_ffn ? 2.0 : 1.0) * matrix_bytes(ff, d, q, w) +
                         matrix_bytes(d, ff, q, w);
    const double weights = layer * s->dec_layers +
                           matrix_bytes((double)s->vocab_size, d, w->quant_head, w);
    /* K and V rows of every layer: 2 x layers x inner elements per key (and their scales). */
    const double per_key = 2.0 * s->dec_layers * inner * (double)w->kv_bytes +
                           (w->kv_scales ? 2.0 * s->dec_layers * s->num_heads * 4.0 : 0.0);
    const double cross = w->requests * w->mean_input_len * per_key;
    const double self = (double)w->requests * w->beams * (w->output_len + 1) / 2.0 * per_key;
    return (weights + cross + self) / (w->tp > 0 ? w->tp : 1);
}

double step_floor_ms(const model_spec *s, const step_workload *w, double gb_per_s) {
    return gb_per_s > 0 ? step_floor_bytes(s, w) / (gb_per_s * 1e9) * 1e3 : 0.0;
}
