#include "runtime/decoding.h"

#include <stdlib.h>
#include <string.h>

int request_max_fed(const request *r) {
    return r->n_decoder + (r->max_new_tokens > 0 ? r->max_new_tokens - 1 : 0);
}

ed_status sequence_create(sequence **out, request *req, int vocab, int block_size, ed_error *err) {
    sequence *s = calloc(1, sizeof *s);
    if (!s) return ed_fail(err, "out of memory");
    int cap = req->n_decoder + req->max_new_tokens;
    s->max_self_blocks = (request_max_fed(req) + block_size - 1) / block_size;
    s->n_cross_blocks = (req->n_input + block_size - 1) / block_size;
    s->tokens = malloc(sizeof(int32_t) * (size_t)cap);
    s->self_blocks = malloc(sizeof(int32_t) * (size_t)s->max_self_blocks);
    s->cross_blocks = malloc(sizeof(int32_t) * (size_t)s->n_cross_blocks);
    if (req->return_logits) s->logits = malloc(sizeof(float) * (size_t)vocab * (size_t)cap);
    if (!s->tokens || !s->self_blocks || !s->cross_blocks || (req->return_logits && !s->logits)) {
        s->req = NULL;
        sequence_destroy(s);
        return ed_fail(err, "out of memory for request at line %ld", req->line);
    }
    memcpy(s->tokens, req->decoder_ids, sizeof(int32_t) * (size_t)req->n_decoder);
    s->n_tokens = req->n_decoder;
    s->req = req;
    s->vocab = vocab;
    *out = s;
    return ED_OK;
}

request *sequence_release(sequence *s) {
    request *r = s->req;
    s->req = NULL;
    sequence_destroy(s);
    return r;
}

void sequence_destroy(sequence *s) {
    if (!s) return;
    request_destroy(s->req);
    free(s->tokens);
    free(s->self_blocks);
    free(s->cross_blocks);
    free(s->logits);
    free(s);
}

int32_t decoding_argmax(const float *logits, int vocab, int eos_id, int hold_eos) {
    int32_t best = -1;
    for (int i = 0; i < vocab; i++) {
        if (hold_eos && i == eos_id) continue;
        if (best < 0 || logits[i] > logits[best]) best = i;
    }
    return best;
}

void sequence_advance(sequence *s, const float *logits, int eos_id) {
    const request *r = s->req;
    if (s->logits)
        memcpy(s->logits + (size_t)s->n_fed * s->vocab, logits, sizeof(float) * (size_t)s->vocab);
    s->n_fed++;
    if (s->n_fed < s->n_tokens) return; /* still inside the forced prefix */
    if (s->n_generated >= r->max_new_tokens) {
        s->finish_reason = "length";
        return;
    }
    int32_t t;
    if (r->forced_bos_id >= 0 && s->n_tokens == 1)
        t = r->forced_bos_id;
    else if (r->forced_eos_id >= 0 && s->n_generated == r->max_new_tokens - 1)
        t = r->forced_eos_id;
    else
        t = decoding_argmax(logits, s->vocab, eos_id, s->n_generated < r->min_new_tokens);
    s->tokens[s->n_tokens++] = t;
    s->n_generated++;
    if (t == eos_id) s->finish_reason = "eos";
    else if (s->n_generated >= r->max_new_tokens) s->finish_reason = "length";
}
