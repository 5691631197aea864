/* The memory-traffic floor of a decode step: the bytes one step of a workload must read at
 * least (decoder weights and LM head once, each request's cross K/V once whatever its beam
 * count, each sequence's self K/V), and the time they take at a bandwidth measured on the
 * device. A yardstick for benchmarks (docs/PERFORMANCE.md), not a model of the kernels. */
#ifndef ENCDEC_STEP_FLOOR_H
#define ENCDEC_STEP_FLOOR_H

#include <stddef.h>

#include "models/spec.h"

typedef struct step_workload {
    int requests;          /* requests decoding together */
    int beams;             /* sequences per request (1 = greedy) */
    double mean_input_len; /* encoder tokens per request: the cross K/V length */
    int output_len;        /* decode steps; the self K/V grows by one key per step */
    size_t weight_bytes;   /* bytes per weight element (2 for bf16 / fp16) */
    size_t kv_bytes;       /* bytes per K/V pool element */
    int tp;                /* ranks sharing the weights and heads; bytes are per rank */
    int quant_projections; /* 1: the projections are 1-byte codes and an fp32 scale per row */
    int quant_head;        /* 1: the LM head likewise */
    int kv_scales;         /* 1: fp8 pools: an fp32 scale per position, head, K and V */
} step_workload;

/* Bytes one rank must read per decode step, averaged over the output_len steps (self K/V of
 * (output_len + 1) / 2 keys per sequence on average): the decoder's projection weights (self
 * Q/K/V and output, cross query and output, FFN; the cross K/V projections run once per
 * request, not per step), the LM head, the cross K/V of every request and the self K/V of
 * every sequence, all divided over tp. Quantized matrices count 1 byte per weight and 4 per
 * row; fp8 K/V 1 byte per element and 4 per head of a key's K and V. */
double step_floor_bytes(const model_spec *s, const step_workload *w);

/* Milliseconds those bytes take at gb_per_s (1e9 bytes per second). */
double step_floor_ms(const model_spec *s, const step_workload *w, double gb_per_s);

#endif
