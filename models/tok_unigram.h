/* Unigram segmentation as the Hugging Face tokenizers library runs it (its Unigram model): the
 * best-scoring split of a pre-token into vocabulary pieces (Viterbi over a lattice), an unknown
 * character scored min_score - 10 and consecutive unknowns fused into one <unk>, optional byte
 * fallback (<0xXX> pieces for an unknown span). The vocabulary is a SentencePiece model's pieces
 * and scores (models/tok_sp.h), ids unchanged. Read-only after creation. */
#ifndef ENCDEC_TOK_UNIGRAM_H
#define ENCDEC_TOK_UNIGRAM_H

#include <stddef.h>

#include "models/tok_sp.h"
#include "models/tok_utf8.h"

typedef struct tok_unigram tok_unigram;

/* The lattice over every piece of sp (its control and unknown pieces included, as the tokenizers
 * library's vocabulary holds them); byte_fallback: 1 to use <0xXX> pieces for unknown
 * spans when the model has them (transformers 5's classes pass 0). NULL: out of memory. */
tok_unigram *tok_unigram_create(const tok_sp *sp, int byte_fallback);
void tok_unigram_destroy(tok_unigram *u);

/* Appends the SentencePiece ids of w[n] (one pre-token, already "▁"-prefixed) to out. Returns 0
 * or -1 (out of memory). */
int tok_unigram_encode(const tok_unigram *u, const char *w, size_t n, tok_ids *out);

#endif
