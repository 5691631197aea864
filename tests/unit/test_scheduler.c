/* Block allocator and scheduler decisions under both policies, driven without a model: the
 * "logits" are fixed so every sequence generates token 2 until max_new_tokens. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "kernels/backend.h"
#include "runtime/block_pool.h"
#include "runtime/config.h"
#include "runtime/scheduler.h"
#include "runtime/token_choice.h"
#include "tests/unit/check.h"
#include "tests/unit/make_request.h"

static request *make(const char *text) { return make_request(text, 64, 64); }

static int finished, failed;
static ed_status count_done(void *ctx, sequence *seq, ed_error *err) {
    (void)ctx, (void)err;
    finished++;
    if (seq->failure[0]) {
        failed++;
        CHECK(!strcmp(seq->finish_reason, "error") && strstr(seq->failure, "non-finite"));
    }
    sequence_destroy(seq);
    return ED_OK;
}

static step_batch *batch;
static token_choice *tc;

/* One engine iteration without a model: plan, feed every decode entry fixed logits, retire. */
static void step(scheduler *s, step_plan *p) {
    static const float logits[5] = {0, -9, 3, 1, 0};
    ed_error err;
    step_plan_clear(p);
    CHECK(scheduler_build_plan(s, p, batch, &err) == ED_OK);
    token_choice_plan(tc, p, batch);
    CHECK(!p->argmax_only && !p->topk); /* device_argmax off: full logits rows */
    float rows[8 * 5];
    for (int i = 0; i < p->n_decode; i++) memcpy(rows + 5 * i, logits, sizeof logits);
    token_choice_apply(tc, p, batch, rows, 1);
    CHECK(scheduler_finish_step(s, count_done, NULL, &err) == ED_OK);
}

static void test_block_pool(void) {
    block_pool *p;
    ed_error err;
    int32_t b[4];
    CHECK(block_pool_create(&p, 3, &err) == ED_OK);
    CHECK(block_pool_alloc(p, 2, b) == ED_OK && b[0] == 0 && b[1] == 1);
    CHECK(block_pool_alloc(p, 2, b + 2) == ED_ERR && block_pool_free_count(p) == 1); /* all or none */
    block_pool_free(p, b, 2);
    CHECK(block_pool_free_count(p) == 3 && block_pool_total(p) == 3);
    CHECK(block_pool_alloc(p, 3, b) == ED_OK && block_pool_free_count(p) == 0);
    block_pool_destroy(p);
    block_pool_destroy(NULL);
}

/* Small pools (8 self, 8 cross blocks of 4) holding two requests of 2 input ids and 3 new tokens
 * (min_new_tokens: EOS never ends them), a vocabulary of 5, a token choice on the device or on
 * the host; finished / failed counted from zero. */
typedef struct two_requests {
    scheduler *s;
    token_choice *t;
    step_plan *p;
    step_batch *b;
} two_requests;

static const scheduler_config small_pools = {.max_running = 4, .max_encoder_tokens = 64,
                                             .block_size = 4, .n_self_blocks = 8,
                                             .n_cross_blocks = 8, .vocab = 5,
                                             .max_input_len = 64, .max_output_len = 64};

static void two_requests_start(two_requests *f, int device_argmax) {
    ed_error err;
    const char *req = "{\"id\": 1, \"input_ids\": [3,1], \"max_new_tokens\": 3, "
                      "\"min_new_tokens\": 3}";
    token_choice_config tcc = {.vocab = 5, .eos_id = 1, .device_argmax = device_argmax,
                               .max_decode = 4};
    f->p = step_plan_create(4, 4, 64, scheduler_max_plan_blocks(&small_pools));
    f->b = step_batch_create(4, 4);
    CHECK(scheduler_create(&f->s, &small_pools, &err) == ED_OK &&
          token_choice_create(&f->t, &tcc, &err) == ED_OK);
    CHECK(scheduler_submit(f->s, make(req), &err) == ED_OK &&
          scheduler_submit(f->s, make(req), &err) == ED_OK);
    finished = failed = 0;
}

static void two_requests_end(two_requests *f) {
    scheduler_destroy(f->s);
    token_choice_destroy(f->t);
    step_plan_destroy(f->p);
    step_batch_destroy(f->b);
}

/* Non-finite outputs end only the request they belong to: a NaN in one request's logits row
 * (host choice), and no candidate at all from the device argmax (a row of NaNs). */
static void test_non_finite(void) {
    ed_error err;
    for (int device = 0; device < 2; device++) {
        two_requests f;
        two_requests_start(&f, device);
        for (int step = 0; step < 3; step++) {
            CHECK(scheduler_build_plan(f.s, f.p, f.b, &err) == ED_OK);
            token_choice_plan(f.t, f.p, f.b);
            CHECK(f.p->n_decode == 2 - failed && f.p->argmax_only == device);
            float out[2 * 5] = {0, -9, 3, 1, 0, 0, -9, 3, 1, 0};
            if (step == 1) { /* the first request's row goes bad */
                if (device) out[0] = -INFINITY, out[1] = -1;
                else out[2] = NAN;
            }
            if (device) out[2] = 3, out[3] = 2; /* the second's (value, token) */
            if (device && step != 1) out[0] = 3, out[1] = 2;
            token_choice_apply(f.t, f.p, f.b, out, 1);
            CHECK(scheduler_finish_step(f.s, count_done, NULL, &err) == ED_OK);
            step_plan_clear(f.p);
        }
        CHECK(finished == 2 && failed == 1);
        scheduler_stats st;
        scheduler_get_stats(f.s, &st);
        CHECK(st.self_free == 8 && st.cross_free == 8);
        two_requests_end(&f);
    }
}

/* A NaN beside finite logits on the device paths: the backend's argmax marks the row (NaN, -2)
 * and top-k its max NaN (kernels/backend.h); the merge over vocabulary slices fails the request
 * even when another slice's candidate is finite, as the host does when it sees the logits. */
static void test_device_nan(void) {
    ed_error err;
    two_requests f;
    two_requests_start(&f, 1);
    CHECK(scheduler_build_plan(f.s, f.p, f.b, &err) == ED_OK);
    token_choice_plan(f.t, f.p, f.b);
    CHECK(f.p->n_decode == 2 && f.p->argmax_only);
    /* two slices (n_src 2), [n_src, n_decode, 2]: request 1's second slice holds a NaN */
    float out[2 * 2 * 2] = {3, 2, 3, 2, /* slice 0 */ NAN, -2, 1, 4 /* slice 1 */};
    token_choice_apply(f.t, f.p, f.b, out, 2);
    CHECK(scheduler_finish_step(f.s, count_done, NULL, &err) == ED_OK);
    CHECK(finished == 1 && failed == 1);
    two_requests_end(&f);
    /* the CPU backend's argmax and top-k mark such rows */
    const backend *be = backend_get(BACKEND_CPU, 0, &err);
    CHECK(be != NULL);
    float *x = be->alloc(8 * sizeof(float)), *o = be->alloc(16 * sizeof(float));
    int32_t *ban = be->alloc(2 * sizeof(int32_t));
    const float host_x[8] = {1, NAN, 3, 0, /* row 1: the NaN is the banned column */ 1, NAN, 3, 0};
    const int32_t host_ban[2] = {-1, 1};
    be->upload(x, host_x, 8);
    be->upload_raw(ban, host_ban, sizeof host_ban);
    be->argmax_rows(x, 2, 4, 0, ban, o);
    float h[16];
    be->download(h, o, 4);
    CHECK(isnan(h[0]) && h[1] == -2.0f); /* row 0: marked */
    CHECK(h[2] == 3.0f && h[3] == 2.0f); /* row 1: the banned NaN is not seen */
    be->topk_rows(x, 2, 4, 0, ban, 1, o);
    be->download(h, o, 8);
    CHECK(isnan(h[0]) && !isnan(h[4]));
    be->free(x);
    be->free(o);
    be->free(ban);
}

static double fake_now;
static double fake_clock(void) { return fake_now; }

/* Admission grouping: with sequences decoding, a new request waits until admission_group are
 * queued, or the queue fills every free decode slot, or the oldest has waited admission_wait_s;
 * with none decoding it goes at once. Uses the file's batch and token choice (4 decode slots). */
static void test_admission_grouping(void) {
    ed_error err;
    const char *req = "{\"id\": 1, \"input_ids\": [3,1], \"max_new_tokens\": 30, "
                      "\"min_new_tokens\": 30}";
    scheduler_config sc = {.max_running = 4, .max_encoder_tokens = 64, .block_size = 4,
                           .n_self_blocks = 64, .n_cross_blocks = 8, .vocab = 5,
                           .max_input_len = 64, .max_output_len = 64,
                           .admission_wait_s = 0.010, .admission_group = 2,
                           .clock = fake_clock};
    step_plan *p = step_plan_create(4, 4, 64, scheduler_max_plan_blocks(&sc));
    scheduler *s;
    scheduler_stats st;
    fake_now = 100;
    finished = 0;
    CHECK(scheduler_create(&s, &sc, &err) == ED_OK);
    CHECK(scheduler_submit(s, make(req), &err) == ED_OK);
    step(s, p);
    CHECK(p->n_encode == 1 && p->n_decode == 1); /* nothing decoding: admitted at once */
    CHECK(scheduler_submit(s, make(req), &err) == ED_OK);
    step(s, p);
    CHECK(p->n_encode == 0 && p->n_decode == 1); /* held: one queued, three free slots */
    fake_now += 0.004;
    CHECK(scheduler_submit(s, make(req), &err) == ED_OK);
    step(s, p);
    CHECK(p->n_encode == 2 && p->n_decode == 3); /* a group of two: one encoder pass */
    CHECK(scheduler_submit(s, make(req), &err) == ED_OK);
    step(s, p);
    CHECK(p->n_encode == 1 && p->n_decode == 4); /* it fills the last free slot: at once */
    for (int i = 0; i < 40 && finished < 4; i++) step(s, p);
    CHECK(finished == 4);
    CHECK(scheduler_submit(s, make(req), &err) == ED_OK);
    step(s, p);
    CHECK(p->n_encode == 1 && p->n_decode == 1);
    CHECK(scheduler_submit(s, make(req), &err) == ED_OK);
    fake_now += 0.009;
    step(s, p);
    CHECK(p->n_encode == 0 && p->n_decode == 1); /* held */
    fake_now += 0.001;
    step(s, p);
    CHECK(p->n_encode == 1 && p->n_decode == 2); /* waited admission_wait_s */
    for (int i = 0; i < 40 && finished < 6; i++) step(s, p);
    scheduler_get_stats(s, &st);
    CHECK(finished == 6 && st.held_steps == 2 && st.self_free == 64 && st.cross_free == 8);
    scheduler_destroy(s);
    step_plan_destroy(p);
}

int main(void) {
    test_block_pool();
    test_non_finite();
    test_device_nan();
    ed_error err;
    /* Each request: 5 input tokens (2 cross blocks of 4), max_new 8 -> feeds 8 tokens (2 self
     * blocks). Pools: 3 self blocks, 4 cross blocks. */
    const char *req = "{\"id\": 1, \"input_ids\": [3,3,3,3,1], \"max_new_tokens\": 8, "
                      "\"min_new_tokens\": 8}";
    scheduler_config sc = {.max_running = 4, .max_encoder_tokens = 64, .block_size = 4,
                           .n_self_blocks = 3, .n_cross_blocks = 4, .vocab = 5,
                           .max_input_len = 64, .max_output_len = 64};
    step_plan *p = step_plan_create(4, 4, 64, scheduler_max_plan_blocks(&sc));
    batch = step_batch_create(4, 4);
    token_choice_config tcc = {.vocab = 5, .eos_id = 1, .device_argmax = 0, .max_decode = 4};
    CHECK(batch && token_choice_create(&tc, &tcc, &err) == ED_OK);
    test_admission_grouping();

    /* guaranteed_no_evict: the second request waits for the first's whole reservation. */
    scheduler *s;
    scheduler_stats st;
    sc.policy = POLICY_GUARANTEED_NO_EVICT;
    CHECK(scheduler_create(&s, &sc, &err) == ED_OK);
    CHECK(scheduler_submit(s, make(req), &err) == ED_OK);
    CHECK(scheduler_submit(s, make(req), &err) == ED_OK);
    step(s, p);
    CHECK(p->n_encode == 1 && p->n_decode == 1);
    scheduler_get_stats(s, &st);
    CHECK(st.running == 1 && st.queued == 1 && st.cross_free == 2 && st.self_free == 2);
    finished = 0;
    for (int i = 0; i < 7; i++) step(s, p); /* the first finishes after 8 steps */
    CHECK(finished == 1);
    step(s, p);
    CHECK(p->n_encode == 1); /* now the second is admitted */
    for (int i = 0; i < 8; i++) step(s, p);
    scheduler_get_stats(s, &st);
    CHECK(finished == 2 && st.running == 0 && st.preemptions == 0);
    CHECK(st.self_free == 3 && st.cross_free == 4);
    scheduler_destroy(s);

    /* max_utilization: both admitted at once; when the self pool runs dry the most recently
     * admitted one is preempted and re-queued, and everything still finishes. */
    sc.policy = POLICY_MAX_UTILIZATION;
    CHECK(scheduler_create(&s, &sc, &err) == ED_OK);
    CHECK(scheduler_submit(s, make(req), &err) == ED_OK);
    CHECK(scheduler_submit(s, make(req), &err) == ED_OK);
    finished = 0;
    step(s, p);
    CHECK(p->n_encode == 2 && p->n_decode == 2);
    for (int i = 0; i < 4 && finished == 0; i++) step(s, p); /* position 4 needs a 2nd block */
    scheduler_get_stats(s, &st);
    CHECK(st.preemptions >= 1 && st.running == 1 && st.queued == 1);
    for (int i = 0; i < 40 && finished < 2; i++) step(s, p);
    scheduler_get_stats(s, &st);
    CHECK(finished == 2 && st.self_free == 3 && st.cross_free == 4);

    /* A request that can never fit is refused up front, naming the field and the sizes. */
    request *big = make("{\"id\": 9, \"input_ids\": [3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,3,1]}");
    CHECK(scheduler_check_fits(s, big, &err) == ED_ERR);
    CHECK_MSG(err, "field input_ids: 18 tokens need 5 cross-KV blocks");
    request_destroy(big);
    big = make("{\"id\": 9, \"input_ids\": [3,1], \"max_new_tokens\": 20}");
    CHECK(scheduler_check_fits(s, big, &err) == ED_ERR);
    CHECK_MSG(err, "field max_new_tokens");
    request_destroy(big);
    scheduler_destroy(s);
    step_plan_destroy(p);
    step_batch_destroy(batch);
    token_choice_destroy(tc);
    TEST_MAIN_END("test_scheduler");
}
