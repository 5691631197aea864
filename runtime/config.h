/* Run configuration: one YAML mapping of scalar keys, checked against one schema table
 * (runtime/config.c: config_schema[]). Unknown keys, wrong types and out-of-range values are
 * errors that name the key and its line. Hostile files are refused before they cost much: a file
 * over CONFIG_MAX_FILE_BYTES, any nesting (the parser stops at the first nested collection and
 * never builds a document tree), a second document, aliases, and non-finite numbers. */
#ifndef ENCDEC_CONFIG_H
#define ENCDEC_CONFIG_H

#include "common/dtype.h"
#include "common/status.h"
#include "kernels/backend_kind.h"


/* Largest config file (or string) accepted, bytes. */
#define CONFIG_MAX_FILE_BYTES (4 << 20)
/* Cap on every count derived from the batch and length keys, checked by config_validate: tokens
 * per encoder step (max_batch_size x max_input_len), tokens of max_batch_size full-length decoder
 * sequences (max_batch_size x (max_output_len + 1)) and the KV blocks one plan may name. Far above
 * what any device holds, and far enough below INT_MAX that the engine's int sizes never wrap. */
#define CONFIG_MAX_DERIVED (1 << 24)
/* kv_memory sizes, bytes: a size below 1KB holds no KV block; above 1 PiB is a typo. */
#define CONFIG_MIN_KV_BYTES 1000.0
#define CONFIG_MAX_KV_BYTES 1125899906842624.0

/* max_input_len / max_output_len "auto" (the default) until config_resolve_lengths sets them
 * from the model: a position table of N rows (BART, mBART) gives N and N - 1 (the start token
 * takes a position); relative positions (T5) give CONFIG_RELATIVE_DEFAULT_LEN each, T5's
 * pre-training input length. */
#define CONFIG_LEN_AUTO 0
#define CONFIG_RELATIVE_DEFAULT_LEN 512

typedef enum { LM_HEAD_VOCAB = 0, LM_HEAD_REPLICATED = 1 } lm_head_split_kind;
typedef enum { POLICY_GUARANTEED_NO_EVICT = 0, POLICY_MAX_UTILIZATION = 1 } scheduler_policy;

typedef struct run_config {
    char model[1024];    /* path to the converted .h5 model (required) */
    int backend;         /* backend_kind */
    int dtype;           /* ed_dtype as written; config_dtype() resolves auto */
    int quantize;        /* ed_quant (common/quant.h) of the projections; auto = as stored */
    int quantize_embeddings; /* 0 off, 1 on, 2 auto (as stored): embed and LM head quantized */
    int tp;              /* tensor-parallel size; must equal the number of MPI ranks */
    int max_batch_size;  /* most sequences decoded together in one step */
    int max_input_len;   /* longest accepted input, tokens; CONFIG_LEN_AUTO until resolved */
    int max_output_len;  /* most decoder tokens after the start token (prefix + generated);
                            CONFIG_LEN_AUTO until resolved */
    char requests[1024]; /* JSON Lines request file, "-" = stdin */
    char output[1024];   /* JSON Lines response file, "-" = stdout */
    int stats_every;     /* seconds between rank-0 progress lines; 0 = only the summary */
    int lm_head_split;   /* lm_head_split_kind */
    int kv_cache_dtype;  /* ed_dtype of the KV pools as written; config_kv_dtype() resolves auto */
    int kv_block_size;   /* tokens per KV block, both pools */
    double kv_memory;    /* 0 = auto (room for max_batch_size full-length sequences), a fraction
                            of free memory in (0, 1] (a bare number), or bytes per rank in
                            [CONFIG_MIN_KV_BYTES, CONFIG_MAX_KV_BYTES] (a number with a unit,
                            or a whole bare number > 1): the ranges do not meet, so > 1 means
                            bytes. Always finite. */
    double cross_kv_fraction; /* share of kv_memory for the cross pool, in (0, 1); 0 = auto (in
                                 proportion to max_input_len : max_output_len + 1). Finite. */
    int max_kv_tokens;        /* cap on the self pool, tokens; 0 = none */
    int max_cross_kv_tokens;  /* cap on the cross pool, tokens; 0 = none */
    int scheduler_policy;     /* scheduler_policy */
    int encoder_cache;        /* 1: repeated encoder inputs share cached cross-KV blocks */
    int encoder_cache_blocks; /* most idle blocks the encoder cache keeps; 0 = no cap */
    int warmup;               /* 1: with http_port, synthetic requests first (runtime/warmup.h) */
    int admission_wait_ms;    /* longest a queued request is held, while others decode, for
                                 more to share its encoder pass; 0 = admitted at once */
    int admission_group;      /* queued requests that end the hold early; 0 = max_batch_size */
    int device_argmax;        /* 1: greedy steps without processors pick tokens on the backend */
    int cuda_graphs;          /* 1: decoder steps recorded per batch size and replayed */
    int joint_gemms;          /* 1: joint Q/K/V and gated-FFN-input GEMMs where weights allow */
    int fused_norms;          /* 1: decoder pre-norms folded into their GEMMs where the model allows */
    int max_request_bytes;    /* longest request line (JSON Lines) accepted, bytes, in
                                 [64 KiB, 1 GiB]; the line reader refuses a longer one */
    int watchdog_s;           /* seconds a wait for a collective or the next plan may last before
                                 the rank ends the job (parallel/comm.h); 0 = no deadline */
    /* the HTTP server (docs/SERVING.md) */
    int http_port;            /* 0 = none (batch mode) */
    char http_host[1024];
    char api_key[1024];       /* "" = no key needed */
    char served_model_name[1024]; /* "" = the model file's base name */
    int max_queue;            /* HTTP requests in flight at most */
    int max_body_bytes;
    int drain_timeout_s;
    int http_threads_max;
} run_config;

/* Fills cfg with every key's default. */
void config_defaults(run_config *cfg);

/* Parses a YAML file over the defaults. Errors name the file, key and line. Relative paths in
 * it (model, requests, output) are taken against the file's folder; config_set's are not. */
ed_status config_load_file(run_config *cfg, const char *path, ed_error *err);

/* Parses YAML text (for tests); `origin` names it in messages. */
ed_status config_load_string(run_config *cfg, const char *yaml, const char *origin, ed_error *err);

/* Sets one key from a string value, as the CLI flags do (origin like "--requests"). */
ed_status config_set(run_config *cfg, const char *key, const char *value, const char *origin,
                     ed_error *err);

/* Checks that need more than one key (after file and flags are applied): among them that every
 * count derived from max_batch_size, max_input_len, max_output_len and kv_block_size stays within
 * CONFIG_MAX_DERIVED (computed in 64 bits), naming the keys. */
ed_status config_validate(const run_config *cfg, ed_error *err);

/* Once the model is known: sets max_input_len / max_output_len left auto from the model
 * (position_rows: rows of its learned position table, 0 for relative positions), refuses an
 * explicit value the table cannot hold (naming the key), then runs config_validate on the
 * result. */
ed_status config_resolve_lengths(run_config *cfg, int position_rows, ed_error *err);

/* The weight dtype the run uses: cfg->dtype, with auto resolved for cfg->backend. */
int config_dtype(const run_config *cfg);
/* The KV pools' element dtype: cfg->kv_cache_dtype; auto is fp16 with 16-bit weights (its 11-bit
 * significand keeps the bf16 fixtures' logits where fp32 KV has them, bf16 KV does not) and fp32
 * with fp32 weights. */
int config_kv_dtype(const run_config *cfg);


#endif
