/* A model's own tokenizer, at parity with Hugging Face transformers' AutoTokenizer (its fast,
 * tokenizers-backed implementation where the slow one differs): text -> ids with the model's
 * special tokens, ids -> text, and streaming detokenization.
 *
 * Kinds (chosen from tokenizer_config.json's tokenizer_class, else from the files present):
 *   T5 / Flan-T5 / mT5 / UMT5   spiece.model: unigram (byte fallback when the model has it),
 *                               "</s>" appended, "<extra_id_N>" = vocab_size - 1 - N
 *   mBART-50, mBART, NLLB       sentencepiece.bpe.model: fairseq ids (<s>=0 <pad>=1 </s>=2
 *                               <unk>=3, piece k -> k + 1), language codes and "<mask>" after
 *                               the pieces; the source language code placed as each HF class
 *                               does (mBART-50 and NLLB: [code] X </s>; mBART and NLLB with
 *                               legacy_behaviour: X </s> [code])
 *   BART / RoBERTa              byte-level BPE from vocab.json + merges.txt (or tokenizer.json):
 *                               <s> X </s>
 *   ByT5                        UTF-8 bytes + 3, "</s>" appended
 *   Marian (opus-mt)            source.spm run by the SentencePiece library itself (its own
 *                               normalizer: MarianTokenizer is Python's sentencepiece), each
 *                               piece's id vocab.json's, a leading ">>xx<<" language code one
 *                               token, "</s>" appended; decode through SentencePiece's
 *                               decode_pieces, stripped (no separate target vocabulary)
 *   Pegasus                     spiece.model: <pad>=0 </s>=1, mask_token (<mask_2> as the hub
 *                               repos configure it) 2, mask_token_sent (<mask_1>) 3,
 *                               <unk_2>..<unk_102>=4..104, piece k >= 2 -> k + 103; Metaspace
 *                               as mBART's; "</s>" appended
 *   M2M100                      sentencepiece.bpe.model run by the SentencePiece library itself
 *                               (M2M100Tokenizer is Python's sentencepiece), each piece's id
 *                               vocab.json's (unk when it lacks the piece); language code "xx"
 *                               is "__xx__" at len(vocab.json) + its index in language_codes'
 *                               list (m2m100's 100 or wmt21's 8), then num_madeup_words ids (8)
 *                               named "<unk>"; [src code] X </s>; decode through SentencePiece's
 *                               decode_pieces, stripped
 * Added tokens (special tokens, <extra_id_N>, <mask>, language codes, added_tokens.json,
 * tokenizer.json's added_tokens) are matched in the text first, leftmost-longest, with their
 * lstrip / rstrip flags, as the tokenizers library does.
 *
 * Files come from an HF model directory or from the /tokenizer group of a converted .h5 model
 * (docs/MODEL_FORMAT.md); both give the same tokenizer.
 *
 * Thread safety: a loaded tokenizer is immutable. tokenizer_encode, tokenizer_decode and the
 * lookups may be called from any number of threads at once; a tokenizer_stream belongs to one
 * thread at a time (one per sequence). */
#ifndef ENCDEC_TOKENIZER_H
#define ENCDEC_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "common/status.h"

typedef struct tokenizer tokenizer;

/* One tokenizer file: its name (e.g. "spiece.model") and bytes. */
typedef struct tokenizer_file {
    const char *name;
    const void *data;
    size_t len;
} tokenizer_file;

/* The file names a tokenizer may be built from, NULL-terminated: what encdec_convert copies
 * from an HF directory into the .h5. */
extern const char *const tokenizer_file_names[];

/* Builds a tokenizer from files[n] (copied: the caller keeps ownership). `origin` (a directory or
 * .h5 path) prefixes messages, which name the offending file and key. */
ed_status tokenizer_load_files(tokenizer **out, const tokenizer_file *files, size_t n,
                               const char *origin, ed_error *err);
/* From the tokenizer files of HF directory `dir`. */
ed_status tokenizer_load_dir(tokenizer **out, const char *dir, ed_error *err);
/* From a converted model file. A model converted without tokenizer files is an error that says
 * so (callers serving ids only should check tokenizer_h5_has(path) first). */
ed_status tokenizer_load_h5(tokenizer **out, const char *h5_path, ed_error *err);
/* 1 when the .h5 at path stores tokenizer files, 0 when not (or unreadable). */
int tokenizer_h5_has(const char *h5_path);
void tokenizer_destroy(tokenizer *t); /* NULL: no-op */

/* Encodes text[len] (UTF-8; invalid UTF-8 is an error naming the byte offset) into a malloc'd
 * id array *ids (free() it; non-NULL even when *n is 0) of *n ids, special tokens added as the
 * model's HF tokenizer adds them. src_lang: the source language code for mBART / NLLB / M2M100
 * ("de_DE", "deu_Latn", "de"), NULL for the tokenizer's default (tokenizer_config.json's
 * src_lang, else en_XX / eng_Latn / en); an unknown code is an error naming it; ignored by kinds
 * without language codes. */
ed_status tokenizer_encode(const tokenizer *t, const char *text, size_t len, const char *src_lang,
                           int32_t **ids, size_t *n, ed_error *err);

/* Decodes ids[n] into a malloc'd NUL-terminated string *text (free() it) of *len bytes, as HF's
 * decode(ids, skip_special_tokens=skip_special). An id outside [0, tokenizer_vocab_size) is an
 * error naming its position. */
ed_status tokenizer_decode(const tokenizer *t, const int32_t *ids, size_t n, int skip_special,
                           char **text, size_t *len, ed_error *err);

/* Lookups. tokenizer_token_to_id: the id of a token string (a language code, "<extra_id_0>",
 * "</s>", a vocabulary piece), or -1. tokenizer_id_to_token: the token string of an id (valid as
 * long as t), or NULL when out of range. */
int tokenizer_token_to_id(const tokenizer *t, const char *token);
const char *tokenizer_id_to_token(const tokenizer *t, int32_t id);
/* Ids are in [0, this): HF's len(tokenizer); for M2M100 also its num_madeup_words ids after the
 * codes (the model's vocabulary counts them; HF decodes each as "<unk>"). */
int tokenizer_vocab_size(const tokenizer *t);
int tokenizer_eos_id(const tokenizer *t);     /* -1 when the kind has none */
int tokenizer_is_special(const tokenizer *t, int32_t id);
/* "t5", "mbart50", "mbart", "nllb", "bart", "byt5", "marian", "pegasus", "m2m100": the kind in
 * use. */
const char *tokenizer_kind(const tokenizer *t);

/* The id of language code `code` as the HF class's get_lang_id / lang_code_to_id gives it: the
 * id placed before the text for src_lang, and the token a decoder is forced to start with for
 * tgt_lang (forced_bos_token_id). mBART-50 / mBART / NLLB: the code is its own token ("de_DE",
 * "deu_Latn"); M2M100: "de" names the token "__de__" (tokenizer_token_to_id("de") is the piece
 * "de", not the code). -1 when code is not one of the tokenizer's codes, or the kind has none. */
int tokenizer_lang_id(const tokenizer *t, const char *code);
/* tokenizer_config.json's tgt_lang as tokenizer_lang_id gives it (a code the tokenizer does not
 * know is refused at load), or -1 when the config names none. */
int tokenizer_tgt_lang_id(const tokenizer *t);

/* Streaming detokenization of one generated sequence. Each push returns the text that the ids so
 * far add to what earlier pushes returned: never part of a UTF-8 character, and the pieces of all
 * pushes followed by tokenizer_stream_finish concatenate to exactly
 * tokenizer_decode(all ids, skip_special) (SentencePiece's leading space of the first word
 * included: it is dropped as decode drops it). Text that a later id could still change (an
 * incomplete character, a byte-fallback sequence not yet complete) is held back until it
 * settles. Cost per push: one decode of the ids so far. */
typedef struct tokenizer_stream tokenizer_stream;
tokenizer_stream *tokenizer_stream_create(const tokenizer *t, int skip_special); /* NULL: OOM */
void tokenizer_stream_destroy(tokenizer_stream *s); /* NULL: no-op */
/* Adds id; *piece points at the new text (owned by s, valid until the next call on s; "" when
 * nothing settled yet), *len its length. */
ed_status tokenizer_stream_push(tokenizer_stream *s, int32_t id, const char **piece, size_t *len,
                                ed_error *err);
/* The rest of the text once the sequence is over (after it, the stream is empty again). */
ed_status tokenizer_stream_finish(tokenizer_stream *s, const char **piece, size_t *len,
                                  ed_error *err);

#endif
