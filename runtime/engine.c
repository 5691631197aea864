#include "runtime/engine.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/quant.h"
#include "common/test_delay.h"
#include "common/test_signal.h"
#include "kernels/backend.h"
#include "models/encdec.h"
#include "models/kv_store.h"
#include "models/tokenizer.h"
#include "parallel/plan_bcast.h"
#include "runtime/http_server.h"
#include "runtime/id_set.h"
#include "runtime/intake.h"
#include "runtime/reply.h"
#include "runtime/reply_courier.h"
#include "runtime/response.h"
#include "runtime/scheduler.h"
#include "runtime/serve_metrics.h"
#include "runtime/step_batch.h"
#include "runtime/token_choice.h"
#include "runtime/warmup.h"

typedef struct engine_stats {
    long done, errors;
    long encoder_tokens, decoder_tokens, steps, decode_steps, argmax_steps;
    double start, last_report, end;
    double encode_s; /* encoder passes (and their cross K/V), synchronized */
    double decode_s; /* everything else of the iterations with decode work: planning, plan
                        broadcast, the decoder step, logits or argmax to the host, choosing
                        tokens, responses */
    double host_s;   /* the host-only part of decode_s: planning, token choice, responses */
    double plan_s, respond_s; /* host_s's two parts: planning (intake, scheduler, plan) and the
                                 step's results (token choice, stream records, retirements) */
    long encoder_passes, encoded; /* steps with an encoder pass; requests they encoded */
    double idle_s;     /* rank 0 waiting for requests with nothing to run (in no other time) */
    double woke;       /* when the last such wait ended (monotonic seconds) */
    int peak_self_used, peak_cross_used; /* blocks */
} engine_stats;

struct engine {
    run_config cfg;
    comm *comm;
    const backend *be;
    model_weights *weights;
    encdec_model *model;
    kv_store *kv;
    step_plan *plan;
    int n_self_blocks, n_cross_blocks; /* pool sizes, equal on every rank */
    /* rank 0 only */
    scheduler *sched;
    step_batch *batch;  /* the plan's entries -> sequences (written by the scheduler) */
    token_choice *tc;
    float *logits; /* [encdec_host_output_floats] the decoder step's host output: logits, or
                      each rank's argmax / top-k candidates */
    float *hidden; /* [max encoder tokens per step, d_model] host, allocated on first need */
    FILE *in;          /* the request stream (stdin or a file) */
    intake *intake;    /* reads, parses and queues it on its own thread */
    int eof;           /* the intake has ended and every item was taken */
    id_set *in_flight; /* ids of the requests queued or running */
    response_sink *out;
    tokenizer *tok;    /* the model's tokenizer when its file carries one, else NULL */
    /* the HTTP server (cfg.http_port set; rank 0) */
    http_server *http;
    reply_courier *courier; /* posts the HTTP records off the loop's thread */
    warmup *warm;           /* the warm-up still to run (warmup: on, server mode); else NULL */
    request **warm_group;   /* [max_batch_size] its next group */
    double warm_start;      /* when its first group was queued (monotonic seconds) */
    serve_metrics *metrics;
    atomic_int drain_signals; /* engine_drain calls (any thread) */
    int draining;             /* the engine has begun the drain (intake closed) */
    double drain_deadline;    /* monotonic seconds: requests still running then are aborted */
    uint64_t next_seq; /* plan sequence numbers continue across runs */
    int failed_together; /* 1: engine_run failed where every rank stopped with it (a step's
                            fault agreed on, or rank 0's planning failure sent as a stop plan) */
    engine_stats stats;
};

/* Sizes both KV pools from kv_memory / cross_kv_fraction / the token caps. The numbers may differ
 * per rank (a fraction of free memory), so every rank takes the minimum over all ranks: the
 * plans name blocks that must exist everywhere. Collective: every rank calls it. */
static ed_status plan_kv_pools(engine *e, int heads, ed_error *err) {
    const run_config *cfg = &e->cfg;
    const model_spec *s = &e->weights->spec;
    int bs = cfg->kv_block_size;
    double block =
        (double)kv_block_bytes(s->dec_layers, heads, s->d_kv, bs, config_kv_dtype(cfg));
    double self_tokens = (double)cfg->max_batch_size * (cfg->max_output_len + 1);
    double cross_tokens = (double)cfg->max_batch_size * cfg->max_input_len;
    double frac = cfg->cross_kv_fraction > 0 ? cfg->cross_kv_fraction
                                             : cross_tokens / (cross_tokens + self_tokens);
    long long n_self, n_cross;
    if (cfg->kv_memory == 0) { /* auto: every running sequence at full length, in whole blocks */
        n_self = (long long)cfg->max_batch_size * ((cfg->max_output_len + 1 + bs - 1) / bs);
        n_cross = (long long)cfg->max_batch_size * ((cfg->max_input_len + bs - 1) / bs);
    } else {
        double bytes = cfg->kv_memory > 1 ? cfg->kv_memory
                                          : cfg->kv_memory * (double)e->be->free_memory();
        n_cross = (long long)(bytes * frac / block);
        n_self = (long long)(bytes * (1 - frac) / block);
    }
    if (cfg->max_kv_tokens > 0 && n_self > (cfg->max_kv_tokens + bs - 1) / bs)
        n_self = (cfg->max_kv_tokens + bs - 1) / bs;
    if (cfg->max_cross_kv_tokens > 0 && n_cross > (cfg->max_cross_kv_tokens + bs - 1) / bs)
        n_cross = (cfg->max_cross_kv_tokens + bs - 1) / bs;
    if (n_self > 1 << 30) n_self = 1 << 30;
    if (n_cross > 1 << 30) n_cross = 1 << 30;
    n_self = comm_min(e->comm, n_self);
    n_cross = comm_min(e->comm, n_cross);
    if (n_self < 1 || n_cross < 1)
        return ed_fail(err, "config: key 'kv_memory': room for %lld self and %lld cross KV blocks "
                            "of %d tokens (%.1f KB each); both pools need at least one",
                       n_self, n_cross, bs, block / 1e3);
    e->n_self_blocks = (int)n_self;
    e->n_cross_blocks = (int)n_cross;
    log_info("KV pools per rank (%s): self %d blocks x %d tokens = %lld tokens, %.1f MB; cross "
             "%d blocks = %lld tokens, %.1f MB", dtype_name(config_kv_dtype(cfg)),
             e->n_self_blocks, bs, n_self * bs, n_self * block / 1e6, e->n_cross_blocks,
             n_cross * bs, n_cross * block / 1e6);
    return ED_OK;
}

/* Start-up, phase 1 (local): backend and this rank's weight shard. */
static ed_status load_weights(engine *e, ed_error *err) {
    const run_config *cfg = &e->cfg;
    if (cfg->tp != comm_size(e->comm))
        return ed_fail(err, "config: key 'tp' is %d but mpirun started %d ranks (they must be "
                            "equal)", cfg->tp, comm_size(e->comm));
    struct stat model_stat; /* a missing file or a folder named plainly, before HDF5 tries it */
    if (stat(cfg->model, &model_stat) != 0)
        return ed_fail(err, "model file %s: %s", cfg->model,
                       errno == ENOENT ? "no such file" : strerror(errno));
    if (S_ISDIR(model_stat.st_mode))
        return ed_fail(err, "model file %s is a folder, not a converted model (a Hugging Face "
                            "checkpoint converts with encdec_convert --hf FOLDER --out MODEL.h5)",
                       cfg->model);
    if (!(e->be = backend_get(cfg->backend, comm_local_rank(e->comm), err))) return ED_ERR;
    test_signal_at("load", comm_rank(e->comm)); /* inert unless set (common/test_signal.h) */
    if (model_weights_load(&e->weights, cfg->model, comm_rank(e->comm), cfg->tp,
                           cfg->lm_head_split == LM_HEAD_VOCAB, config_dtype(cfg),
                           cfg->quantize, cfg->quantize_embeddings, e->be, err))
        return ED_ERR;
    const model_spec *s = &e->weights->spec;
    const int auto_in = cfg->max_input_len == CONFIG_LEN_AUTO,
              auto_out = cfg->max_output_len == CONFIG_LEN_AUTO;
    if (config_resolve_lengths(&e->cfg, s->learned_pos ? s->max_positions : 0, err)) return ED_ERR;
    if (auto_in || auto_out)
        log_info("max_input_len %d%s, max_output_len %d%s; auto: %s", cfg->max_input_len,
                 auto_in ? " (auto)" : "", cfg->max_output_len, auto_out ? " (auto)" : "",
                 s->learned_pos ? "from the model's max_position_embeddings"
                                : "the default with relative positions");
    return ED_OK;
}

/* Rank 0: the request limits the model and the run set (request_parse checks them). */
static request_limits limits_of(const engine *e) {
    const model_spec *s = &e->weights->spec;
    return (request_limits){s->vocab_size,         s->decoder_start_id, e->cfg.max_input_len,
                            e->cfg.max_output_len, s->forced_bos_id,    s->forced_eos_id,
                            e->cfg.max_batch_size, e->tok};
}

/* Rank 0: opens the request stream and starts its intake thread. */
static ed_status open_requests(engine *e, const char *path, ed_error *err) {
    int server = e->cfg.http_port > 0;
    if (server && !strcmp(path, "-")) e->in = NULL; /* HTTP only: stdin is not read */
    else if (!strcmp(path, "-")) e->in = stdin;
    else if (!(e->in = fopen(path, "r")))
        return ed_fail(err, "requests %s: cannot open: %s", path, strerror(errno));
    e->eof = 0;
    request_limits lim = limits_of(e);
    if (intake_start(&e->intake, e->in, &lim, (size_t)e->cfg.max_request_bytes,
                     e->cfg.max_batch_size, err))
        return ED_ERR;
    if (server) intake_keep_open(e->intake); /* until the drain */
    return ED_OK;
}

/* Rank 0: the model name the API answers to: served_model_name, else the model file's base
 * name without ".h5". */
static void served_name(const run_config *cfg, char *out, size_t cap) {
    if (cfg->served_model_name[0]) {
        snprintf(out, cap, "%s", cfg->served_model_name);
        return;
    }
    const char *base = strrchr(cfg->model, '/');
    snprintf(out, cap, "%s", base ? base + 1 : cfg->model);
    size_t n = strlen(out);
    if (n > 3 && !strcmp(out + n - 3, ".h5")) out[n - 3] = 0;
}

/* Rank 0: the metrics' gauges from the scheduler's state now. */
static serve_gauges gauges_now(engine *e) {
    scheduler_stats ss;
    scheduler_get_stats(e->sched, &ss);
    /* waiting: queued in the scheduler, and accepted but still in the intake */
    return (serve_gauges){ss.running, ss.queued + intake_pending(e->intake),
                          ss.self_total - ss.self_free, ss.self_total,
                          ss.cross_total - ss.cross_free, ss.cross_total, ss.cache_hits,
                          ss.cache_misses, ss.cache_evictions, ss.cache_blocks};
}

static void update_gauges(engine *e) {
    serve_gauges g = gauges_now(e);
    serve_metrics_gauges(e->metrics, &g);
}

/* Rank 0: the HTTP server and its metrics (http_port set). */
static ed_status start_http(engine *e, ed_error *err) {
    if (!(e->metrics = serve_metrics_create())) return ed_fail(err, "out of memory");
    update_gauges(e);
    char name[1024];
    served_name(&e->cfg, name, sizeof name);
    http_server_config hc = {.host = e->cfg.http_host, .port = e->cfg.http_port,
                             .api_key = e->cfg.api_key, .model_name = name,
                             .max_queue = e->cfg.max_queue,
                             .max_body_bytes = e->cfg.max_body_bytes,
                             .max_connections = e->cfg.http_threads_max, .lim = limits_of(e),
                             .warming = e->warm != NULL};
    return http_server_start(&e->http, &hc, e->intake, e->metrics, err);
}

static void close_requests(engine *e) {
    intake_destroy(e->intake); /* first: its thread reads e->in */
    e->intake = NULL;
    if (e->in && e->in != stdin) fclose(e->in);
    e->in = NULL;
}

/* Start-up, phase 3 (local): activations, KV pools, plan, and on rank 0 the scheduler and the
 * request and response files. */
static ed_status create_runtime(engine *e, ed_error *err) {
    const run_config *cfg = &e->cfg;
    const model_spec *s = &e->weights->spec;
    int B = cfg->max_batch_size;
    int enc_budget = B * cfg->max_input_len;
    int heads = s->num_heads / cfg->tp;
    scheduler_config sc = {.max_running = B, .max_encoder_tokens = enc_budget,
                           .block_size = cfg->kv_block_size, .n_self_blocks = e->n_self_blocks,
                           .n_cross_blocks = e->n_cross_blocks, .policy = cfg->scheduler_policy,
                           .vocab = s->vocab_size, .max_input_len = cfg->max_input_len,
                           .max_output_len = cfg->max_output_len,
                           .encoder_cache = cfg->encoder_cache,
                           .encoder_cache_blocks = cfg->encoder_cache_blocks,
                           .admission_wait_s = cfg->admission_wait_ms / 1000.0,
                           .admission_group = cfg->admission_group ? cfg->admission_group : B};
    token_choice_config tcc = {.vocab = s->vocab_size, .eos_id = s->eos_id,
                               .device_argmax = cfg->device_argmax, .max_decode = B};
    const int max_plan_blocks = scheduler_max_plan_blocks(&sc);
    if (max_plan_blocks < 0) /* config_validate refuses such sizes first */
        return ed_fail(err, "config: keys 'max_batch_size', 'max_input_len', 'max_output_len' "
                            "and 'kv_block_size' give step plans too large to address");
    encdec_limits lim = {.max_enc_tokens = enc_budget, .max_dec_tokens = B,
                         .max_plan_blocks = max_plan_blocks,
                         .max_input_len = cfg->max_input_len,
                         .max_output_len = cfg->max_output_len, .graphs = cfg->cuda_graphs,
                         .joint_gemms = cfg->joint_gemms, .fused_norms = cfg->fused_norms};
    if (encdec_create(&e->model, e->weights, e->comm, &lim, err) ||
        kv_store_create(&e->kv, e->be, s->dec_layers, heads, s->d_kv, cfg->kv_block_size,
                        config_kv_dtype(cfg), e->n_self_blocks, e->n_cross_blocks, err))
        return ED_ERR;
    if (!(e->plan = step_plan_create(B, B, enc_budget, max_plan_blocks)))
        return ed_fail(err, "out of memory");
    if (comm_rank(e->comm) != 0) return ED_OK;
    if (tokenizer_h5_has(cfg->model) && tokenizer_load_h5(&e->tok, cfg->model, err))
        return ED_ERR;
    tcc.tok = e->tok;
    if (scheduler_create(&e->sched, &sc, err) || token_choice_create(&e->tc, &tcc, err))
        return ED_ERR;
    if (!(e->batch = step_batch_create(B, B)) || !(e->in_flight = id_set_create()) ||
        !(e->logits = malloc(sizeof(float) * encdec_host_output_floats(e->model))))
        return ed_fail(err, "out of memory");
    if (open_requests(e, cfg->requests, err)) return ED_ERR;
    /* ENCDEC_REPLY_COURIER=0: records posted by this thread (the A/B in docs/PERFORMANCE.md) */
    const char *courier = getenv("ENCDEC_REPLY_COURIER");
    if (cfg->http_port > 0 && !(courier && !strcmp(courier, "0")) &&
        !(e->courier = reply_courier_create()))
        return ed_fail(err, "cannot start the reply courier thread");
    if (cfg->http_port > 0 && cfg->warmup) {
        warmup_config wc = {B, cfg->max_input_len, cfg->max_output_len, limits_of(e)};
        if (!(e->warm = warmup_create(&wc)) ||
            !(e->warm_group = calloc((size_t)B, sizeof *e->warm_group)))
            return ed_fail(err, "out of memory");
    }
    if (cfg->http_port > 0 && start_http(e, err)) return ED_ERR;
    if (response_sink_open(&e->out, cfg->output, err)) return ED_ERR;
    response_sink_set_tokenizer(e->out, e->tok);
    response_sink_set_courier(e->out, e->courier);
    return ED_OK;
}

/* Every rank calls this with its verdict; all return the same. */
static ed_status agree(engine *e, ed_status local, ed_error *err) {
    if (comm_all_ok(e->comm, local == ED_OK)) return ED_OK;
    if (local == ED_OK) ed_fail(err, "start-up failed on another rank (see its message)");
    return ED_ERR;
}

ed_status engine_create(engine **out, const run_config *cfg, comm *c, ed_error *err) {
    *out = NULL;
    engine *e = calloc(1, sizeof *e);
    if (!e) return ed_fail(err, "out of memory");
    e->cfg = *cfg;
    e->comm = c;
    /* Each phase ends in an agreement, and the pool sizing in between is collective, so a rank
     * that fails never leaves the others waiting. */
    if (agree(e, load_weights(e, err), err) ||
        (e->be->stream && comm_size(c) > 1 &&
         agree(e, comm_use_nccl(c, e->be->stream(), err), err)) ||
        agree(e, plan_kv_pools(e, e->weights->spec.num_heads / cfg->tp, err), err) ||
        agree(e, create_runtime(e, err), err)) {
        engine_destroy(e);
        return ED_ERR;
    }
    const model_spec *s = &e->weights->spec;
    log_info("model %s: family %s, d_model %d, %d heads x %d, d_ff %d, %d+%d layers, vocab %d; "
             "tp %d, backend %s, weights %s (projections %s, embeddings %s), lm_head_split %s",
             cfg->model, s->family, s->d_model, s->num_heads, s->d_kv, s->d_ff, s->enc_layers,
             s->dec_layers, s->vocab_size, cfg->tp, e->be->name, dtype_name(config_dtype(cfg)),
             e->weights->quant ? quant_names[e->weights->quant] : dtype_name(config_dtype(cfg)),
             e->weights->quant_embed ? quant_names[e->weights->quant]
                                     : dtype_name(config_dtype(cfg)),
             cfg->lm_head_split == LM_HEAD_VOCAB ? "vocab" : "replicated");
    int joint_qkv, joint_wi;
    encdec_joint_layers(e->model, &joint_qkv, &joint_wi);
    log_info("joint GEMMs in the decoder's %d layers: self Q/K/V in %d, gated FFN inputs in %d",
             e->weights->dec.n_layers, joint_qkv, joint_wi);
    log_info("decoder pre-norms folded into their GEMMs: %s",
             encdec_fused_norms(e->model) ? "yes" : "no");
    log_info("memory per rank: weights %.1f MB, KV pools %.1f MB, activations %.1f MB",
             e->weights->arena_bytes / 1e6, kv_store_bytes(e->kv) / 1e6,
             encdec_workspace_bytes(e->model) / 1e6);
    /* armed for what follows; encdec_tp arms it before start-up too (a rank stopped while
     * loading), encdec_bench from here on */
    comm_set_watchdog(c, cfg->watchdog_s);
    *out = e;
    return ED_OK;
}

void engine_destroy(engine *e) {
    if (!e) return;
    reply_courier_destroy(e->courier); /* first: delivers the records still queued */
    e->courier = NULL;
    http_server_stop(e->http); /* then: its threads wait on requests the scheduler holds */
    e->http = NULL;
    warmup_destroy(e->warm);
    free(e->warm_group);
    step_batch_destroy(e->batch); /* before the scheduler: encode-only requests not answered */
    scheduler_destroy(e->sched);
    token_choice_destroy(e->tc);
    id_set_destroy(e->in_flight);
    serve_metrics_destroy(e->metrics);
    free(e->logits);
    free(e->hidden);
    close_requests(e);
    response_sink_discard(e->out); /* only non-NULL when the run did not complete */
    step_plan_destroy(e->plan);
    kv_store_destroy(e->kv);
    encdec_destroy(e->model);
    model_weights_destroy(e->weights);
    tokenizer_destroy(e->tok); /* last: requests and sequences above may hold streams of it */
    free(e);
}

/* Rank 0: a finished sequence's response (its result, or the error token choice ended it with). */
static ed_status finish_sequence(void *ctx, sequence *seq, ed_error *err) {
    engine *e = ctx;
    ed_status st;
    if (seq->failure[0]) {
        log_warn("request at line %ld failed: %s", seq->req->line, seq->failure);
        st = response_write_error(e->out, seq->req, seq->req->id, seq->req->line, seq->failure,
                                  err);
        e->stats.errors++;
    } else {
        st = response_write_result(e->out, seq, err);
    }
    if (e->metrics && !seq->req->internal)
        serve_metrics_finished(e->metrics, seq->failure[0] ? "error" : seq->finish_reason);
    id_set_remove(e->in_flight, seq->req->id);
    e->stats.done++;
    sequence_destroy(seq);
    return st;
}

/* Rank 0: a request dropped before it finished (its client gone, or the drain timed out) gets
 * an abort record; a running one keeps what it generated. */
static int should_drop(void *ctx, const request *r) {
    const engine *e = ctx;
    return (r->reply && reply_cancelled(r->reply)) ||
           (e->draining && monotonic_s() >= e->drain_deadline);
}

static ed_status drop_sequence(void *ctx, sequence *seq, ed_error *err) {
    engine *e = ctx;
    ed_status st = response_write_abort(e->out, seq->req, seq->beams[0].tokens,
                                        seq->n_beams ? seq->n_tokens : 1, err);
    if (e->metrics) serve_metrics_finished(e->metrics, "abort");
    id_set_remove(e->in_flight, seq->req->id);
    e->stats.done++;
    sequence_destroy(seq);
    return st;
}

static ed_status drop_request(void *ctx, request *r, ed_error *err) {
    engine *e = ctx;
    int32_t none = 0;
    ed_status st = response_write_abort(e->out, r, &none, 1, err);
    if (e->metrics) serve_metrics_finished(e->metrics, "abort");
    id_set_remove(e->in_flight, r->id);
    e->stats.done++;
    request_destroy(r);
    return st;
}

void engine_drain(engine *e) {
    atomic_fetch_add(&e->drain_signals, 1);
    if (e->http) http_server_drain(e->http);
    if (e->intake) intake_interrupt(e->intake);
}

/* Rank 0, between steps (server mode): begins the drain once asked (no new requests; a deadline
 * for those in flight), and drops the requests whose client has gone or whose deadline passed. */
static ed_status serve_between_steps(engine *e, ed_error *err) {
    if (!e->draining && atomic_load(&e->drain_signals) > 0) {
        e->draining = 1;
        e->drain_deadline = monotonic_s() + e->cfg.drain_timeout_s;
        intake_close(e->intake);
        log_info("draining: no new requests; those in flight have %d s to finish",
                 e->cfg.drain_timeout_s);
    }
    ed_status st = scheduler_drop_where(e->sched, should_drop, drop_sequence, drop_request, e, err);
    update_gauges(e);
    return st;
}

/* Rank 0: takes what the intake has read, until the queue can fill every slot: requests go to
 * the scheduler, bad ones are answered with an error at once. From a client's stream (stdin, a
 * pipe) it waits for input only when there is nothing else to do (no request running or
 * queued) and otherwise takes what has arrived, so a request that arrives while others decode
 * joins at the next step; from a regular file it waits for each line, as a synchronous reader
 * would (the same batches as ever). */
static ed_status read_requests(engine *e, ed_error *err) {
    scheduler_stats ss;
    scheduler_get_stats(e->sched, &ss);
    for (int queued = ss.queued; !e->eof && queued < e->cfg.max_batch_size;) {
        intake_item it;
        /* a file is read line by line as a synchronous reader would, except beside the HTTP
         * server, whose calls must not wait behind it */
        int idle = queued == 0 && ss.running == 0;
        int got = intake_take(e->intake, &it,
                              (intake_reads_file(e->intake) && !e->cfg.http_port) || idle);
        if (idle) e->stats.woke = monotonic_s();
        if (got == INTAKE_NONE) break;
        if (got == INTAKE_NONE && e->cfg.http_port > 0 && !e->draining &&
            atomic_load(&e->drain_signals) > 0)
            break; /* woken by a drain signal */
        if (got == INTAKE_END) {
            e->eof = 1;
            if (intake_failure(e->intake)) return ed_fail(err, "%s", intake_failure(e->intake));
            break;
        }
        ed_error rerr;
        int refused = !it.req;
        if (it.req && id_set_add(e->in_flight, it.req->id, &rerr)) {
            ed_wrap(&rerr, "line %ld: ", it.line);
            memcpy(it.error, rerr.msg, sizeof it.error);
            refused = 1;
        } else if (it.req && (scheduler_check_fits(e->sched, it.req, &rerr) ||
                              scheduler_submit(e->sched, it.req, &rerr))) {
            id_set_remove(e->in_flight, it.req->id);
            memcpy(it.error, rerr.msg, sizeof it.error);
            refused = 1;
        }
        if (refused) { /* answered where the request's records go (its HTTP call, or the file) */
            log_warn("request rejected: %s", it.error);
            e->stats.errors++;
            ed_status st = response_write_error(e->out, it.req, it.req ? it.req->id : it.id,
                                                it.line, it.error, err);
            request_destroy(it.req);
            cJSON_Delete(it.id);
            if (st) return ED_ERR;
            continue;
        }
        queued++;
        cJSON_Delete(it.id);
    }
    return ED_OK;
}

/* Starts the counters over (a new run, or the end of the warm-up). */
static void stats_restart(engine *e) {
    memset(&e->stats, 0, sizeof e->stats);
    e->stats.start = e->stats.last_report = monotonic_s();
}

static void report(engine *e, const char *what) {
    double t = monotonic_s() - e->stats.start;
    long replays, captures;
    encdec_graph_counts(e->model, &replays, &captures);
    scheduler_stats ss;
    scheduler_get_stats(e->sched, &ss);
    int self_used = ss.self_total - ss.self_free, cross_used = ss.cross_total - ss.cross_free;
    if (self_used > e->stats.peak_self_used) e->stats.peak_self_used = self_used;
    if (cross_used > e->stats.peak_cross_used) e->stats.peak_cross_used = cross_used;
    /* the times first: tests read the counters from the last line */
    const engine_stats *st = &e->stats;
    long passes = st->encoder_passes > 0 ? st->encoder_passes : 1;
    long dsteps = st->decode_steps > 0 ? st->decode_steps : 1;
    log_info("%s times: encoder %.3f s in %ld passes (%.1f requests, %.0f tokens each); decoding "
             "%.3f s in %ld steps (%.1f ms each, %.1f sequences), of which host %.3f s "
             "(planning %.3f, results and responses %.3f); admissions held in %ld steps; idle %.3f s",
             what,
             st->encode_s, st->encoder_passes, (double)st->encoded / passes,
             (double)st->encoder_tokens / passes, st->decode_s, st->decode_steps,
             1e3 * st->decode_s / dsteps, (double)st->decoder_tokens / dsteps, st->host_s,
             st->plan_s, st->respond_s, ss.held_steps, st->idle_s);
    log_info("%s: %ld done, %ld errors, %d running, %d queued, %ld preempted; self pool %d/%d "
             "blocks used (peak %d), cross pool %d/%d (peak %d); encoder cache %ld hits, %ld "
             "misses, %ld evictions, %d blocks (%d idle); encoder %.0f tok/s, decoder "
             "%.0f tok/s, %ld steps (%ld with tokens picked on the device, %ld replayed from %ld "
             "graphs), %.2f s", what, e->stats.done, e->stats.errors, ss.running,
             ss.queued, ss.preemptions, self_used, ss.self_total, e->stats.peak_self_used,
             cross_used, ss.cross_total, e->stats.peak_cross_used, ss.cache_hits,
             ss.cache_misses, ss.cache_evictions, ss.cache_blocks, ss.cache_idle_blocks,
             t > 0 ? e->stats.encoder_tokens / t : 0.0, t > 0 ? e->stats.decoder_tokens / t : 0.0,
             e->stats.steps, e->stats.argmax_steps, replays, captures, t);
}

/* Rank 0, while warming up (runtime/warmup.h): once the scheduler is idle, queues the next
 * group; after the last one ends the warm-up: the counters start over and the server is ready. */
static ed_status warm_up(engine *e, ed_error *err) {
    scheduler_stats ss;
    scheduler_get_stats(e->sched, &ss);
    if (ss.running || ss.queued) return ED_OK;
    if (!warmup_groups(e->warm)) e->warm_start = monotonic_s();
    ed_error werr;
    int n = warmup_next_group(e->warm, e->warm_group, e->cfg.max_batch_size, &werr);
    if (n < 0) { /* only a speed-up: the server goes on without the rest of it */
        log_warn("warm-up stopped: %s", werr.msg);
        n = 0;
    }
    ed_status st = ED_OK;
    for (int i = 0; i < n; i++) {
        request *r = e->warm_group[i];
        ed_error ferr;
        if (st || scheduler_check_fits(e->sched, r, &ferr)) request_destroy(r); /* too big here */
        else if ((st = scheduler_submit(e->sched, r, err))) request_destroy(r);
    }
    if (st || n > 0) return st;
    long replays, captures;
    encdec_graph_counts(e->model, &replays, &captures);
    log_info("warm-up: %d groups of synthetic requests in %.2f s (%ld decoder graphs recorded); "
             "ready", warmup_groups(e->warm), monotonic_s() - e->warm_start, captures);
    warmup_destroy(e->warm);
    e->warm = NULL;
    stats_restart(e);
    scheduler_reset_counters(e->sched);
    http_server_set_warming(e->http, 0);
    return ED_OK;
}

/* Rank 0: the next plan (stop = 1 when all work is done). */
static ed_status plan_next(engine *e, ed_error *err) {
    for (;;) {
        if (e->warm && warm_up(e, err)) return ED_ERR;
        if (!e->warm) { /* while warming up the intake waits (HTTP calls queue there) */
            /* Reading may wait on input that has not arrived: rank 0 idles meanwhile, and
             * keep-alives stop the other ranks' watchdog from taking it for hung
             * (parallel/plan_bcast.h). */
            plan_idle_begin(e->comm, e->plan->seq);
            ed_status st = read_requests(e, err);
            if (plan_idle_end(e->comm, st ? NULL : err) || st) return ED_ERR;
            if (e->cfg.http_port > 0 && serve_between_steps(e, err)) return ED_ERR;
        }
        if (scheduler_build_plan(e->sched, e->plan, e->batch, err)) return ED_ERR;
        token_choice_plan(e->tc, e->plan, e->batch);
        if (e->plan->n_encode || e->plan->n_decode) return ED_OK;
        if (e->warm) continue; /* none of the group fitted the pools: the next group */
        scheduler_stats ss;
        scheduler_get_stats(e->sched, &ss);
        if (ss.queued) /* nothing runs, so the pools are empty: one that fits alone is admitted */
            return ed_fail(err, "%d queued requests cannot be admitted into empty KV pools (%d "
                                "self, %d cross blocks free): the scheduler's accounting is broken",
                           ss.queued, ss.self_free, ss.cross_free);
        if (e->eof) break; /* the input ended (server mode: the drain closed it) */
    }
    e->plan->stop = 1;
    return ED_OK;
}

static int plan_wants_encoder_output(const step_plan *p) {
    for (int i = 0; i < p->n_encode; i++)
        if (p->enc[i].want_output) return 1;
    return 0;
}

/* Rank 0, after the encoder step: hand each entry's final encoder states to its sequence, or
 * answer its encode-only request. */
static ed_status deliver_encoder_outputs(engine *e, ed_error *err) {
    int D = e->weights->spec.d_model;
    for (int i = 0; i < e->plan->n_encode; i++) {
        const plan_encode *pe = &e->plan->enc[i];
        if (!pe->want_output) continue;
        const float *rows = e->hidden + (size_t)pe->ids_offset * D;
        sequence *seq = e->batch->enc_seq[i];
        if (seq) {
            size_t n = (size_t)pe->len * D;
            if (!(seq->encoder_output = malloc(n * sizeof(float))))
                return ed_fail(err, "out of memory for encoder outputs");
            memcpy(seq->encoder_output, rows, n * sizeof(float));
            seq->encoder_dim = D;
            continue;
        }
        request *r = step_batch_take_encode_only(e->batch, i);
        ed_status st = response_write_encoding(e->out, r, rows, pe->len, D, err);
        id_set_remove(e->in_flight, r->id);
        request_destroy(r);
        e->stats.done++;
        if (st) return ED_ERR;
    }
    return ED_OK;
}

/* Rank 0, after the decoder step: token choice advances the sequences, streaming requests get
 * their new tokens, and the scheduler forks beams' tables and retires finished sequences into
 * their responses. */
static ed_status finish_step(engine *e, ed_error *err) {
    token_choice_apply(e->tc, e->plan, e->batch, e->logits, encdec_candidate_sources(e->model));
    for (int i = 0; i < e->plan->n_decode; i++) {
        sequence *seq = e->batch->dec_seq[i];
        if (seq->req->stream && response_write_stream(e->out, seq, err)) return ED_ERR;
    }
    return scheduler_finish_step(e->sched, finish_sequence, e, err);
}

/* The step on every rank: encoder pass, decoder step, then the backend's fault check; every
 * rank ends with the same verdict (a fault, or a failed step, on any rank stops all of them
 * here, before rank 0 uses the step's results). */
static ed_status run_step(engine *e, int root, double *t_encoded, ed_error *err) {
    double t0 = monotonic_s();
    ed_status st = encdec_encode(e->model, e->kv, e->plan, root ? e->hidden : NULL, err);
    double t_queued = monotonic_s();
    if (st == ED_OK && e->plan->n_encode)
        e->be->synchronize(); /* so encoder time is not billed to decoding */
    *t_encoded = monotonic_s();
    if (root && e->plan->n_encode) /* host time to queue the pass (plans, launches), then all */
        log_debug("step %llu: encoder pass of %d requests, %d tokens: queued in %.3f ms, done "
                  "in %.3f ms", (unsigned long long)e->plan->seq, e->plan->n_encode,
                  e->plan->n_ids, 1e3 * (t_queued - t0), 1e3 * (*t_encoded - t0));
    if (st == ED_OK)
        st = encdec_decode_step(e->model, e->kv, e->plan, root ? e->logits : NULL, err);
    if (st == ED_OK) st = e->be->check(err);
    if (st) ed_wrap(err, "rank %d: step %llu: ", comm_rank(e->comm), (unsigned long long)e->plan->seq);
    if (comm_all_ok(e->comm, st == ED_OK)) return ED_OK;
    e->failed_together = 1;
    if (st == ED_OK)
        ed_fail(err, "step %llu failed on another rank (see its message); every rank stops",
                (unsigned long long)e->plan->seq);
    return ED_ERR;
}

ed_status engine_run(engine *e, ed_error *err) {
    int root = comm_rank(e->comm) == 0;
    e->stats.start = e->stats.last_report = monotonic_s();
    for (uint64_t seq = e->next_seq;; seq++) {
        e->next_seq = seq + 1;
        double t_iter = monotonic_s(), t_planned = t_iter;
        /* Rank 0 decides; a failure there still sends a stop plan so no rank is left waiting. */
        ed_status planned = ED_OK;
        if (root) {
            step_plan_clear(e->plan);
            e->plan->seq = seq;
            planned = plan_next(e, err);
            if (e->stats.woke > t_iter) { /* the wait for work is no step's time */
                e->stats.idle_s += e->stats.woke - t_iter;
                t_iter = e->stats.woke;
            }
            if (!planned && e->plan->n_decode) test_step_delay(); /* inert unless set */
            t_planned = monotonic_s();
            if (planned) {
                step_plan_clear(e->plan);
                e->plan->stop = 1;
            }
        }
        if (plan_bcast(e->comm, e->plan, seq, err)) return ED_ERR;
        if (planned) {
            e->failed_together = 1;
            return ED_ERR;
        }
        if (e->plan->stop) break;
        double t0 = monotonic_s();
        if (root && !e->hidden && plan_wants_encoder_output(e->plan)) {
            size_t n = (size_t)e->cfg.max_batch_size * e->cfg.max_input_len * e->weights->spec.d_model;
            if (!(e->hidden = malloc(n * sizeof(float))))
                return ed_fail(err, "out of memory for encoder outputs");
        }
        double t1;
        if (run_step(e, root, &t1, err)) return ED_ERR;
        if (!root) continue;
        e->stats.encode_s += t1 - t0;
        e->stats.decode_steps += e->plan->n_decode > 0;
        e->stats.argmax_steps += e->plan->argmax_only || e->plan->topk;
        e->stats.steps++;
        scheduler_stats ss;
        scheduler_get_stats(e->sched, &ss);
        if (ss.self_total - ss.self_free > e->stats.peak_self_used)
            e->stats.peak_self_used = ss.self_total - ss.self_free;
        if (ss.cross_total - ss.cross_free > e->stats.peak_cross_used)
            e->stats.peak_cross_used = ss.cross_total - ss.cross_free;
        e->stats.encoder_tokens += e->plan->n_ids;
        e->stats.encoder_passes += e->plan->n_encode > 0;
        e->stats.encoded += e->plan->n_encode;
        e->stats.decoder_tokens += e->plan->n_decode;
        double t_applied = monotonic_s();
        if (deliver_encoder_outputs(e, err) || finish_step(e, err)) return ED_ERR;
        if (e->metrics && !e->warm) {
            serve_gauges g = gauges_now(e);
            serve_metrics_step(e->metrics, &g, e->plan->n_ids, e->plan->n_decode,
                               monotonic_s() - t_iter);
        }
        if (e->plan->n_decode) {
            double t_end = monotonic_s();
            e->stats.decode_s += t_end - t_iter - (t1 - t0);
            e->stats.host_s += (t_planned - t_iter) + (t_end - t_applied);
            e->stats.plan_s += t_planned - t_iter;
            e->stats.respond_s += t_end - t_applied;
        }
        if (e->cfg.stats_every > 0 && monotonic_s() - e->stats.last_report >= e->cfg.stats_every) {
            e->stats.last_report = monotonic_s();
            report(e, "progress");
        }
    }
    e->stats.end = monotonic_s();
    if (root) {
        report(e, "summary");
        /* each run starts with an empty encoder cache (encdec_bench's measured round is not
         * served from its warm-up), and the check below sees the pool itself */
        scheduler_clear_encoder_cache(e->sched);
        scheduler_stats ss;
        scheduler_get_stats(e->sched, &ss);
        log_info("KV pools at the end: self %d/%d blocks free, cross %d/%d free", ss.self_free,
                 ss.self_total, ss.cross_free, ss.cross_total);
        if (ss.self_free != ss.self_total || ss.cross_free != ss.cross_total)
            return ed_fail(err, "KV pools did not return to their starting free-block counts "
                                "(self %d/%d, cross %d/%d): block accounting is broken",
                           ss.self_free, ss.self_total, ss.cross_free, ss.cross_total);
        if (e->courier) reply_courier_drain(e->courier); /* every answer delivered */
        ed_status st = response_sink_commit(e->out, err);
        e->out = NULL;
        return st;
    }
    return ED_OK;
}

void engine_get_report(const engine *e, engine_report *out) {
    const engine_stats *s = &e->stats;
    *out = (engine_report){.requests_done = s->done, .request_errors = s->errors,
                           .steps = s->steps, .decode_steps = s->decode_steps,
                           .argmax_steps = s->argmax_steps,
                           .encoder_tokens = s->encoder_tokens, .decoder_tokens = s->decoder_tokens,
                           .wall_s = s->end - s->start, .encode_s = s->encode_s,
                           .decode_s = s->decode_s, .host_s = s->host_s,
                           .quant = e->weights->quant, .quant_embed = e->weights->quant_embed};
}

const char *engine_partial_output(const engine *e) { return response_sink_temp_path(e->out); }

int engine_failed_together(const engine *e) { return e->failed_together; }

ed_status engine_restart(engine *e, const char *requests, const char *output, ed_error *err) {
    stats_restart(e);
    if (comm_rank(e->comm) != 0) return ED_OK;
    snprintf(e->cfg.requests, sizeof e->cfg.requests, "%s", requests);
    snprintf(e->cfg.output, sizeof e->cfg.output, "%s", output);
    close_requests(e);
    if (open_requests(e, requests, err)) return ED_ERR;
    if (response_sink_open(&e->out, output, err)) return ED_ERR;
    response_sink_set_tokenizer(e->out, e->tok);
    response_sink_set_courier(e->out, e->courier);
    return ED_OK;
}
