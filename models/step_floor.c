#include "models/step_floor.h"

double step_floor_bytes(const model_spec *s, const step_workload *w) {
    const double d = s->d_model, inner = spec_inner(s), ff = s->d_ff;
    /* Per decoder layer: self Q, K, V and output; cross query and output; FFN in (two
     * matrices when gated) and out. */
    const double layer_params = 6.0 * d * inner + (s->gated_ffn ? 3.0 : 2.0) * d * ff;
    const double params = layer_params * s->dec_layers + (double)s->vocab_size * d;
    const double weights = params * (double)w->weight_bytes;
    /* K and V rows of every layer: 2 x layers x inner elements per key. */
    const double per_key = 2.0 * s->dec_layers * inner * (double)w->kv_bytes;
    const double cross = w->requests * w->mean_input_len * per_key;
    const double self = (double)w->requests * w->beams * (w->output_len + 1) / 2.0 * per_key;
    return (weights + cross + self) / (w->tp > 0 ? w->tp : 1);
}

double step_floor_ms(const model_spec *s, const step_workload *w, double gb_per_s) {
    return gb_per_s > 0 ? step_floor_bytes(s, w) / (gb_per_s * 1e9) * 1e3 : 0.0;
}
