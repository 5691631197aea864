/* Two ranks: a plan arrives intact; a plan out of sequence and one over the receiver's
 * capacities are refused with a message instead of being executed. */
#include <mpi.h>

#include "parallel/plan_bcast.h"
#include "tests/unit/check.h"

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    comm *c;
    ed_error err;
    if (comm_create_mpi(&c, &err) || comm_size(c) != 2) {
        fprintf(stderr, "test_plan_bcast needs exactly 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int root = comm_rank(c) == 0;
    step_plan *p = step_plan_create(4, 4, 16, 8);

    /* 1. An intact plan arrives with its entries. */
    step_plan_clear(p);
    p->seq = 0;
    if (root) {
        p->n_encode = 1;
        p->enc[0] = (plan_encode){3, 0, 0, 0};
        p->n_ids = 3;
        p->ids[0] = 7, p->ids[1] = 8, p->ids[2] = 1;
        p->n_decode = 1;
        p->dec[0] = (plan_decode){0, 0, 0, 0, 3, -1};
        p->n_blocks = 1;
        p->blocks[0] = 2;
    }
    CHECK(plan_bcast(c, p, 0, &err) == ED_OK);
    CHECK(p->n_encode == 1 && p->enc[0].len == 3 && p->n_ids == 3 && p->ids[1] == 8);
    CHECK(p->n_decode == 1 && p->dec[0].cross_len == 3 && p->n_blocks == 1 && p->blocks[0] == 2);

    /* 2. A receiver expecting plan 5 gets plan 6 (no entries): refused, "out of step". */
    step_plan_clear(p);
    p->seq = 6;
    ed_status st = plan_bcast(c, p, root ? 6 : 5, &err);
    if (!root) {
        CHECK(st == ED_ERR);
        CHECK_MSG(err, "ranks are out of step");
    }

    /* 3. A receiver with smaller capacities: refused before reading entries. */
    step_plan *small = step_plan_create(1, 1, 2, 2);
    step_plan *use = root ? p : small;
    step_plan_clear(use);
    use->seq = 7;
    if (root) {
        p->n_decode = 3;
        for (int i = 0; i < 3; i++) p->dec[i] = (plan_decode){1, 5, 0, 0, 1, -1};
    }
    st = plan_bcast(c, use, 7, &err);
    if (!root) {
        CHECK(st == ED_ERR);
        CHECK_MSG(err, "exceed this rank's capacities");
        plan_decode drain[3]; /* take the entries rank 0 sent, so both ranks end in step */
        CHECK(comm_bcast(c, drain, sizeof drain, 0, &err) == ED_OK);
    }
    MPI_Barrier(MPI_COMM_WORLD);
    step_plan_destroy(small);
    step_plan_destroy(p);
    int failed = check_failures, any;
    MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    comm_destroy(c);
    MPI_Finalize();
    if (root) printf("test_plan_bcast: %d checks on rank 0, failures on any rank: %d\n", check_count, any);
    return any ? 1 : 0;
}
