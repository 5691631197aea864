/* Beam search exactly as transformers 5.x's vectorized _beam_search, for one request:
 *   - scores: log_softmax(logits) per running beam, then the logits processors, plus the beam's
 *     running score; the top 2W candidates over all (beam, token) pairs, best first;
 *   - a candidate "hits" when its token is EOS (or a stop token / stop sequence) or the sequence
 *     reaches max_length = decoder prompt + max_new_tokens;
 *   - the next running beams are the top W candidates after -1e9 on those that hit;
 *   - among the top W candidates, those that hit become finished hypotheses scored
 *     sum_logprobs / generated_len ** length_penalty, merged with the finished set (W slots);
 *     -1e9 penalties when the set is full under early_stopping=true or no improvement is
 *     possible;
 *   - the early-stop heuristic and the stop condition as HF computes them.
 * Arithmetic in float32 like HF (the -1e9 penalties included). Ties keep the lower index. */
#include <math.h>
#include <string.h>

#include "runtime/decoding.h"

#define NEG_BIG (-1.0e9f)

typedef struct candidate {
    float score;     /* accumulated */
    int parent;
    int32_t token;
    int hits;
    float logprob;   /* processed log-prob of token (return_logprobs) */
} candidate;

/* Indices of the top n of keys[m] (n <= m), best first, ties to the lower index. */
static void top_n(const float *keys, int m, int n, int *out) {
    for (int k = 0; k < n; k++) {
        int best = -1;
        for (int i = 0; i < m; i++) {
            int taken = 0;
            for (int j = 0; j < k && !taken; j++) taken = out[j] == i;
            if (!taken && (best < 0 || keys[i] > keys[best])) best = i;
        }
        out[k] = best;
    }
}

static int hits_stop(const request *r, const int32_t *tokens, int n, int eos_id, int max_length) {
    if (logits_is_stop_token(r, tokens[n - 1], eos_id) || n >= max_length) return 1;
    return logits_hits_stop_sequence(r, tokens, n);
}

/* The top K = 2W candidates over all (beam, token) pairs, best first: insertion in visiting
 * order, strictly greater moves ahead, so ties keep the earlier visit (lower flat index);
 * empty slots take -inf candidates in visiting order (HF keeps such dead beams too: after a
 * forced token every other score is -inf). */
typedef struct top_candidates {
    int K;
    float score[32];   /* accumulated: processed log-prob + the beam's running score */
    int flat[32];      /* beam * vocab + token, -1 = empty */
    float logprob[32]; /* the processed log-prob itself */
} top_candidates;

static void top_offer(top_candidates *t, float acc, int flat, float logprob) {
    int K = t->K;
    if (t->flat[K - 1] >= 0 && !(acc > t->score[K - 1])) return;
    int pos = K - 1;
    while (pos > 0 && (t->flat[pos - 1] < 0 || acc > t->score[pos - 1])) {
        t->score[pos] = t->score[pos - 1];
        t->flat[pos] = t->flat[pos - 1];
        t->logprob[pos] = t->logprob[pos - 1];
        pos--;
    }
    t->score[pos] = acc;
    t->flat[pos] = flat;
    t->logprob[pos] = logprob;
}

static void top_init(top_candidates *t, int K) {
    t->K = K;
    for (int k = 0; k < K; k++) t->score[k] = -INFINITY, t->flat[k] = -1;
}

static void step_from_candidates(sequence *s, const top_candidates *top, int eos_id);

void beam_search_step(sequence *s, const float *logits, int eos_id) {
    const request *r = s->req;
    int V = s->vocab, cur_len = s->n_tokens;
    /* b. processed log-probs + running scores, top 2W candidates (beams are n_beams * V). */
    top_candidates top;
    top_init(&top, 2 * s->width);
    for (int b = 0; b < s->n_beams; b++) {
        float *sc = s->scratch + (size_t)b * V;
        memcpy(sc, logits + (size_t)b * V, sizeof(float) * (size_t)V);
        logits_log_softmax(sc, V);
        logits_process(r, s->beams[b].tokens, cur_len, eos_id, sc, V);
        for (int v = 0; v < V; v++) top_offer(&top, sc[v] + s->beams[b].score, b * V + v, sc[v]);
    }
    step_from_candidates(s, &top, eos_id);
}

/* Each beam's best 2W already processed scores contain every candidate the full rows would
 * give (no more than 2W come from one beam), visited beam by beam, best first. */
void beam_search_step_topk(sequence *s, const float *rows, int k, int eos_id) {
    top_candidates top;
    top_init(&top, 2 * s->width);
    for (int b = 0; b < s->n_beams; b++)
        for (int j = 0; j < 2 * s->width && j < k; j++) {
            const float *c = rows + ((size_t)b * k + j) * 2;
            if (c[1] < 0) break; /* the row had fewer candidates */
            top_offer(&top, c[0] + s->beams[b].score, b * s->vocab + (int)c[1], c[0]);
        }
    step_from_candidates(s, &top, eos_id);
}

/* c. to g. of the step, from the top 2W candidates. */
static void step_from_candidates(sequence *s, const top_candidates *top, int eos_id) {
    const request *r = s->req;
    int W = s->width, V = s->vocab, K = 2 * W, cur_len = s->n_tokens;
    int prompt_len = r->n_decoder, max_length = r->n_decoder + r->max_new_tokens;
    float lp = r->length_penalty;
    candidate cand[32];
    int32_t tmp[1024];
    for (int k = 0; k < K; k++) {
        candidate *c = &cand[k];
        c->score = top->score[k];
        c->parent = top->flat[k] / V;
        c->token = top->flat[k] % V;
        c->logprob = top->logprob[k];
        /* d. stopping criteria on the candidate sequence (parent tokens + token) */
        const int32_t *pt = s->beams[c->parent].tokens;
        int n = cur_len + 1;
        if (n <= (int)(sizeof tmp / sizeof tmp[0])) {
            memcpy(tmp, pt, sizeof(int32_t) * (size_t)cur_len);
            tmp[cur_len] = c->token;
            c->hits = hits_stop(r, tmp, n, eos_id, max_length);
        } else {
            c->hits = c->token == eos_id || n >= max_length;
        }
    }

    /* e. next running beams: top W after -1e9 on the candidates that hit. */
    float adj[32] = {0};
    int run_idx[16];
    for (int k = 0; k < K; k++) adj[k] = cand[k].score + (cand[k].hits ? NEG_BIG : 0.0f);
    top_n(adj, K, W, run_idx);

    /* f. finished hypotheses: merge the W slots with the penalized top-W candidates. */
    int all_finished = 1;
    for (int i = 0; i < W; i++) all_finished &= s->done[i].finished;
    float gen_len_pow = (float)pow((double)(cur_len + 1 - prompt_len), (double)lp);
    float merged_score[48] = {0}; /* (all W + K used: initialised for the compiler) */
    int merged_finished[48];
    for (int i = 0; i < W; i++) {
        merged_score[i] = s->done[i].score;
        merged_finished[i] = s->done[i].finished;
    }
    for (int k = 0; k < K; k++) {
        int just_finished = cand[k].hits && k < W;
        float f = cand[k].score / gen_len_pow;
        if (all_finished && r->early_stopping == EARLY_STOP_TRUE) f += NEG_BIG;
        if (!s->heuristic_unsatisfied) f += NEG_BIG;
        if (!just_finished) f += NEG_BIG;
        merged_score[W + k] = f;
        merged_finished[W + k] = just_finished;
    }
    int keep[16];
    top_n(merged_score, W + K, W, keep);
    for (int i = 0; i < W; i++) {
        int m = keep[i];
        hypothesis *dst = &s->done_spare[i];
        if (m < W) {
            const hypothesis *src = &s->done[m];
            memcpy(dst->tokens, src->tokens, sizeof(int32_t) * (size_t)src->n_tokens);
            memcpy(dst->logprobs, src->logprobs, sizeof(float) * (size_t)src->n_tokens);
            dst->n_tokens = src->n_tokens;
        } else {
            const candidate *c = &cand[m - W];
            const beam *p = &s->beams[c->parent];
            memcpy(dst->tokens, p->tokens, sizeof(int32_t) * (size_t)cur_len);
            memcpy(dst->logprobs, p->logprobs, sizeof(float) * (size_t)cur_len);
            dst->tokens[cur_len] = c->token;
            dst->logprobs[cur_len] = c->logprob;
            dst->n_tokens = cur_len + 1;
        }
        dst->score = merged_score[m];
        dst->finished = merged_finished[m];
    }
    hypothesis *swap = s->done;
    s->done = s->done_spare;
    s->done_spare = swap;

    /* Rebuild the running beams from their parents (tokens here; blocks by the scheduler). */
    for (int i = 0; i < W; i++) {
        const candidate *c = &cand[run_idx[i]];
        beam *dst = &s->spare[i];
        const beam *p = &s->beams[c->parent];
        memcpy(dst->tokens, p->tokens, sizeof(int32_t) * (size_t)cur_len);
        memcpy(dst->logprobs, p->logprobs, sizeof(float) * (size_t)cur_len);
        dst->tokens[cur_len] = c->token;
        dst->logprobs[cur_len] = c->logprob;
        dst->score = adj[run_idx[i]];
        s->parents[i] = c->parent;
    }
    /* The old beams move to spare; the scheduler forks the self block tables by parents. */
    beam *old = s->beams;
    s->beams = s->spare;
    s->spare = old;
    s->n_beams = W;
    s->n_tokens = cur_len + 1;
    s->n_generated++;

    /* g. early-stop heuristic and the stop condition. */
    int finished_now = 1;
    float worst = INFINITY;
    for (int i = 0; i < W; i++) {
        finished_now &= s->done[i].finished;
        if (s->done[i].score < worst) worst = s->done[i].score;
    }
    if (finished_now) {
        int new_len = s->n_tokens;
        int hyp_len = (r->early_stopping == EARLY_STOP_NEVER && lp > 0.0f) ? max_length - prompt_len
                                                                           : new_len - prompt_len;
        float best_running = s->beams[0].score / (float)pow((double)hyp_len, (double)lp);
        s->heuristic_unsatisfied = s->heuristic_unsatisfied && best_running > worst;
    }
    int all_hit = 1;
    for (int k = 0; k < K; k++) all_hit &= cand[k].hits;
    int done = !s->heuristic_unsatisfied ||
               (finished_now && r->early_stopping == EARLY_STOP_TRUE) || all_hit;
    if (done) {
        const hypothesis *h = &s->done[0];
        s->finish_reason = h->n_tokens > 0 && logits_is_stop_token(r, h->tokens[h->n_tokens - 1], eos_id)
                               ? "eos" : "length";
    }
}
