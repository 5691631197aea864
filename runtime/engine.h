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

ed_status engine_create(engine **out, const run_config *cfg, comm *c, ed_error *err);
/* Serves every request of cfg->requests into cfg->output. */
ed_status engine_run(engine *e, ed_error *err);
void engine_destroy(engine *e);

#endif
