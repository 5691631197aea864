#!/usr/bin/env python3
"""Assembles the multilingual corpus the tokenizer fixtures are trained and tested on, from text
every Debian system carries (no network): translated man pages (cs de es fi fr ja ko pl ru uk zh
...), the glibc locale sources (month and day names, language and territory names, in Arabic,
Hebrew, Devanagari, Greek, Thai, ... scripts) and generated lines that mix scripts, emoji ZWJ
sequences, combining marks, NFKC-sensitive characters, tabs and runs of spaces.

Writes corpus.txt.xz (one line of text per line; a fixed seed, so the output is reproducible on
the same Debian release). Run: python3 build_corpus.py [OUT_DIR]"""
import glob, gzip, lzma, os, random, re, sys

random.seed(22)
out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
lines = []

# Man pages: troff source, lines that are text (not requests), escapes removed.
ESC = re.compile(r"\\f[BIRP]|\\f\(..|\\\(..|\\[&|^e%-]|\\s[+-]?\d|\\\*.|\\")
for lang in sorted(os.listdir("/usr/share/man")):
    if lang.startswith("man"):
        continue
    got = []
    for path in sorted(glob.glob(f"/usr/share/man/{lang}/man*/*.gz")):
        try:
            text = gzip.open(path, "rb").read().decode("utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        for ln in text.split("\n"):
            if ln.startswith((".", "'")) or len(ln) < 25:
                continue
            ln = ESC.sub("", ln).replace("\\-", "-").replace("\\ ", " ").strip()
            if 25 <= len(ln) <= 240 and "\\" not in ln:
                got.append(ln)
    random.shuffle(got)
    lines += got[:1500]

# glibc locales: quoted <Uxxxx> strings of LC_TIME, LC_IDENTIFICATION/LC_ADDRESS names.
UCH = re.compile(r"<U([0-9A-Fa-f]{4,8})>")
vocab = {}
for path in sorted(glob.glob("/usr/share/i18n/locales/*_*")):
    try:
        src = open(path, encoding="utf-8", errors="replace").read()
    except OSError:
        continue
    src = src.replace("/\n", " ")
    words = []
    for key in ("mon", "day", "abmon", "abday", "lang_name", "country_name", "alt_mon",
                "yesstr", "nostr"):
        for m in re.finditer(r"^\s*%s\s+(.*)$" % key, src, re.M):
            for q in re.findall(r'"([^"]*)"', m.group(1)):
                s = UCH.sub(lambda u: chr(int(u.group(1), 16)), q)
                if s and not s.isascii():
                    words.append(s)
    if words:
        vocab[os.path.basename(path)] = words
        lines.append(" ".join(words[:12]))
        lines.append(" ".join(words[12:26]))
all_words = [w for ws in vocab.values() for w in ws]

# Generated lines: script mixes and the hard cases tokenizers disagree on.
EMOJI = ["👩‍💻", "👨‍👩‍👧‍👦", "🏳️‍🌈", "👍🏽", "❤️", "🇩🇪", "😀", "🤖", "🧑‍🚀", "✨"]
NFKC = ["ﬁ", "ﬀ", "①", "Ａ", "ｂ", "㍿", "½", "™", "ℌ", "Ⅻ", "ｶﾀｶﾅ", "\u00a0", "\u3000", "²"]
COMB = ["e\u0301", "a\u0308", "n\u0303", "c\u0327", "o\u0302\u0323", "\u0915\u093f", "ه\u0651"]
LATIN = "the of and to in is that for it with as on was by at be this from or an are".split()
for i in range(6000):
    n = random.randint(3, 16)
    toks = []
    for _ in range(n):
        r = random.random()
        if r < 0.35 and all_words:
            toks.append(random.choice(all_words))
        elif r < 0.55:
            toks.append(random.choice(LATIN))
        elif r < 0.63:
            toks.append(str(random.randint(0, 10 ** random.randint(1, 7))))
        elif r < 0.70:
            toks.append(random.choice(EMOJI))
        elif r < 0.76:
            toks.append(random.choice(NFKC) + random.choice(LATIN))
        elif r < 0.82:
            toks.append(random.choice(COMB) + random.choice(["", "s", "r"]))
        elif r < 0.88:
            toks.append(random.choice(["(", "«", "“", "'", "\"", "[", "¿"]) + random.choice(LATIN)
                        + random.choice([")", "»", "”", ".", ",", "!", "?", ";", ":", "…"]))
        else:
            toks.append(random.choice(["https://example.org/a?b=1", "x_1 = y**2", "C++",
                                       "e-mail", "don't", "it's", "U.S.A.", "3.14", "-1",
                                       "#tag", "@user", "foo.bar()", "1,000,000"]))
    sep = lambda: random.choice([" "] * 20 + ["  ", "\t", "   "])
    ln = toks[0] + "".join(sep() + t for t in toks[1:])
    if random.random() < 0.05:
        ln = " " + ln
    if random.random() < 0.05:
        ln = ln + " "
    lines.append(ln)

lines = [ln.replace("\n", " ").replace("\r", " ") for ln in lines if ln.strip()]
random.shuffle(lines)
with lzma.open(os.path.join(out_dir, "corpus.txt.xz"), "wt", encoding="utf-8", preset=9) as f:
    for ln in lines:
        f.write(ln + "\n")
print(f"{len(lines)} lines, {len(vocab)} locales")
