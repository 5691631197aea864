/* The cache of recorded decoder steps: one backend graph per (batch size n, cross run key),
 * recorded the second time that pair is seen (the first run, eager, warms kernels and GEMM
 * plans) and replayed from then on. The cross run (kv_tables.cross_run: a request's beams
 * sharing one cross table) keys it too, for the cross-attention launch depends on it. Recorded
 * steps run with the fixed key bounds given at creation, so that the eager warm-up and the
 * recording launch identical kernels. */
#ifndef ENCDEC_DECODER_GRAPHS_H
#define ENCDEC_DECODER_GRAPHS_H

#include "common/status.h"
#include "kernels/backend.h"

typedef struct decoder_graphs decoder_graphs;

/* The device work of a decoder step for n entries over at most max_self / max_cross keys: only
 * backend ops and captureable collectives, so that it can be recorded. */
typedef ed_status (*decoder_graphs_body_fn)(void *ctx, int n, int max_self, int max_cross,
                                            ed_error *err);

/* wanted: the run asks for graphs and its collectives can be recorded. Graphs are on when the
 * backend has them too and both key bounds fit the attention's shared memory (<= 8192); longer
 * limits run every step eagerly. max_rows: the largest n. */
ed_status decoder_graphs_create(decoder_graphs **out, const backend *be, int wanted, int max_rows,
                                int max_self_keys, int max_cross_keys, ed_error *err);
void decoder_graphs_destroy(decoder_graphs *g);

/* Runs body for n entries: replays the graph of (n, cross_run), records it the second time the
 * pair is seen, or runs body eagerly (graphs off, first sight of the pair, keys past the
 * recorded bounds, or a failed recording, which turns graphs off). */
ed_status decoder_graphs_run(decoder_graphs *g, int n, int cross_run, int max_self, int max_cross,
                             decoder_graphs_body_fn body, void *ctx, ed_error *err);

/* Steps replayed from a graph, and graphs recorded, since creation. */
void decoder_graphs_counts(const decoder_graphs *g, long *replays, long *captures);

#endif
