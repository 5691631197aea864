/* The tokenizer's state, shared by models/tokenizer.c (loading: files, configs, id tables),
 * models/tokenizer_codec.c (encode, decode) and models/tokenizer_stream.c. Immutable once loaded. */
#ifndef ENCDEC_TOKENIZER_INTERNAL_H
#define ENCDEC_TOKENIZER_INTERNAL_H

#include "models/tok_added.h"
#include "models/tok_bbpe.h"
#include "models/tok_charsmap.h"
#include "models/tok_map.h"
#include "models/tok_sp.h"
#include "models/tok_spbpe.h"
#include "models/tok_unigram.h"
#include "models/tokenizer.h"

typedef enum tok_kind {
    TK_T5,      /* SentencePiece, ids as the model's, </s> appended */
    TK_MBART50, /* fairseq SentencePiece, [src] X </s> */
    TK_MBART,   /* fairseq SentencePiece, X </s> [src] */
    TK_NLLB,    /* fairseq SentencePiece, [src] X </s> (legacy: X </s> [src]) */
    TK_BART,    /* byte-level BPE, <s> X </s> */
    TK_BYT5,    /* bytes + 3, X </s> */
    TK_MARIAN,  /* source.spm's pieces through vocab.json, X </s> (MarianTokenizer) */
    TK_PEGASUS, /* SentencePiece, piece k >= 2 is id k + offset (103) after Pegasus' specials */
    TK_M2M100,  /* sentencepiece.bpe.model's pieces through vocab.json, [src] X </s>, language
                 * codes __xx__ after vocab.json's ids (M2M100Tokenizer) */
} tok_kind;

struct tokenizer {
    tok_kind kind;
    char origin[1024];
    tok_sp *sp;           /* SentencePiece kinds (Marian: source.spm; M2M100:
                           * sentencepiece.bpe.model) */
    tok_sp *sp_target;    /* Marian: target.spm (loaded as HF loads it; with the shared vocabulary
                           * transformers 5.17 decodes with source.spm) */
    tok_charsmap *charsmap; /* SentencePiece kinds: the model's precompiled_charsmap */
    tok_unigram *uni;     /* SentencePiece unigram models */
    tok_spbpe *spbpe;     /* SentencePiece BPE models */
    tok_bbpe *bbpe;       /* BART */
    int sp_offset;        /* fairseq: SentencePiece id k >= 3 is id k + 1; Pegasus: k >= 2 is
                           * k + sp_offset (its specials after pad and eos: 103) */
    int vocab_size;       /* all ids: [0, vocab_size) */
    char **id_token;      /* id -> token string (owned; NULL: hole) */
    unsigned char *special; /* id -> 1 when decode(skip_special_tokens) drops it */
    tok_map *token_id;    /* token string -> id (model pieces and added tokens) */
    tok_added_set added;  /* matched in text before the model */
    int bos_id, eos_id, unk_id, pad_id;
    int src_lang_id;      /* the default source language code's id (-1: none) */
    int tgt_lang_id;      /* tokenizer_config.json's tgt_lang's id (-1: none) */
    const char *const *lang_codes; /* M2M100: its language codes ("en", ...; static table) */
    int n_lang_codes;     /* M2M100: how many; code i's token "__xx__" has id lang_base + i */
    int lang_base;        /* M2M100: vocab.json's size (HF's lang_token_to_id offset) */
    int legacy;           /* NLLB legacy_behaviour */
    int clean_up;         /* clean_up_tokenization_spaces */
    int add_prefix_space; /* BART's ByteLevel add_prefix_space */
    int sp_ws_split;      /* 1: WhitespaceSplit before Metaspace (T5); 0: Metaspace alone */
};


/* The id of a SentencePiece piece of the model (fairseq's and Pegasus' offsets applied;
 * identity for TK_T5). */
int tok_sp_to_id(const tokenizer *t, int sp_id);

#endif
