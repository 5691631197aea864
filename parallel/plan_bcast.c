#include "parallel/plan_bcast.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "common/log.h"
#include "common/test_signal.h"
#include "parallel/comm_impl.h"

typedef struct plan_header {
    uint64_t magic;
    uint64_t seq;
    uint64_t checksum;
    int32_t stop, argmax_only, topk, n_encode, n_decode, n_ids, n_blocks, n_copies;
    int32_t keepalive, pad; /* keepalive: no plan follows; the receiver waits on for plan seq */
} plan_header;

#define PLAN_MAGIC 0x6564706c616e3034ull /* "edplan04" */

/* Broadcasts a header from rank 0; the receivers' wait is the one the watchdog watches. */
static ed_status bcast_header(comm *c, plan_header *h, uint64_t seq, ed_error *err) {
    _Static_assert(sizeof *h <= sizeof c->ctl.bytes, "plan header exceeds comm's ctl buffer");
    if (comm_check_usable(c, err)) return ED_ERR;
    MPI_Request req;
    memcpy(c->ctl.bytes, h, sizeof *h);
    int rc = MPI_Ibcast(c->ctl.bytes, sizeof *h, MPI_BYTE, 0, c->world, &req);
    char what[80];
    snprintf(what, sizeof what, "step plan %llu from rank 0", (unsigned long long)seq);
    /* Without keep-alives (no MPI_THREAD_SERIALIZED) an idle rank 0 cannot be told from a hung
     * one: the receivers then wait for plans without a deadline. */
    if (comm_wait(c, &req, rc, c->rank == 0 || c->threads_ok, what, err)) return ED_ERR;
    memcpy(h, c->ctl.bytes, sizeof *h);
    return ED_OK;
}

/* Rank 0's keep-alive thread. mu guards every field and is held across a keep-alive's
 * broadcast, so plan_idle_end returns only once no MPI call of the thread is in flight. */
struct plan_keeper {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    comm *c;
    int idle, quit;
    uint64_t next_seq;  /* the plan the receivers wait for */
    double last;        /* monotonic time of the idle start or of the last keep-alive */
    ed_status st;       /* a failed keep-alive, reported by plan_idle_end */
    ed_error err;
};

static void *keeper_main(void *arg) {
    plan_keeper *k = arg;
    double every = k->c->watchdog_s / 4;
    pthread_mutex_lock(&k->mu);
    while (!k->quit) {
        if (!k->idle || k->st) {
            pthread_cond_wait(&k->cv, &k->mu);
            continue;
        }
        double due = k->last + every, now = monotonic_s();
        if (now < due) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            double t = ts.tv_sec + ts.tv_nsec * 1e-9 + (due - now);
            ts.tv_sec = (time_t)t;
            ts.tv_nsec = (long)((t - (double)ts.tv_sec) * 1e9);
            pthread_cond_timedwait(&k->cv, &k->mu, &ts);
            continue;
        }
        plan_header h = {.magic = PLAN_MAGIC, .seq = k->next_seq, .keepalive = 1};
        k->st = bcast_header(k->c, &h, k->next_seq, &k->err);
        k->last = monotonic_s();
    }
    pthread_mutex_unlock(&k->mu);
    return NULL;
}

void plan_keeper_destroy(plan_keeper *k) {
    if (!k) return;
    pthread_mutex_lock(&k->mu);
    k->quit = 1;
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->cv);
    pthread_mutex_destroy(&k->mu);
    free(k);
}

static plan_keeper *keeper_create(comm *c) {
    plan_keeper *k = calloc(1, sizeof *k);
    if (!k) return NULL;
    k->c = c;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&k->mu, NULL);
    if (pthread_create(&k->thread, NULL, keeper_main, k)) {
        pthread_cond_destroy(&k->cv);
        pthread_mutex_destroy(&k->mu);
        free(k);
        return NULL;
    }
    return k;
}

void plan_idle_begin(comm *c, uint64_t next_seq) {
    atomic_store(&c->busy_since, 0.0);
    if (c->rank != 0 || c->size == 1 || c->watchdog_s <= 0 || !c->threads_ok) return;
    if (!c->keeper && !(c->keeper = keeper_create(c))) {
        log_warn("watchdog: no keep-alive thread (out of memory?): an idle rank 0 will look hung "
                 "to the other ranks after watchdog_s");
        c->threads_ok = 0;
        return;
    }
    plan_keeper *k = c->keeper;
    pthread_mutex_lock(&k->mu);
    k->idle = 1;
    k->next_seq = next_seq;
    k->last = monotonic_s();
    pthread_cond_signal(&k->cv);
    pthread_mutex_unlock(&k->mu);
}

ed_status plan_idle_end(comm *c, ed_error *err) {
    atomic_store(&c->busy_since, monotonic_s());
    plan_keeper *k = c->keeper;
    if (!k) return ED_OK;
    pthread_mutex_lock(&k->mu);
    k->idle = 0;
    ed_status st = k->st;
    if (st && err) *err = k->err;
    pthread_mutex_unlock(&k->mu);
    return st;
}

ed_status plan_bcast(comm *c, step_plan *p, uint64_t expected_seq, ed_error *err) {
    test_signal_at("plan_bcast", c->rank); /* inert unless set (common/test_signal.h) */
    int root = comm_rank(c) == 0;
    c->step = expected_seq;
    atomic_store(&c->busy_since, 0.0); /* between steps: NCCL's watchdog does not count this */
    plan_header h = {0};
    if (root) {
        h = (plan_header){PLAN_MAGIC, p->seq, step_plan_checksum(p), p->stop, p->argmax_only,
                          p->topk, p->n_encode, p->n_decode, p->n_ids, p->n_blocks, p->n_copies,
                          0, 0};
    }
    if (bcast_header(c, &h, expected_seq, err)) return ED_ERR;
    while (!root && h.magic == PLAN_MAGIC && h.keepalive && h.seq == expected_seq)
        if (bcast_header(c, &h, expected_seq, err)) return ED_ERR;
    if (!root) {
        if (h.magic != PLAN_MAGIC || h.seq != expected_seq || h.keepalive)
            return ed_fail(err, "step plan: expected plan %llu, received plan %llu (magic %llx): "
                                "ranks are out of step", (unsigned long long)expected_seq,
                           (unsigned long long)h.seq, (unsigned long long)h.magic);
        if (h.n_encode < 0 || h.n_encode > p->cap_encode || h.n_decode < 0 ||
            h.n_decode > p->cap_decode || h.n_ids < 0 || h.n_ids > p->cap_ids ||
            h.n_blocks < 0 || h.n_blocks > p->cap_blocks || h.n_copies < 0 ||
            h.n_copies > p->cap_decode || h.topk < 0 || h.topk > STEP_PLAN_TOPK_MAX)
            return ed_fail(err, "step plan %llu: counts (%d encode, %d decode, %d ids) exceed this "
                                "rank's capacities", (unsigned long long)h.seq, h.n_encode,
                           h.n_decode, h.n_ids);
        p->seq = h.seq;
        p->stop = h.stop;
        p->argmax_only = h.argmax_only;
        p->topk = h.topk;
        p->n_encode = h.n_encode;
        p->n_decode = h.n_decode;
        p->n_ids = h.n_ids;
        p->n_blocks = h.n_blocks;
        p->n_copies = h.n_copies;
    }
    if ((p->n_encode && comm_bcast(c, p->enc, sizeof *p->enc * (size_t)p->n_encode, 0, err)) ||
        (p->n_decode && comm_bcast(c, p->dec, sizeof *p->dec * (size_t)p->n_decode, 0, err)) ||
        (p->n_ids && comm_bcast(c, p->ids, sizeof *p->ids * (size_t)p->n_ids, 0, err)) ||
        (p->n_blocks && comm_bcast(c, p->blocks, sizeof *p->blocks * (size_t)p->n_blocks, 0, err)) ||
        (p->n_copies && comm_bcast(c, p->copies, sizeof *p->copies * (size_t)p->n_copies, 0, err)))
        return ED_ERR;
    if (!root && step_plan_checksum(p) != h.checksum)
        return ed_fail(err, "step plan %llu failed its checksum: stopping instead of computing "
                            "garbage", (unsigned long long)h.seq);
    if (!p->stop) atomic_store(&c->busy_since, monotonic_s());
    return ED_OK;
}
