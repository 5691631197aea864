/* libFuzzer harness: a YAML run config (the input as text, cut at its first NUL as a C string
 * would be) through config_load_string over the defaults, then config_validate and the dtype
 * resolvers. Every refusal must carry a message; an accepted config must hold finite, in-range
 * values. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/config.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = 0;
    run_config cfg;
    ed_error err;
    memset(&err, 0, sizeof err);
    config_defaults(&cfg);
    if (config_load_string(&cfg, text, "fuzz.yaml", &err) != ED_OK) {
        FUZZ_REQUIRE_MSG(err);
    } else {
        FUZZ_REQUIRE(memchr(cfg.model, 0, sizeof cfg.model) && memchr(cfg.requests, 0, sizeof cfg.requests) &&
                     memchr(cfg.output, 0, sizeof cfg.output));
        FUZZ_REQUIRE(isfinite(cfg.kv_memory) && cfg.kv_memory >= 0);
        FUZZ_REQUIRE(cfg.kv_memory <= 1 || (cfg.kv_memory >= CONFIG_MIN_KV_BYTES &&
                                            cfg.kv_memory <= CONFIG_MAX_KV_BYTES));
        FUZZ_REQUIRE(isfinite(cfg.cross_kv_fraction) && cfg.cross_kv_fraction >= 0 &&
                     cfg.cross_kv_fraction < 1);
        FUZZ_REQUIRE(cfg.tp >= 1 && cfg.max_batch_size >= 1 && cfg.kv_block_size >= 1);
        /* the lengths: >= 1, or auto until the model is known */
        FUZZ_REQUIRE(cfg.max_input_len >= 1 || cfg.max_input_len == CONFIG_LEN_AUTO);
        FUZZ_REQUIRE(cfg.max_output_len >= 1 || cfg.max_output_len == CONFIG_LEN_AUTO);
        memset(&err, 0, sizeof err);
        if (config_validate(&cfg, &err) != ED_OK) {
            FUZZ_REQUIRE_MSG(err);
        } else {
            int64_t enc = (int64_t)cfg.max_batch_size * cfg.max_input_len;
            int64_t dec = (int64_t)cfg.max_batch_size * (cfg.max_output_len + 1);
            FUZZ_REQUIRE(enc <= CONFIG_MAX_DERIVED && dec <= CONFIG_MAX_DERIVED);
        }
        FUZZ_ACCEPTED("config");
        (void)config_dtype(&cfg);
        (void)config_kv_dtype(&cfg);
    }
    free(text);
    return 0;
}
