#include "runtime/logits_process.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void repetition_penalty(const request *r, const int32_t *tokens, int n, float *scores) {
    if (r->repetition_penalty == 1.0f) return;
    /* HF gathers the scores of every token present, then scatters the penalized values back:
     * each distinct token is penalized once. */
    for (int i = 0; i < n; i++) {
        int seen = 0;
        for (int j = 0; j < i && !seen; j++) seen = tokens[j] == tokens[i];
        if (seen) continue;
        float *s = &scores[tokens[i]];
        *s = *s < 0 ? *s * r->repetition_penalty : *s / r->repetition_penalty;
    }
}

/* HF NoRepeatNGramLogitsProcessor: ban tokens that would repeat an n-gram of tokens[0..n). */
static void no_repeat_ngram(const request *r, const int32_t *tokens, int n, float *scores) {
    int g = r->no_repeat_ngram_size;
    if (g <= 0 || n + 1 < g) return;
    const int32_t *prefix = tokens + n - (g - 1); /* the last g-1 tokens */
    for (int start = 0; start + g <= n; start++)
        if (!memcmp(tokens + start, prefix, sizeof(int32_t) * (size_t)(g - 1)))
            scores[tokens[start + g - 1]] = -INFINITY;
}

/* HF NoBadWordsLogitsProcessor: single tokens always; sequences when the tail matches. */
static void bad_words(const request *r, const int32_t *tokens, int n, float *scores) {
    const id_lists *l = &r->bad_words;
    for (int i = 0; i < l->n; i++) {
        const int32_t *w = l->ids + l->offsets[i];
        int len = l->offsets[i + 1] - l->offsets[i];
        if (len - 1 > n) continue;
        if (len == 1 || !memcmp(tokens + n - (len - 1), w, sizeof(int32_t) * (size_t)(len - 1)))
            scores[w[len - 1]] = -INFINITY;
    }
}

static void force_token(float *scores, int vocab, int token) {
    for (int v = 0; v < vocab; v++) scores[v] = -INFINITY;
    scores[token] = 0.0f;
}

void logits_process(const request *r, const int32_t *tokens, int n, int eos_id, float *scores,
                    int vocab) {
    int generated = n - r->n_decoder;
    repetition_penalty(r, tokens, n, scores);
    no_repeat_ngram(r, tokens, n, scores);
    bad_words(r, tokens, n, scores);
    if (generated < r->min_new_tokens) {
        scores[eos_id] = -INFINITY;
        for (int i = 0; i < r->n_stop_ids; i++) scores[r->stop_ids[i]] = -INFINITY;
    }
    if (r->forced_bos_id >= 0 && n == 1) force_token(scores, vocab, r->forced_bos_id);
    if (r->forced_eos_id >= 0 && generated == r->max_new_tokens - 1)
        force_token(scores, vocab, r->forced_eos_id);
}

int32_t logits_forced_token(const request *r, int n) {
    if (r->forced_eos_id >= 0 && n - r->n_decoder == r->max_new_tokens - 1) return r->forced_eos_id;
    if (r->forced_bos_id >= 0 && n == 1) return r->forced_bos_id;
    return -1;
}

int logits_argmax_suffices(const request *r, int n, int eos_id, int32_t *ban) {
    *ban = -1;
    if (r->do_sample || r->return_logprobs || r->repetition_penalty != 1.0f ||
        r->no_repeat_ngram_size > 0 || r->bad_words.n > 0)
        return 0;
    if (n - r->n_decoder < r->min_new_tokens) {
        if (r->n_stop_ids > 0) return 0;
        *ban = eos_id;
    }
    return 1;
}

void logits_log_softmax(float *scores, int vocab) {
    float mx = -INFINITY;
    for (int v = 0; v < vocab; v++)
        if (scores[v] > mx) mx = scores[v];
    double sum = 0.0;
    for (int v = 0; v < vocab; v++) sum += exp((double)(scores[v] - mx));
    float lse = mx + (float)log(sum);
    for (int v = 0; v < vocab; v++) scores[v] -= lse;
}

void sample_rng_seed(sample_rng *g, uint64_t seed) { g->state = seed ^ 0x2545F4914F6CDD1Dull; }

double sample_rng_uniform(sample_rng *g) {
    uint64_t z = (g->state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return (z >> 11) * (1.0 / 9007199254740992.0);
}

static int cmp_desc(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

int32_t sample_token(const request *r, float *scores, int vocab, sample_rng *g) {
    for (int v = 0; v < vocab; v++) scores[v] /= r->temperature;
    float *sorted = malloc(sizeof(float) * (size_t)vocab);
    if (!sorted) return 0;
    memcpy(sorted, scores, sizeof(float) * (size_t)vocab);
    qsort(sorted, (size_t)vocab, sizeof(float), cmp_desc);
    if (r->top_k > 0 && r->top_k < vocab) { /* HF keeps ties with the k-th score */
        float kth = sorted[r->top_k - 1];
        for (int v = 0; v < vocab; v++)
            if (scores[v] < kth) scores[v] = -INFINITY;
        for (int v = r->top_k; v < vocab; v++) sorted[v] = -INFINITY;
    }
    float mx = sorted[0];
    if (r->top_p < 1.0f) {
        /* HF: drop the smallest tokens whose cumulative probability is <= 1 - top_p, keep >= 1. */
        double total = 0.0;
        for (int v = 0; v < vocab; v++) total += exp((double)(sorted[v] - mx));
        double cum = 0.0;
        float threshold = -INFINITY;
        for (int v = vocab - 1; v > 0; v--) { /* ascending order */
            cum += exp((double)(sorted[v] - mx)) / total;
            if (cum > 1.0 - r->top_p) break;
            threshold = sorted[v];
        }
        for (int v = 0; v < vocab; v++)
            if (scores[v] <= threshold) scores[v] = -INFINITY;
    }
    free(sorted);
    double total = 0.0;
    for (int v = 0; v < vocab; v++) total += exp((double)(scores[v] - mx));
    double u = sample_rng_uniform(g) * total, cum = 0.0;
    int32_t last = 0;
    for (int v = 0; v < vocab; v++) {
        if (scores[v] == -INFINITY) continue;
        last = v;
        cum += exp((double)(scores[v] - mx));
        if (u < cum) return v;
    }
    return last;
}

int logits_is_stop_token(const request *r, int32_t t, int eos_id) {
    if (t == eos_id) return 1;
    for (int i = 0; i < r->n_stop_ids; i++)
        if (r->stop_ids[i] == t) return 1;
    return 0;
}

int logits_hits_stop_sequence(const request *r, const int32_t *tokens, int n) {
    const id_lists *l = &r->stop_sequences;
    int generated = n - r->n_decoder;
    for (int i = 0; i < l->n; i++) {
        int len = l->offsets[i + 1] - l->offsets[i];
        if (len <= generated &&
            !memcmp(tokens + n - len, l->ids + l->offsets[i], sizeof(int32_t) * (size_t)len))
            return 1;
    }
    return 0;
}
