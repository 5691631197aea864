/* Text normalizers of the Hugging Face tokenizers pipeline that SentencePiece-based tokenizers
 * use, applied to one plain-text stretch (between added tokens). NFKC runs on ICU (libicu). */
#ifndef ENCDEC_TOK_NORMALIZE_H
#define ENCDEC_TOK_NORMALIZE_H

#include <stddef.h>

#include "models/tok_utf8.h"

/* Appends the NFKC form of s[n] (valid UTF-8) to out. 0, or -1 (ICU failure, out of memory). */
int tok_nfkc(const char *s, size_t n, tok_buf *out);

#endif
