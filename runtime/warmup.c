#include "runtime/warmup.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { FIRST_CLASS = 512, DECODE_INPUT = 8 };

struct warmup {
    warmup_config cfg;
    int next_class;  /* group 1: the next class of encoder tokens; 0 once done */
    int next_size;   /* group 2: the next decode batch size; 0 once done */
    int groups;
};

warmup *warmup_create(const warmup_config *cfg) {
    warmup *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->cfg = *cfg;
    w->next_class = FIRST_CLASS;
    /* two new tokens need room for the start token and both */
    w->next_size = cfg->max_output_len >= 3 ? cfg->max_batch_size : 0;
    return w;
}

void warmup_destroy(warmup *w) { free(w); }

int warmup_groups(const warmup *w) { return w->groups; }

/* Request `index` of group `group`: len input ids, new_tokens new tokens. The ids are spread over
 * the vocabulary so that no two requests of the run have the same input. */
static request *make(const warmup *w, int group, int index, int len, int new_tokens,
                     ed_error *err) {
    const int vocab = w->cfg.limits.vocab_size;
    size_t cap = 96 + 12 * (size_t)len;
    char *text = malloc(cap);
    if (!text) {
        ed_fail(err, "out of memory making warm-up requests");
        return NULL;
    }
    size_t n = (size_t)snprintf(text, cap, "{\"id\": \"warmup-%d-%d\", \"input_ids\": [", group,
                                index);
    for (int t = 0; t < len; t++)
        n += (size_t)snprintf(text + n, cap - n, "%s%d", t ? "," : "",
                              (int)((group * 7919L + index * 104729L + t * 31L) % vocab));
    snprintf(text + n, cap - n, "], \"max_new_tokens\": %d, \"min_new_tokens\": %d}", new_tokens,
             new_tokens);
    request *r = NULL;
    cJSON *id = NULL;
    ed_status st = request_parse(text, strlen(text), 0, &w->cfg.limits, &r, &id, err);
    cJSON_Delete(id);
    free(text);
    if (st) return NULL;
    r->internal = 1;
    return r;
}

int warmup_next_group(warmup *w, request **out, int cap, ed_error *err) {
    const int B = w->cfg.max_batch_size, L = w->cfg.max_input_len;
    const long largest = (long)B * L;
    int n = 0, len = 0, new_tokens = 0;
    if (w->next_class) { /* 1: the next class of encoder-pass sizes */
        long tokens = w->next_class < largest ? w->next_class : largest;
        n = (int)((tokens + L - 1) / L);
        len = (int)(tokens / n);
        new_tokens = 1;
        w->next_class = tokens < largest && w->next_class < (1 << 30) ? w->next_class * 2 : 0;
    } else if (w->next_size) { /* 2: the next decode batch size */
        n = w->next_size--;
        len = DECODE_INPUT < L ? DECODE_INPUT : L;
        new_tokens = 2;
    } else {
        return 0;
    }
    if (n > cap) return ed_fail(err, "warm-up: a group of %d requests, room for %d", n, cap), -1;
    for (int i = 0; i < n; i++)
        if (!(out[i] = make(w, w->groups, i, len, new_tokens, err))) {
            for (int j = 0; j < i; j++) request_destroy(out[j]);
            return -1;
        }
    w->groups++;
    return n;
}
