/* The server's warm-up (run-config `warmup`, with http_port set): before the server reports
 * ready, rank 0 runs synthetic requests through the ordinary step loop, so that the first real
 * requests do not pay for what a run does once per shape: the GEMM algorithms of each class of
 * encoder-pass sizes (kernels/cuda/gemm.cu times them on first use) and the CUDA graph of each
 * decode batch size (models/decoder_graphs.h records one the second time a size is seen).
 *
 * Groups, each submitted when the scheduler is idle and run to its end before the next:
 *   1. one encoder pass per class of token counts (powers of two from 512 up to the largest
 *      pass, max_batch_size x max_input_len): as many requests of equal length as it takes
 *      (each at most max_input_len), one new token each;
 *   2. for every decode batch size n from max_batch_size down to 1: n requests of a few input
 *      tokens and exactly two new tokens (two steps of n entries: the graph is recorded).
 * Inputs differ between requests (no two share a cross table); the requests are internal
 * (request.internal): their records are dropped, the encoder cache and the metrics skip them. */
#ifndef ENCDEC_WARMUP_H
#define ENCDEC_WARMUP_H

#include "runtime/request.h"

typedef struct warmup warmup;

typedef struct warmup_config {
    int max_batch_size, max_input_len, max_output_len;
    request_limits limits; /* what request_parse checks the synthetic requests against */
} warmup_config;

/* NULL when out of memory. */
warmup *warmup_create(const warmup_config *cfg);
void warmup_destroy(warmup *w);

/* The next group's requests (owned by the caller) into out[cap >= max_batch_size]; the count,
 * 0 once every group was handed out, -1 on error (err says why). */
int warmup_next_group(warmup *w, request **out, int cap, ed_error *err);
/* Groups handed out so far. */
int warmup_groups(const warmup *w);

#endif
