#!/usr/bin/env python3
"""The demo model's task: four conversions whose answers a person checks at a glance.

  digits: two hundred and forty-one          -> 241
  words: 241                                 -> two hundred and forty-one
  date: 2024-03-07                           -> 7 March 2024
  iso date: 7 March 2024                     -> 2024-03-07

Numbers run from 0 to 999,999 and are written in British English ("one thousand and five",
"one hundred and one thousand two hundred"); dates run from 1900-01-01 to 2099-12-31.

Held out: every number n with crc32("n:<n>") % 20 == 0 and every date with crc32("d:<iso>") % 20
== 0 (about 5%), in both directions, never appears in training data; the held-out examples come
only from those. Everything is a pure function of the seed (random.Random, zlib.crc32), so the same
call gives the same examples on every machine and Python version.

Usage: make_data.py [--train N] [--heldout N] [--seed S] [--out DIR] [--show K]
  --out DIR writes DIR/train.tsv and DIR/heldout.tsv (prompt TAB answer TAB task);
  --show K prints K held-out examples.
"""
import argparse
import calendar
import datetime
import os
import random
import zlib

TASKS = ("digits", "words", "date", "iso date")
HELDOUT_MOD = 20
MAX_NUMBER = 999_999
FIRST_DAY = datetime.date(1900, 1, 1)
N_DAYS = (datetime.date(2099, 12, 31) - FIRST_DAY).days + 1

ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen").split()
TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
MONTHS = calendar.month_name[1:]


def below_hundred(n):
    """0..99 in words: 'seven', 'forty', 'forty-one'."""
    if n < 20:
        return ONES[n]
    tens, ones = divmod(n, 10)
    return TENS[tens] + ("-" + ONES[ones] if ones else "")


def below_thousand(n):
    """1..999 in words: 'two hundred and forty-one', 'three hundred', 'twelve'."""
    hundreds, rest = divmod(n, 100)
    if not hundreds:
        return below_hundred(rest)
    head = ONES[hundreds] + " hundred"
    return head + (" and " + below_hundred(rest) if rest else "")


def number_words(n):
    """0..999,999 in British English words."""
    if not 0 <= n <= MAX_NUMBER:
        raise ValueError(f"number_words: {n} is outside 0..{MAX_NUMBER}")
    if n == 0:
        return "zero"
    thousands, rest = divmod(n, 1000)
    if not thousands:
        return below_thousand(rest)
    head = below_thousand(thousands) + " thousand"
    if not rest:
        return head
    return head + (" and " if rest < 100 else " ") + below_thousand(rest)


def long_date(d):
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"


def is_heldout_number(n):
    return zlib.crc32(f"n:{n}".encode()) % HELDOUT_MOD == 0


def is_heldout_date(d):
    return zlib.crc32(f"d:{d.isoformat()}".encode()) % HELDOUT_MOD == 0


def sample_number(rng):
    """Digit count uniform in 1..6, then uniform among numbers of that many digits (so small
    numbers are as common as large ones)."""
    digits = rng.randint(1, 6)
    lo = 0 if digits == 1 else 10 ** (digits - 1)
    return rng.randint(lo, 10 ** digits - 1)


def sample_date(rng):
    return FIRST_DAY + datetime.timedelta(days=rng.randrange(N_DAYS))


def example(task, rng, heldout):
    """(prompt, answer) for task from the training (heldout False) or held-out (True) items."""
    while True:
        if task in ("digits", "words"):
            n = sample_number(rng)
            if is_heldout_number(n) != heldout:
                continue
            words, digits = number_words(n), str(n)
            return ("digits: " + words, digits) if task == "digits" else ("words: " + digits, words)
        if task in ("date", "iso date"):
            d = sample_date(rng)
            if is_heldout_date(d) != heldout:
                continue
            if task == "date":
                return "date: " + d.isoformat(), long_date(d)
            return "iso date: " + long_date(d), d.isoformat()
        raise ValueError(f"unknown task {task!r} (known: {', '.join(TASKS)})")


def train_examples(n, seed=1):
    """n training (prompt, answer, task) triples, tasks in turn; repeats are allowed."""
    rng = random.Random(seed)
    return [example(TASKS[i % len(TASKS)], rng, False) + (TASKS[i % len(TASKS)],)
            for i in range(n)]


def heldout_examples(n, seed=2):
    """n distinct held-out (prompt, answer, task) triples, tasks in turn."""
    rng = random.Random(seed)
    seen, out = set(), []
    while len(out) < n:
        task = TASKS[len(out) % len(TASKS)]
        prompt, answer = example(task, rng, True)
        if prompt not in seen:
            seen.add(prompt)
            out.append((prompt, answer, task))
    return out


def self_check():
    """Spot checks of the spelling rules; raises on a wrong one."""
    cases = {0: "zero", 7: "seven", 15: "fifteen", 40: "forty", 41: "forty-one",
             100: "one hundred", 101: "one hundred and one", 241: "two hundred and forty-one",
             1000: "one thousand", 1005: "one thousand and five",
             1200: "one thousand two hundred", 12_034: "twelve thousand and thirty-four",
             101_200: "one hundred and one thousand two hundred",
             999_999: "nine hundred and ninety-nine thousand nine hundred and ninety-nine"}
    for n, want in cases.items():
        if number_words(n) != want:
            raise AssertionError(f"number_words({n}) = {number_words(n)!r}, want {want!r}")
    if long_date(datetime.date(2024, 3, 7)) != "7 March 2024":
        raise AssertionError("long_date(2024-03-07)")


def write_tsv(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write("\t".join(r) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--train", type=int, default=1000)
    ap.add_argument("--heldout", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1, help="training seed (held-out uses seed + 1)")
    ap.add_argument("--out", help="folder for train.tsv and heldout.tsv")
    ap.add_argument("--show", type=int, default=0)
    a = ap.parse_args()
    self_check()
    held = heldout_examples(a.heldout, a.seed + 1)
    for prompt, answer, _ in held[:a.show]:
        print(f"{prompt}  ->  {answer}")
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        write_tsv(os.path.join(a.out, "train.tsv"), train_examples(a.train, a.seed))
        write_tsv(os.path.join(a.out, "heldout.tsv"), held)


if __name__ == "__main__":
    main()
