/* The KV store's side of a step plan: the plan's block tables and, per entry, which table it
 * reads, how many keys, and where it writes, as the backend int32 arrays the attention and
 * kv_scatter kernels take. This module decides them from the plan (kv_store.h: rank 0 chose the
 * blocks) and uploads them itself, once per plan, together with a region of int32s its owner
 * lays out and fills (the model's token and position-embedding rows), so that a step makes one
 * upload_i32. Sized once at creation for the largest step; building a plan's tables allocates
 * nothing. */
#ifndef ENCDEC_KV_INDEX_H
#define ENCDEC_KV_INDEX_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"
#include "common/step_plan.h"
#include "kernels/backend.h"

typedef struct kv_index kv_index;

/* The current plan's tables. Pointers are backend int buffers fixed at creation (valid for
 * recorded graphs); the ints are facts of the plan last uploaded. All written by kv_index. */
typedef struct kv_tables {
    const int32_t *blocks;  /* [max_blocks] step_plan.blocks: the tables the entries point into */
    const int32_t *row_tab; /* [max_rows] per packed encoder row: its request's cross table
                             * (offset into blocks; -1 for an encode-only request) */
    const int32_t *row_pos; /* [max_rows] per packed encoder row: its position in its request */
    const int32_t *self_tab, *cross_tab; /* [max_dec] per decode entry: its self / cross table
                                          * (offsets into blocks) */
    const int32_t *self_nk;  /* [max_dec] per decode entry: self keys, pos + 1 (its own token's
                              * K/V, appended by the attention kernel, included) */
    const int32_t *cross_nk; /* [max_dec] per decode entry: cross keys (plan_decode.cross_len) */
    const int32_t *pos;      /* [max_dec] per decode entry: its position, the self-table row its
                              * K/V is written at */
    int cross_run;           /* the plan's longest run of consecutive decode entries over one
                              * cross table (a request's beams), >= 1 when it decodes, else 0 */
    int max_self_keys, max_cross_keys; /* the plan's largest self_nk / cross_nk, 0 if none */
} kv_tables;

/* Writes the owner's region (extra int32s, host) for plan p; called by kv_index_upload. */
typedef void (*kv_index_fill_fn)(const void *ctx, const step_plan *p, int32_t *extra);

/* Tables for plans of at most max_blocks block ids, max_rows packed encoder rows and max_dec
 * decode entries, plus `extra` int32s of the owner's region. */
ed_status kv_index_create(kv_index **out, const backend *be, int max_blocks, int max_rows,
                          int max_dec, size_t extra, ed_error *err);
void kv_index_destroy(kv_index *ix);

/* Makes p's tables current: unless p (by seq) is the plan last uploaded, builds its tables on
 * the host, lets fill(ctx, p, region) write the owner's region, and uploads both in one
 * upload_i32. The caller checked p against the capacities. */
void kv_index_upload(kv_index *ix, const step_plan *p, kv_index_fill_fn fill, const void *ctx);

const kv_tables *kv_index_tables(const kv_index *ix);
/* The owner's region in backend memory: [extra] int32s as its fill wrote them. */
const int32_t *kv_index_extra(const kv_index *ix);

#endif
