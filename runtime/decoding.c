#include "models/tokenizer.h"
#include "runtime/decoding.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int request_max_fed(const request *r) {
    return r->n_decoder + (r->max_new_tokens > 0 ? r->max_new_tokens - 1 : 0);
}

static int beam_init(beam *b, int cap) {
    b->tokens = malloc(sizeof(int32_t) * (size_t)cap);
    b->logprobs = calloc((size_t)cap, sizeof(float));
    return b->tokens && b->logprobs;
}

static void beam_free(beam *b) {
    free(b->tokens);
    free(b->logprobs);
}

static int table_init(block_table *t, int capacity) {
    t->blocks = malloc(sizeof(int32_t) * (size_t)(capacity ? capacity : 1));
    t->n = 0;
    return t->blocks != NULL;
}

ed_status sequence_create(sequence **out, request *req, int vocab, int block_size, ed_error *err) {
    sequence *s = calloc(1, sizeof *s);
    if (s) s->stop_at = -1;
    if (!s) return ed_fail(err, "out of memory");
    s->vocab = vocab;
    s->block_size = block_size;
    s->cap = req->n_decoder + req->max_new_tokens;
    s->width = req->beam_width;
    s->kv.max_self_blocks = (request_max_fed(req) + block_size - 1) / block_size;
    s->beams = calloc((size_t)s->width, sizeof(beam));
    s->spare = calloc((size_t)s->width, sizeof(beam));
    s->done = calloc((size_t)s->width, sizeof(hypothesis));
    s->done_spare = calloc((size_t)s->width, sizeof(hypothesis));
    s->kv.self = calloc((size_t)s->width, sizeof(block_table));
    s->kv.forked = calloc((size_t)s->width, sizeof(block_table));
    s->scratch = malloc(sizeof(float) * (size_t)vocab * (size_t)(s->width > 1 ? s->width : 1));
    if (req->return_logits) s->logits = malloc(sizeof(float) * (size_t)vocab * (size_t)s->cap);
    int ok = s->beams && s->spare && s->done && s->done_spare && s->kv.self && s->kv.forked &&
             table_init(&s->kv.cross, (req->n_input + block_size - 1) / block_size) &&
             s->scratch && (!req->return_logits || s->logits);
    for (int b = 0; ok && b < s->width; b++) {
        ok = beam_init(&s->beams[b], s->cap) && beam_init(&s->spare[b], s->cap) &&
             table_init(&s->kv.self[b], s->kv.max_self_blocks) &&
             table_init(&s->kv.forked[b], s->kv.max_self_blocks);
        for (int d = 0; d < 2; d++) {
            hypothesis *h = d ? &s->done_spare[b] : &s->done[b];
            h->tokens = malloc(sizeof(int32_t) * (size_t)s->cap);
            h->logprobs = calloc((size_t)s->cap, sizeof(float));
            h->score = -1.0e9f;
            ok = ok && h->tokens && h->logprobs;
        }
    }
    s->req = req;
    if (!ok) {
        s->req = NULL;
        sequence_destroy(s);
        return ed_fail(err, "out of memory for request at line %ld", req->line);
    }
    memcpy(s->beams[0].tokens, req->decoder_ids, sizeof(int32_t) * (size_t)req->n_decoder);
    s->n_tokens = req->n_decoder;
    s->n_beams = 1; /* HF's other initial beams score -1e9 and are never selected */
    s->heuristic_unsatisfied = 1;
    s->enc_entry = -1;
    sample_rng_seed(&s->rng, req->seed);
    *out = s;
    return ED_OK;
}

request *sequence_release(sequence *s) {
    request *r = s->req;
    if (s->n_streamed > r->streamed_before) r->streamed_before = s->n_streamed;
    if (s->text_streamed > r->text_streamed_before) r->text_streamed_before = s->text_streamed;
    s->req = NULL;
    sequence_destroy(s);
    return r;
}

void sequence_destroy(sequence *s) {
    if (!s) return;
    request_destroy(s->req);
    for (int b = 0; b < s->width; b++) {
        if (s->beams) beam_free(&s->beams[b]);
        if (s->spare) beam_free(&s->spare[b]);
        if (s->kv.self) free(s->kv.self[b].blocks);
        if (s->kv.forked) free(s->kv.forked[b].blocks);
        if (s->done) {
            free(s->done[b].tokens);
            free(s->done[b].logprobs);
        }
        if (s->done_spare) {
            free(s->done_spare[b].tokens);
            free(s->done_spare[b].logprobs);
        }
    }
    free(s->beams);
    free(s->spare);
    free(s->done);
    free(s->done_spare);
    free(s->kv.self);
    free(s->kv.forked);
    free(s->kv.cross.blocks);
    free(s->logits);
    free(s->scratch);
    free(s->encoder_output);
    tokenizer_stream_destroy(s->detok);
    free(s);
}

int32_t decoding_argmax(const float *scores, int vocab) {
    int32_t best = 0;
    for (int i = 1; i < vocab; i++)
        if (scores[i] > scores[best]) best = i;
    return best;
}

/* Appends the chosen token t of a one-beam sequence and decides whether it finished. */
static void accept_token(sequence *s, int32_t t, int eos_id) {
    const request *r = s->req;
    beam *b = &s->beams[0];
    b->tokens[s->n_tokens++] = t;
    s->n_generated++;
    if (t == eos_id) s->finish_reason = "eos";
    else if (logits_is_stop_token(r, t, eos_id) || logits_hits_stop_sequence(r, b->tokens, s->n_tokens))
        s->finish_reason = "stop";
    else if (s->n_generated >= r->max_new_tokens) s->finish_reason = "length";
}

/* Greedy or sampling: one beam. */
static void single_step(sequence *s, const float *logits, int eos_id) {
    const request *r = s->req;
    beam *b = &s->beams[0];
    float *sc = s->scratch;
    memcpy(sc, logits, sizeof(float) * (size_t)s->vocab);
    logits_process(r, b->tokens, s->n_tokens, eos_id, sc, s->vocab);
    int32_t t;
    if (r->do_sample) {
        t = sample_token(r, sc, s->vocab, &s->rng);
    } else {
        t = decoding_argmax(sc, s->vocab);
    }
    if (r->return_logprobs) { /* of the distribution the token was chosen from */
        logits_log_softmax(sc, s->vocab);
        b->logprobs[s->n_tokens] = sc[t];
    }
    accept_token(s, t, eos_id);
}

/* The bookkeeping of every step; returns 1 when this step chooses a token. */
static int advance_begin(sequence *s, const float *logits) {
    if (s->logits && logits)
        memcpy(s->logits + (size_t)s->n_fed * s->vocab, logits, sizeof(float) * (size_t)s->vocab);
    s->n_fed++;
    for (int b = 0; b < s->n_beams; b++) s->parents[b] = b;
    if (s->n_fed < s->n_tokens) return 0; /* still inside the forced prefix */
    if (s->n_generated >= s->req->max_new_tokens) {
        s->finish_reason = "length";
        return 0;
    }
    return 1;
}

void sequence_advance(sequence *s, const float *logits, int eos_id) {
    if (!advance_begin(s, logits)) return;
    if (s->width > 1) beam_search_step(s, logits, eos_id);
    else single_step(s, logits, eos_id);
}

int sequence_argmax_suffices(const sequence *s, int eos_id, int32_t *ban) {
    *ban = -1;
    if (s->width > 1 || s->logits) return 0;
    return logits_argmax_suffices(s->req, s->n_tokens, eos_id, ban);
}

void sequence_advance_token(sequence *s, int32_t argmax, int eos_id) {
    if (!advance_begin(s, NULL)) return;
    int32_t forced = logits_forced_token(s->req, s->n_tokens);
    accept_token(s, forced >= 0 ? forced : argmax, eos_id);
}

int sequence_topk_suffices(const sequence *s, int eos_id, int32_t *ban) {
    *ban = -1;
    if (s->width <= 1 || s->logits || logits_forced_token(s->req, s->n_tokens) >= 0) return 0;
    return logits_argmax_suffices(s->req, s->n_tokens, eos_id, ban) ? 2 * s->width : 0;
}

void sequence_advance_topk(sequence *s, const float *rows, int k, int eos_id) {
    if (!advance_begin(s, NULL)) return;
    beam_search_step_topk(s, rows, k, eos_id);
}

int sequence_n_outputs(const sequence *s) {
    return s->width > 1 ? s->req->num_return_sequences : 1;
}

const int32_t *sequence_output(const sequence *s, int i, int *n_tokens, float *score,
                               const float **logprobs) {
    if (s->width > 1) {
        *n_tokens = s->done[i].n_tokens;
        *score = s->done[i].score;
        *logprobs = s->done[i].logprobs;
        return s->done[i].tokens;
    }
    *n_tokens = s->n_tokens;
    *score = 0.0f;
    *logprobs = s->beams[0].logprobs;
    return s->beams[0].tokens;
}
