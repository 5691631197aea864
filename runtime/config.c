#include "runtime/config.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/quant.h"

typedef enum {
    KEY_STRING,
    KEY_PATH,     /* a string naming a file; relative ones in a config file are against its folder */
    KEY_INT,
    KEY_ENUM,
    KEY_MEMORY,   /* double: "auto" = 0, a size with a unit (bytes), or a bare 0 < f <= 1 */
    KEY_FRACTION, /* double: "auto" = 0, or 0 < f < 1 */
    KEY_BYTES,    /* int: a whole number of bytes, optionally with a unit (64KiB), in [min, max] */
    KEY_LENGTH    /* int: "auto" = CONFIG_LEN_AUTO (0, set from the model), or KEY_INT's range */
} key_type;

/* One row per config key: the only place a key exists. */
typedef struct config_key {
    const char *name;
    key_type type;
    size_t offset;            /* field offset in run_config */
    const char *default_value;
    long min, max;            /* KEY_INT and KEY_BYTES range, inclusive */
    const char *const *enums; /* KEY_ENUM names, index = stored value; NULL-terminated */
    const char *help;
} config_key;

static const char *const lm_head_names[] = {"vocab", "replicated", NULL};
static const char *const on_off_names[] = {"off", "on", NULL};
static const char *const on_off_auto_names[] = {"off", "on", "auto", NULL};
static const char *const policy_names[] = {"guaranteed_no_evict", "max_utilization", NULL};

#define FIELD(f) offsetof(run_config, f)
static const config_key config_schema[] = {
    {"model", KEY_PATH, FIELD(model), "", 0, 0, NULL, "path to the converted .h5 model"},
    {"backend", KEY_ENUM, FIELD(backend), "cpu", 0, 0, backend_names, "cpu | cuda"},
    {"dtype", KEY_ENUM, FIELD(dtype), "auto", 0, 0, dtype_names,
     "weight matrices: fp32 | fp16 | bf16 | auto (bf16 on cuda, fp32 on cpu)"},
    {"quantize", KEY_ENUM, FIELD(quantize), "auto", 0, 0, quant_names,
     "projection matrices: none | int8 | fp8 (weight-only, a scale per output row) | auto (as "
     "the model file stores them)"},
    {"quantize_embeddings", KEY_ENUM, FIELD(quantize_embeddings), "auto", 0, 0,
     on_off_auto_names, "token embedding and LM head quantized as the projections: on | off | "
     "auto (as the model file stores them)"},
    {"tp", KEY_INT, FIELD(tp), "1", 1, 1024, NULL, "tensor-parallel size (= MPI ranks)"},
    {"max_batch_size", KEY_INT, FIELD(max_batch_size), "8", 1, 65536, NULL,
     "sequences decoded together"},
    {"max_input_len", KEY_LENGTH, FIELD(max_input_len), "auto", 1, 1 << 20, NULL,
     "tokens; auto: the model's position table rows, 512 with relative positions"},
    {"max_output_len", KEY_LENGTH, FIELD(max_output_len), "auto", 1, 1 << 20, NULL,
     "decoder tokens after the start token; auto: the position table rows - 1, 512 with "
     "relative positions"},
    {"requests", KEY_PATH, FIELD(requests), "-", 0, 0, NULL, "JSON Lines requests, - = stdin"},
    {"output", KEY_PATH, FIELD(output), "-", 0, 0, NULL, "JSON Lines responses, - = stdout"},
    {"stats_every", KEY_INT, FIELD(stats_every), "10", 0, 86400, NULL,
     "seconds between progress lines (0 = summary only)"},
    {"lm_head_split", KEY_ENUM, FIELD(lm_head_split), "vocab", 0, 0, lm_head_names,
     "vocab: LM head rows split over ranks, logits gathered to rank 0; replicated: rank 0 "
     "computes all logits"},
    {"kv_cache_dtype", KEY_ENUM, FIELD(kv_cache_dtype), "auto", 0, 0, kv_dtype_names,
     "KV cache elements: fp32 | fp16 | bf16 | fp8 (E4M3, a scale per position and head; cpu "
     "backend) | auto (fp16 with 16-bit weights, saturating at +-65504; fp32 with fp32 weights)"},
    {"kv_block_size", KEY_INT, FIELD(kv_block_size), "16", 1, 4096, NULL, "tokens per KV block"},
    {"kv_memory", KEY_MEMORY, FIELD(kv_memory), "auto", 0, 0, NULL,
     "KV bytes per rank (e.g. 8GiB), a fraction of free memory (0.9), or auto"},
    {"cross_kv_fraction", KEY_FRACTION, FIELD(cross_kv_fraction), "auto", 0, 0, NULL,
     "share of kv_memory for the cross-attention pool"},
    {"max_kv_tokens", KEY_INT, FIELD(max_kv_tokens), "0", 0, 1 << 30, NULL,
     "cap on the self-attention pool, tokens (0 = none)"},
    {"max_cross_kv_tokens", KEY_INT, FIELD(max_cross_kv_tokens), "0", 0, 1 << 30, NULL,
     "cap on the cross-attention pool, tokens (0 = none)"},
    {"device_argmax", KEY_ENUM, FIELD(device_argmax), "on", 0, 0, on_off_names,
     "on: steps where every sequence is greedy without logits processors pick tokens on the "
     "device (no logits copied to the host); off: always copy logits"},
    {"cuda_graphs", KEY_ENUM, FIELD(cuda_graphs), "on", 0, 0, on_off_names,
     "on: decoder steps are recorded once per batch size and replayed (cuda backend; one rank "
     "or NCCL); off: every kernel launched each step"},
    {"joint_gemms", KEY_ENUM, FIELD(joint_gemms), "on", 0, 0, on_off_names,
     "on: the decoder's Q/K/V, and both gated-FFN inputs, each from one GEMM where the layer's "
     "weights lie back to back (every real shape), and with bf16 weights a plain ReLU FFN's "
     "activation in its GEMM's epilogue; off: one GEMM per projection, the activation a kernel"},
    /* off: measured slower for t5-base at batch 1 and 8, faster for flan-t5-xl at batch 1
     * (H100, docs/PERFORMANCE.md) */
    {"fused_norms", KEY_ENUM, FIELD(fused_norms), "off", 0, 0, on_off_names,
     "on: one-rank decoder steps of pre-RMSNorm models with 16-bit unquantized weights (T5 "
     "family) fold each norm into the GEMM after it and add each sublayer's output to the "
     "residual in its output projection; off: a norm kernel per sublayer"},
    {"scheduler_policy", KEY_ENUM, FIELD(scheduler_policy), "guaranteed_no_evict", 0, 0,
     policy_names, "guaranteed_no_evict | max_utilization"},
    /* on: no cost without repeats, measured on an H100 and on the CPU (docs/PERFORMANCE.md) */
    {"encoder_cache", KEY_ENUM, FIELD(encoder_cache), "on", 0, 0, on_off_names,
     "on: a request whose input ids repeat a cached input shares its cross-KV blocks and skips "
     "its encoder pass; idle cached blocks are freed whenever admission needs them"},
    {"encoder_cache_blocks", KEY_INT, FIELD(encoder_cache_blocks), "0", 0, 1 << 30, NULL,
     "most cross-KV blocks the encoder cache keeps idle (0 = no cap: the free cross pool)"},
    {"warmup", KEY_ENUM, FIELD(warmup), "on", 0, 0, on_off_names,
     "on (with http_port): before /health reports ready, synthetic requests time the encoder's "
     "GEMMs for every class of pass sizes and record the decoder graph of every batch size, so "
     "that the first clients do not pay for it; off: the first requests do"},
    {"admission_wait_ms", KEY_INT, FIELD(admission_wait_ms), "0", 0, 60000, NULL,
     "while requests decode, how long a new request may wait for others to share its encoder "
     "pass (each pass has a fixed cost); 0 = admitted at the next step"},
    {"admission_group", KEY_INT, FIELD(admission_group), "0", 0, 1 << 20, NULL,
     "admissions held under admission_wait_ms go ahead once this many requests are queued (or "
     "they fill every free decode slot); 0 = max_batch_size"},
    {"max_request_bytes", KEY_BYTES, FIELD(max_request_bytes), "1MiB", 64 << 10, 1 << 30, NULL,
     "longest request line, bytes (64KiB .. 1GiB); a longer one is refused unread"},
    {"watchdog_s", KEY_INT, FIELD(watchdog_s), "60", 0, 86400, NULL,
     "seconds a rank waits for a collective or the next step plan before it ends the job, "
     "naming itself and the step (a stopped or hung peer); 0 = wait forever"},
    {"http_port", KEY_INT, FIELD(http_port), "0", 0, 65535, NULL,
     "TCP port of the OpenAI-compatible HTTP server on rank 0 (docs/SERVING.md); 0 = none"},
    {"http_host", KEY_STRING, FIELD(http_host), "127.0.0.1", 0, 0, NULL,
     "IPv4 address the server listens on (0.0.0.0 = every interface)"},
    {"api_key", KEY_STRING, FIELD(api_key), "", 0, 0, NULL,
     "when set, API requests need 'Authorization: Bearer KEY'"},
    {"served_model_name", KEY_STRING, FIELD(served_model_name), "", 0, 0, NULL,
     "the model name the API answers to (default: the model file's name without .h5)"},
    {"max_queue", KEY_INT, FIELD(max_queue), "256", 1, 1 << 20, NULL,
     "HTTP requests accepted and not yet answered; beyond it the server answers 429"},
    {"max_body_bytes", KEY_BYTES, FIELD(max_body_bytes), "1MiB", 1 << 10, 1 << 30, NULL,
     "largest HTTP request body, bytes; a larger one is answered 413 unread"},
    {"drain_timeout_s", KEY_INT, FIELD(drain_timeout_s), "30", 0, 86400, NULL,
     "after a drain signal, seconds in-flight requests may still run before they are aborted"},
    {"http_threads_max", KEY_INT, FIELD(http_threads_max), "512", 1, 65536, NULL,
     "HTTP connections served at once (one thread each)"},
};
#define N_KEYS (sizeof config_schema / sizeof config_schema[0])


int config_dtype(const run_config *cfg) {
    if (cfg->dtype != DTYPE_AUTO) return cfg->dtype;
    return cfg->backend == BACKEND_CUDA ? DTYPE_BF16 : DTYPE_FP32;
}
int config_kv_dtype(const run_config *cfg) {
    if (cfg->kv_cache_dtype != DTYPE_AUTO) return cfg->kv_cache_dtype;
    return config_dtype(cfg) == DTYPE_FP32 ? DTYPE_FP32 : DTYPE_FP16;
}

static const config_key *find_key(const char *name) {
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(config_schema[i].name, name)) return &config_schema[i];
    return NULL;
}

/* Reads a plain decimal number (digits, an optional fraction, an optional exponent; no sign,
 * hex, inf or nan) at the start of v into *x and points *end past it. 0 if there is none or it
 * is not finite (1e400). */
static int scan_decimal(const char *v, double *x, const char **end) {
    const char *p = v;
    size_t int_digits = strspn(p, "0123456789");
    p += int_digits;
    size_t frac_digits = 0;
    if (*p == '.') {
        frac_digits = strspn(p + 1, "0123456789");
        p += 1 + frac_digits;
    }
    if (int_digits + frac_digits == 0) return 0;
    if (*p == 'e' || *p == 'E') {
        const char *q = p + 1 + (p[1] == '+' || p[1] == '-');
        size_t exp_digits = strspn(q, "0123456789");
        if (exp_digits) p = q + exp_digits;
    }
    char *stop;
    errno = 0;
    *x = strtod(v, &stop);
    if (stop != p || !isfinite(*x)) return 0;
    *end = p;
    return 1;
}

/* A number with an optional byte unit (B, K, KB, KiB, ... TiB; decimal units are powers of 1000,
 * binary ones of 1024). *bytes = the value times the unit; *unit = 1 when a unit was written.
 * 0 if malformed or not finite. */
static int parse_size(const char *v, double *bytes, int *unit) {
    static const struct { const char *suffix; double mult; } units[] = {
        {"B", 1}, {"K", 1e3}, {"KB", 1e3}, {"KiB", 1024.0}, {"M", 1e6}, {"MB", 1e6},
        {"MiB", 1048576.0}, {"G", 1e9}, {"GB", 1e9}, {"GiB", 1073741824.0}, {"T", 1e12},
        {"TB", 1e12}, {"TiB", 1099511627776.0}};
    double x;
    const char *end;
    if (!scan_decimal(v, &x, &end)) return 0;
    if (!*end) {
        *bytes = x;
        *unit = 0;
        return 1;
    }
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].suffix)) {
            *bytes = x * units[i].mult;
            *unit = 1;
            return isfinite(*bytes);
        }
    return 0;
}

/* kv_memory: "auto" -> 0; a number with a unit ("8GiB", "512MB", "1B") -> bytes; a bare number
 * in (0, 1] -> a fraction of free memory; a bare whole number > 1 -> bytes. Bytes must lie in
 * [CONFIG_MIN_KV_BYTES, CONFIG_MAX_KV_BYTES], so a stored value > 1 is always bytes. */
static ed_status parse_memory(const char *v, double *out, const char *where, const char *key,
                              ed_error *err) {
    if (!strcmp(v, "auto")) {
        *out = 0;
        return ED_OK;
    }
    double x;
    int unit;
    if (!parse_size(v, &x, &unit) || x <= 0)
        return ed_fail(err, "%s: key '%s': '%s' is not a size (8GiB, 512MB, bytes), a fraction "
                            "of free memory in (0, 1], or auto", where, key, v);
    if (!unit && x <= 1) {
        *out = x;
        return ED_OK;
    }
    if (!unit && x != floor(x))
        return ed_fail(err, "%s: key '%s': '%s' is neither a fraction of free memory in (0, 1] nor "
                            "a whole number of bytes", where, key, v);
    if (x < CONFIG_MIN_KV_BYTES || x > CONFIG_MAX_KV_BYTES)
        return ed_fail(err, "%s: key '%s': '%s' is %.6g bytes, out of range [1KB, 1PiB] (a "
                            "fraction of free memory is a bare number in (0, 1])", where, key, v,
                       x);
    *out = floor(x);
    return ED_OK;
}

static ed_status apply(run_config *cfg, const config_key *k, const char *value, const char *where,
                       ed_error *err) {
    char *field = (char *)cfg + k->offset;
    switch (k->type) {
    case KEY_MEMORY:
        return parse_memory(value, (double *)field, where, k->name, err);
    case KEY_FRACTION: {
        double x = 0;
        const char *end;
        if (strcmp(value, "auto") && (!scan_decimal(value, &x, &end) || *end || x <= 0 || x >= 1))
            return ed_fail(err, "%s: key '%s': '%s' is not a fraction in (0, 1) or auto", where,
                           k->name, value);
        *(double *)field = x;
        return ED_OK;
    }
    case KEY_BYTES: {
        double x;
        int unit;
        if (!parse_size(value, &x, &unit) || x != floor(x))
            return ed_fail(err, "%s: key '%s': '%s' is not a whole number of bytes (1048576, "
                                "1MiB, 64KiB)", where, k->name, value);
        if (x < (double)k->min || x > (double)k->max)
            return ed_fail(err, "%s: key '%s': '%s' is out of range [%ld, %ld] bytes", where,
                           k->name, value, k->min, k->max);
        *(int *)field = (int)x;
        return ED_OK;
    }
    case KEY_STRING:
    case KEY_PATH: {
        size_t n = strlen(value);
        if (n >= 1024) return ed_fail(err, "%s: key '%s': value is too long", where, k->name);
        memcpy(field, value, n + 1);
        return ED_OK;
    }
    case KEY_LENGTH:
    case KEY_INT: {
        if (k->type == KEY_LENGTH && !strcmp(value, "auto")) {
            *(int *)field = CONFIG_LEN_AUTO;
            return ED_OK;
        }
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno)
            return ed_fail(err, "%s: key '%s': expected an integer%s, got '%s'", where, k->name,
                           k->type == KEY_LENGTH ? " or auto" : "", value);
        if (v < k->min || v > k->max)
            return ed_fail(err, "%s: key '%s': %ld is out of range [%ld, %ld]", where, k->name, v,
                           k->min, k->max);
        *(int *)field = (int)v;
        return ED_OK;
    }
    case KEY_ENUM:
        for (int i = 0; k->enums[i]; i++)
            if (!strcmp(k->enums[i], value)) {
                *(int *)field = i;
                return ED_OK;
            }
        {
            char allowed[128] = "";
            for (int i = 0; k->enums[i]; i++) {
                strncat(allowed, i ? " | " : "", sizeof allowed - strlen(allowed) - 1);
                strncat(allowed, k->enums[i], sizeof allowed - strlen(allowed) - 1);
            }
            return ed_fail(err, "%s: key '%s': '%s' is not one of %s", where, k->name, value,
                           allowed);
        }
    }
    return ed_fail(err, "%s: key '%s': bad schema type", where, k->name);
}

void config_defaults(run_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    for (size_t i = 0; i < N_KEYS; i++) {
        ed_status st = apply(cfg, &config_schema[i], config_schema[i].default_value, "default",
                             NULL);
        (void)st; /* defaults are in range by construction */
    }
}

ed_status config_set(run_config *cfg, const char *key, const char *value, const char *origin,
                     ed_error *err) {
    const config_key *k = find_key(key);
    if (!k) return ed_fail(err, "%s: unknown config key '%s'", origin, key);
    return apply(cfg, k, value, origin, err);
}

/* A KEY_PATH value written in a config file: a relative path names a file beside the config, so
 * it is prefixed with the config's folder `dir` (as written: relative to the working directory
 * when the config path is). Absolute paths, "-" (stdin / stdout), "" and a NULL dir (a config
 * in the working directory, or text) leave the value as it is. */
static ed_status apply_path(run_config *cfg, const config_key *k, const char *value,
                            const char *dir, const char *where, ed_error *err) {
    if (!dir || !*value || value[0] == '/' || !strcmp(value, "-"))
        return apply(cfg, k, value, where, err);
    char joined[2048];
    int n = snprintf(joined, sizeof joined, "%s%s%s", dir, dir[strlen(dir) - 1] == '/' ? "" : "/",
                     value);
    if (n < 0 || (size_t)n >= sizeof joined)
        return ed_fail(err, "%s: key '%s': value is too long", where, k->name);
    return apply(cfg, k, joined, where, err);
}

/* The config is one mapping of scalars, read event by event: the parser stops at the first
 * nested collection, alias or second document, so no input builds a tree or nests deeply
 * (libyaml has no depth limit of its own). dir: the config file's folder (apply_path), or NULL. */
static ed_status load_events(run_config *cfg, yaml_parser_t *parser, const char *origin,
                             const char *dir, ed_error *err) {
    unsigned char seen[N_KEYS] = {0};
    const config_key *key = NULL; /* the key whose value comes next; NULL: a key comes next */
    int documents = 0, in_root = 0;
    ed_status st = ED_OK;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(parser, &ev))
            return ed_fail(err, "%s:%zu: YAML syntax error: %s", origin,
                           parser->problem_mark.line + 1, parser->problem ? parser->problem : "?");
        size_t line = ev.start_mark.line + 1;
        int stream_end = ev.type == YAML_STREAM_END_EVENT;
        switch (ev.type) {
        case YAML_STREAM_START_EVENT:
        case YAML_DOCUMENT_END_EVENT:
        case YAML_STREAM_END_EVENT:
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (documents++)
                st = ed_fail(err, "%s:%zu: a second YAML document: the config is one mapping of "
                                  "key: value", origin, line);
            break;
        case YAML_MAPPING_START_EVENT:
        case YAML_SEQUENCE_START_EVENT:
        case YAML_SCALAR_EVENT:
        case YAML_ALIAS_EVENT:
            if (!in_root) {
                if (ev.type == YAML_MAPPING_START_EVENT) in_root = 1;
                else st = ed_fail(err, "%s:%zu: the config must be a mapping of key: value",
                                  origin, line);
            } else if (ev.type == YAML_ALIAS_EVENT) {
                st = ed_fail(err, "%s:%zu: %s%s%s: YAML aliases are not supported", origin, line,
                             key ? "key '" : "a key", key ? key->name : "", key ? "'" : "");
            } else if (ev.type != YAML_SCALAR_EVENT) {
                if (key) st = ed_fail(err, "%s:%zu: key '%s': expected a scalar value", origin,
                                      line, key->name);
                else st = ed_fail(err, "%s:%zu: keys must be plain scalars", origin, line);
            } else if (!key) {
                const char *name = (const char *)ev.data.scalar.value;
                key = find_key(name);
                if (!key) st = ed_fail(err, "%s:%zu: unknown config key '%s'", origin, line, name);
                else if (seen[key - config_schema]++)
                    st = ed_fail(err, "%s:%zu: key '%s' is given twice", origin, line, name);
            } else {
                char where[1100];
                snprintf(where, sizeof where, "%s:%zu", origin, line);
                st = key->type == KEY_PATH
                         ? apply_path(cfg, key, (const char *)ev.data.scalar.value, dir, where, err)
                         : apply(cfg, key, (const char *)ev.data.scalar.value, where, err);
                key = NULL;
            }
            break;
        case YAML_MAPPING_END_EVENT: /* the root's: anything nested was refused at its start */
        case YAML_SEQUENCE_END_EVENT:
        case YAML_NO_EVENT:
            break;
        }
        yaml_event_delete(&ev);
        if (st != ED_OK || stream_end) return st;
    }
}

/* Parses len bytes of YAML text (not NUL-terminated necessarily); dir as for load_events. */
static ed_status load_text(run_config *cfg, const char *text, size_t len, const char *origin,
                           const char *dir, ed_error *err) {
    if (len > CONFIG_MAX_FILE_BYTES)
        return ed_fail(err, "%s: the config is larger than %d MiB: a run config is a few keys",
                       origin, CONFIG_MAX_FILE_BYTES >> 20);
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return ed_fail(err, "%s: out of memory", origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    ed_status st = load_events(cfg, &parser, origin, dir, err);
    yaml_parser_delete(&parser);
    return st;
}

ed_status config_load_string(run_config *cfg, const char *yaml, const char *origin,
                             ed_error *err) {
    return load_text(cfg, yaml, strlen(yaml), origin, NULL, err);
}

ed_status config_load_file(run_config *cfg, const char *path, ed_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return ed_fail(err, "%s: cannot open config: %s", path, strerror(errno));
    /* One byte over the cap tells an oversized file (or endless stream) without reading it all. */
    char *text = malloc((size_t)CONFIG_MAX_FILE_BYTES + 1);
    if (!text) {
        fclose(f);
        return ed_fail(err, "%s: out of memory", path);
    }
    size_t len = fread(text, 1, (size_t)CONFIG_MAX_FILE_BYTES + 1, f);
    ed_status st;
    if (ferror(f)) st = ed_fail(err, "%s: cannot read config: %s", path, strerror(errno));
    else {
        /* the folder paths in the file are relative to: up to the last '/', NULL for none */
        char dir[1100];
        const char *slash = strrchr(path, '/');
        int dir_len = slash ? (slash == path ? 1 : (int)(slash - path)) : 0;
        snprintf(dir, sizeof dir, "%.*s", dir_len, path);
        if (slash && (size_t)dir_len >= sizeof dir)
            st = ed_fail(err, "%s: the config's folder name is too long", path);
        else st = load_text(cfg, text, len, path, slash ? dir : NULL, err);
    }
    free(text);
    fclose(f);
    return st;
}

ed_status config_validate(const run_config *cfg, ed_error *err) {
    if (!cfg->model[0]) return ed_fail(err, "config: key 'model' is required (path to the .h5)");
#ifndef ENCDEC_HAVE_CUDA
    if (cfg->backend == BACKEND_CUDA)
        return ed_fail(err, "config: key 'backend': this build has no CUDA backend "
                            "(configure with -DENCDEC_CUDA=ON on a machine with CUDA and NCCL)");
#endif
    /* Every count the engine and scheduler derive, in 64 bits, before any of them is an int. A
     * length still auto counts as 1 here; config_resolve_lengths checks again once it is set. */
    long long B = cfg->max_batch_size, bs = cfg->kv_block_size;
    long long in = cfg->max_input_len == CONFIG_LEN_AUTO ? 1 : cfg->max_input_len;
    long long out1 = (cfg->max_output_len == CONFIG_LEN_AUTO ? 1 : cfg->max_output_len) + 1LL;
    long long enc_tokens = B * in, self_tokens = B * out1;
    long long plan_blocks = B * ((out1 + bs - 1) / bs + (in + bs - 1) / bs);
    if (enc_tokens > CONFIG_MAX_DERIVED)
        return ed_fail(err, "config: keys 'max_batch_size' (%lld) x 'max_input_len' (%lld) = %lld "
                            "encoder tokens per step, above the limit %d: lower either",
                       B, in, enc_tokens, CONFIG_MAX_DERIVED);
    if (self_tokens > CONFIG_MAX_DERIVED)
        return ed_fail(err, "config: keys 'max_batch_size' (%lld) x ('max_output_len' (%lld) + 1) = "
                            "%lld decoder tokens at full length, above the limit %d: lower either",
                       B, out1 - 1, self_tokens, CONFIG_MAX_DERIVED);
    if (plan_blocks > CONFIG_MAX_DERIVED)
        return ed_fail(err, "config: keys 'max_batch_size', 'max_input_len', 'max_output_len' and "
                            "'kv_block_size' give %lld KV blocks in one step plan, above the limit "
                            "%d: lower the first three or raise kv_block_size",
                       plan_blocks, CONFIG_MAX_DERIVED);
    /* The shortest request with max_input_len ids: {"input_ids":[0,0,...,0]} */
    long long shortest = 16 + 2 * in;
    if (cfg->max_request_bytes < shortest)
        return ed_fail(err, "config: key 'max_request_bytes' (%d) cannot hold a request of "
                            "'max_input_len' (%lld) ids, which takes at least %lld bytes",
                       cfg->max_request_bytes, in, shortest);
    return ED_OK;
}

ed_status config_resolve_lengths(run_config *cfg, int position_rows, ed_error *err) {
    if (position_rows > 0) {
        if (cfg->max_input_len > position_rows)
            return ed_fail(err, "config: key 'max_input_len' (%d) exceeds the model's "
                                "max_position_embeddings (%d)", cfg->max_input_len, position_rows);
        if (cfg->max_output_len != CONFIG_LEN_AUTO && cfg->max_output_len + 1 > position_rows)
            return ed_fail(err, "config: key 'max_output_len' (%d) + the start token exceeds the "
                                "model's max_position_embeddings (%d)", cfg->max_output_len,
                           position_rows);
        if (cfg->max_output_len == CONFIG_LEN_AUTO && position_rows < 2)
            return ed_fail(err, "config: key 'max_output_len' (auto): the model's "
                                "max_position_embeddings (%d) leaves no position after the start "
                                "token", position_rows);
    }
    if (cfg->max_input_len == CONFIG_LEN_AUTO)
        cfg->max_input_len = position_rows > 0 ? position_rows : CONFIG_RELATIVE_DEFAULT_LEN;
    if (cfg->max_output_len == CONFIG_LEN_AUTO)
        cfg->max_output_len = position_rows > 0 ? position_rows - 1 : CONFIG_RELATIVE_DEFAULT_LEN;
    return config_validate(cfg, err);
}
