/* The NCCL implementation of the tensor-parallel all-reduce (CUDA backend). */
#include <cuda_runtime_api.h>
#include <nccl.h>

#include "parallel/comm_impl.h"

static ed_status nccl_allreduce_sum(comm *c, float *buf, size_t n, ed_error *err) {
    if (c->size == 1) return ED_OK;
    ncclResult_t r = ncclAllReduce(buf, buf, n, ncclFloat, ncclSum, (ncclComm_t)c->nccl,
                                   (cudaStream_t)c->stream);
    if (r != ncclSuccess)
        return ed_fail(err, "ncclAllReduce of %zu floats failed: %s", n, ncclGetErrorString(r));
    return ED_OK;
}

static const comm_ops nccl_ops = {.allreduce_sum = nccl_allreduce_sum};

ed_status comm_use_nccl(comm *c, void *stream, ed_error *err) {
    ncclUniqueId id;
    if (c->rank == 0 && ncclGetUniqueId(&id) != ncclSuccess)
        return ed_fail(err, "ncclGetUniqueId failed");
    if (MPI_Bcast(&id, sizeof id, MPI_BYTE, 0, c->world) != MPI_SUCCESS)
        return ed_fail(err, "broadcasting the ncclUniqueId failed");
    ncclComm_t nc;
    ncclResult_t r = ncclCommInitRank(&nc, c->size, id, c->rank);
    if (r != ncclSuccess) return ed_fail(err, "ncclCommInitRank failed: %s", ncclGetErrorString(r));
    c->nccl = nc;
    c->stream = stream;
    c->ops = &nccl_ops;
    return ED_OK;
}

void comm_nccl_destroy(comm *c) {
    if (c->nccl) ncclCommDestroy((ncclComm_t)c->nccl);
    c->nccl = NULL;
}
