/* The communicator's insides, shared by its implementations (comm.c: MPI; comm_nccl.c: NCCL).
 * Not for use outside parallel/. */
#ifndef ENCDEC_COMM_IMPL_H
#define ENCDEC_COMM_IMPL_H

#include <mpi.h>

#include "parallel/comm.h"

typedef struct comm_ops {
    ed_status (*allreduce_sum)(comm *c, float *buf, size_t n, ed_error *err);
} comm_ops;

struct comm {
    const comm_ops *ops;
    MPI_Comm world;       /* control traffic and the MPI implementation */
    int rank, size, local_rank;
    void *nccl;           /* ncclComm_t when the NCCL implementation is in use */
    void *stream;         /* cudaStream_t the NCCL collectives run on */
};

#endif
