/* KV storage of one rank: the decoder self-attention K/V and the cross-attention K/V (the encoder
 * output projected once per request), for this rank's heads only.
 * This version gives each of n_slots sequences a contiguous region per layer; the paged pools
 * (fixed-size blocks, block tables) replace it behind this same interface in their own issue.
 * Layout per (slot, layer): K and V are [capacity, kv_dim] with kv_dim = local heads * d_kv. */
#ifndef ENCDEC_KV_STORE_H
#define ENCDEC_KV_STORE_H

#include <stddef.h>

#include "kernels/backend.h"
#include "runtime/status.h"

typedef struct kv_store kv_store;

ed_status kv_store_create(kv_store **out, const backend *be, int n_slots, int n_layers, int kv_dim,
                          int self_capacity, int cross_capacity, ed_error *err);
void kv_store_destroy(kv_store *kv);

float *kv_self_k(kv_store *kv, int slot, int layer);  /* [self_capacity, kv_dim] */
float *kv_self_v(kv_store *kv, int slot, int layer);
float *kv_cross_k(kv_store *kv, int slot, int layer); /* [cross_capacity, kv_dim] */
float *kv_cross_v(kv_store *kv, int slot, int layer);
int kv_cross_len(const kv_store *kv, int slot);       /* encoder tokens stored for slot */
void kv_set_cross_len(kv_store *kv, int slot, int len);
int kv_kv_dim(const kv_store *kv);
size_t kv_store_bytes(const kv_store *kv);

#endif
