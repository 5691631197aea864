#include "runtime/config.h"
#include "tests/unit/check.h"

int main(void) {
    run_config c;
    ed_error err;
    config_defaults(&c);
    CHECK(c.tp == 1 && c.max_batch_size == 8 && c.backend == BACKEND_CPU && c.dtype == DTYPE_AUTO &&
          config_dtype(&c) == DTYPE_FP32);
    CHECK(!strcmp(c.requests, "-") && !strcmp(c.output, "-"));

    CHECK(config_load_string(&c, "model: m.h5\ntp: 2\nmax_batch_size: 16\ndtype: fp32\n", "t.yaml",
                             &err) == ED_OK);
    CHECK(c.tp == 2 && c.max_batch_size == 16 && !strcmp(c.model, "m.h5"));
    CHECK(config_validate(&c, &err) == ED_OK);

    config_defaults(&c);
    CHECK(config_load_string(&c, "model: m.h5\n\nmax_batchsize: 3\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "t.yaml:3");
    CHECK_MSG(err, "unknown config key 'max_batchsize'");

    CHECK(config_load_string(&c, "tp: two\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "key 'tp'");
    CHECK_MSG(err, "t.yaml:1");
    CHECK(config_load_string(&c, "model: x\nmax_input_len: 0\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "t.yaml:2");
    CHECK_MSG(err, "out of range");
    CHECK(config_load_string(&c, "backend: tpu\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "'tpu' is not one of cpu | cuda");
    CHECK(config_load_string(&c, "tp: 1\ntp: 2\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "given twice");
    CHECK(config_load_string(&c, "model: [a, b]\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "expected a scalar");
    CHECK(config_load_string(&c, "- a\n- b\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "mapping");
    CHECK(config_load_string(&c, "model: 'unterminated\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "YAML syntax error");

    config_defaults(&c);
    CHECK(c.kv_memory == 0 && c.cross_kv_fraction == 0 && c.kv_block_size == 16);
    CHECK(config_load_string(&c, "kv_memory: 2GiB\ncross_kv_fraction: 0.25\n"
                                 "scheduler_policy: max_utilization\n", "t.yaml", &err) == ED_OK);
    CHECK(c.kv_memory == 2147483648.0 && c.cross_kv_fraction == 0.25);
    CHECK(c.scheduler_policy == POLICY_MAX_UTILIZATION);
    CHECK(config_load_string(&c, "kv_memory: 0.9\n", "t.yaml", &err) == ED_OK && c.kv_memory == 0.9);
    CHECK(config_load_string(&c, "kv_memory: 512MB\n", "t.yaml", &err) == ED_OK && c.kv_memory == 512e6);
    CHECK(config_load_string(&c, "kv_memory: lots\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "key 'kv_memory'");
    CHECK(config_load_string(&c, "cross_kv_fraction: 1.5\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "key 'cross_kv_fraction'");
    CHECK(config_load_string(&c, "scheduler_policy: greedy\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "guaranteed_no_evict | max_utilization");

    config_defaults(&c);
    CHECK(config_validate(&c, &err) == ED_ERR);
    CHECK_MSG(err, "'model' is required");
    CHECK(config_set(&c, "output", "out.jsonl", "--output", &err) == ED_OK);
    CHECK(!strcmp(c.output, "out.jsonl"));
    CHECK(config_set(&c, "bogus", "1", "--bogus", &err) == ED_ERR);
    CHECK(config_load_file(&c, "/nonexistent/run.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "/nonexistent/run.yaml");
    TEST_MAIN_END("test_config");
}
