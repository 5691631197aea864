#include "runtime/config.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "runtime/scheduler.h"
#include "tests/unit/check.h"

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

/* Loads one "key: value" line over the defaults. */
static ed_status load1(run_config *c, const char *key, const char *value, ed_error *err) {
    char text[256];
    snprintf(text, sizeof text, "model: m.h5\n%s: %s\n", key, value);
    config_defaults(c);
    return config_load_string(c, text, "t.yaml", err);
}

/* text of n copies of unit after prefix, NUL-terminated (caller frees) */
static char *repeat(const char *prefix, const char *unit, size_t n) {
    size_t lp = strlen(prefix), lu = strlen(unit);
    char *s = malloc(lp + lu * n + 1);
    memcpy(s, prefix, lp);
    for (size_t i = 0; i < n; i++) memcpy(s + lp + i * lu, unit, lu);
    s[lp + lu * n] = 0;
    return s;
}

/* Every nesting refused at its first nested start, fast: 1M levels in well under a second. */
static void test_deep_nesting(void) {
    static const struct { const char *prefix, *unit, *msg; } cases[] = {
        {"model: ", "[", "expected a scalar value"},
        {"model: ", "{", "expected a scalar value"},
        {"", "[", "mapping"},
        {"", "{", "keys must be plain scalars"},
        {"", "- ", "mapping"},
        {"model:\n", " -", "expected a scalar value"},
    };
    run_config c;
    ed_error err;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = repeat(cases[i].prefix, cases[i].unit, 1000000);
        double t0 = now_s();
        config_defaults(&c);
        CHECK(config_load_string(&c, text, "deep.yaml", &err) == ED_ERR);
        double dt = now_s() - t0;
        CHECK_MSG(err, cases[i].msg);
        CHECK_MSG(err, "deep.yaml:");
        if (dt > 0.25) fprintf(stderr, "deep nesting case %zu took %.3f s\n", i, dt);
        CHECK(dt < 0.25);
        free(text);
    }
}

/* max_input_len / max_output_len default to what the model allows (issue 22, "The first hour,
 * mended"): auto until config_resolve_lengths sets them from the position table (or the
 * documented 512 with relative positions); an explicit value over the table is refused naming
 * its key, and the derived-count checks run on the resolved lengths. */
static void test_lengths_from_model(void) {
    run_config c;
    ed_error err;
    config_defaults(&c);
    CHECK(c.max_input_len == CONFIG_LEN_AUTO && c.max_output_len == CONFIG_LEN_AUTO);
    CHECK(config_load_string(&c, "model: m.h5\n", "t.yaml", &err) == ED_OK &&
          config_validate(&c, &err) == ED_OK);
    /* a BART with 256 positions on defaults: no refusal, the whole table */
    CHECK(config_resolve_lengths(&c, 256, &err) == ED_OK);
    CHECK(c.max_input_len == 256 && c.max_output_len == 255);
    /* relative positions (T5): the documented default */
    config_defaults(&c);
    CHECK(config_load_string(&c, "model: m.h5\n", "t.yaml", &err) == ED_OK);
    CHECK(config_resolve_lengths(&c, 0, &err) == ED_OK);
    CHECK(c.max_input_len == 512 && c.max_output_len == 512);
    /* "auto" written out; one explicit, one auto */
    CHECK(load1(&c, "max_input_len", "auto", &err) == ED_OK && c.max_input_len == CONFIG_LEN_AUTO);
    CHECK(load1(&c, "max_input_len", "40", &err) == ED_OK);
    CHECK(config_resolve_lengths(&c, 64, &err) == ED_OK);
    CHECK(c.max_input_len == 40 && c.max_output_len == 63);
    CHECK(config_set(&c, "max_output_len", "auto", "--set", &err) == ED_OK &&
          c.max_output_len == CONFIG_LEN_AUTO);
    CHECK(load1(&c, "max_output_len", "lots", &err) == ED_ERR);
    CHECK_MSG(err, "t.yaml:2: key 'max_output_len': expected an integer or auto, got 'lots'");
    /* explicit values over the table: refused, naming the key */
    CHECK(load1(&c, "max_input_len", "100", &err) == ED_OK);
    CHECK(config_resolve_lengths(&c, 64, &err) == ED_ERR);
    CHECK_MSG(err, "key 'max_input_len' (100) exceeds the model's max_position_embeddings (64)");
    CHECK(load1(&c, "max_output_len", "64", &err) == ED_OK);
    CHECK(config_resolve_lengths(&c, 64, &err) == ED_ERR);
    CHECK_MSG(err, "key 'max_output_len' (64) + the start token exceeds the model's "
                   "max_position_embeddings (64)");
    CHECK(load1(&c, "max_output_len", "63", &err) == ED_OK);
    CHECK(config_resolve_lengths(&c, 64, &err) == ED_OK && c.max_output_len == 63);
    /* relative positions have no table: explicit lengths stand */
    CHECK(load1(&c, "max_input_len", "4096", &err) == ED_OK);
    CHECK(config_resolve_lengths(&c, 0, &err) == ED_OK && c.max_input_len == 4096 &&
          c.max_output_len == 512);
    /* a table of one row leaves no output position */
    CHECK(load1(&c, "max_input_len", "1", &err) == ED_OK);
    CHECK(config_resolve_lengths(&c, 1, &err) == ED_ERR);
    CHECK_MSG(err, "key 'max_output_len' (auto)");
    /* the derived counts are checked on the resolved lengths */
    CHECK(load1(&c, "max_batch_size", "65536", &err) == ED_OK && config_validate(&c, &err) == ED_OK);
    CHECK(config_resolve_lengths(&c, 1024, &err) == ED_ERR);
    CHECK_MSG(err, "'max_batch_size' (65536) x 'max_input_len' (1024)");
}

/* Writes text to dir/name; 1 on success. */
static int write_file(const char *dir, const char *name, const char *text) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f) return 0;
    fputs(text, f);
    return fclose(f) == 0;
}

/* Paths written in a config file name files beside it (issue 22): relative ones are prefixed
 * with the config's folder; absolute ones, "-" and "" are kept; flags and text stay as given. */
static void test_paths_against_config_folder(void) {
    char dir[256];
    snprintf(dir, sizeof dir, "%s/test_config.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    CHECK(mkdtemp(dir) != NULL);
    CHECK(write_file(dir, "rel.yaml", "model: m.h5\nrequests: sub/r.jsonl\noutput: \"-\"\n"));
    CHECK(write_file(dir, "abs.yaml", "model: /models/m.h5\nrequests: \"-\"\noutput: ../o.jsonl\n"));
    run_config c;
    ed_error err;
    char path[512], want[512];
    config_defaults(&c);
    snprintf(path, sizeof path, "%s/rel.yaml", dir);
    CHECK(config_load_file(&c, path, &err) == ED_OK);
    snprintf(want, sizeof want, "%s/m.h5", dir);
    CHECK(!strcmp(c.model, want));
    snprintf(want, sizeof want, "%s/sub/r.jsonl", dir);
    CHECK(!strcmp(c.requests, want));
    CHECK(!strcmp(c.output, "-"));
    /* a flag after the file: relative to the working directory */
    CHECK(config_set(&c, "requests", "r.jsonl", "--requests", &err) == ED_OK &&
          !strcmp(c.requests, "r.jsonl"));
    config_defaults(&c);
    snprintf(path, sizeof path, "%s/abs.yaml", dir);
    CHECK(config_load_file(&c, path, &err) == ED_OK);
    CHECK(!strcmp(c.model, "/models/m.h5") && !strcmp(c.requests, "-"));
    snprintf(want, sizeof want, "%s/../o.jsonl", dir);
    CHECK(!strcmp(c.output, want));
    /* a path the folder makes too long is refused, naming the key */
    char *text = repeat("model: ", "m", 1020);
    CHECK(write_file(dir, "long.yaml", text));
    free(text);
    config_defaults(&c);
    snprintf(path, sizeof path, "%s/long.yaml", dir);
    CHECK(config_load_file(&c, path, &err) == ED_ERR);
    CHECK_MSG(err, "long.yaml:1: key 'model': value is too long");
    /* text has no folder */
    config_defaults(&c);
    CHECK(config_load_string(&c, "model: m.h5\n", "t.yaml", &err) == ED_OK && !strcmp(c.model, "m.h5"));
    for (const char *const *n = (const char *const[]){"rel.yaml", "abs.yaml", "long.yaml", NULL}; *n;
         n++) {
        snprintf(path, sizeof path, "%s/%s", dir, *n);
        remove(path);
    }
    CHECK(rmdir(dir) == 0);
}

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

    /* kv_memory: a value with a unit is bytes, every unit; a bare number <= 1 a fraction. */
    static const struct { const char *v; double bytes; } sizes[] = {
        {"1GiB", 1073741824.0}, {"1GB", 1e9}, {"1MiB", 1048576.0}, {"1KB", 1e3},
        {"1TiB", 1099511627776.0}, {"1KiB", 1024.0}, {"1M", 1e6}, {"0.5GiB", 536870912.0},
        {"1.5GB", 1.5e9}, {"1000B", 1e3}, {"4096", 4096.0}, {"1e9", 1e9}};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (load1(&c, "kv_memory", sizes[i].v, &err) != ED_OK || c.kv_memory != sizes[i].bytes)
            fprintf(stderr, "kv_memory: %s -> %g (%s)\n", sizes[i].v, c.kv_memory, err.msg);
        CHECK(load1(&c, "kv_memory", sizes[i].v, &err) == ED_OK && c.kv_memory == sizes[i].bytes);
    }
    CHECK(load1(&c, "kv_memory", "1", &err) == ED_OK && c.kv_memory == 1.0); /* all free memory */
    CHECK(load1(&c, "kv_memory", "0.25", &err) == ED_OK && c.kv_memory == 0.25);
    /* one byte is not "all free memory" (as 1 would be), it is too small: refused */
    static const char *const bad_sizes[] = {"1B", "999B", "0.5KB", "2", "999", "1.5",
                                            "nan", "NaN", "inf", "-inf", ".inf", "infinity",
                                            "1e300", "1e400", "1e300GiB", "2PiB", "1e16",
                                            "-1", "0", "0GiB", "0x100000", "1 GiB", "1gib",
                                            "", "GiB", "1e", "+1"};
    for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
        ed_status st = load1(&c, "kv_memory", bad_sizes[i], &err);
        if (st != ED_ERR) fprintf(stderr, "kv_memory: '%s' accepted as %g\n", bad_sizes[i],
                                  c.kv_memory);
        CHECK(st == ED_ERR);
        CHECK_MSG(err, "t.yaml:2: key 'kv_memory'");
    }
    CHECK(load1(&c, "kv_memory", "1B", &err) == ED_ERR);
    CHECK_MSG(err, "out of range [1KB, 1PiB]");
    CHECK(load1(&c, "kv_memory", "1e300", &err) == ED_ERR);
    CHECK_MSG(err, "out of range");

    /* Every float key refuses nan, inf and out-of-range values, naming the key and line. */
    static const char *const bad_fractions[] = {"nan", "NaN", ".nan", "inf", "-inf", ".inf",
                                                "1e300", "1", "0", "-0.5", "1.5", "0x0.8",
                                                "0.5x", ""};
    for (size_t i = 0; i < sizeof bad_fractions / sizeof bad_fractions[0]; i++) {
        ed_status st = load1(&c, "cross_kv_fraction", bad_fractions[i], &err);
        if (st != ED_ERR) fprintf(stderr, "cross_kv_fraction: '%s' accepted as %g\n",
                                  bad_fractions[i], c.cross_kv_fraction);
        CHECK(st == ED_ERR);
        CHECK_MSG(err, "t.yaml:2: key 'cross_kv_fraction'");
    }
    CHECK(load1(&c, "cross_kv_fraction", "0.5", &err) == ED_OK && c.cross_kv_fraction == 0.5);
    CHECK(load1(&c, "cross_kv_fraction", "2.5e-1", &err) == ED_OK && c.cross_kv_fraction == 0.25);
    CHECK(load1(&c, "cross_kv_fraction", "auto", &err) == ED_OK && c.cross_kv_fraction == 0);
    CHECK(config_set(&c, "cross_kv_fraction", "nan", "--cross_kv_fraction", &err) == ED_ERR);
    CHECK_MSG(err, "--cross_kv_fraction: key 'cross_kv_fraction'");
    CHECK(config_set(&c, "kv_memory", "inf", "--kv_memory", &err) == ED_ERR);
    CHECK_MSG(err, "key 'kv_memory'");

    /* One document only: a second one is refused, naming its line. */
    config_defaults(&c);
    CHECK(config_load_string(&c, "model: a.h5\n---\ntp: 2\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "t.yaml:2: a second YAML document");
    CHECK(config_load_string(&c, "---\nmodel: a.h5\n...\n---\nmodel: b.h5\n", "t.yaml",
                             &err) == ED_ERR);
    CHECK_MSG(err, "t.yaml:4");
    config_defaults(&c);
    CHECK(config_load_string(&c, "---\nmodel: a.h5\n...\n", "t.yaml", &err) == ED_OK &&
          !strcmp(c.model, "a.h5"));
    CHECK(config_load_string(&c, "", "t.yaml", &err) == ED_OK);
    CHECK(config_load_string(&c, "# only a comment\n", "t.yaml", &err) == ED_OK);
    /* aliases would let a small file expand; a config has no use for them */
    CHECK(config_load_string(&c, "model: &m a.h5\nrequests: *m\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "t.yaml:2: key 'requests': YAML aliases");
    CHECK(config_load_string(&c, "model: x\n? [a]\n: 1\n", "t.yaml", &err) == ED_ERR);
    CHECK_MSG(err, "keys must be plain scalars");

    /* Oversized config: refused with the cap named, from a file and from a string. */
    {
        char path[] = "/tmp/encdec_test_config_XXXXXX";
        int fd = mkstemp(path);
        FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
        CHECK(f != NULL);
        if (f) {
            fputs("model: m.h5\n", f);
            for (int i = 0; i < CONFIG_MAX_FILE_BYTES / 63 + 2; i++)
                fprintf(f, "# %060d\n", i); /* 63 bytes a line */
            fclose(f);
            config_defaults(&c);
            CHECK(config_load_file(&c, path, &err) == ED_ERR);
            CHECK_MSG(err, path);
            CHECK_MSG(err, "larger than 4 MiB");
            remove(path);
        }
        char *big = repeat("model: m.h5\n", "# padding padding padding padding\n",
                           CONFIG_MAX_FILE_BYTES / 32);
        CHECK(config_load_string(&c, big, "big.yaml", &err) == ED_ERR);
        CHECK_MSG(err, "big.yaml: the config is larger than 4 MiB");
        free(big);
        /* a real config file still loads */
        char ok[] = "/tmp/encdec_test_config_XXXXXX";
        fd = mkstemp(ok);
        f = fd >= 0 ? fdopen(fd, "w") : NULL;
        CHECK(f != NULL);
        if (f) {
            fputs("model: m.h5\nkv_memory: 1GiB\nmax_batch_size: 32\n", f);
            fclose(f);
            config_defaults(&c);
            CHECK(config_load_file(&c, ok, &err) == ED_OK && c.max_batch_size == 32 &&
                  c.kv_memory == 1073741824.0);
            remove(ok);
        }
    }

    /* Derived sizes: in-range keys whose products overflow int are refused, naming the keys. */
    config_defaults(&c);
    CHECK(config_load_string(&c, "model: m.h5\nmax_batch_size: 65536\nmax_input_len: 1048576\n",
                             "t.yaml", &err) == ED_OK); /* each key in range */
    CHECK(config_validate(&c, &err) == ED_ERR);
    CHECK_MSG(err, "'max_batch_size' (65536) x 'max_input_len' (1048576)");
    config_defaults(&c);
    CHECK(config_load_string(&c, "model: m.h5\nmax_batch_size: 4096\nmax_input_len: 64\n"
                             "max_output_len: 1048576\n", "t.yaml", &err) == ED_OK);
    CHECK(config_validate(&c, &err) == ED_ERR);
    CHECK_MSG(err, "'max_output_len' (1048576)");
    config_defaults(&c); /* just over the cap: 2^12 x 2^12 + 2^12 x (2^12 + 1) blocks of 1 */
    CHECK(config_load_string(&c, "model: m.h5\nmax_batch_size: 4096\nmax_input_len: 2048\n"
                             "max_output_len: 4095\nkv_block_size: 1\n", "t.yaml", &err) == ED_OK);
    CHECK(config_validate(&c, &err) == ED_ERR);
    CHECK_MSG(err, "'kv_block_size'");
    CHECK(config_set(&c, "kv_block_size", "16", "--kv_block_size", &err) == ED_OK &&
          config_validate(&c, &err) == ED_OK);
    /* The scheduler's plan bound, in 64 bits: -1 past the cap config_validate enforces (the old
     * int product wrapped to 0 or a negative size here), exact below it. */
    scheduler_config sc = {.max_running = 65536, .block_size = 1, .max_input_len = 1 << 20,
                           .max_output_len = 1 << 20};
    CHECK(scheduler_max_plan_blocks(&sc) == -1);
    sc = (scheduler_config){.max_running = 4096, .block_size = 1, .max_input_len = 2048,
                            .max_output_len = 4095};
    CHECK(scheduler_max_plan_blocks(&sc) == -1); /* 2^24 + 2^23: within int, over the cap */
    sc.block_size = 16;
    CHECK(scheduler_max_plan_blocks(&sc) == 4096 * (256 + 128));
    sc = (scheduler_config){.max_running = 8, .block_size = 16, .max_input_len = 512,
                            .max_output_len = 128};
    CHECK(scheduler_max_plan_blocks(&sc) == 8 * (9 + 32));
    sc = (scheduler_config){.max_running = 65536, .block_size = 1, .max_input_len = 1 << 20,
                            .max_output_len = INT_MAX - 1};
    CHECK(scheduler_max_plan_blocks(&sc) == -1);
    config_defaults(&c); /* large but sane */
    CHECK(config_load_string(&c, "model: m.h5\nmax_batch_size: 1024\nmax_input_len: 16384\n"
                             "max_output_len: 4096\nmax_request_bytes: 64MiB\n", "t.yaml",
                             &err) == ED_OK);
    CHECK(config_validate(&c, &err) == ED_OK);

    /* max_request_bytes: default 1 MiB, a whole number of bytes with an optional unit, within
     * [64KiB, 1GiB], and room for a request of max_input_len ids. */
    config_defaults(&c);
    CHECK(c.max_request_bytes == 1 << 20);
    CHECK(load1(&c, "max_request_bytes", "64KiB", &err) == ED_OK &&
          c.max_request_bytes == 65536);
    CHECK(load1(&c, "max_request_bytes", "8388608", &err) == ED_OK &&
          c.max_request_bytes == 8 << 20);
    CHECK(load1(&c, "max_request_bytes", "1GiB", &err) == ED_OK && c.max_request_bytes == 1 << 30);
    static const char *const bad_req[] = {"65535", "1KB", "2GiB", "1e300", "nan", "inf", "-1",
                                          "100.0005KB", "lots", ""};
    for (size_t i = 0; i < sizeof bad_req / sizeof bad_req[0]; i++) {
        CHECK(load1(&c, "max_request_bytes", bad_req[i], &err) == ED_ERR);
        CHECK_MSG(err, "t.yaml:2: key 'max_request_bytes'");
    }
    CHECK(load1(&c, "max_input_len", "1048576", &err) == ED_OK);
    CHECK(config_validate(&c, &err) == ED_ERR);
    CHECK_MSG(err, "key 'max_request_bytes' (1048576)");
    CHECK_MSG(err, "'max_input_len' (1048576)");
    CHECK(config_set(&c, "max_request_bytes", "4MiB", "--max_request_bytes", &err) == ED_OK &&
          config_validate(&c, &err) == ED_OK);

    test_lengths_from_model();
    test_paths_against_config_folder();
    test_deep_nesting(); /* last: the old parser never returned from it */
    TEST_MAIN_END("test_config");
}
