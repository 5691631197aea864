#include "models/decoder_graphs.h"

#include <stdlib.h>

#define GRAPH_SLOTS 64
#define RUN_KEYS 17 /* graph keys per batch size: cross runs 0..15, and 16 for 16 or more */

struct decoder_graphs {
    const backend *be;
    int on;                  /* set by create; cleared by decoder_graphs_run when a recording
                              * fails */
    int max_self_keys, max_cross_keys; /* the key bounds of recorded steps */
    struct { int n, run; void *graph; } slot[GRAPH_SLOTS]; /* per (n, run key); graph owned */
    int next_slot;           /* the slot the next recording replaces, round robin */
    unsigned char *seen;     /* [max_rows + 1][RUN_KEYS] (n, run key) pairs already run eagerly */
    long replays, captures;
};

ed_status decoder_graphs_create(decoder_graphs **out, const backend *be, int wanted, int max_rows,
                                int max_self_keys, int max_cross_keys, ed_error *err) {
    decoder_graphs *g = calloc(1, sizeof *g);
    if (g) g->seen = calloc(((size_t)max_rows + 1) * RUN_KEYS, 1);
    if (!g || !g->seen) {
        decoder_graphs_destroy(g);
        return ed_fail(err, "out of memory for the decoder graph cache");
    }
    g->be = be;
    g->max_self_keys = max_self_keys;
    g->max_cross_keys = max_cross_keys;
    /* Recorded steps size the attention scratch for the longest keys: keep that in shared
     * memory (longer limits run eagerly, sized per step). */
    g->on = wanted && be->graphs && max_self_keys <= 8192 && max_cross_keys <= 8192;
    *out = g;
    return ED_OK;
}

void decoder_graphs_destroy(decoder_graphs *g) {
    if (!g) return;
    for (int i = 0; i < GRAPH_SLOTS; i++)
        if (g->slot[i].graph) g->be->graphs->destroy(g->slot[i].graph);
    free(g->seen);
    free(g);
}

void decoder_graphs_counts(const decoder_graphs *g, long *replays, long *captures) {
    *replays = g->replays;
    *captures = g->captures;
}

ed_status decoder_graphs_run(decoder_graphs *g, int n, int cross_run, int max_self, int max_cross,
                             decoder_graphs_body_fn body, void *ctx, ed_error *err) {
    if (!g->on || max_self > g->max_self_keys || max_cross > g->max_cross_keys)
        return body(ctx, n, max_self, max_cross, err);
    const backend_graphs *bg = g->be->graphs;
    const int run = cross_run < RUN_KEYS ? cross_run : RUN_KEYS - 1;
    for (int i = 0; i < GRAPH_SLOTS; i++)
        if (g->slot[i].graph && g->slot[i].n == n && g->slot[i].run == run) {
            bg->launch(g->slot[i].graph);
            g->replays++;
            return ED_OK;
        }
    /* Fixed bounds, so that the eager run and the recording launch identical kernels. */
    if (!g->seen[(size_t)n * RUN_KEYS + run]) {
        g->seen[(size_t)n * RUN_KEYS + run] = 1;
        return body(ctx, n, g->max_self_keys, g->max_cross_keys, err);
    }
    bg->begin();
    ed_status st = body(ctx, n, g->max_self_keys, g->max_cross_keys, err);
    void *graph = bg->end();
    if (st) {
        if (graph) bg->destroy(graph);
        return ED_ERR;
    }
    if (!graph) { /* recording failed: run it now, and record no more */
        g->on = 0;
        return body(ctx, n, max_self, max_cross, err);
    }
    int slot = g->next_slot;
    g->next_slot = (slot + 1) % GRAPH_SLOTS;
    if (g->slot[slot].graph) bg->destroy(g->slot[slot].graph);
    g->slot[slot].n = n;
    g->slot[slot].run = run;
    g->slot[slot].graph = graph;
    g->captures++;
    bg->launch(graph);
    g->replays++;
    return ED_OK;
}
