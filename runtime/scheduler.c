#include "runtime/scheduler.h"

#include <stdlib.h>

typedef struct queue_node {
    request *req;
    struct queue_node *next;
} queue_node;

struct scheduler {
    int n_slots, max_encoder_tokens;
    sequence **slots;        /* [n_slots], NULL = free */
    sequence **plan_seqs;    /* [n_slots]: decode entry i -> sequence */
    queue_node *head, *tail;
    int n_queued, n_running;
};

ed_status scheduler_create(scheduler **out, int n_slots, int max_encoder_tokens, ed_error *err) {
    scheduler *s = calloc(1, sizeof *s);
    if (!s) return ed_fail(err, "out of memory");
    s->n_slots = n_slots;
    s->max_encoder_tokens = max_encoder_tokens;
    s->slots = calloc((size_t)n_slots, sizeof *s->slots);
    s->plan_seqs = calloc((size_t)n_slots, sizeof *s->plan_seqs);
    if (!s->slots || !s->plan_seqs) {
        scheduler_destroy(s);
        return ed_fail(err, "out of memory");
    }
    *out = s;
    return ED_OK;
}

void scheduler_destroy(scheduler *s) {
    if (!s) return;
    for (queue_node *n = s->head, *next; n; n = next) {
        next = n->next;
        request_destroy(n->req);
        free(n);
    }
    if (s->slots)
        for (int i = 0; i < s->n_slots; i++) sequence_destroy(s->slots[i]);
    free(s->slots);
    free(s->plan_seqs);
    free(s);
}

ed_status scheduler_submit(scheduler *s, request *r, ed_error *err) {
    queue_node *n = calloc(1, sizeof *n);
    if (!n) return ed_fail(err, "out of memory queueing the request at line %ld", r->line);
    n->req = r;
    if (s->tail) s->tail->next = n;
    else s->head = n;
    s->tail = n;
    s->n_queued++;
    return ED_OK;
}

int scheduler_queued(const scheduler *s) { return s->n_queued; }
int scheduler_running(const scheduler *s) { return s->n_running; }

ed_status scheduler_build_plan(scheduler *s, step_plan *p, int vocab, ed_error *err) {
    /* Admissions: FIFO into free slots while the encoder budget lasts. */
    for (int slot = 0; slot < s->n_slots && s->head; slot++) {
        if (s->slots[slot]) continue;
        request *r = s->head->req;
        if (p->n_ids + r->n_input > s->max_encoder_tokens || p->n_encode == p->cap_encode) break;
        sequence *seq;
        if (sequence_create(&seq, r, slot, vocab, err)) return ED_ERR;
        queue_node *n = s->head;
        s->head = n->next;
        if (!s->head) s->tail = NULL;
        free(n);
        s->n_queued--;
        s->slots[slot] = seq;
        s->n_running++;
        plan_encode *e = &p->enc[p->n_encode++];
        e->slot = slot;
        e->len = r->n_input;
        e->ids_offset = p->n_ids;
        for (int i = 0; i < r->n_input; i++) p->ids[p->n_ids++] = r->input_ids[i];
    }
    for (int slot = 0; slot < s->n_slots; slot++) {
        sequence *seq = s->slots[slot];
        if (!seq) continue;
        s->plan_seqs[p->n_decode] = seq;
        p->dec[p->n_decode++] = (plan_decode){slot, sequence_next_pos(seq), sequence_next_token(seq)};
    }
    return ED_OK;
}

sequence *scheduler_plan_sequence(scheduler *s, int i) { return s->plan_seqs[i]; }

ed_status scheduler_retire(scheduler *s, scheduler_done_fn done, void *ctx, ed_error *err) {
    for (int slot = 0; slot < s->n_slots; slot++) {
        sequence *seq = s->slots[slot];
        if (!seq || !seq->finish_reason) continue;
        s->slots[slot] = NULL;
        s->n_running--;
        if (done(ctx, seq, err)) return ED_ERR;
    }
    return ED_OK;
}
