#!/usr/bin/env python3
"""Checks that t5_torch.py (the demo's training model) computes Hugging Face's T5 forward: loads the
HF fixtures tests/golden/fixtures/t5_v1_0_tied (ReLU, tied, scaled head) and t5_v1_1_gated
(gated-GELU, sharded safetensors, unscaled tied head), runs every teacher-forced request of their
requests.jsonl ("score-*": decoder_input_ids given, logits returned; made by gen_golden.py from HF's
one-pass forward) and every "greedy-*" request (min_new_tokens = max_new_tokens, logits of each
generated step), and compares with HF's logits in expected.jsonl.

Usage: check_t5_torch.py [--tol 1e-4] [FIXTURE_DIR ...]   exit 0 only if every max |diff| < tol.
"""
import argparse
import json
import os
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import t5_torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(HERE))
DEFAULT = [os.path.join(ROOT, "tests/golden/fixtures", n) for n in ("t5_v1_0_tied", "t5_v1_1_gated")]


def jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def check(folder):
    """Max |logit diff| over the fixture's logit-bearing requests, and how many were compared."""
    model = t5_torch.T5ForConditionalGeneration.from_hf(folder)
    start = model.config.get("decoder_start_token_id", 0)
    want = {e["id"]: e for e in jsonl(os.path.join(folder, "expected.jsonl"))}
    worst, n = 0.0, 0
    for r in jsonl(os.path.join(folder, "requests.jsonl")):
        if not r.get("return_logits") or "logits" not in want[r["id"]]:
            continue
        exp = torch.tensor(want[r["id"]]["logits"], dtype=torch.float32)
        if "decoder_input_ids" in r:  # teacher forced: logits at every decoder position
            dec = r["decoder_input_ids"]
        else:  # greedy with EOS held off: step k's logits see start + output_ids[:k]
            dec = [start] + want[r["id"]]["output_ids"][:-1]
        with torch.no_grad():
            got = model(torch.tensor([r["input_ids"]]), torch.tensor([dec]))[0]
        if got.shape != exp.shape:
            raise SystemExit(f"{folder}: {r['id']}: logits shape {tuple(got.shape)} vs HF {tuple(exp.shape)}")
        worst = max(worst, float((got - exp).abs().max()))
        n += 1
    return worst, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tol", type=float, default=1e-4)
    ap.add_argument("fixtures", nargs="*", default=DEFAULT)
    a = ap.parse_args()
    torch.set_num_threads(min(2, torch.get_num_threads()))
    bad = 0
    for folder in a.fixtures:
        worst, n = check(folder)
        ok = n > 0 and worst < a.tol
        bad += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {os.path.basename(folder)}: {n} requests, "
              f"max |logit - HF| = {worst:.3g} (tol {a.tol:g})")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
