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

Output, under OUT_DIR/<kind>/: the saved tokenizer directory (hf/), cases.jsonl.gz (one JSON object
per case: case, text, src_lang, ids, decoded = decode(ids, skip_special_tokens=True), tokens for
the first lines) and meta.json (classes, special ids, language-code ids, fast/slow comparison).
OUT_DIR/report.json sums it up. Each kind is done independently: a failure is recorded and the
others go on.

Running it again into the same OUT_DIR replaces the kinds it makes and keeps the others (their
report.json entries included).

Run: python3 gen_tokenizer_fixtures.py OUT_DIR [N_HELDOUT [KINDS]]   (on the GPU machine: HF)
     python3 gen_tokenizer_fixtures.py --sources-only OUT_DIR [KINDS]  (here: the trained files
     only; KINDS from t5,t5_bytefb,mbart50,nllb,bart,marian,pegasus, all by default)"""
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


def encode_cases(tok, cases):
    out = []
    for i, (name, text, src) in enumerate(cases):
        ids = list(tok(text)["input_ids"])
        rec = {"case": name, "text": text, "src_lang": src, "ids": ids,
               "decoded": tok.decode(ids, skip_special_tokens=True)}
        if i < N_TOKENS or not name.startswith("heldout"):
            rec["tokens"] = tok.convert_ids_to_tokens(ids)
        out.append(rec)
    return out


# Cases of one kind only: Marian's target language codes (MarianTokenizer keeps a leading
# ">>xx<<" whole, up to the first "<<"), Pegasus' special tokens.
KIND_CASES = {
    "marian": [("code", ">>de<< Hello world"), ("code_glued", ">>fr<<Bonjour le monde"),
               ("code_unknown", ">>xx<< not in the vocabulary"), ("code_only", ">>es<<"),
               ("code_mid", "Hello >>de<< world"), ("code_two", ">>de<< a >>fr<< b"),
               ("code_empty", ">><< x"), ("code_open", ">>de x"), ("code_eos", "</s>>>de<< x"),
               ("code_space", " >>de<< x"), ("code_nested", ">>>de<<< x"),
               ("specials", "a <unk> b <pad> c </s> d"), ("pieces_sp", "▁x ▁▁ y")],
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
    records = encode_cases(tok, cases)
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
                if r["src_lang"] is not None:
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
            ["t5", "t5_bytefb", "mbart50", "nllb", "bart", "marian", "pegasus"]
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
        ["t5", "t5_bytefb", "mbart50", "nllb", "bart", "byt5", "marian", "pegasus"]
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
