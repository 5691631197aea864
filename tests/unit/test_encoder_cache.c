/* The encoder cache (runtime/encoder_cache.c) on its own, then through the scheduler without a
 * model (every sequence generates token 2 until max_new_tokens): repeats in one step and across
 * steps skip their encode entry and share the cross blocks; idle entries are evicted LRU when
 * admission needs room and never keep out a request that fits; without repeats the plans are
 * those of the cache off; preemption under max_utilization; pool accounting back to the start;
 * and the scheduler's CPU time per step with the cache on and off (printed). */
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "runtime/block_pool.h"
#include "runtime/config.h"
#include "runtime/encoder_cache.h"
#include "runtime/scheduler.h"
#include "runtime/serve_metrics.h"
#include "runtime/token_choice.h"
#include "tests/unit/check.h"
#include "tests/unit/make_request.h"

static void test_module(void) {
    block_pool *pool;
    encoder_cache *c;
    encoder_cache_stats st;
    ed_error err;
    CHECK(block_pool_create(&pool, 6, &err) == ED_OK);
    CHECK(encoder_cache_create(&c, pool, 0, &err) == ED_OK);
    const int32_t a[] = {3, 4, 1}, a_longer[] = {3, 4, 1, 1}, b[] = {4, 3, 1}, d[] = {7, 1};
    int32_t ba[2], bb[2], bd[2], got[2];

    CHECK(encoder_cache_find(c, a, 3) == -1);
    CHECK(block_pool_alloc(pool, 2, ba) == ED_OK);
    CHECK(encoder_cache_insert(c, a, 3, ba, 2, &err) == ED_OK); /* a miss: kept, one user */
    CHECK(block_pool_refcount(pool, ba[0]) == 2 && block_pool_refcount(pool, ba[1]) == 2);
    /* exact keys: a prefix, a longer input or other ids are other entries */
    CHECK(encoder_cache_find(c, a, 2) == -1 && encoder_cache_find(c, a_longer, 4) == -1);
    CHECK(encoder_cache_find(c, b, 3) == -1);
    int h = encoder_cache_find(c, a, 3);
    CHECK(h >= 0);
    CHECK(encoder_cache_take(c, h, got) == 2 && got[0] == ba[0] && got[1] == ba[1]);
    CHECK(block_pool_refcount(pool, ba[0]) == 3);
    encoder_cache_get_stats(c, &st);
    CHECK(st.hits == 1 && st.misses == 1 && st.entries == 1 && st.cached_blocks == 2 &&
          st.idle_blocks == 0);
    /* in use: make_room cannot take it */
    CHECK(block_pool_alloc(pool, 2, bb) == ED_OK && block_pool_alloc(pool, 2, bd) == ED_OK);
    CHECK(encoder_cache_make_room(c, 1) == 0);
    /* both users leave (release before their own references go): idle, blocks kept */
    encoder_cache_release(c, ba[0]);
    block_pool_free(pool, ba, 2);
    encoder_cache_get_stats(c, &st);
    CHECK(st.idle_blocks == 0); /* one user left */
    encoder_cache_release(c, got[0]);
    block_pool_free(pool, got, 2);
    encoder_cache_get_stats(c, &st);
    CHECK(st.idle_blocks == 2 && block_pool_free_count(pool) == 0);
    encoder_cache_release(c, bb[0]); /* no entry starts with it: nothing happens */
    encoder_cache_get_stats(c, &st);
    CHECK(st.idle_blocks == 2 && st.entries == 1);

    /* b and d cached too, then idle in the order d, a(used again), b: LRU is d */
    CHECK(encoder_cache_insert(c, b, 3, bb, 2, &err) == ED_OK);
    CHECK(encoder_cache_insert(c, d, 2, bd, 2, &err) == ED_OK);
    CHECK(encoder_cache_insert(c, d, 2, bd, 2, &err) == ED_OK); /* already cached: unchanged */
    encoder_cache_get_stats(c, &st);
    CHECK(st.entries == 3 && st.cached_blocks == 6 && block_pool_refcount(pool, bd[0]) == 2);
    encoder_cache_release(c, bd[0]);
    block_pool_free(pool, bd, 2);
    CHECK(encoder_cache_take(c, encoder_cache_find(c, a, 3), got) == 2);
    encoder_cache_release(c, got[0]);
    block_pool_free(pool, got, 2);
    encoder_cache_release(c, bb[0]);
    block_pool_free(pool, bb, 2);
    encoder_cache_get_stats(c, &st);
    CHECK(st.idle_blocks == 6 && block_pool_free_count(pool) == 0);
    CHECK(encoder_cache_make_room(c, 7) == 0); /* more than the pool: nothing evicted */
    encoder_cache_get_stats(c, &st);
    CHECK(st.evictions == 0 && st.entries == 3);
    CHECK(encoder_cache_make_room(c, 2) == 1);
    CHECK(encoder_cache_find(c, d, 2) == -1 && encoder_cache_find(c, a, 3) >= 0 &&
          encoder_cache_find(c, b, 3) >= 0);
    CHECK(block_pool_free_count(pool) == 2);
    CHECK(encoder_cache_make_room(c, 4) == 1); /* next LRU: a (used before b was released) */
    CHECK(encoder_cache_find(c, a, 3) == -1 && encoder_cache_find(c, b, 3) >= 0);
    encoder_cache_clear(c);
    encoder_cache_get_stats(c, &st);
    CHECK(st.entries == 0 && st.cached_blocks == 0 && st.idle_blocks == 0 && st.evictions == 3);
    CHECK(block_pool_free_count(pool) == 6);
    encoder_cache_destroy(c);

    /* A cap of 2 idle blocks: the second entry turning idle evicts the first. */
    CHECK(encoder_cache_create(&c, pool, 2, &err) == ED_OK);
    CHECK(block_pool_alloc(pool, 2, ba) == ED_OK && block_pool_alloc(pool, 1, bb) == ED_OK);
    CHECK(encoder_cache_insert(c, a, 3, ba, 2, &err) == ED_OK);
    CHECK(encoder_cache_insert(c, b, 3, bb, 1, &err) == ED_OK);
    encoder_cache_release(c, ba[0]);
    block_pool_free(pool, ba, 2);
    encoder_cache_release(c, bb[0]);
    block_pool_free(pool, bb, 1);
    encoder_cache_get_stats(c, &st);
    CHECK(st.entries == 1 && st.idle_blocks == 1 && st.evictions == 1);
    CHECK(encoder_cache_find(c, a, 3) == -1 && encoder_cache_find(c, b, 3) >= 0);
    encoder_cache_clear(c);
    CHECK(block_pool_free_count(pool) == 6);
    encoder_cache_destroy(c);
    /* Many entries: slots grow, every key still found. */
    block_pool *big;
    CHECK(block_pool_create(&big, 100, &err) == ED_OK);
    CHECK(encoder_cache_create(&c, big, 0, &err) == ED_OK);
    for (int32_t k = 0; k < 100; k++) {
        int32_t ids[2] = {k, 1}, blk;
        CHECK(block_pool_alloc(big, 1, &blk) == ED_OK);
        CHECK(encoder_cache_insert(c, ids, 2, &blk, 1, &err) == ED_OK);
        encoder_cache_release(c, blk);
        block_pool_free(big, &blk, 1);
    }
    int found = 0;
    for (int32_t k = 0; k < 100; k++) found += encoder_cache_find(c, (int32_t[]){k, 1}, 2) >= 0;
    CHECK(found == 100 && block_pool_free_count(big) == 0);
    CHECK(encoder_cache_make_room(c, 100) == 1 && block_pool_free_count(big) == 100);
    encoder_cache_destroy(c);
    block_pool_destroy(big);
    block_pool_destroy(pool);
}

/* ---- through the scheduler ---- */

static request *make(const char *text) { return make_request(text, 64, 64); }

static int finished;
static ed_status count_done(void *ctx, sequence *seq, ed_error *err) {
    (void)ctx, (void)err;
    finished++;
    sequence_destroy(seq);
    return ED_OK;
}

static step_batch *batch;
static token_choice *tc;

/* One engine iteration without a model: plan, feed every decode entry fixed logits, retire. */
static void step(scheduler *s, step_plan *p) {
    static const float logits[5] = {0, -9, 3, 1, 0};
    static float rows[64 * 5];
    ed_error err;
    step_plan_clear(p);
    CHECK(scheduler_build_plan(s, p, batch, &err) == ED_OK);
    token_choice_plan(tc, p, batch);
    for (int i = 0; i < p->n_decode; i++) memcpy(rows + 5 * i, logits, sizeof logits);
    token_choice_apply(tc, p, batch, rows, 1);
    CHECK(scheduler_finish_step(s, count_done, NULL, &err) == ED_OK);
}

static void submit(scheduler *s, const char *text) {
    ed_error err;
    request *r = make(text);
    CHECK(r && scheduler_submit(s, r, &err) == ED_OK);
}

/* The blocks decode entry i's cross table names. */
static const int32_t *cross_of(const step_plan *p, int i) { return p->blocks + p->dec[i].cross_blocks; }

static void run_until_idle(scheduler *s, step_plan *p) {
    scheduler_stats st;
    for (int i = 0; i < 200; i++) {
        scheduler_get_stats(s, &st);
        if (!st.running && !st.queued) return;
        step(s, p);
    }
    CHECK(!"the scheduler did not drain in 200 steps");
}

/* Every pool block is free, counting idle cached ones (cross_free does); and after the cache is
 * cleared, free in the pool itself. */
static void check_pools_back(scheduler *s, const scheduler_config *sc) {
    scheduler_stats st;
    scheduler_get_stats(s, &st);
    CHECK(st.self_free == sc->n_self_blocks);
    CHECK(st.cross_free == sc->n_cross_blocks);
    CHECK(st.cache_blocks == st.cache_idle_blocks);
    scheduler_clear_encoder_cache(s);
    scheduler_get_stats(s, &st);
    CHECK(st.cross_free == sc->n_cross_blocks && st.cache_blocks == 0);
}

/* X: 5 tokens = 2 cross blocks of 4; Y, Z other inputs of 2 blocks. */
#define X "\"input_ids\": [3,3,3,3,1]"
#define Y "\"input_ids\": [4,3,3,3,1]"
#define Z "\"input_ids\": [2,3,3,3,1]"
#define NEW4 ", \"max_new_tokens\": 4, \"min_new_tokens\": 4}"

static void test_repeats(scheduler_config sc) {
    ed_error err;
    scheduler *s;
    scheduler_stats st;
    step_plan *p = step_plan_create(4, 4, 64, scheduler_max_plan_blocks(&sc));
    CHECK(scheduler_create(&s, &sc, &err) == ED_OK);
    /* In one step: X, X (other decoding), Y: two encode entries, three decode entries, the X
     * pair reading the same cross blocks. */
    submit(s, "{\"id\": 1, " X NEW4);
    submit(s, "{\"id\": 2, " X ", \"max_new_tokens\": 2, \"beam_width\": 1}");
    submit(s, "{\"id\": 3, " Y NEW4);
    finished = 0;
    step(s, p);
    CHECK(p->n_encode == 2 && p->n_decode == 3 && p->n_ids == 10);
    CHECK(p->enc[0].len == 5 && p->enc[1].len == 5);
    CHECK(p->dec[0].cross_blocks == p->dec[1].cross_blocks); /* one table: read once (kv_share) */
    CHECK(p->dec[1].cross_len == 5);
    CHECK(cross_of(p, 0)[0] != cross_of(p, 2)[0]);
    CHECK(p->enc[0].cross_blocks == p->dec[0].cross_blocks); /* X's encoder fills what both read */
    scheduler_get_stats(s, &st);
    CHECK(st.cache_hits == 1 && st.cache_misses == 2 && st.cross_free == 4 && st.cache_blocks == 4);
    /* Across steps, while the first X still runs: no encode entry. */
    submit(s, "{\"id\": 4, " X NEW4);
    step(s, p);
    CHECK(p->n_encode == 0 && p->n_decode == 4);
    CHECK(!memcmp(cross_of(p, 0), cross_of(p, 3), 2 * sizeof(int32_t)));
    run_until_idle(s, p);
    CHECK(finished == 4);
    scheduler_get_stats(s, &st);
    CHECK(st.cache_hits == 2 && st.cache_idle_blocks == 4 && st.cross_free == 8);
    /* After every user left: still a hit. return_encoder_output and encode-only requests of the
     * same input always run their encoder pass and are not counted. */
    submit(s, "{\"id\": 5, " Y NEW4);
    submit(s, "{\"id\": 6, " X ", \"max_new_tokens\": 2, \"return_encoder_output\": true}");
    submit(s, "{\"id\": 7, " X ", \"encode_only\": true}");
    step(s, p);
    CHECK(p->n_encode == 2 && p->n_decode == 2 && p->enc[0].want_output && p->enc[1].want_output);
    CHECK(p->enc[1].cross_blocks == -1);                    /* encode-only: no cross K/V */
    CHECK(p->enc[0].cross_blocks == p->dec[1].cross_blocks); /* id 6 encodes into its own blocks */
    CHECK(cross_of(p, 1)[0] != cross_of(p, 0)[0]);
    scheduler_get_stats(s, &st);
    CHECK(st.cache_hits == 3 && st.cache_misses == 2);
    step_batch_clear(batch); /* the encode-only request, not answered here */
    run_until_idle(s, p);
    check_pools_back(s, &sc);
    scheduler_destroy(s);
    step_plan_destroy(p);
}

/* A cross pool of 4 blocks (two inputs): idle entries are evicted LRU when a new input needs the
 * room, and never keep out a request that fits. */
static void test_eviction(scheduler_config sc) {
    ed_error err;
    scheduler *s;
    scheduler_stats st;
    step_plan *p = step_plan_create(4, 4, 64, scheduler_max_plan_blocks(&sc));
    CHECK(scheduler_create(&s, &sc, &err) == ED_OK);
    submit(s, "{\"id\": 1, " X NEW4);
    run_until_idle(s, p);
    submit(s, "{\"id\": 2, " Y NEW4);
    run_until_idle(s, p);
    scheduler_get_stats(s, &st);
    CHECK(st.cross_free == 4 && st.cache_idle_blocks == 4 && st.cache_evictions == 0);
    submit(s, "{\"id\": 3, " Z NEW4); /* fits only by evicting X (least recently used) */
    step(s, p);
    CHECK(p->n_encode == 1);
    scheduler_get_stats(s, &st);
    CHECK(st.cache_evictions == 1 && st.running == 1);
    submit(s, "{\"id\": 4, " Y NEW4); /* a hit, beside Z */
    step(s, p);
    CHECK(p->n_encode == 0 && p->n_decode == 2);
    submit(s, "{\"id\": 5, " X NEW4); /* a miss with Y and Z in use: waits */
    step(s, p);
    scheduler_get_stats(s, &st);
    CHECK(p->n_encode == 0 && st.queued == 1 && st.cache_evictions == 1);
    run_until_idle(s, p);
    scheduler_get_stats(s, &st);
    CHECK(finished >= 5 && st.cache_hits == 1 && st.cache_misses == 4 && st.cache_evictions == 2);
    /* A request of all 4 blocks (16 tokens) into a pool full of idle entries: admitted at once. */
    submit(s, "{\"id\": 6, \"input_ids\": [3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,1]" NEW4);
    step(s, p);
    CHECK(p->n_encode == 1 && p->enc[0].len == 16);
    run_until_idle(s, p);
    check_pools_back(s, &sc);
    scheduler_destroy(s);
    step_plan_destroy(p);
}

/* Writes n comma-separated ids unique to src (< 3^7): its base-3 digits as ids 2..4, filler,
 * then EOS (1). Returns the characters written. */
static int put_ids(char *out, size_t cap, int src, int n) {
    int len = 0;
    for (int t = 0, v = src; t < n; t++, v /= 3)
        len += snprintf(out + len, cap - len, "%s%d", t ? "," : "",
                        t == n - 1 ? 1 : t < 7 ? 2 + v % 3 : 2 + (t * 7 + src) % 3);
    return len;
}

/* Without repeats the cache changes no plan: the same entries, blocks and steps as off. */
static void test_no_repeats_same_plans(scheduler_config sc) {
    ed_error err;
    scheduler *on, *off;
    step_plan *p_on = step_plan_create(4, 4, 64, scheduler_max_plan_blocks(&sc));
    step_plan *p_off = step_plan_create(4, 4, 64, scheduler_max_plan_blocks(&sc));
    sc.encoder_cache = 1;
    CHECK(scheduler_create(&on, &sc, &err) == ED_OK);
    sc.encoder_cache = 0;
    CHECK(scheduler_create(&off, &sc, &err) == ED_OK);
    char text[4096];
    for (int r = 0; r < 24; r++) {
        int len = snprintf(text, sizeof text, "{\"id\": %d, \"input_ids\": [", r);
        len += put_ids(text + len, sizeof text - len, r, 4 + (r * 5) % 8);
        snprintf(text + len, sizeof text - len, "], \"max_new_tokens\": %d, \"min_new_tokens\": %d}",
                 1 + r % 7, 1 + r % 7);
        submit(on, text);
        submit(off, text);
    }
    int same = 1, steps = 0;
    scheduler_stats a, b;
    do {
        step(on, p_on);
        step(off, p_off);
        steps++;
        same &= p_on->n_encode == p_off->n_encode && p_on->n_decode == p_off->n_decode &&
                p_on->n_ids == p_off->n_ids && p_on->n_blocks == p_off->n_blocks &&
                !memcmp(p_on->ids, p_off->ids, sizeof(int32_t) * p_on->n_ids) &&
                !memcmp(p_on->dec, p_off->dec, sizeof(plan_decode) * p_on->n_decode);
        scheduler_get_stats(on, &a);
        scheduler_get_stats(off, &b);
    } while ((a.running || a.queued || b.running || b.queued) && steps < 300);
    CHECK(same && steps < 300);
    CHECK(a.cache_hits == 0 && a.cache_misses == 24 && a.cache_evictions > 0);
    check_pools_back(on, &sc);
    scheduler_destroy(on);
    scheduler_destroy(off);
    step_plan_destroy(p_on);
    step_plan_destroy(p_off);
}

/* max_utilization with 3 self blocks: two X requests (the second a hit) run together; the last
 * is preempted when the pool runs dry, re-queued, and comes back as a hit. */
static void test_preemption(scheduler_config sc) {
    ed_error err;
    scheduler *s;
    scheduler_stats st;
    sc.policy = POLICY_MAX_UTILIZATION;
    sc.n_self_blocks = 3;
    step_plan *p = step_plan_create(4, 4, 64, scheduler_max_plan_blocks(&sc));
    CHECK(scheduler_create(&s, &sc, &err) == ED_OK);
    const char *req = "{\"id\": 1, " X ", \"max_new_tokens\": 8, \"min_new_tokens\": 8}";
    submit(s, req);
    submit(s, req);
    finished = 0;
    step(s, p);
    CHECK(p->n_encode == 1 && p->n_decode == 2);
    for (int i = 0; i < 4 && !finished; i++) step(s, p);
    scheduler_get_stats(s, &st);
    CHECK(st.preemptions >= 1 && st.running == 1 && st.queued == 1);
    CHECK(st.cache_blocks == 2 && st.cache_idle_blocks == 0 && st.cross_free == 6);
    run_until_idle(s, p);
    scheduler_get_stats(s, &st);
    CHECK(finished == 2 && st.cache_misses == 1 && st.cache_hits == 1 + st.preemptions);
    check_pools_back(s, &sc);
    scheduler_destroy(s);
    step_plan_destroy(p);
}

/* Scheduler CPU time per step, cache on and off: 64 running, 400-token inputs, repeats 1 in 8 or
 * none. Printed, not checked (a shared CI machine's timings vary). */
static void time_scheduler(void) {
    enum { RUNNING = 64, LEN = 400, REQS = 512 };
    scheduler_config sc = {.max_running = RUNNING, .max_encoder_tokens = RUNNING * LEN,
                           .block_size = 16, .n_self_blocks = RUNNING * 2,
                           .n_cross_blocks = RUNNING * 25, .vocab = 5, .max_input_len = LEN,
                           .max_output_len = 16, .policy = POLICY_GUARANTEED_NO_EVICT};
    static char text[LEN * 4 + 200];
    token_choice *tc_big = NULL;
    token_choice_config tcc = {.vocab = 5, .eos_id = 1, .device_argmax = 0, .max_decode = RUNNING};
    step_batch *b = step_batch_create(RUNNING, RUNNING);
    if (!b || token_choice_create(&tc_big, &tcc, NULL) != ED_OK) {
        CHECK(!"out of memory for the timing run");
        step_batch_destroy(b);
        return;
    }
    step_batch *saved_batch = batch;
    token_choice *saved_tc = tc;
    batch = b, tc = tc_big;
    for (int repeats = 0; repeats < 2; repeats++)
        for (int cache = 0; cache < 2; cache++) {
            ed_error err;
            scheduler *s;
            sc.encoder_cache = cache;
            step_plan *p = step_plan_create(RUNNING, RUNNING, RUNNING * LEN,
                                            scheduler_max_plan_blocks(&sc));
            CHECK(scheduler_create(&s, &sc, &err) == ED_OK);
            for (int r = 0; r < REQS; r++) {
                int len = snprintf(text, sizeof text, "{\"id\": %d, \"input_ids\": [", r);
                len += put_ids(text + len, sizeof text - len, repeats ? r / 8 : r, LEN);
                snprintf(text + len, sizeof text - len,
                         "], \"max_new_tokens\": 16, \"min_new_tokens\": 16}");
                request *rq = make_request(text, LEN, 16);
                CHECK(rq && scheduler_submit(s, rq, &err) == ED_OK);
            }
            double plan_s = 0;
            long steps = 0;
            scheduler_stats st;
            finished = 0;
            do {
                step_plan_clear(p);
                double t0 = monotonic_s();
                CHECK(scheduler_build_plan(s, p, batch, &err) == ED_OK);
                plan_s += monotonic_s() - t0;
                token_choice_plan(tc, p, batch);
                static float rows[RUNNING * 5];
                for (int i = 0; i < p->n_decode; i++)
                    memcpy(rows + 5 * i, (float[]){0, -9, 3, 1, 0}, sizeof(float) * 5);
                token_choice_apply(tc, p, batch, rows, 1);
                t0 = monotonic_s();
                CHECK(scheduler_finish_step(s, count_done, NULL, &err) == ED_OK);
                plan_s += monotonic_s() - t0;
                steps++;
                scheduler_get_stats(s, &st);
            } while ((st.running || st.queued) && steps < 10000);
            CHECK(finished == REQS);
            printf("scheduler time per step, %s, encoder_cache %s: %.1f us over %ld steps "
                   "(%ld hits, %ld misses, %ld evictions)\n",
                   repeats ? "each input 8 times" : "no repeats", cache ? "on" : "off",
                   1e6 * plan_s / steps, steps, st.cache_hits, st.cache_misses,
                   st.cache_evictions);
            scheduler_destroy(s);
            step_plan_destroy(p);
        }
    batch = saved_batch, tc = saved_tc;
    step_batch_destroy(b);
    token_choice_destroy(tc_big);
}

/* The config keys: on by default (no measured cost without repeats), no cap; off is honoured;
 * bad values are refused naming the key. */
static void test_config_keys(void) {
    run_config cfg;
    ed_error err;
    config_defaults(&cfg);
    CHECK(cfg.encoder_cache == 1 && cfg.encoder_cache_blocks == 0);
    CHECK(config_load_string(&cfg, "encoder_cache: off\n", "t.yaml", &err) == ED_OK);
    CHECK(cfg.encoder_cache == 0);
    CHECK(config_load_string(&cfg, "encoder_cache: on\nencoder_cache_blocks: 64\n", "t.yaml",
                             &err) == ED_OK);
    CHECK(cfg.encoder_cache == 1 && cfg.encoder_cache_blocks == 64);
    CHECK(config_set(&cfg, "encoder_cache", "sometimes", "--set", &err) == ED_ERR);
    CHECK_MSG(err, "encoder_cache");
    CHECK(config_set(&cfg, "encoder_cache_blocks", "-1", "--set", &err) == ED_ERR);
    CHECK_MSG(err, "encoder_cache_blocks");
}

/* /metrics carries the counters and the cached blocks. */
static void test_metrics(void) {
    serve_metrics *m = serve_metrics_create();
    CHECK(m != NULL);
    serve_gauges g = {.cross_total = 8, .cache_hits = 7, .cache_misses = 3, .cache_evictions = 2,
                      .cache_blocks = 5};
    serve_metrics_gauges(m, &g);
    char *text = serve_metrics_render(m);
    CHECK(text && strstr(text, "\nencdec_encoder_cache_hits_total 7\n") &&
          strstr(text, "\nencdec_encoder_cache_misses_total 3\n") &&
          strstr(text, "\nencdec_encoder_cache_evictions_total 2\n") &&
          strstr(text, "# TYPE encdec_encoder_cache_blocks gauge\nencdec_encoder_cache_blocks 5\n"));
    free(text);
    serve_metrics_destroy(m);
}

int main(void) {
    test_module();
    test_config_keys();
    test_metrics();
    ed_error err;
    scheduler_config sc = {.max_running = 4, .max_encoder_tokens = 64, .block_size = 4,
                           .n_self_blocks = 16, .n_cross_blocks = 8, .vocab = 5,
                           .max_input_len = 64, .max_output_len = 64, .encoder_cache = 1};
    batch = step_batch_create(4, 4);
    token_choice_config tcc = {.vocab = 5, .eos_id = 1, .device_argmax = 0, .max_decode = 4};
    CHECK(batch && token_choice_create(&tc, &tcc, &err) == ED_OK);
    for (int policy = 0; policy < 2; policy++) {
        sc.policy = policy ? POLICY_MAX_UTILIZATION : POLICY_GUARANTEED_NO_EVICT;
        sc.n_cross_blocks = 8;
        test_repeats(sc);
        test_no_repeats_same_plans(sc);
        sc.n_cross_blocks = 4;
        finished = 0;
        test_eviction(sc);
    }
    sc.n_cross_blocks = 8;
    test_preemption(sc);
    step_batch_destroy(batch);
    token_choice_destroy(tc);
    time_scheduler();
    TEST_MAIN_END("test_encoder_cache");
}
