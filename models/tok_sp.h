/* A C interface over Debian's libsentencepiece (models/tok_sp.cc, the only C++ in the project):
 * a SentencePiece model (unigram or BPE) loaded from the bytes of its .model file, its vocabulary,
 * and SentencePiece's own encoding and decoding. Ids here are SentencePiece's, before any offset a
 * Hugging Face tokenizer adds (models/tokenizer.c maps them).
 * Thread safety: a loaded tok_sp is read-only; encode and decode may run concurrently. */
#ifndef ENCDEC_TOK_SP_H
#define ENCDEC_TOK_SP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct tok_sp tok_sp;

enum { TOK_SP_NORMAL = 0, TOK_SP_UNKNOWN = 1, TOK_SP_CONTROL = 2, TOK_SP_BYTE = 3,
       TOK_SP_UNUSED = 4 };
enum { TOK_SP_UNIGRAM = 1, TOK_SP_BPE = 2, TOK_SP_OTHER = 3 };

/* Loads the model from bytes[n] (the contents of spiece.model / sentencepiece.bpe.model). On
 * failure returns NULL and writes the reason (SentencePiece's, or the malformed part of the
 * model's normalizer_spec) into why[why_cap]. */
tok_sp *tok_sp_load(const void *bytes, size_t n, char *why, size_t why_cap);
void tok_sp_destroy(tok_sp *sp); /* NULL: no-op */

int tok_sp_size(const tok_sp *sp);              /* pieces, ids 0 .. size-1 */
const char *tok_sp_piece(const tok_sp *sp, int id); /* NUL-terminated UTF-8; id in range */
float tok_sp_score(const tok_sp *sp, int id);
int tok_sp_type(const tok_sp *sp, int id);      /* TOK_SP_NORMAL, ... */
int tok_sp_piece_to_id(const tok_sp *sp, const char *piece, size_t len); /* -1: not a piece */
int tok_sp_unk_id(const tok_sp *sp);
int tok_sp_model_type(const tok_sp *sp);        /* TOK_SP_UNIGRAM, TOK_SP_BPE, TOK_SP_OTHER */
int tok_sp_byte_fallback(const tok_sp *sp);     /* 1 when the model has <0x00>..<0xFF> pieces */

/* SentencePiece's encoding of text[len] as piece strings (Python's encode(text, out_type=str)):
 * an unknown character comes back as its own text, not as the unk piece. *pieces is a malloc'd
 * block of *n NUL-terminated strings one after another (free() it; non-NULL when *n is 0).
 * Returns 0, or -1 (out of memory). */
int tok_sp_encode_pieces(const tok_sp *sp, const char *text, size_t len, char **pieces,
                         size_t *n);

/* SentencePiece's decoding of piece strings (Python's decode_pieces): pieces[i], n of them, into
 * a malloc'd NUL-terminated string (*len bytes; NULL: out of memory). A piece the model lacks is
 * written as its own text, "▁" kept; "<unk>" itself as " ⁇ "; control pieces as nothing. */
char *tok_sp_decode_pieces(const tok_sp *sp, const char *const *pieces, size_t n, size_t *len);

/* The model's normalizer_spec (ModelProto field 3), read at load. charsmap[charsmap_len] is its
 * precompiled_charsmap (models/tok_charsmap.h; length 0: no character map), valid while sp lives;
 * the three flags are 0 or 1 (proto2 default 1 when the model leaves them out). */
typedef struct tok_sp_normalizer {
    const unsigned char *charsmap;
    size_t charsmap_len;
    int add_dummy_prefix;         /* a U+2581 before the text */
    int remove_extra_whitespaces; /* leading and trailing spaces dropped, runs folded to one */
    int escape_whitespaces;       /* ' ' written as U+2581 */
} tok_sp_normalizer;
const tok_sp_normalizer *tok_sp_normalizer_spec(const tok_sp *sp);


#ifdef __cplusplus
}
#endif

#endif
