/* A SentencePiece precompiled character map (NormalizerSpec.precompiled_charsmap), applied the
 * way Hugging Face's tokenizers does it (its Precompiled normalizer, the spm_precompiled crate),
 * which is not SentencePiece's own longest-match rewrite.
 *
 * The blob: [u32 little-endian T][T bytes: a Darts-clone double-array trie, u32 units][normalized
 * strings, each ending in NUL]. A trie key is a byte string of the original text; its value is the
 * offset of its replacement in the normalized strings.
 *
 * Thread safety: read-only once created; lookups and normalization may run concurrently. */
#ifndef ENCDEC_TOK_CHARSMAP_H
#define ENCDEC_TOK_CHARSMAP_H

#include <stddef.h>

#include "common/status.h"
#include "models/tok_utf8.h"

typedef struct tok_charsmap tok_charsmap;

/* Parses blob[n] (copied). n == 0 gives the identity map. A blob that is too short, whose trie
 * size is not a whole number of units or runs past the blob, or whose normalized strings are not
 * UTF-8 is refused with a message naming `origin` and what is wrong. */
ed_status tok_charsmap_create(tok_charsmap **out, const void *blob, size_t n, const char *origin,
                              ed_error *err);
void tok_charsmap_destroy(tok_charsmap *cm); /* NULL: no-op */

/* Darts' common-prefix search of s[n] (stopping at a NUL byte), first result only: the
 * replacement of the SHORTEST trie key that is a prefix of s, in *rep[*rep_len] (not
 * NUL-terminated; may be empty; points into cm). Returns 1 found, 0 no key is a prefix of s, or
 * -1 with err set when the trie leads outside itself or its value outside the strings. */
int tok_charsmap_lookup(const tok_charsmap *cm, const char *s, size_t n, const char **rep,
                        size_t *rep_len, ed_error *err);

/* Hugging Face's Precompiled normalize_string of the UTF-8 text s[n], appended to out. Per
 * extended grapheme cluster (UAX #29): a cluster under 6 bytes with a lookup hit is replaced
 * WHOLE by that (shortest-prefix) replacement, whatever of it the key did not cover dropped;
 * otherwise each character is replaced by its own lookup hit or kept. ED_ERR: out of memory, or
 * a corrupt trie (err). */
ed_status tok_charsmap_normalize(const tok_charsmap *cm, const char *s, size_t n, tok_buf *out,
                                 ed_error *err);

#endif
