/* Sinusoidal position tables, computed by the converter exactly as Hugging Face builds them and
 * stored in the .h5 as S.pos_embed (so the forward pass adds table rows for every kind). */
#ifndef ENCDEC_POS_TABLE_H
#define ENCDEC_POS_TABLE_H

#include <stdint.h>

#include "common/status.h"
#include "models/spec.h"

/* 1 when spec's position table is computed (pos_table != POS_TABLE_CHECKPOINT), else 0. */
int pos_table_is_computed(const model_spec *s);

/* out[rows, dim] = the table of kind s->pos_table (pos_table_kind), row r for position index r:
 *   POS_TABLE_SIN_HALVES: HF's Marian / Pegasus init (numpy in float64, rounded to float32):
 *     angle(r, c) = r / 10000^(2c / dim), sin in columns [0, ceil(dim/2)), cos in the rest;
 *   POS_TABLE_FAIRSEQ: HF's M2M100 get_embedding (torch in float32): half = dim / 2,
 *     f(c) = exp(-c ln(10000) / (half - 1)), sin(r f(c)) in [0, half), cos in [half, 2 half),
 *     a zero last column when dim is odd, row s->pad_id all zeros. */
void pos_table_fill(const model_spec *s, int64_t rows, int64_t dim, float *out);

/* The converter's check of a checkpoint's own copy of a computed table (Marian and Pegasus
 * checkpoints may hold one; HF would use it): `name` must hold the sinusoid within 1e-3, else an
 * error naming the tensor and the largest difference (trained positions are not what this
 * architecture builds). */
ed_status pos_table_check(const float *computed, const float *stored, int64_t n,
                          const char *name, ed_error *err);

#endif
