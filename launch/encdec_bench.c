/* encdec_bench: a fixed greedy workload on a random-weight model of a real shape, through the
 * same engine encdec_tp uses; prints one JSON line (rank 0).
 *   mpirun -n TP encdec_bench --model t5-base [--batch 64] [--input-len 128] [--output-len 64]
 *          [--backend cpu] [--dtype auto] [--lm-head-split vocab|replicated] [--model-file F]
 *          (--dtype auto | fp32 | fp16 | bf16: weight matrices; auto is bf16 on cuda, fp32 on cpu)
 *          [--encode-only]   (encoder-only requests with mean pooling: text-encoder use)
 *          [--beams N]       (beam search, N beams; output tokens count returned sequences)
 *          [--set KEY=VALUE] (any run-config key, e.g. cuda_graphs=off; repeatable)
 *          [--cache-dir DIR] (where the random-weight models are kept)
 *   encdec_bench --help | --version
 * --input-len A-B gives request r A + (r * 7919) % (B - A + 1) tokens (bench_hf.py uses the same
 * lengths), for a batch of mixed lengths.
 * Every request has input-len random tokens and generates exactly output-len tokens (EOS held
 * off with min_new_tokens). The random model is written once to --model-file (default
 * CACHE/encdec_bench_<name>_<dtype>.h5) and reused; CACHE is --cache-dir, else $ENCDEC_CACHE_DIR,
 * else $XDG_CACHE_HOME/encdec_tp, else ~/.cache/encdec_tp (created if missing; the path is
 * printed when used). The workload runs twice and the second
 * round is reported (the first warms up kernels and GEMM algorithm choices).
 * With several ranks it also times, alone, the all-reduces of one decode step (three per decoder
 * layer of [batch x beams, d_model] fp32, on the engine's communicator: NCCL with the CUDA
 * backend) and reports them as allreduce_ms_per_step and their share of the measured step: an
 * estimate, since inside a step they neither overlap nor wait on other work.
 * Beside each result it prints the step's memory-traffic floor (models/step_floor.h: the bytes a
 * step must read over copy_gb_per_s, the device copy bandwidth it measures first) and
 * step_over_floor, the measured step over it. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "common/dtype.h"
#include "models/presets.h"
#include "common/quant.h"
#include "models/step_floor.h"
#include "parallel/comm.h"
#include "common/clock.h"
#include "runtime/config.h"
#include "runtime/engine.h"
#include "common/log.h"
#include "kernels/backend.h"
#include "encdec_version.h"
#include "launch/bench_cache.h"

typedef struct bench_args {
    const char *name, *model_file, *backend, *dtype, *lm_head;
    const char *cache_dir; /* --cache-dir: where random-weight models are kept, or NULL */
    int batch, input_len, output_len;
    int input_min;   /* --input-len A-B: lengths spread over [input_min, input_len] */
    int encode_only; /* --encode-only: encoder-only requests (text-encoder use), no decoding */
    int beams;       /* --beams N: beam search with N beams (beam_width) */
    const char *sets[8]; /* --set key=value: extra run-config keys (cuda_graphs=off, ...) */
    int n_sets;
} bench_args;

static const char usage_line[] =
    "usage: mpirun -n TP encdec_bench --model NAME [--batch B] [--input-len L|A-B]\n"
    "         [--output-len N] [--backend cpu|cuda] [--dtype auto|fp32|fp16|bf16]\n"
    "         [--lm-head-split vocab|replicated] [--model-file F] [--cache-dir DIR]\n"
    "         [--encode-only] [--beams N] [--set KEY=VALUE]...\n"
    "       encdec_bench --help | --version\n";

static void help(void) {
    printf("%s\n"
           "Times a fixed greedy workload on a random-weight model of a real shape, through the\n"
           "engine encdec_tp uses, and prints one JSON line.\n\n"
           "  --model NAME        a preset shape (t5-small, t5-base, ...; a wrong name lists them)\n"
           "  --batch B           requests, all admitted together (default 1)\n"
           "  --input-len L|A-B   input tokens per request, or lengths spread over [A, B] (128)\n"
           "  --output-len N      tokens generated per request, EOS held off (64)\n"
           "  --backend B         cpu (default) | cuda\n"
           "  --dtype D           weights: auto (bf16 on cuda, fp32 on cpu) | fp32 | fp16 | bf16\n"
           "  --lm-head-split S   vocab (default) | replicated\n"
           "  --model-file F      the random model's file (written once, then reused)\n"
           "  --cache-dir DIR     where random models are kept when --model-file is not given;\n"
           "                      default $ENCDEC_CACHE_DIR, else $XDG_CACHE_HOME/encdec_tp,\n"
           "                      else ~/.cache/encdec_tp\n"
           "  --encode-only       encoder-only requests with mean pooling\n"
           "  --beams N           beam search with N beams\n"
           "  --set KEY=VALUE     any run-config key (the README's \"Run config (YAML)\" table),\n"
           "                      e.g. cuda_graphs=off; up to 8\n"
           "  --help, -h          this text\n"
           "  --version           the version\n\n"
           "Request fields: the README's \"Requests (JSON Lines, one object per line)\" table.\n"
           "Exit status: 0 measured; 2 a bad command line; 1 the run failed.\n",
           usage_line);
}

/* A whole number of at most 9 digits, or -1 (atoi took "3x" for 3 and "x" for 0). */
static int count_arg(const char *v) {
    size_t n = strspn(v, "0123456789");
    return n > 0 && n <= 9 && !v[n] ? atoi(v) : -1;
}

/* Parses argv into a: 0 to run, -1 after --help / --version (printed by rank 0; exit 0), 2 for
 * a bad command line (the message printed by rank 0). */
static int parse(int argc, char **argv, bench_args *a, int rank) {
    *a = (bench_args){.backend = "cpu", .dtype = "auto", .lm_head = "vocab", .batch = 1,
                      .input_len = 128, .output_len = 64, .beams = 1};
    static const char *const with_value[] = {
        "--model", "--model-file", "--backend", "--dtype", "--lm-head-split", "--batch",
        "--input-len", "--output-len", "--beams", "--set", "--cache-dir", NULL};
    for (int i = 1; i < argc; i += 2) {
        const char *k = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(k, "--help") || !strcmp(k, "-h")) {
            if (rank == 0) help();
            return -1;
        }
        if (!strcmp(k, "--version")) {
            if (rank == 0) printf("encdec_bench %s\n", ENCDEC_VERSION);
            return -1;
        }
        if (!strcmp(k, "--encode-only")) {
            a->encode_only = 1;
            i--;
            continue;
        }
        int known = 0;
        for (int j = 0; with_value[j] && !known; j++) known = !strcmp(k, with_value[j]);
        if (!known) {
            if (rank == 0)
                fprintf(stderr, "encdec_bench: unknown flag '%s' (encdec_bench --help lists the "
                                "flags)\n%s", k, usage_line);
            return 2;
        }
        if (!v) {
            if (rank == 0) fprintf(stderr, "encdec_bench: %s needs a value\n%s", k, usage_line);
            return 2;
        }
        if (!strcmp(k, "--set") && (a->n_sets == 8 || !strchr(v, '='))) {
            if (rank == 0)
                fprintf(stderr, "encdec_bench: --set '%s': %s\n", v,
                        a->n_sets == 8 ? "more than 8 --set flags" : "expected KEY=VALUE");
            return 2;
        }
        if (!strcmp(k, "--model")) a->name = v;
        else if (!strcmp(k, "--cache-dir")) a->cache_dir = v;
        else if (!strcmp(k, "--model-file")) a->model_file = v;
        else if (!strcmp(k, "--backend")) a->backend = v;
        else if (!strcmp(k, "--dtype")) a->dtype = v;
        else if (!strcmp(k, "--lm-head-split")) a->lm_head = v;
        else if (!strcmp(k, "--batch")) a->batch = count_arg(v);
        else if (!strcmp(k, "--input-len")) {
            const char *dash = strchr(v, '-');
            char lo[16];
            if (dash && (size_t)(dash - v) < sizeof lo) { /* A-B */
                snprintf(lo, sizeof lo, "%.*s", (int)(dash - v), v);
                a->input_min = count_arg(lo) == 0 ? -1 : count_arg(lo);
                a->input_len = count_arg(dash + 1);
            } else {
                a->input_len = a->input_min = dash ? -1 : count_arg(v);
            }
        }
        else if (!strcmp(k, "--output-len")) a->output_len = count_arg(v);
        else if (!strcmp(k, "--beams")) a->beams = count_arg(v);
        else a->sets[a->n_sets++] = v; /* --set */
    }
    if (!a->input_min) a->input_min = a->input_len;
    const char *bad = !a->name                ? "--model NAME is required"
                      : a->batch <= 0         ? "--batch must be a positive integer"
                      : a->input_min <= 0 || a->input_min > a->input_len
                          ? "--input-len must be a positive integer or A-B with 0 < A <= B"
                      : a->output_len <= 0    ? "--output-len must be a positive integer"
                      : a->beams <= 0         ? "--beams must be a positive integer"
                                              : NULL;
    if (bad) {
        if (rank == 0) fprintf(stderr, "encdec_bench: %s\n%s", bad, usage_line);
        return 2;
    }
    return 0;
}


/* Milliseconds that one decode step's `count` all-reduces of `floats` each take on c, alone
 * (collective: every rank calls it); negative on failure. */
static double time_step_allreduces(comm *c, const backend *be, size_t floats, int count) {
    enum { WARMUP = 3, ROUNDS = 20 };
    float *buf = be->alloc(floats * sizeof(float));
    ed_error err;
    double t0 = 0.0;
    int ok = buf != NULL;
    for (int r = 0; ok && r < WARMUP + ROUNDS; r++) {
        if (r == WARMUP) { /* every rank starts the timed rounds together */
            be->synchronize();
            MPI_Barrier(MPI_COMM_WORLD);
            t0 = monotonic_s();
        }
        for (int k = 0; ok && k < count; k++) ok = comm_allreduce_sum(c, buf, floats, &err) == ED_OK;
    }
    be->synchronize();
    double ms = ok ? 1e3 * (monotonic_s() - t0) / ROUNDS : -1.0;
    if (buf) be->free(buf);
    return ms;
}

/* Rank 0: the random model (if absent) and the request file. */
/* Device copy bandwidth, GB/s of bytes read plus written (the floor's yardstick): one buffer
 * of COPY_MB copied into another, after a warm-up, ROUNDS times; 0 when the buffers do not fit. */
static double measure_copy_gb_per_s(const backend *be) {
    enum { COPY_MB = 256, ROUNDS = 10 };
    const size_t n = (size_t)COPY_MB << 18; /* floats */
    float *src = be->alloc(n * sizeof(float)), *dst = be->alloc(n * sizeof(float));
    double gbps = 0.0;
    if (src && dst) {
        be->copy(dst, src, n);
        be->synchronize();
        double t0 = monotonic_s();
        for (int r = 0; r < ROUNDS; r++) be->copy(dst, src, n);
        be->synchronize();
        gbps = 2.0 * n * sizeof(float) * ROUNDS / (monotonic_s() - t0) / 1e9;
    }
    if (src) be->free(src);
    if (dst) be->free(dst);
    return gbps;
}

/* Request r's input length: --input-len A-B spreads them over [A, B]. */
static int request_len(const bench_args *a, int r) {
    return a->input_min + (int)((r * 7919L) % (a->input_len - a->input_min + 1));
}

/* Writes the random-weight model (dtype; quant / quant_embed as preset_write_random) unless
 * model_path exists, and the requests. */
static ed_status prepare(const bench_args *a, const model_spec *spec, int dtype, int quant,
                         int quant_embed, const char *model_path, const char *req_path,
                         ed_error *err) {
    if (access(model_path, R_OK) != 0) {
        log_info("writing random-weight %s to %s", a->name, model_path);
        if (preset_write_random(spec, model_path, dtype, quant, quant_embed, 1234, err))
            return ED_ERR;
    } else {
        log_info("random-weight %s: %s (kept from an earlier run)", a->name, model_path);
    }
    FILE *f = fopen(req_path, "w");
    if (!f) return ed_fail(err, "%s: cannot create", req_path);
    unsigned st = 42;
    for (int r = 0; r < a->batch; r++) {
        if (a->encode_only)
            fprintf(f, "{\"id\": %d, \"encode_only\": true, \"pooling\": \"mean\", "
                       "\"input_ids\": [", r);
        else
            fprintf(f, "{\"id\": %d, \"max_new_tokens\": %d, \"min_new_tokens\": %d, "
                       "\"beam_width\": %d, \"input_ids\": [", r, a->output_len, a->output_len,
                    a->beams);
        int len = request_len(a, r);
        for (int t = 0; t < len; t++) {
            st = st * 1664525u + 1013904223u;
            int id = t == len - 1 ? spec->eos_id : 3 + (int)(st >> 8) % (spec->vocab_size - 3);
            fprintf(f, t ? ",%d" : "%d", id);
        }
        fprintf(f, "]}\n");
    }
    return fclose(f) ? ed_fail(err, "%s: write failed", req_path) : ED_OK;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    log_init(rank);
    bench_args a;
    int parsed = parse(argc, argv, &a, rank);
    if (parsed) {
        MPI_Finalize();
        return parsed < 0 ? 0 : parsed;
    }
    ed_error err;
    model_spec spec;
    run_config cfg;
    config_defaults(&cfg);
    const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char model_path[1024], req_path[1024], out_path[1024], num[32];
    snprintf(req_path, sizeof req_path, "%s/encdec_bench_requests_%d.jsonl", tmpdir, (int)getpid());
    snprintf(out_path, sizeof out_path, "%s/encdec_bench_responses_%d.jsonl", tmpdir, (int)getpid());
    /* Rank 0's file names go to everyone (pids differ per rank). */
    MPI_Bcast(req_path, sizeof req_path, MPI_CHAR, 0, MPI_COMM_WORLD);
    MPI_Bcast(out_path, sizeof out_path, MPI_CHAR, 0, MPI_COMM_WORLD);
    int ok = preset_spec(a.name, &spec, &err) == ED_OK &&
             config_set(&cfg, "backend", a.backend, "--backend", &err) == ED_OK &&
             config_set(&cfg, "dtype", a.dtype, "--dtype", &err) == ED_OK &&
             config_set(&cfg, "lm_head_split", a.lm_head, "--lm-head-split", &err) == ED_OK;
    for (int i = 0; ok && i < a.n_sets; i++) {
        char key[64];
        const char *eq = strchr(a.sets[i], '=');
        snprintf(key, sizeof key, "%.*s", (int)(eq - a.sets[i]), a.sets[i]);
        ok = config_set(&cfg, key, eq + 1, "--set", &err) == ED_OK;
    }
    const char *dtype = dtype_name(config_dtype(&cfg)); /* auto resolved for the backend */
    /* With --set quantize=int8|fp8 (and quantize_embeddings=on) the random weights are stored
     * quantized, as encdec_convert --quantize writes them: half the bytes to write and load
     * (flan-t5-xxl: 11 GB instead of 22), nothing quantized at load. */
    const int file_quant =
        cfg.quantize == QUANT_INT8 || cfg.quantize == QUANT_FP8 ? cfg.quantize : QUANT_NONE;
    const int file_quant_embed = file_quant != QUANT_NONE && cfg.quantize_embeddings == 1;
    snprintf(model_path, sizeof model_path, "%s", a.model_file ? a.model_file : "");
    char dir[900];
    if (ok && !a.model_file && rank == 0) { /* rank 0 writes it; the others read its path */
        ok = bench_cache_dir(a.cache_dir, dir, sizeof dir, &err) == ED_OK;
        if (ok)
            snprintf(model_path, sizeof model_path, "%s/encdec_bench_%s_%s%s%s%s.h5", dir,
                     a.name, dtype, file_quant ? "_" : "",
                     file_quant ? quant_names[file_quant] : "",
                     file_quant_embed ? "_embeddings" : "");
    }
    MPI_Bcast(model_path, sizeof model_path, MPI_CHAR, 0, MPI_COMM_WORLD);
    if (ok && rank == 0)
        ok = prepare(&a, &spec, config_dtype(&cfg), file_quant, file_quant_embed, model_path,
                     req_path, &err) == ED_OK;
    int all_ok = ok;
    MPI_Allreduce(&ok, &all_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (!all_ok) {
        if (!ok) log_error("%s", err.msg);
        MPI_Finalize();
        return 1;
    }
    snprintf(cfg.model, sizeof cfg.model, "%s", model_path);
    snprintf(cfg.requests, sizeof cfg.requests, "%s", req_path);
    snprintf(cfg.output, sizeof cfg.output, "%s", out_path);
    cfg.tp = size;
    cfg.max_batch_size = a.batch * a.beams; /* decode slots: one per beam */
    cfg.max_input_len = a.input_len;
    cfg.max_output_len = a.output_len;
    cfg.stats_every = 0;
    (void)num;
    comm *c = NULL;
    engine *e = NULL;
    const backend *be = NULL;
    size_t free_before = 0;
    if (config_validate(&cfg, &err) || comm_create_mpi(&c, &err) ||
        !(be = backend_get(cfg.backend, comm_local_rank(c), &err))) {
        log_error("%s", err.msg);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    const double copy_gbps = rank == 0 ? measure_copy_gb_per_s(be) : 0.0; /* rank 0 reports */
    free_before = be->free_memory();
    if (engine_create(&e, &cfg, c, &err)) { /* every rank agreed on it: a clean exit */
        log_error("%s", err.msg);
        comm_destroy(c);
        MPI_Finalize();
        return 1;
    }
    /* A warm-up round (lazy kernel loading, GEMM algorithm choice), then the measured one. */
    if (engine_run(e, &err) || engine_restart(e, req_path, out_path, &err) || engine_run(e, &err)) {
        log_error("%s", err.msg);
        comm_abort(c, 1);
    }
    engine_report r;
    engine_get_report(e, &r);
    double allreduce_ms = size > 1 && !a.encode_only
                              ? time_step_allreduces(c, be, (size_t)a.batch * a.beams * spec.d_model,
                                                     3 * spec.dec_layers)
                              : 0.0;
    /* Memory is planned at start-up, so what the run holds at its end is its peak. It is the
     * device's free memory before less after, not ours alone: another process that frees or
     * takes memory meanwhile (the run before it) moves it either way; signed, since a run once
     * printed a wrapped 1.8e13 MB. */
    const double device_mb =
        cfg.backend == BACKEND_CUDA
            ? ((double)free_before - (double)be->free_memory()) / 1048576.0
            : 0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (rank == 0) {
        double step_ms = r.decode_steps ? 1e3 * r.decode_s / r.decode_steps : 0;
        double mean_len = 0.0;
        for (int q = 0; q < a.batch; q++) mean_len += request_len(&a, q) / (double)a.batch;
        const int kv_dtype = config_kv_dtype(&cfg);
        const step_workload sw = {a.batch, a.beams, mean_len, a.output_len,
                                  dtype_bytes(config_dtype(&cfg)), dtype_bytes(kv_dtype), size,
                                  r.quant != 0, r.quant_embed, kv_dtype == DTYPE_FP8};
        const double floor_ms = a.encode_only ? 0.0 : step_floor_ms(&spec, &sw, copy_gbps);
        printf("{\"model\": \"%s\", \"backend\": \"%s\", \"dtype\": \"%s\", "
               "\"quantize\": \"%s\", \"quantize_embeddings\": %d, \"kv_cache_dtype\": \"%s\", "
               "\"tp\": %d, "
               "\"lm_head_split\": \"%s\", \"batch\": %d, \"input_len\": %d, "
               "\"input_len_min\": %d, \"output_len\": %d, "
               "\"requests_done\": %ld, \"encoder_ms\": %.3f, \"decode_ms_per_step\": %.3f, "
               "\"decode_steps\": %ld, \"argmax_steps\": %ld, \"output_tokens_per_s\": %.1f, \"wall_s\": %.3f, "
               "\"peak_host_rss_mb\": %.1f, \"device_mem_mb\": %.1f, \"encode_only\": %d, "
               "\"encoder_tokens_per_s\": %.1f, \"allreduce_ms_per_step\": %.3f, "
               "\"allreduce_share\": %.3f, \"host_ms_per_step\": %.3f, "
               "\"copy_gb_per_s\": %.1f, \"floor_ms_per_step\": %.4f, "
               "\"step_over_floor\": %.2f}\n",
               a.name, a.backend, dtype, quant_names[r.quant], r.quant_embed,
               dtype_name(kv_dtype), size, a.lm_head, a.batch, a.input_len, a.input_min,
               a.output_len,
               r.requests_done, 1e3 * r.encode_s, step_ms, r.decode_steps, r.argmax_steps,
               r.wall_s > 0 && !a.encode_only ? (double)r.requests_done * a.output_len / r.wall_s
                                              : 0.0,
               r.wall_s, ru.ru_maxrss / 1024.0,
               device_mb, a.encode_only, r.encode_s > 0 ? r.encoder_tokens / r.encode_s : 0.0,
               allreduce_ms, step_ms > 0 && allreduce_ms > 0 ? allreduce_ms / step_ms : 0.0,
               r.decode_steps ? 1e3 * r.host_s / r.decode_steps : 0.0, copy_gbps, floor_ms,
               floor_ms > 0 ? step_ms / floor_ms : 0.0);
        remove(req_path);
        remove(out_path);
    }
    engine_destroy(e);
    comm_destroy(c);
    MPI_Finalize();
    return 0;
}
