#!/usr/bin/env python3
"""Tokenizer parity fixtures (issue 22), made with Hugging Face on the GPU machine (no GPU use).

From corpus.txt.xz (build_corpus.py) it trains small tokenizers of each kind, saves each with
save_pretrained the way HF repos ship them, and records what transformers' AutoTokenizer makes of
held-out lines and hard cases:

  kind       trained as                                   shipped files
  t5         SentencePiece unigram, <pad>=0 </s>=1 <unk>=2  spiece.model (+100 <extra_id_N>)
  t5_bytefb  the same with byte_fallback (mT5 / UMT5 style) spiece.model
  mbart50    SentencePiece unigram, fairseq ids + codes     sentencepiece.bpe.model
  nllb       SentencePiece BPE, fairseq ids + codes         sentencepiece.bpe.model
  bart       byte-level BPE (tokenizers)                    vocab.json + merges.txt
  byt5       bytes, offset 3                                 (no vocabulary file)
  marian     two SentencePiece unigram models (opus-mt:     source.spm + target.spm + vocab.json
             <unk>=0 <s>=1 </s>=2), source and target
             trained on different halves; vocab.json as
             opus-mt ships it: </s> 0, <unk> 1, language
             codes >>xx<<, both models' pieces, <pad> last
  pegasus    SentencePiece unigram, <pad>=0 </s>=1 <unk>=2  spiece.model (ids: piece k >= 2 at
             (google/pegasus-*)                              k + 103 after <mask_1> <mask_2>
                                                             <unk_2> .. <unk_102>)
  m2m100     SentencePiece BPE (facebook/m2m100_*); vocab.  sentencepiece.bpe.model + vocab.json +
             json as fairseq's dictionary: <s> 0, <pad> 1,  special_tokens_map.json (the 100
             </s> 2, <unk> 3, then the pieces by frequency   __xx__ codes) + tokenizer_config.json
             in the training text (not the model's order;   (src_lang en, tgt_lang fr)
             pieces never used left out: <unk>)

Output, under OUT_DIR/<kind>/: the saved tokenizer directory (hf/), cases.jsonl.gz (one JSON object
per case: case, text, src_lang, ids, decoded = decode(ids, skip_special_tokens=True), tokens for
the first lines; decoded_keep = decode(ids) for m2m100, whose decode-only records carry
decode_only: true and no text) and meta.json (classes, special ids, language-code ids, fast/slow
comparison).
OUT_DIR/report.json sums it up. Each kind is done independently: a failure is recorded and the
others go on.

Running it again into the same OUT_DIR replaces the kinds it makes and keeps the others (their
report.json entries included).

Run: python3 gen_tokenizer_fixtures.py OUT_DIR [N_HELDOUT [KINDS]]   (on the GPU machine: HF)
     python3 gen_tokenizer_fixtures.py --sources-only OUT_DIR [KINDS]  (here: the trained files
     only; KINDS from t5,t5_bytefb,mbart50,nllb,bart,marian,pegasus,m2m100, all by default)"""
import gzip, json, lzma, os, random, shutil, sys, tempfile, traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = [a for a in sys.argv[1:] if not a.startswith("--")]
SOURCES_ONLY = "--sources-only" in sys.argv
if not ARGS:
    sys.exit(__doc__)
OUT = ARGS[0]
# --sources-only OUT_DIR [KINDS]: the models train on the same lines as the HF fixtures' (2400
# held out), so its optional second argument is the kinds.
N_HELDOUT = int(ARGS[1]) if len(ARGS) > 1 and not SOURCES_ONLY else 2400
N_TOKENS = 300  # cases that also record HF's token strings (for reading mismatches)

lines = lzma.open(os.path.join(HERE, "corpus.txt.xz"), "rt", encoding="utf-8").read().split("\n")
lines = [ln for ln in lines if ln]
heldout, train = lines[-N_HELDOUT:], lines[:-N_HELDOUT]

HARD = [
    ("empty", ""), ("space", " "), ("spaces", "   "), ("lead_space", " hello world"),
    ("trail_space", "hello world "), ("multi_space", "hello    world  again"),
    ("tab", "hello\tworld"), ("tabs_spaces", " \t hello \t\t world \t"),
    ("newline", "first line\nsecond line"), ("newlines", "\n\nx\n\n"), ("crlf", "a\r\nb"),
    ("nfkc", "ﬁnance ﬀ ① Ａｂｃ ㍿ ½ ™ ℌ Ⅻ ｶﾀｶﾅ x²"), ("nbsp", "a\u00a0b\u3000c\u2009d"),
    ("cjk", "東京都は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다."),
    ("rtl_ar", "مرحبا بالعالم، كيف حالك؟"), ("rtl_he", "שלום עולם, מה שלומך?"),
    ("mixed_rtl", "the word שלום means peace (سلام)"), ("devanagari", "नमस्ते दुनिया, आप कैसे हैं?"),
    ("greek", "Καλημέρα κόσμε, τι κάνεις;"), ("cyrillic", "Привет, мир! Как дела?"),
    ("emoji_zwj", "family 👨‍👩‍👧‍👦 coder 👩‍💻 flag 🏳️‍🌈 thumbs 👍🏽"),
    ("combining", "cafe\u0301 nai\u0308ve man\u0303ana o\u0302\u0323 \u0915\u093f"),
    ("precomposed", "café naïve mañana ộ"), ("zwj_alone", "a\u200db\u200cc\ufeffd"),
    ("extra_id_0", "The <extra_id_0> walks in <extra_id_1> park"),
    ("extra_id_spaces", "x <extra_id_0>y<extra_id_1> z  <extra_id_2>  "),
    ("extra_id_only", "<extra_id_0>"), ("mask", "Hello <mask> world<mask>!"),
    ("eos_literal", "end </s> of <s> text <pad> and <unk>"),
    ("lang_codes", "en_XX de_DE hello fra_Latn eng_Latn __en__"),
    ("punct", "Hello, world! (It's 3.14...) \"quoted\" 'single' [brackets] {braces}"),
    ("digits", "1234567890 1,234.56 -7e+10 ٠١٢٣ १२३"),
    ("code", "def f(x):\n    return x**2  # comment"), ("url", "https://example.org/a?b=1&c=%20"),
    ("unknown_chars", "\U0001d54f\U0001d552 \u2603 \U00010348 \U0001F9EC"),
    ("control", "a\x01b\x7fc"), ("long_word", "a" * 300), ("repeat", "ab " * 100),
    ("mixed", " Ｈello\t👋🏾 мир 世界  עולם\u0301 ﬁ "),
]
FAIRSEQ_MBART50 = ["ar_AR", "cs_CZ", "de_DE", "en_XX", "es_XX", "et_EE", "fi_FI", "fr_XX",
                   "gu_IN", "hi_IN", "it_IT", "ja_XX", "kk_KZ", "ko_KR", "lt_LT", "lv_LV",
                   "my_MM", "ne_NP", "nl_XX", "ro_RO", "ru_RU", "si_LK", "tr_TR", "vi_VN",
                   "zh_CN", "af_ZA", "az_AZ", "bn_IN", "fa_IR", "he_IL", "hr_HR", "id_ID",
                   "ka_GE", "km_KH", "mk_MK", "ml_IN", "mn_MN", "mr_IN", "pl_PL", "ps_AF",
                   "pt_XX", "sv_SE", "sw_KE", "ta_IN", "te_IN", "th_TH", "tl_XX", "uk_UA",
                   "ur_PK", "xh_ZA", "gl_ES", "sl_SI"]


def log(*a):
    print(*a, flush=True)


def train_spm(path_prefix, model_type, fairseq, byte_fallback, vocab_size, sentences=None):
    """fairseq: SentencePiece's default ids (<unk>=0 <s>=1 </s>=2; fairseq and opus-mt models);
    else T5's and Pegasus' (<pad>=0 </s>=1 <unk>=2)."""
    import sentencepiece as spm
    ids = (dict(unk_id=0, bos_id=1, eos_id=2, pad_id=-1) if fairseq else
           dict(pad_id=0, eos_id=1, unk_id=2, bos_id=-1))
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(train if sentences is None else sentences),
        model_prefix=path_prefix, model_type=model_type,
        vocab_size=vocab_size, character_coverage=0.9995, byte_fallback=byte_fallback,
        num_threads=8, input_sentence_size=0, minloglevel=2, **ids)
    return path_prefix + ".model"


# transformers' FAIRSEQ_LANGUAGE_CODES["m2m100"] (M2M100Tokenizer's default language_codes).
M2M100_CODES = ["af", "am", "ar", "ast", "az", "ba", "be", "bg", "bn", "br", "bs", "ca", "ceb", "cs",
                "cy", "da", "de", "el", "en", "es", "et", "fa", "ff", "fi", "fr", "fy", "ga", "gd",
                "gl", "gu", "ha", "he", "hi", "hr", "ht", "hu", "hy", "id", "ig", "ilo", "is", "it",
                "ja", "jv", "ka", "kk", "km", "kn", "ko", "lb", "lg", "ln", "lo", "lt", "lv", "mg",
                "mk", "ml", "mn", "mr", "ms", "my", "ne", "nl", "no", "ns", "oc", "or", "pa", "pl",
                "ps", "pt", "ro", "ru", "sd", "si", "sk", "sl", "so", "sq", "sr", "ss", "su", "sv",
                "sw", "ta", "th", "tl", "tn", "tr", "uk", "ur", "uz", "vi", "wo", "xh", "yi", "yo",
                "zh", "zu"]
M2M100_SRC_LANGS = ["de", "zh", "ar", "ast"]  # cases with src_lang set (besides the default en)


def m2m100_vocab(model_path, sentences):
    """vocab.json as facebook/m2m100_* ship it (fairseq's dictionary, dict.txt): <s> 0, <pad> 1,
    </s> 2, <unk> 3, then the pieces by how often they occur in the SentencePiece-encoded training
    text, most frequent first (ties in the model's order), so that a piece's id is not the model's
    own; pieces that never occur are left out, as a dictionary counted from the data leaves them
    (M2M100Tokenizer then gives them <unk>'s id)."""
    import collections
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor(model_file=model_path)
    count = collections.Counter()
    for ids in sp.encode(list(sentences), out_type=int):
        count.update(ids)
    keep = [i for i in range(sp.get_piece_size())
            if count[i] > 0 and not (sp.is_control(i) or sp.is_unknown(i))]
    keep.sort(key=lambda i: (-count[i], i))
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for i in keep:
        vocab.setdefault(sp.id_to_piece(i), len(vocab))
    return vocab


def write_json(path, obj):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, indent=1)


MARIAN_CODES = [">>de<<", ">>fr<<", ">>es<<", ">>pt_BR<<"]


def marian_vocab(source_model, target_model):
    """vocab.json as opus-mt repos ship it (Marian's joint vocabulary): </s> 0, <unk> 1, the
    target language codes, then the pieces of source.spm and those only target.spm has (not its
    control and unknown pieces), <pad> last."""
    import sentencepiece as spm
    vocab = {"</s>": 0, "<unk>": 1}
    for c in MARIAN_CODES:
        vocab[c] = len(vocab)
    for path in (source_model, target_model):
        sp = spm.SentencePieceProcessor(model_file=path)
        for i in range(sp.get_piece_size()):
            piece = sp.id_to_piece(i)
            if not (sp.is_control(i) or sp.is_unknown(i)) and piece not in vocab:
                vocab[piece] = len(vocab)
    vocab["<pad>"] = len(vocab)
    return vocab


def source_dir(kind, tmp):
    """An HF-style directory before save_pretrained: the trained files + tokenizer_config."""
    d = os.path.join(tmp, kind + "_src")
    os.makedirs(d)
    if kind in ("t5", "t5_bytefb"):
        m = train_spm(os.path.join(tmp, kind), "unigram", False, kind == "t5_bytefb", 3000)
        shutil.copy(m, os.path.join(d, "spiece.model"))
        write_json(os.path.join(d, "tokenizer_config.json"),
                   {"tokenizer_class": "T5Tokenizer", "extra_ids": 100, "model_max_length": 512})
    elif kind == "mbart50":
        m = train_spm(os.path.join(tmp, kind), "unigram", True, False, 3000)
        shutil.copy(m, os.path.join(d, "sentencepiece.bpe.model"))
        write_json(os.path.join(d, "tokenizer_config.json"),
                   {"tokenizer_class": "MBart50Tokenizer", "src_lang": "en_XX",
                    "tgt_lang": "ro_RO", "model_max_length": 1024})
    elif kind == "nllb":
        m = train_spm(os.path.join(tmp, kind), "bpe", True, False, 3000)
        shutil.copy(m, os.path.join(d, "sentencepiece.bpe.model"))
        # As facebook/nllb-200-* ship it: the language codes listed as additional special
        # tokens (transformers 5 adds none by itself: every code would be <unk>).
        try:
            from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES
            codes = list(FAIRSEQ_LANGUAGE_CODES)
        except Exception:  # noqa: BLE001
            codes = NLLB_SOME_CODES
        write_json(os.path.join(d, "tokenizer_config.json"),
                   {"tokenizer_class": "NllbTokenizer", "src_lang": "eng_Latn",
                    "tgt_lang": "fra_Latn", "model_max_length": 1024,
                    "additional_special_tokens": codes})
    elif kind == "bart":
        from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
        tk = Tokenizer(models.BPE())
        tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tk.decoder = decoders.ByteLevel()
        tr = trainers.BpeTrainer(vocab_size=3000, show_progress=False,
                                 special_tokens=["<s>", "<pad>", "</s>", "<unk>"],
                                 initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
        tk.train_from_iterator(train, tr)
        tk.model.save(d)
        vocab = json.load(open(os.path.join(d, "vocab.json"), encoding="utf-8"))
        vocab["<mask>"] = len(vocab)
        write_json(os.path.join(d, "vocab.json"), vocab)
        write_json(os.path.join(d, "tokenizer_config.json"),
                   {"tokenizer_class": "BartTokenizer", "model_max_length": 1024})
    elif kind == "byt5":
        write_json(os.path.join(d, "tokenizer_config.json"),
                   {"tokenizer_class": "ByT5Tokenizer", "extra_ids": 125})
    elif kind == "marian":
        # Like an opus-mt pair: the source and target models learn from different text (here the
        # two halves of the training lines) and differ in size.
        # (Each half needs some 2,550 pieces for its characters at coverage 0.9995.)
        src = train_spm(os.path.join(tmp, "marian_source"), "unigram", True, False, 3200,
                        train[0::2])
        tgt = train_spm(os.path.join(tmp, "marian_target"), "unigram", True, False, 3600,
                        train[1::2])
        shutil.copy(src, os.path.join(d, "source.spm"))
        shutil.copy(tgt, os.path.join(d, "target.spm"))
        write_json(os.path.join(d, "vocab.json"), marian_vocab(src, tgt))
        # As the Tatoeba-era opus-mt repos ship it (older ones: source_lang / target_lang only,
        # with the class coming from config.json, which this directory lacks).
        write_json(os.path.join(d, "tokenizer_config.json"),
                   {"tokenizer_class": "MarianTokenizer", "source_lang": "en",
                    "target_lang": "de", "unk_token": "<unk>", "eos_token": "</s>",
                    "pad_token": "<pad>", "model_max_length": 512, "separate_vocabs": False,
                    "sp_model_kwargs": {}})
    elif kind == "m2m100":
        m = train_spm(os.path.join(tmp, kind), "bpe", True, False, 3000)
        shutil.copy(m, os.path.join(d, "sentencepiece.bpe.model"))
        write_json(os.path.join(d, "vocab.json"), m2m100_vocab(m, train))
        # As facebook/m2m100_418M ships them: the codes in special_tokens_map.json, the class and
        # its own keys in tokenizer_config.json (here with src_lang en and tgt_lang fr set).
        specials = {"bos_token": "<s>", "eos_token": "</s>", "sep_token": "</s>",
                    "unk_token": "<unk>", "pad_token": "<pad>"}
        write_json(os.path.join(d, "special_tokens_map.json"),
                   dict(specials, additional_special_tokens=[f"__{c}__" for c in M2M100_CODES]))
        write_json(os.path.join(d, "tokenizer_config.json"),
                   dict(specials, tokenizer_class="M2M100Tokenizer", src_lang="en", tgt_lang="fr",
                        language_codes="m2m100", num_madeup_words=8, model_max_length=1024))
    elif kind == "pegasus":
        m = train_spm(os.path.join(tmp, kind), "unigram", False, False, 3000)
        shutil.copy(m, os.path.join(d, "spiece.model"))
        write_json(os.path.join(d, "tokenizer_config.json"),
                   {"tokenizer_class": "PegasusTokenizer", "model_max_length": 1024,
                    "pad_token": "<pad>", "eos_token": "</s>", "unk_token": "<unk>",
                    "mask_token": "<mask_2>", "mask_token_sent": "<mask_1>", "offset": 103})
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return d


def load(path, **kw):
    from transformers import AutoTokenizer
    return AutoTokenizer.from_pretrained(path, **kw)


def encode_cases(tok, cases, keep=False):
    """keep: also record decoded_keep = decode(ids) (special tokens kept)."""
    out = []
    for i, (name, text, src) in enumerate(cases):
        ids = [int(x) for x in tok(text)["input_ids"]]
        rec = {"case": name, "text": text, "src_lang": src, "ids": ids,
               "decoded": tok.decode(ids, skip_special_tokens=True)}
        if keep:
            rec["decoded_keep"] = tok.decode(ids, skip_special_tokens=False)
        if i < N_TOKENS or not name.startswith("heldout"):
            rec["tokens"] = tok.convert_ids_to_tokens(ids)
        out.append(rec)
    return out


KEEP_DECODE = ("m2m100",)  # kinds whose records also carry decoded_keep


def m2m100_checks(tok, meta, src_dir):
    """M2M100: the ids the C side must agree on, recorded in meta (lang_ids: HF's get_lang_id of
    every code, the src_lang / forced-BOS id), and a check that the codes are special added tokens
    at len(vocab.json) + i (what the hub's files make of them). Returns a list of problems (empty:
    as expected); the fixture is made either way, recording what HF does."""
    problems = []
    vocab = json.load(open(os.path.join(src_dir, "vocab.json"), encoding="utf-8"))
    base = len(vocab)
    meta["lang_base"] = base
    try:
        from transformers.models.m2m_100.tokenization_m2m_100 import FAIRSEQ_LANGUAGE_CODES
        hf_codes = FAIRSEQ_LANGUAGE_CODES["m2m100"]
        meta["codes_match_transformers"] = list(hf_codes) == M2M100_CODES
        if list(hf_codes) != M2M100_CODES:
            problems.append("transformers' m2m100 code list differs from M2M100_CODES")
    except Exception as e:  # noqa: BLE001
        meta["codes_match_transformers"] = f"not checked: {e!r}"[:300]
    lang_ids, token_ids = {}, {}
    for i, c in enumerate(M2M100_CODES):
        try:
            lang_ids[c] = int(tok.get_lang_id(c))
        except Exception as e:  # noqa: BLE001
            problems.append(f"get_lang_id({c!r}): {e!r}"[:300])
            continue
        token_ids[c] = int(tok.convert_tokens_to_ids(f"__{c}__"))
        if lang_ids[c] != base + i:
            problems.append(f"get_lang_id({c!r}) = {lang_ids[c]}, not {base + i}")
        if token_ids[c] != lang_ids[c]:
            problems.append(f"__{c}__ converts to {token_ids[c]}, get_lang_id gives {lang_ids[c]}")
    meta["lang_ids"] = lang_ids
    special = set(str(t) for t in tok.all_special_tokens)
    if "__de__" not in special:
        problems.append("__de__ is not one of all_special_tokens")
    try:
        meta["tgt_lang"] = tok.tgt_lang
        meta["tgt_lang_id"] = int(tok.get_lang_id(tok.tgt_lang)) if tok.tgt_lang else None
        meta["src_lang_id"] = int(tok.get_lang_id(tok.src_lang))
    except Exception as e:  # noqa: BLE001
        problems.append(f"tgt_lang / src_lang: {e!r}"[:300])
    ids = [int(x) for x in tok("Hello world")["input_ids"]]
    if not ids or ids[0] != lang_ids.get("en") or ids[-1] != tok.eos_token_id:
        problems.append(f"'Hello world' gives {ids}: not [__en__ ... </s>]")
    meta["all_special_ids"] = sorted(int(i) for i in tok.all_special_ids)
    # For reading a mismatch without the GPU machine: the class's bases and what its pieces do.
    meta["mro"] = [f"{c.__module__}.{c.__name__}" for c in type(tok).__mro__]
    probes = {"tokenize": lambda: tok.tokenize(" a  __en__b </s> c "),
              "tokens_to_string": lambda: tok.convert_tokens_to_string(
                  ["\u2581a", "__en__", "\u2581b", "<unk>", "\u2581c", "</s>"]),
              "sp_decode": lambda: tok.sp_model.decode(["\u2581a", "\u2581b"]),
              "len": lambda: len(tok), "vocab_size": lambda: tok.vocab_size}
    meta["probes"] = {}
    for name, f in probes.items():
        try:
            meta["probes"][name] = f()
        except Exception as e:  # noqa: BLE001
            meta["probes"][name] = f"error: {e!r}"[:300]
    return problems


def m2m100_decode_records(tok, base, keep):
    """Decode-only records (no text): ids HF's encode never makes but a model may generate: the
    8 made-up words after the codes, codes and specials inside the text, <unk>, lone pieces."""
    n_codes = len(M2M100_CODES)
    vocab = tok.get_vocab()
    def pid(p):
        return int(vocab.get(p, tok.unk_token_id))
    seqs = {
        "madeup": [base + n_codes + i for i in range(8)],
        "madeup_in_text": [pid("\u2581a"), base + n_codes, pid("\u2581b"), 2],
        "codes_inside": [base + 18, pid("\u2581a"), base + 16, pid("\u2581b"), base + 99, 2],
        "specials_inside": [0, pid("\u2581a"), 1, 3, pid("\u2581b"), 2, pid("\u2581c")],
        "lone_space": [pid("\u2581"), pid("\u2581"), pid("\u2581a"), pid("\u2581")],
        "unk_only": [3],
        "empty": [],
        "ids_4_to_40": list(range(4, 41)),
    }
    recs, problems = [], []
    for name, ids in seqs.items():
        try:
            rec = {"case": f"decode:{name}", "text": None, "src_lang": None, "ids": ids,
                   "decoded": tok.decode(ids, skip_special_tokens=True), "decode_only": True,
                   "tokens": [str(x) for x in tok.convert_ids_to_tokens(ids)]}
            if keep:
                rec["decoded_keep"] = tok.decode(ids, skip_special_tokens=False)
            recs.append(rec)
        except Exception as e:  # noqa: BLE001 (recorded; the other records go on)
            problems.append(f"decode:{name} {ids}: {e!r}"[:300])
    return recs, problems


# Cases of one kind only: Marian's target language codes (MarianTokenizer keeps a leading
# ">>xx<<" whole, up to the first "<<"), Pegasus' special tokens.
KIND_CASES = {
    "marian": [("code", ">>de<< Hello world"), ("code_glued", ">>fr<<Bonjour le monde"),
               ("code_unknown", ">>xx<< not in the vocabulary"), ("code_only", ">>es<<"),
               ("code_mid", "Hello >>de<< world"), ("code_two", ">>de<< a >>fr<< b"),
               ("code_empty", ">><< x"), ("code_open", ">>de x"), ("code_eos", "</s>>>de<< x"),
               ("code_space", " >>de<< x"), ("code_nested", ">>>de<<< x"),
               ("specials", "a <unk> b <pad> c </s> d"), ("pieces_sp", "▁x ▁▁ y")],
    "m2m100": [("codes", "__en__ Hello __fr__world"), ("code_only", "__de__"),
               ("code_glued", "x__en__y"), ("code_unknown", "__xx__ not a code"),
               ("code_underscores", "___en___ __ ____"), ("code_upper", "__EN__ __en_XX__"),
               ("specials", "a <unk> b <pad> c </s> d <s> e"), ("specials_glued", "<s></s>x<pad>"),
               ("madeup", "madeupword0000 <unk_2>"), ("pieces_sp", "▁x ▁▁ y"),
               ("spaces_codes", "  __de__  x  __fr__  ")],
    "pegasus": [("masks", "The <mask_1> sat on the <mask_2> ."),
                ("unk_n", "a <unk_2> b<unk_102> c <unk_103>"),
                ("specials", "x </s> y <pad> z <unk>"), ("mask_glued", "<mask_1><mask_2>x")],
}


def do_kind(kind, tmp):
    src = source_dir(kind, tmp)
    shutil.rmtree(os.path.join(OUT, kind), ignore_errors=True)  # a rerun replaces the kind
    dst = os.path.join(OUT, kind, "hf")
    os.makedirs(dst)
    meta = {"kind": kind, "source_files": sorted(os.listdir(src))}
    tok0 = load(src)
    meta["class_from_source"] = type(tok0).__name__
    if kind == "m2m100" and "__de__" not in set(str(t) for t in tok0.all_special_tokens):
        # special_tokens_map.json's codes did not become special tokens: list them in
        # tokenizer_config.json instead (as the NLLB kind does) and say so.
        cfg_path = os.path.join(src, "tokenizer_config.json")
        cfg = json.load(open(cfg_path, encoding="utf-8"))
        cfg["additional_special_tokens"] = [f"__{c}__" for c in M2M100_CODES]
        write_json(cfg_path, cfg)
        meta["codes_listed_in"] = "tokenizer_config.json (special_tokens_map.json's were not used)"
        log("m2m100: special_tokens_map.json's codes were not special; listed in the config")
        tok0 = load(src)
    tok0.save_pretrained(dst)
    meta["saved_files"] = sorted(os.listdir(dst))
    # HF repos ship the SentencePiece model beside tokenizer.json; keep it when
    # save_pretrained (tokenizers backend) did not write it.
    for f in ("spiece.model", "sentencepiece.bpe.model", "vocab.json", "merges.txt",
              "source.spm", "target.spm"):
        if os.path.exists(os.path.join(src, f)) and not os.path.exists(os.path.join(dst, f)):
            shutil.copy(os.path.join(src, f), os.path.join(dst, f))
            meta.setdefault("copied_from_source", []).append(f)
    tok = load(dst)
    if kind == "nllb" and tok.convert_tokens_to_ids("eng_Latn") == tok.unk_token_id:
        raise RuntimeError("nllb: eng_Latn is <unk>: the language codes were not added")
    meta["class"] = type(tok).__name__
    meta["is_fast"] = bool(getattr(tok, "is_fast", False))
    meta["vocab_size"] = tok.vocab_size
    meta["len"] = len(tok)
    meta["special"] = {}
    for k in ("bos_token", "eos_token", "unk_token", "pad_token", "mask_token"):
        try:
            meta["special"][k] = [str(getattr(tok, k, None)), getattr(tok, k + "_id", None)]
        except Exception as e:  # noqa: BLE001
            meta["special"][k] = repr(e)
    meta["added_tokens"] = {str(k): str(v) for k, v in
                            getattr(tok, "added_tokens_decoder", {}).items()}
    if kind == "m2m100":
        try:
            meta["problems"] = m2m100_checks(tok, meta, src)
        except Exception:  # noqa: BLE001 (the fixture is still made)
            meta["problems"] = ["m2m100_checks failed: " + traceback.format_exc()[-1500:]]
        meta.setdefault("lang_base", len(json.load(open(os.path.join(src, "vocab.json"),
                                                         encoding="utf-8"))))
    try:
        meta["backend_tokenizer_json"] = json.loads(tok.backend_tokenizer.to_str())
        for k in ("model",):  # the vocabulary is in the shipped files: keep the pipeline only
            meta["backend_tokenizer_json"][k] = {kk: vv for kk, vv in
                                                 meta["backend_tokenizer_json"][k].items()
                                                 if kk not in ("vocab", "merges")}
    except Exception as e:  # noqa: BLE001 (python tokenizers have no backend)
        meta["backend_tokenizer_json"] = f"none: {e!r}"
    cases = [(f"heldout:{i}", t, None) for i, t in enumerate(heldout)]
    cases += [(f"hard:{n}", t, None) for n, t in HARD]
    cases += [(f"{kind}:{n}", t, None) for n, t in KIND_CASES.get(kind, [])]
    keep = kind in KEEP_DECODE
    records = encode_cases(tok, cases, keep)
    if kind == "m2m100":
        recs, problems = m2m100_decode_records(tok, meta["lang_base"], keep)
        records += recs
        meta["problems"] += problems
        for p in meta["problems"]:
            log("m2m100: PROBLEM:", p)
        for lang in M2M100_SRC_LANGS:
            tl = load(dst, src_lang=lang)
            sub = [(f"src_lang:{lang}:{i}", t, lang) for i, t in enumerate(heldout[:300])]
            sub += [(f"src_lang:{lang}:hard:{n}", t, lang) for n, t in HARD]
            records += encode_cases(tl, sub, keep)
    if kind in ("mbart50", "nllb"):
        codes = FAIRSEQ_MBART50 if kind == "mbart50" else None
        if codes is None:
            try:
                from transformers.models.nllb.tokenization_nllb import FAIRSEQ_LANGUAGE_CODES
                codes = list(FAIRSEQ_LANGUAGE_CODES)
            except Exception:  # noqa: BLE001
                specials = [str(t) for t in tok.all_special_tokens]
                codes = [t for t in specials if len(t) == 8 and t[3] == "_"]
        meta["lang_codes"] = {c: tok.convert_tokens_to_ids(c) for c in codes}
        for lang in (["de_DE", "zh_CN", "ar_AR"] if kind == "mbart50"
                     else ["deu_Latn", "zho_Hans", "arb_Arab"]):
            tl = load(dst, src_lang=lang)
            sub = [(f"src_lang:{lang}:{i}", t, lang) for i, t in enumerate(heldout[:300])]
            sub += [(f"src_lang:{lang}:hard:{n}", t, lang) for n, t in HARD]
            records += encode_cases(tl, sub)
        if kind == "nllb":
            tl = load(dst, legacy_behaviour=True)
            sub = [(f"legacy:{i}", t, "eng_Latn") for i, t in enumerate(heldout[:200])]
            recs = encode_cases(tl, sub)
            for r in recs:
                r["legacy_behaviour"] = True
            records += recs
    # Fast against slow: record every line where they differ.
    try:
        slow = load(dst, use_fast=False)
        meta["slow_class"] = type(slow).__name__
        if type(slow) is type(tok):
            meta["slow_vs_fast"] = "same class: transformers has no separate slow tokenizer"
        else:
            diff = []
            for r in records:
                if r["src_lang"] is not None or r.get("decode_only"):
                    continue
                s = list(slow(r["text"])["input_ids"])
                if s != r["ids"]:
                    r["slow_ids"] = s
                    diff.append(r["case"])
                sd = slow.decode(r["ids"], skip_special_tokens=True)
                if sd != r["decoded"]:
                    r["slow_decoded"] = sd
                    diff.append(r["case"] + ":decode")
            meta["slow_vs_fast"] = {"n_differ": len(diff), "cases": diff[:200]}
    except Exception as e:  # noqa: BLE001
        meta["slow_vs_fast"] = f"no slow tokenizer: {e!r}"[:500]
    with gzip.open(os.path.join(OUT, kind, "cases.jsonl.gz"), "wt", encoding="utf-8") as f:
        for r in records:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    write_json(os.path.join(OUT, kind, "meta.json"), meta)
    return {"n_cases": len(records), "class": meta["class"], "files": meta["saved_files"],
            "slow_vs_fast": meta["slow_vs_fast"] if isinstance(meta["slow_vs_fast"], str)
            else meta["slow_vs_fast"]["n_differ"]}


NLLB_SOME_CODES = ["eng_Latn", "fra_Latn", "deu_Latn", "zho_Hans", "arb_Arab", "rus_Cyrl"]


def sources_only(kinds):
    """--sources-only: the trained files alone (no transformers needed), for the CPU tests that
    need tokenizers but no HF output (tests/golden/tokenizers/local/). mBART-50 and NLLB get the
    special_tokens_map.json their hub repos ship (NLLB with a few of its codes only)."""
    for kind in kinds:
        if kind == "bart":
            shutil.rmtree(os.path.join(OUT, kind), ignore_errors=True)
            train_byte_bpe(os.path.join(OUT, "bart"))
            continue
        tmp = tempfile.mkdtemp()
        d = source_dir(kind, tmp)
        dst = os.path.join(OUT, kind)
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(d, dst)
        if kind in ("mbart50", "nllb"):
            codes = FAIRSEQ_MBART50 if kind == "mbart50" else NLLB_SOME_CODES
            write_json(os.path.join(dst, "special_tokens_map.json"),
                       {"additional_special_tokens": codes})
        shutil.rmtree(tmp, ignore_errors=True)
        log(kind, sorted(os.listdir(dst)))


def bytes_to_unicode():
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    out, k = {}, 0
    for b in range(256):
        if b in keep:
            out[b] = chr(b)
        else:
            out[b] = chr(256 + k)
            k += 1
    return out


def train_byte_bpe(dst, n_merges=400):
    """A small byte-level BPE (vocab.json + merges.txt, BART's layout) trained by plain counting,
    for --sources-only (the tokenizers library trains the HF fixture's)."""
    import collections, re
    b2u = bytes_to_unicode()
    words = collections.Counter()
    for ln in train[:8000]:
        for w in re.findall(r" ?\w+| ?[^\w\s]+|\s+", ln):
            words[tuple(b2u[b] for b in w.encode("utf-8"))] += 1
    vocab = ["<s>", "<pad>", "</s>", "<unk>"] + [b2u[b] for b in range(256)]
    merges = []
    for _ in range(n_merges):
        pairs = collections.Counter()
        for w, c in words.items():
            for a, b in zip(w, w[1:]):
                pairs[(a, b)] += c
        if not pairs:
            break
        (a, b), _ = max(pairs.items(), key=lambda kv: (kv[1], kv[0]))
        merges.append((a, b))
        vocab.append(a + b)
        new = collections.Counter()
        for w, c in words.items():
            out, i = [], 0
            while i < len(w):
                if i + 1 < len(w) and w[i] == a and w[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(w[i])
                    i += 1
            new[tuple(out)] += c
        words = new
    vocab.append("<mask>")
    os.makedirs(dst, exist_ok=True)
    write_json(os.path.join(dst, "vocab.json"), {t: i for i, t in enumerate(vocab)})
    with open(os.path.join(dst, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges))
    write_json(os.path.join(dst, "tokenizer_config.json"), {"tokenizer_class": "BartTokenizer"})


def main():
    if SOURCES_ONLY:
        kinds = ARGS[1].split(",") if len(ARGS) > 1 else \
            ["t5", "t5_bytefb", "mbart50", "nllb", "bart", "marian", "pegasus", "m2m100"]
        return sources_only(kinds)
    os.makedirs(OUT, exist_ok=True)
    report = {}
    try:  # a run for some kinds keeps the others' entries
        with open(os.path.join(OUT, "report.json"), encoding="utf-8") as f:
            report = json.load(f)
    except (OSError, ValueError):
        pass
    report.update({"n_heldout": len(heldout), "n_train": len(train)})
    try:
        import tokenizers, transformers
        report["versions"] = {"transformers": transformers.__version__,
                              "tokenizers": tokenizers.__version__}
        import sentencepiece
        report["versions"]["sentencepiece"] = sentencepiece.__version__
    except Exception as e:  # noqa: BLE001
        report["versions"] = repr(e)
    kinds = ARGS[2].split(",") if len(ARGS) > 2 else \
        ["t5", "t5_bytefb", "mbart50", "nllb", "bart", "byt5", "marian", "pegasus", "m2m100"]
    for kind in kinds:
        tmp = tempfile.mkdtemp()
        try:
            report[kind] = do_kind(kind, tmp)
            log(kind, "ok", report[kind])
        except Exception:  # noqa: BLE001
            report[kind] = {"error": traceback.format_exc()}
            log(kind, "FAILED\n" + report[kind]["error"])
        shutil.rmtree(tmp, ignore_errors=True)
    write_json(os.path.join(OUT, "report.json"), report)


if __name__ == "__main__":
    main()
