/* Byte-level BPE (GPT-2, RoBERTa, BART): text is split by the GPT-2 pre-tokenizer regex (PCRE2),
 * each piece's bytes are mapped to printable characters (the byte-to-unicode table), and merges
 * are applied in rank order. Vocabulary and merges come from vocab.json + merges.txt, or from the
 * "model" object of a tokenizer.json. Ids are the vocabulary's. Read-only after loading:
 * encode/decode may run concurrently. */
#ifndef ENCDEC_TOK_BBPE_H
#define ENCDEC_TOK_BBPE_H

#include <stddef.h>
#include <stdint.h>

#include "models/tok_utf8.h"
#include "common/status.h"

typedef struct tok_bbpe tok_bbpe;

/* vocab_json: the text of vocab.json ({token: id}); merges: merges.txt's text ("a b" per line,
 * an optional "#version" first line). `origin` names the files in messages. */
ed_status tok_bbpe_load(tok_bbpe **out, const char *vocab_json, size_t vocab_len,
                        const char *merges, size_t merges_len, const char *origin, ed_error *err);
/* The same from a tokenizer.json "model" object (cJSON *), type "BPE". */
ed_status tok_bbpe_load_json(tok_bbpe **out, const void *model_obj, const char *origin,
                             ed_error *err);
void tok_bbpe_destroy(tok_bbpe *b);

int tok_bbpe_size(const tok_bbpe *b);                 /* 1 + the largest id */
const char *tok_bbpe_token(const tok_bbpe *b, int id); /* NULL: no token has this id */
int tok_bbpe_token_to_id(const tok_bbpe *b, const char *tok, size_t len); /* -1: none */
/* add_prefix_space: prepend a space when the text does not start with one (ByteLevel option). */
void tok_bbpe_set_add_prefix_space(tok_bbpe *b, int on);

/* Appends the ids of text[len] to out. Returns 0, or -1 when out of memory or a piece has no
 * id (a merge result or byte missing from the vocabulary: err says which). */
int tok_bbpe_encode(const tok_bbpe *b, const char *text, size_t len, tok_ids *out, ed_error *err);

/* Appends the bytes token `tok` stands for (its characters through the inverse byte map) to
 * raw; a character outside the map is appended as its own UTF-8. */
int tok_bbpe_token_bytes(const tok_bbpe *b, const char *tok, tok_buf *raw);

#endif
