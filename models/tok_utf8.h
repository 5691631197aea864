/* UTF-8 helpers shared by the tokenizers, and a growable byte buffer. */
#ifndef ENCDEC_TOK_UTF8_H
#define ENCDEC_TOK_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length of the well-formed UTF-8 character at s[0 .. n) (1..4), or 0 when the bytes there are
 * not one (invalid, overlong, surrogate, or cut short by n). */
size_t utf8_char_len(const unsigned char *s, size_t n);

/* Decodes the character at s (utf8_char_len(s, n) > 0) into its code point. */
uint32_t utf8_decode(const unsigned char *s, size_t len);

/* Encodes code point cp into out[4]; returns its length. */
size_t utf8_encode(uint32_t cp, char out[4]);

/* The length of the longest prefix of s[n] that ends on a character boundary when s[n] may still
 * grow: n minus an incomplete (but so far valid) multi-byte character at its end. */
size_t utf8_complete_prefix(const char *s, size_t n);

typedef struct tok_buf {
    char *data; /* NUL-terminated after every append (NULL until the first) */
    size_t len, cap;
} tok_buf;

/* Appends; returns 0 or -1 (out of memory). */
int tok_buf_add(tok_buf *b, const void *data, size_t n);
/* Appends bytes[n] as Rust's String::from_utf8_lossy does (each maximal ill-formed subpart
 * becomes U+FFFD), the way the tokenizers library turns decoded bytes into text. */
int tok_buf_add_lossy(tok_buf *b, const unsigned char *bytes, size_t n);
/* Appends only the well-formed characters of bytes[n], dropping ill-formed bytes (Python's
 * bytes.decode("utf-8", errors="ignore")). */
int tok_buf_add_ignore(tok_buf *b, const unsigned char *bytes, size_t n);

typedef struct tok_ids {
    int32_t *data;
    size_t len, cap;
} tok_ids;
int tok_ids_add(tok_ids *v, int32_t id);

#endif
