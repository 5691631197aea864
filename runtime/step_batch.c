#include "runtime/step_batch.h"

#include <stdlib.h>

step_batch *step_batch_create(int cap_encode, int cap_decode) {
    step_batch *b = calloc(1, sizeof *b);
    if (!b) return NULL;
    b->cap_encode = cap_encode;
    b->cap_decode = cap_decode;
    b->dec_seq = calloc((size_t)(cap_decode > 0 ? cap_decode : 1), sizeof *b->dec_seq);
    b->enc_seq = calloc((size_t)(cap_encode > 0 ? cap_encode : 1), sizeof *b->enc_seq);
    b->enc_only = calloc((size_t)(cap_encode > 0 ? cap_encode : 1), sizeof *b->enc_only);
    if (!b->dec_seq || !b->enc_seq || !b->enc_only) {
        step_batch_destroy(b);
        return NULL;
    }
    return b;
}

void step_batch_clear(step_batch *b) {
    for (int i = 0; i < b->cap_encode; i++) {
        request_destroy(b->enc_only[i]);
        b->enc_only[i] = NULL;
        b->enc_seq[i] = NULL;
    }
    for (int i = 0; i < b->cap_decode; i++) b->dec_seq[i] = NULL;
}

void step_batch_destroy(step_batch *b) {
    if (!b) return;
    if (b->enc_only)
        for (int i = 0; i < b->cap_encode; i++) request_destroy(b->enc_only[i]);
    free(b->dec_seq);
    free(b->enc_seq);
    free(b->enc_only);
    free(b);
}

request *step_batch_take_encode_only(step_batch *b, int i) {
    request *r = b->enc_only[i];
    b->enc_only[i] = NULL;
    return r;
}
