#include "runtime/engine.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kernels/backend.h"
#include "models/encdec.h"
#include "parallel/plan_bcast.h"
#include "runtime/kv_store.h"
#include "runtime/log.h"
#include "runtime/response.h"
#include "runtime/scheduler.h"

typedef struct engine_stats {
    long done, errors;
    long encoder_tokens, decoder_tokens, steps, decode_steps;
    double start, last_report, end, encode_s, decode_s;
} engine_stats;

struct engine {
    run_config cfg;
    comm *comm;
    const backend *be;
    model_weights *weights;
    encdec_model *model;
    kv_store *kv;
    step_plan *plan;
    /* rank 0 only */
    scheduler *sched;
    float *logits; /* [max_batch_size, vocab] host */
    FILE *in;
    response_sink *out;
    long line;
    int eof;
    engine_stats stats;
};

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Every rank's local part of start-up; the caller agrees on the outcome across ranks. */
static ed_status create_local(engine *e, ed_error *err) {
    const run_config *cfg = &e->cfg;
    int rank = comm_rank(e->comm);
    if (!(e->be = backend_get(cfg->backend, err))) return ED_ERR;
    if (model_weights_load(&e->weights, cfg->model, rank, cfg->tp,
                           cfg->lm_head_split == LM_HEAD_VOCAB, e->be, err)) return ED_ERR;
    const model_spec *s = &e->weights->spec;
    if (s->learned_pos && cfg->max_input_len > s->max_positions)
        return ed_fail(err, "config: key 'max_input_len' (%d) exceeds the model's "
                            "max_position_embeddings (%d)", cfg->max_input_len, s->max_positions);
    if (s->learned_pos && cfg->max_output_len + 1 > s->max_positions)
        return ed_fail(err, "config: key 'max_output_len' (%d) + the start token exceeds the "
                            "model's max_position_embeddings (%d)", cfg->max_output_len,
                       s->max_positions);
    int B = cfg->max_batch_size;
    int enc_budget = B * cfg->max_input_len;
    int kv_dim = s->num_heads / cfg->tp * s->d_kv;
    if (encdec_create(&e->model, e->weights, e->comm, enc_budget, B, err) ||
        kv_store_create(&e->kv, e->be, B, s->dec_layers, kv_dim, cfg->max_output_len + 1,
                        cfg->max_input_len, err))
        return ED_ERR;
    if (!(e->plan = step_plan_create(B, B, enc_budget))) return ed_fail(err, "out of memory");
    if (rank != 0) return ED_OK;
    if (scheduler_create(&e->sched, B, enc_budget, err)) return ED_ERR;
    if (!(e->logits = malloc(sizeof(float) * (size_t)B * s->vocab_size)))
        return ed_fail(err, "out of memory");
    if (!strcmp(cfg->requests, "-")) e->in = stdin;
    else if (!(e->in = fopen(cfg->requests, "r")))
        return ed_fail(err, "requests %s: cannot open: %s", cfg->requests, strerror(errno));
    return response_sink_open(&e->out, cfg->output, err);
}

ed_status engine_create(engine **out, const run_config *cfg, comm *c, ed_error *err) {
    *out = NULL;
    engine *e = calloc(1, sizeof *e);
    if (!e) return ed_fail(err, "out of memory");
    e->cfg = *cfg;
    e->comm = c;
    ed_status st = ED_OK;
    if (cfg->tp != comm_size(c))
        st = ed_fail(err, "config: key 'tp' is %d but mpirun started %d ranks (they must be equal)",
                     cfg->tp, comm_size(c));
    else
        st = create_local(e, err);
    if (!comm_all_ok(c, st == ED_OK)) {
        if (st == ED_OK) ed_fail(err, "start-up failed on another rank (see its message)");
        engine_destroy(e);
        return ED_ERR;
    }
    const model_spec *s = &e->weights->spec;
    log_info("model %s: family %s, d_model %d, %d heads x %d, d_ff %d, %d+%d layers, vocab %d; "
             "tp %d, backend %s", cfg->model, s->family, s->d_model, s->num_heads, s->d_kv, s->d_ff,
             s->enc_layers, s->dec_layers, s->vocab_size, cfg->tp, e->be->name);
    log_info("memory per rank: weights %.1f MB, KV %.1f MB, activations %.1f MB",
             e->weights->arena_bytes / 1e6, kv_store_bytes(e->kv) / 1e6,
             encdec_workspace_bytes(e->model) / 1e6);
    *out = e;
    return ED_OK;
}

void engine_destroy(engine *e) {
    if (!e) return;
    scheduler_destroy(e->sched);
    free(e->logits);
    if (e->in && e->in != stdin) fclose(e->in);
    response_sink_discard(e->out); /* only non-NULL when the run did not complete */
    step_plan_destroy(e->plan);
    kv_store_destroy(e->kv);
    encdec_destroy(e->model);
    model_weights_destroy(e->weights);
    free(e);
}

static ed_status finish_sequence(void *ctx, sequence *seq, ed_error *err) {
    engine *e = ctx;
    const request *r = seq->req;
    ed_status st = response_write_result(e->out, r->id, seq->tokens + 1, seq->n_tokens - 1,
                                         seq->finish_reason, seq->logits,
                                         seq->logits ? seq->n_fed : 0, seq->vocab, err);
    e->stats.done++;
    sequence_destroy(seq);
    return st;
}

/* Rank 0: reads lines until the queue can fill every slot or the input ends. Bad requests are
 * answered with an error at once. */
static ed_status read_requests(engine *e, ed_error *err) {
    const model_spec *s = &e->weights->spec;
    request_limits lim = {s->vocab_size,         s->decoder_start_id, e->cfg.max_input_len,
                          e->cfg.max_output_len, s->forced_bos_id,    s->forced_eos_id};
    char *text = NULL;
    size_t cap = 0;
    ed_status st = ED_OK;
    while (!e->eof && scheduler_queued(e->sched) < e->cfg.max_batch_size) {
        if (getline(&text, &cap, e->in) < 0) {
            e->eof = 1;
            break;
        }
        e->line++;
        if (strspn(text, " \t\r\n") == strlen(text)) continue; /* blank line */
        request *r = NULL;
        cJSON *id = NULL;
        ed_error rerr;
        ed_status rst = request_parse(text, e->line, &lim, &r, &id, &rerr);
        if (rst == ED_OK && scheduler_submit(e->sched, r, &rerr)) {
            request_destroy(r);
            rst = ED_ERR;
        }
        if (rst) {
            log_warn("request rejected: %s", rerr.msg);
            e->stats.errors++;
            st = response_write_error(e->out, id, e->line, rerr.msg, err);
            cJSON_Delete(id);
            if (st) break;
            continue;
        }
        cJSON_Delete(id);
    }
    free(text);
    return st;
}

static void report(engine *e, const char *what) {
    double t = now_s() - e->stats.start;
    log_info("%s: %ld done, %ld errors, %d running, %d queued; %ld steps, encoder %.0f tok/s, "
             "decoder %.0f tok/s, %.2f s", what, e->stats.done, e->stats.errors,
             scheduler_running(e->sched), scheduler_queued(e->sched), e->stats.steps,
             t > 0 ? e->stats.encoder_tokens / t : 0.0, t > 0 ? e->stats.decoder_tokens / t : 0.0,
             t);
}

/* Rank 0: the next plan (stop = 1 when all work is done). */
static ed_status plan_next(engine *e, ed_error *err) {
    if (read_requests(e, err)) return ED_ERR;
    if (scheduler_build_plan(e->sched, e->plan, e->weights->spec.vocab_size, err)) return ED_ERR;
    if (e->plan->n_encode == 0 && e->plan->n_decode == 0) e->plan->stop = 1;
    return ED_OK;
}

static ed_status apply_logits(engine *e, ed_error *err) {
    const model_spec *s = &e->weights->spec;
    for (int i = 0; i < e->plan->n_decode; i++)
        sequence_advance(scheduler_plan_sequence(e->sched, i),
                         e->logits + (size_t)i * s->vocab_size, s->eos_id);
    return scheduler_retire(e->sched, finish_sequence, e, err);
}

ed_status engine_run(engine *e, ed_error *err) {
    int root = comm_rank(e->comm) == 0;
    e->stats.start = e->stats.last_report = now_s();
    for (uint64_t seq = 0;; seq++) {
        /* Rank 0 decides; a failure there still sends a stop plan so no rank is left waiting. */
        ed_status planned = ED_OK;
        if (root) {
            step_plan_clear(e->plan);
            e->plan->seq = seq;
            planned = plan_next(e, err);
            if (planned) {
                step_plan_clear(e->plan);
                e->plan->stop = 1;
            }
        }
        if (plan_bcast(e->comm, e->plan, seq, err)) return ED_ERR;
        if (planned) return ED_ERR;
        if (e->plan->stop) break;
        double t0 = now_s();
        if (encdec_encode(e->model, e->kv, e->plan, err)) return ED_ERR;
        double t1 = now_s();
        if (encdec_decode_step(e->model, e->kv, e->plan, root ? e->logits : NULL, err))
            return ED_ERR;
        if (!root) continue;
        e->stats.encode_s += t1 - t0;
        e->stats.decode_s += now_s() - t1;
        e->stats.decode_steps += e->plan->n_decode > 0;
        e->stats.steps++;
        e->stats.encoder_tokens += e->plan->n_ids;
        e->stats.decoder_tokens += e->plan->n_decode;
        if (apply_logits(e, err)) return ED_ERR;
        if (e->cfg.stats_every > 0 && now_s() - e->stats.last_report >= e->cfg.stats_every) {
            e->stats.last_report = now_s();
            report(e, "progress");
        }
    }
    e->stats.end = now_s();
    if (root) {
        report(e, "summary");
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
                           .encoder_tokens = s->encoder_tokens, .decoder_tokens = s->decoder_tokens,
                           .wall_s = s->end - s->start, .encode_s = s->encode_s,
                           .decode_s = s->decode_s};
}

const char *engine_partial_output(const engine *e) { return response_sink_temp_path(e->out); }
