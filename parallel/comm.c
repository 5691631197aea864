#include "parallel/comm.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/clock.h"
#include "common/test_signal.h"
#include "parallel/comm_impl.h"
#include "parallel/wait.h"

ed_status comm_check_usable(const comm *c, ed_error *err) {
    const char *fault = comm_fault(c);
    return fault ? ed_fail(err, "%s", fault) : ED_OK;
}

ed_status comm_wait(comm *c, MPI_Request *req, int mpi_rc, int timed, const char *what,
                    ed_error *err) {
    if (mpi_rc != MPI_SUCCESS) return ed_fail(err, "%s failed (a rank died?)", what);
    double t0 = monotonic_s();
    wait_result r = wait_request(req, timed && c->watchdog_s > 0 ? t0 + c->watchdog_s : 0);
    if (r == WAIT_DONE) return ED_OK;
    if (r == WAIT_FAILED) return ed_fail(err, "%s failed (a rank died?)", what);
    char peers[64], when[48];
    if (c->step == COMM_STEP_STARTUP) snprintf(when, sizeof when, "at start-up");
    else snprintf(when, sizeof when, "at step %llu", (unsigned long long)c->step);
    if (c->size == 2) snprintf(peers, sizeof peers, "rank %d", 1 - c->rank);
    else snprintf(peers, sizeof peers, "one of the other %d ranks", c->size - 1);
    snprintf(c->fault, sizeof c->fault,
             "watchdog: rank %d gave up %s after waiting %.1f s (watchdog_s) for %s: "
             "%s is stopped, hung or dead", c->rank, when, monotonic_s() - t0, what, peers);
    return ed_fail(err, "%s", c->fault);
}

static ed_status mpi_allreduce_sum(comm *c, float *buf, size_t n, ed_error *err) {
    if (c->size == 1) return ED_OK;
    if (comm_check_usable(c, err)) return ED_ERR;
    /* MPI counts are int: reduce in chunks. */
    const size_t chunk = (size_t)1 << 30;
    for (size_t off = 0; off < n; off += chunk) {
        int cnt = (int)(n - off < chunk ? n - off : chunk);
        MPI_Request req;
        int rc = MPI_Iallreduce(MPI_IN_PLACE, buf + off, cnt, MPI_FLOAT, MPI_SUM, c->world, &req);
        char what[80];
        snprintf(what, sizeof what, "the all-reduce of %zu floats", n);
        if (comm_wait(c, &req, rc, 1, what, err)) return ED_ERR;
    }
    return ED_OK;
}

static const comm_ops mpi_ops = {.allreduce_sum = mpi_allreduce_sum};

ed_status comm_create_mpi(comm **out, ed_error *err) {
    comm *c = calloc(1, sizeof *c);
    if (!c) return ed_fail(err, "out of memory");
    c->ops = &mpi_ops;
    c->step = COMM_STEP_STARTUP;
    MPI_Comm_dup(MPI_COMM_WORLD, &c->world);
    /* A failing collective returns an error code instead of aborting inside MPI. */
    MPI_Comm_set_errhandler(c->world, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->world, &c->rank);
    MPI_Comm_size(c->world, &c->size);
    MPI_Comm node;
    MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &c->local_rank);
    MPI_Comm_free(&node);
    int level = MPI_THREAD_SINGLE;
    MPI_Query_thread(&level);
    c->threads_ok = level >= MPI_THREAD_SERIALIZED;
    *out = c;
    return ED_OK;
}

#ifdef ENCDEC_HAVE_CUDA
void comm_nccl_destroy(comm *c);
#else
ed_status comm_use_nccl(comm *c, void *stream, ed_error *err) {
    (void)c, (void)stream;
    return ed_fail(err, "this build has no NCCL");
}
static void comm_nccl_destroy(comm *c) { (void)c; }
#endif

void comm_destroy(comm *c) {
    if (!c) return;
    plan_keeper_destroy(c->keeper);
    comm_nccl_destroy(c);
    MPI_Comm_free(&c->world);
    free(c);
}

int comm_rank(const comm *c) { return c->rank; }
int comm_size(const comm *c) { return c->size; }
int comm_local_rank(const comm *c) { return c->local_rank; }

ed_status comm_allreduce_sum(comm *c, float *buf, size_t n, ed_error *err) {
    test_signal_at("allreduce", c->rank); /* inert unless set (common/test_signal.h) */
    return c->ops->allreduce_sum(c, buf, n, err);
}

ed_status comm_gather_vocab(comm *c, const float *local, int rows, int vocab, float *full,
                            float *staging, ed_error *err) {
    int v0, vn;
    tp_chunk(vocab, c->rank, c->size, &v0, &vn);
    if (c->size == 1) {
        if (full != local) memcpy(full, local, sizeof(float) * (size_t)rows * vocab);
        return ED_OK;
    }
    int counts[c->size], displs[c->size];
    for (int r = 0, off = 0; r < c->size; r++) {
        int s0, n0;
        tp_chunk(vocab, r, c->size, &s0, &n0);
        counts[r] = rows * n0;
        displs[r] = off;
        off += counts[r];
    }
    if (comm_check_usable(c, err)) return ED_ERR;
    MPI_Request req;
    int rc = MPI_Igatherv(local, rows * vn, MPI_FLOAT, staging, counts, displs, MPI_FLOAT, 0,
                          c->world, &req);
    char what[80];
    snprintf(what, sizeof what, "the gather of %d logits rows", rows);
    if (comm_wait(c, &req, rc, 1, what, err)) return ED_ERR;
    if (c->rank != 0) return ED_OK;
    for (int r = 0; r < c->size; r++) {
        int s0, n0;
        tp_chunk(vocab, r, c->size, &s0, &n0);
        for (int i = 0; i < rows; i++)
            memcpy(full + (size_t)i * vocab + s0, staging + displs[r] + (size_t)i * n0,
                   sizeof(float) * (size_t)n0);
    }
    return ED_OK;
}

int comm_graph_capturable(const comm *c) { return c->size == 1 || c->nccl != NULL; }

ed_status comm_gather(comm *c, const float *local, int n, float *all, ed_error *err) {
    if (c->size == 1) {
        if (all != local) memcpy(all, local, sizeof(float) * (size_t)n);
        return ED_OK;
    }
    if (comm_check_usable(c, err)) return ED_ERR;
    MPI_Request req;
    int rc = MPI_Igather(local, n, MPI_FLOAT, all, n, MPI_FLOAT, 0, c->world, &req);
    char what[80];
    snprintf(what, sizeof what, "the gather of %d values per rank", n);
    return comm_wait(c, &req, rc, 1, what, err);
}

ed_status comm_bcast(comm *c, void *buf, size_t n, int root, ed_error *err) {
    if (c->size == 1) return ED_OK;
    if (comm_check_usable(c, err)) return ED_ERR;
    MPI_Request req;
    int rc = MPI_Ibcast(buf, (int)n, MPI_BYTE, root, c->world, &req);
    char what[80];
    snprintf(what, sizeof what, "the broadcast of %zu bytes from rank %d", n, root);
    return comm_wait(c, &req, rc, 1, what, err);
}

int comm_all_ok(comm *c, int local_ok) {
    if (c->size == 1) return local_ok;
    if (comm_check_usable(c, NULL)) return 0;
    MPI_Request req;
    c->ctl.i[0] = local_ok;
    int rc = MPI_Iallreduce(&c->ctl.i[0], &c->ctl.i[1], 1, MPI_INT, MPI_MIN, c->world, &req);
    return comm_wait(c, &req, rc, 1, "the ranks' agreement", NULL) ? 0 : c->ctl.i[1];
}

long long comm_min(comm *c, long long v) {
    if (c->size == 1) return v;
    if (comm_check_usable(c, NULL)) return -1;
    MPI_Request req;
    c->ctl.ll[0] = v;
    int rc = MPI_Iallreduce(&c->ctl.ll[0], &c->ctl.ll[1], 1, MPI_LONG_LONG, MPI_MIN, c->world,
                            &req);
    return comm_wait(c, &req, rc, 1, "the minimum over ranks", NULL) ? -1 : c->ctl.ll[1];
}

void comm_set_watchdog(comm *c, double seconds) { c->watchdog_s = seconds > 0 ? seconds : 0; }

const char *comm_fault(const comm *c) {
    if (!c) return NULL;
    if (c->fault[0]) return c->fault;
    return atomic_load(&((comm *)c)->nccl_aborted) ? c->nccl_fault : NULL;
}

void comm_abort(comm *c, int code) { MPI_Abort(c ? c->world : MPI_COMM_WORLD, code); }
