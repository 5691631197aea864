#include "parallel/plan_bcast.h"

#include <string.h>

typedef struct plan_header {
    uint64_t magic;
    uint64_t seq;
    uint64_t checksum;
    int32_t stop, argmax_only, topk, n_encode, n_decode, n_ids, n_blocks, n_copies;
} plan_header;

#define PLAN_MAGIC 0x6564706c616e3033ull /* "edplan03" */

ed_status plan_bcast(comm *c, step_plan *p, uint64_t expected_seq, ed_error *err) {
    int root = comm_rank(c) == 0;
    plan_header h = {0};
    if (root) {
        h = (plan_header){PLAN_MAGIC, p->seq, step_plan_checksum(p), p->stop, p->argmax_only,
                          p->topk, p->n_encode, p->n_decode, p->n_ids, p->n_blocks, p->n_copies};
    }
    if (comm_bcast(c, &h, sizeof h, 0, err)) return ED_ERR;
    if (!root) {
        if (h.magic != PLAN_MAGIC || h.seq != expected_seq)
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
    return ED_OK;
}
