/* BPE over a SentencePiece BPE model's pieces, as the Hugging Face tokenizers library runs the
 * BPE model transformers builds from it (SentencePieceExtractor's merges): every split (l, r) of
 * a piece into two pieces is a merge, ranked by the merged piece's score (higher first), then the
 * longer l, the longer r (in characters), then vocabulary order. Characters outside the
 * vocabulary become <unk> (consecutive ones fused) or, with byte fallback, <0xXX> pieces.
 * Ids are SentencePiece's. Read-only after creation. */
#ifndef ENCDEC_TOK_SPBPE_H
#define ENCDEC_TOK_SPBPE_H

#include <stddef.h>

#include "models/tok_sp.h"
#include "models/tok_utf8.h"

typedef struct tok_spbpe tok_spbpe;

/* byte_fallback as for tok_unigram_create. NULL: out of memory. */
tok_spbpe *tok_spbpe_create(const tok_sp *sp, int byte_fallback);
void tok_spbpe_destroy(tok_spbpe *b);
/* Appends the ids of w[n] (one pre-token) to out. 0, or -1 (out of memory). */
int tok_spbpe_encode(const tok_spbpe *b, const char *w, size_t n, tok_ids *out);

#endif
