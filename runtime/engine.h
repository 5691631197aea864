/* The engine: every rank loads its weight shard and plans its memory; rank 0 reads requests,
 * schedules, and broadcasts a step plan each iteration; every rank executes the plan (encoder for
 * admitted requests, one decoder step for running ones); rank 0 picks tokens and writes
 * responses. Start-up failures on any rank are agreed on before the first collective, so no rank
 * waits forever. */
#ifndef ENCDEC_ENGINE_H
#define ENCDEC_ENGINE_H

#include "parallel/comm.h"
#include "runtime/config.h"

typedef struct engine engine;

/* Rank 0's counters for a finished run (other ranks report zeros). Times are wall seconds,
 * measured on rank 0: encode_s covers the encoder passes (with their cross K/V); decode_s the
 * rest of every iteration that decoded: planning, plan broadcast, the decoder step, logits (or
 * device argmax) to the host, token choice and responses; host_s the part of decode_s spent
 * on the host alone (planning, and choosing tokens and writing responses after the step's
 * results arrived). argmax_steps: decode steps whose tokens were picked on the device. */
typedef struct engine_report {
    long requests_done, request_errors;
    long steps, decode_steps, argmax_steps;
    long encoder_tokens, decoder_tokens;
    double wall_s, encode_s, decode_s, host_s;
    int quant, quant_embed; /* the weights' effective quantization (models/weights.h) */
} engine_report;

ed_status engine_create(engine **out, const run_config *cfg, comm *c, ed_error *err);
/* Serves every request of cfg->requests into cfg->output. */
ed_status engine_run(engine *e, ed_error *err);
void engine_destroy(engine *e);
void engine_get_report(const engine *e, engine_report *out);
/* Serves another request stream with the same model and pools (benchmarks run a warm-up round
 * first): rank 0 reopens its files, every rank resets the counters. Every rank calls it. */
ed_status engine_restart(engine *e, const char *requests, const char *output, ed_error *err);

/* Begins a graceful stop of a server (http_port set): no new requests (HTTP answers 503),
 * those in flight finish within drain_timeout_s, then engine_run returns. Callable from any
 * thread (a signal watcher); rank 0 only. */
void engine_drain(engine *e);

/* After engine_run failed: 1 when every rank stopped with it (no rank waits in a collective, so
 * the program may finalize MPI and exit cleanly), 0 when ranks may be left waiting (abort). */
int engine_failed_together(const engine *e);

/* Rank 0: the partial output file a fatal signal must remove, or NULL. */
const char *engine_partial_output(const engine *e);

#endif
