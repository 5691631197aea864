#include "parallel/comm.h"

#include <mpi.h>
#include <stdlib.h>
#include <string.h>

#include "parallel/comm_impl.h"

static ed_status mpi_allreduce_sum(comm *c, float *buf, size_t n, ed_error *err) {
    if (c->size == 1) return ED_OK;
    /* MPI counts are int: reduce in chunks. */
    const size_t chunk = (size_t)1 << 30;
    for (size_t off = 0; off < n; off += chunk) {
        int cnt = (int)(n - off < chunk ? n - off : chunk);
        if (MPI_Allreduce(MPI_IN_PLACE, buf + off, cnt, MPI_FLOAT, MPI_SUM, c->world) != MPI_SUCCESS)
            return ed_fail(err, "MPI_Allreduce of %zu floats failed", n);
    }
    return ED_OK;
}

static const comm_ops mpi_ops = {.allreduce_sum = mpi_allreduce_sum};

ed_status comm_create_mpi(comm **out, ed_error *err) {
    comm *c = calloc(1, sizeof *c);
    if (!c) return ed_fail(err, "out of memory");
    c->ops = &mpi_ops;
    MPI_Comm_dup(MPI_COMM_WORLD, &c->world);
    /* A failing collective returns an error code instead of aborting inside MPI. */
    MPI_Comm_set_errhandler(c->world, MPI_ERRORS_RETURN);
    MPI_Comm_rank(c->world, &c->rank);
    MPI_Comm_size(c->world, &c->size);
    MPI_Comm node;
    MPI_Comm_split_type(c->world, MPI_COMM_TYPE_SHARED, c->rank, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &c->local_rank);
    MPI_Comm_free(&node);
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
    comm_nccl_destroy(c);
    MPI_Comm_free(&c->world);
    free(c);
}

int comm_rank(const comm *c) { return c->rank; }
int comm_size(const comm *c) { return c->size; }
int comm_local_rank(const comm *c) { return c->local_rank; }

ed_status comm_allreduce_sum(comm *c, float *buf, size_t n, ed_error *err) {
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
    if (MPI_Gatherv(local, rows * vn, MPI_FLOAT, staging, counts, displs, MPI_FLOAT, 0, c->world) !=
        MPI_SUCCESS)
        return ed_fail(err, "MPI_Gatherv of %d logits rows failed", rows);
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
    if (MPI_Gather(local, n, MPI_FLOAT, all, n, MPI_FLOAT, 0, c->world) != MPI_SUCCESS)
        return ed_fail(err, "MPI_Gather of %d values failed", n);
    return ED_OK;
}

ed_status comm_bcast(comm *c, void *buf, size_t n, int root, ed_error *err) {
    if (c->size == 1) return ED_OK;
    if (MPI_Bcast(buf, (int)n, MPI_BYTE, root, c->world) != MPI_SUCCESS)
        return ed_fail(err, "MPI_Bcast of %zu bytes failed (a rank died?)", n);
    return ED_OK;
}

int comm_all_ok(comm *c, int local_ok) {
    int all = local_ok;
    if (c->size > 1 &&
        MPI_Allreduce(&local_ok, &all, 1, MPI_INT, MPI_MIN, c->world) != MPI_SUCCESS)
        return 0;
    return all;
}

long long comm_min(comm *c, long long v) {
    long long m = v;
    if (c->size > 1 &&
        MPI_Allreduce(&v, &m, 1, MPI_LONG_LONG, MPI_MIN, c->world) != MPI_SUCCESS)
        return -1;
    return m;
}

void comm_abort(comm *c, int code) { MPI_Abort(c ? c->world : MPI_COMM_WORLD, code); }
