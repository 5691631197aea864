#!/usr/bin/env python3
"""Compares encdec_tp's answers on the demo's held-out prompts with t5_torch.py's greedy decoding
of the same HF folder (t5_torch.py matches HF's T5 forward: check_t5_torch.py):
  * the torch model's exact-match accuracy (its text = sentencepiece decode of its ids);
  * per responses file: exact-match accuracy of the response "text", and how many responses'
    output_ids equal the torch greedy ids (EOS included where both have it).

Usage: compare_engine.py MODEL_DIR HELDOUT.jsonl [RESPONSES.jsonl ...] [--write-reference OUT]
  --write-reference OUT  writes HELDOUT's items with the torch model's greedy answer added as
                         "t5_torch_ids" (EOS included) and "t5_torch_text" (what
                         tests/unit/demo_text.sh requires of encdec_tp in fp32)
(RESPONSES: encdec_tp's answers to {"id", "text": prompt, "max_new_tokens": 32} requests, as
tests/unit/demo_text.sh makes them.) Prints a summary and up to 5 examples of each disagreement.
"""
import json
import os
import sys

import sentencepiece as spm
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import t5_torch  # noqa: E402
from train_cpu import greedy_texts  # noqa: E402


def jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    args, ref_out = sys.argv[1:], None
    if "--write-reference" in args:
        i = args.index("--write-reference")
        ref_out = args[i + 1]
        del args[i:i + 2]
    if len(args) < 2:
        sys.exit(__doc__)
    model_dir, held_path, resp_paths = args[0], args[1], args[2:]
    torch.set_num_threads(1)
    model = t5_torch.T5ForConditionalGeneration.from_hf(model_dir)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "spiece.model"))
    held = jsonl(held_path)
    ref = greedy_texts(model, sp, [h["prompt"] for h in held])
    ok = sum(t == h["answer"] for (_, t), h in zip(ref, held))
    print(f"torch greedy: {ok}/{len(held)} exact ({100 * ok / len(held):.2f}%)")
    if ref_out:
        with open(ref_out, "w") as f:
            for (ids, text), h in zip(ref, held):
                item = {k: h[k] for k in ("id", "task", "prompt", "answer")}
                item.update(t5_torch_text=text, t5_torch_ids=ids)
                f.write(json.dumps(item) + "\n")
    for path in resp_paths:
        got = {str(r["id"]): r for r in jsonl(path)}
        right = same = 0
        diffs = []
        for (ids, _), h in zip(ref, held):
            r = got.get(str(h["id"]), {})
            right += r.get("text") == h["answer"]
            out = r.get("output_ids")
            if out == ids:
                same += 1
            elif len(diffs) < 5:
                diffs.append(f"  {h['id']}: {h['prompt']!r}: engine {out} {r.get('text')!r}, torch {ids}")
        print(f"{path}: text {right}/{len(held)} exact ({100 * right / len(held):.2f}%), "
              f"output_ids == torch greedy ids on {same}/{len(held)}")
        print("\n".join(diffs))


if __name__ == "__main__":
    main()
