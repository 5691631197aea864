#include "runtime/config.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

typedef enum {
    KEY_STRING,
    KEY_INT,
    KEY_ENUM,
    KEY_MEMORY,  /* double: "auto" = 0, bytes with an optional K/M/G[i][B] suffix, or 0 < f <= 1 */
    KEY_FRACTION /* double: "auto" = 0, or 0 < f < 1 */
} key_type;

/* One row per config key: the only place a key exists. */
typedef struct config_key {
    const char *name;
    key_type type;
    size_t offset;            /* field offset in run_config */
    const char *default_value;
    long min, max;            /* KEY_INT range, inclusive */
    const char *const *enums; /* KEY_ENUM names, index = stored value; NULL-terminated */
    const char *help;
} config_key;

static const char *const lm_head_names[] = {"vocab", "replicated", NULL};
static const char *const on_off_names[] = {"off", "on", NULL};
static const char *const policy_names[] = {"guaranteed_no_evict", "max_utilization", NULL};

#define FIELD(f) offsetof(run_config, f)
static const config_key config_schema[] = {
    {"model", KEY_STRING, FIELD(model), "", 0, 0, NULL, "path to the converted .h5 model"},
    {"backend", KEY_ENUM, FIELD(backend), "cpu", 0, 0, backend_names, "cpu | cuda"},
    {"dtype", KEY_ENUM, FIELD(dtype), "auto", 0, 0, dtype_names,
     "weight matrices: fp32 | fp16 | bf16 | auto (bf16 on cuda, fp32 on cpu)"},
    {"tp", KEY_INT, FIELD(tp), "1", 1, 1024, NULL, "tensor-parallel size (= MPI ranks)"},
    {"max_batch_size", KEY_INT, FIELD(max_batch_size), "8", 1, 65536, NULL,
     "sequences decoded together"},
    {"max_input_len", KEY_INT, FIELD(max_input_len), "512", 1, 1 << 20, NULL, "tokens"},
    {"max_output_len", KEY_INT, FIELD(max_output_len), "128", 1, 1 << 20, NULL,
     "decoder tokens after the start token"},
    {"requests", KEY_STRING, FIELD(requests), "-", 0, 0, NULL, "JSON Lines requests, - = stdin"},
    {"output", KEY_STRING, FIELD(output), "-", 0, 0, NULL, "JSON Lines responses, - = stdout"},
    {"stats_every", KEY_INT, FIELD(stats_every), "10", 0, 86400, NULL,
     "seconds between progress lines (0 = summary only)"},
    {"lm_head_split", KEY_ENUM, FIELD(lm_head_split), "vocab", 0, 0, lm_head_names,
     "vocab: LM head rows split over ranks, logits gathered to rank 0; replicated: rank 0 "
     "computes all logits"},
    {"kv_cache_dtype", KEY_ENUM, FIELD(kv_cache_dtype), "auto", 0, 0, dtype_names,
     "KV cache elements: fp32 | fp16 | bf16 | auto (fp16 with 16-bit weights, saturating at "
     "+-65504; fp32 with fp32 weights)"},
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
    {"scheduler_policy", KEY_ENUM, FIELD(scheduler_policy), "guaranteed_no_evict", 0, 0,
     policy_names, "guaranteed_no_evict | max_utilization"},
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

/* "auto" -> 0; "8GiB", "512MB", "1073741824" -> bytes; "0.9" -> fraction. -1 if malformed. */
static double parse_memory(const char *v) {
    if (!strcmp(v, "auto")) return 0;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || errno || x <= 0) return -1;
    static const struct { const char *suffix; double mult; } units[] = {
        {"", 1}, {"B", 1}, {"K", 1e3}, {"KB", 1e3}, {"KiB", 1024.0}, {"M", 1e6}, {"MB", 1e6},
        {"MiB", 1048576.0}, {"G", 1e9}, {"GB", 1e9}, {"GiB", 1073741824.0}, {"T", 1e12},
        {"TB", 1e12}, {"TiB", 1099511627776.0}};
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (!strcmp(end, units[i].suffix)) {
            if (x <= 1 && units[i].mult > 1) return -1; /* "1GiB" fine, "0.5GiB" odd: reject */
            return x * units[i].mult;
        }
    return -1;
}

static ed_status apply(run_config *cfg, const config_key *k, const char *value, const char *where,
                       ed_error *err) {
    char *field = (char *)cfg + k->offset;
    switch (k->type) {
    case KEY_MEMORY: {
        double x = parse_memory(value);
        if (x < 0)
            return ed_fail(err, "%s: key '%s': '%s' is not a size (8GiB, 512MB, bytes), a "
                                "fraction of free memory in (0, 1], or auto", where, k->name, value);
        *(double *)field = x;
        return ED_OK;
    }
    case KEY_FRACTION: {
        char *end;
        double x = strcmp(value, "auto") ? strtod(value, &end) : 0;
        if (strcmp(value, "auto") && (end == value || *end || x <= 0 || x >= 1))
            return ed_fail(err, "%s: key '%s': '%s' is not a fraction in (0, 1) or auto", where,
                           k->name, value);
        *(double *)field = x;
        return ED_OK;
    }
    case KEY_STRING: {
        size_t n = strlen(value);
        if (n >= 1024) return ed_fail(err, "%s: key '%s': value is too long", where, k->name);
        memcpy(field, value, n + 1);
        return ED_OK;
    }
    case KEY_INT: {
        char *end = NULL;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (!*value || *end || errno)
            return ed_fail(err, "%s: key '%s': expected an integer, got '%s'", where, k->name,
                           value);
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

static ed_status load_document(run_config *cfg, yaml_parser_t *parser, const char *origin,
                               ed_error *err) {
    yaml_document_t doc;
    if (!yaml_parser_load(parser, &doc))
        return ed_fail(err, "%s:%zu: YAML syntax error: %s", origin,
                       parser->problem_mark.line + 1, parser->problem ? parser->problem : "?");
    ed_status st = ED_OK;
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) goto done; /* empty file: all defaults */
    if (root->type != YAML_MAPPING_NODE) {
        st = ed_fail(err, "%s:%zu: the config must be a mapping of key: value", origin,
                     root->start_mark.line + 1);
        goto done;
    }
    unsigned char seen[N_KEYS] = {0};
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = yaml_document_get_node(&doc, p->key);
        yaml_node_t *vn = yaml_document_get_node(&doc, p->value);
        size_t line = kn->start_mark.line + 1;
        if (kn->type != YAML_SCALAR_NODE) {
            st = ed_fail(err, "%s:%zu: keys must be plain scalars", origin, line);
            goto done;
        }
        const char *key = (const char *)kn->data.scalar.value;
        const config_key *k = find_key(key);
        if (!k) {
            st = ed_fail(err, "%s:%zu: unknown config key '%s'", origin, line, key);
            goto done;
        }
        if (seen[k - config_schema]++) {
            st = ed_fail(err, "%s:%zu: key '%s' is given twice", origin, line, key);
            goto done;
        }
        if (vn->type != YAML_SCALAR_NODE) {
            st = ed_fail(err, "%s:%zu: key '%s': expected a scalar value", origin,
                         vn->start_mark.line + 1, key);
            goto done;
        }
        char where[1100];
        snprintf(where, sizeof where, "%s:%zu", origin, vn->start_mark.line + 1);
        if (apply(cfg, k, (const char *)vn->data.scalar.value, where, err) != ED_OK) {
            st = ED_ERR;
            goto done;
        }
    }
done:
    yaml_document_delete(&doc);
    return st;
}

ed_status config_load_string(run_config *cfg, const char *yaml, const char *origin,
                             ed_error *err) {
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) return ed_fail(err, "%s: out of memory", origin);
    yaml_parser_set_input_string(&parser, (const unsigned char *)yaml, strlen(yaml));
    ed_status st = load_document(cfg, &parser, origin, err);
    yaml_parser_delete(&parser);
    return st;
}

ed_status config_load_file(run_config *cfg, const char *path, ed_error *err) {
    FILE *f = fopen(path, "rb");
    if (!f) return ed_fail(err, "%s: cannot open config: %s", path, strerror(errno));
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return ed_fail(err, "%s: out of memory", path);
    }
    yaml_parser_set_input_file(&parser, f);
    ed_status st = load_document(cfg, &parser, path, err);
    yaml_parser_delete(&parser);
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
    return ED_OK;
}
