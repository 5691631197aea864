#!/usr/bin/env python3
"""Hugging Face's own answers for the demo's held-out prompts (issue 22): loads the saved folder
(configs/demo/model) with transformers' AutoTokenizer and AutoModelForSeq2SeqLM, on the CPU in
fp32, and adds to every item of HELDOUT.jsonl:
  hf_input_ids   AutoTokenizer(prompt).input_ids (EOS included): what encdec_tp's tokenizer must give
  hf_ids         HF greedy output ids (generate, num_beams=1, max_new_tokens=32; after the start
                 token, up to and with the first EOS), batched 100 at a time with right padding
  hf_text        decode(hf_ids, skip_special_tokens=True)
  hf_bf16_ids    the same greedy ids on weights rounded to bf16 (fp32 math)
The first N_CHECK_ONE prompts are also decoded alone (unpadded) and must give the batched ids.
tests/unit/demo_text.sh requires encdec_tp's fp32 answers to equal hf_ids, its request tokens to
equal hf_input_ids and its text to equal hf_text.

Usage (where transformers is installed, the GPU machine):
  python3 launch/demo/hf_reference.py configs/demo/model configs/demo/heldout.jsonl OUT.jsonl"""
import json
import os
import sys

import torch
import transformers
from transformers import AutoModelForSeq2SeqLM, AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from train_demo import greedy_batch, greedy_one, rounded_copy  # noqa: E402

N_CHECK_ONE = 50


def main():
    model_dir, heldout, out = sys.argv[1:4]
    torch.set_num_threads(min(8, os.cpu_count() or 1))
    items = [json.loads(line) for line in open(heldout, encoding="utf-8") if line.strip()]
    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForSeq2SeqLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    print(f"transformers {transformers.__version__}, torch {torch.__version__}: "
          f"{type(tok).__name__} ({len(tok)} ids), {type(model).__name__}", flush=True)
    ids = [tok(it["prompt"]).input_ids for it in items]
    g32 = greedy_batch(model, ids)
    g16 = greedy_batch(rounded_copy(model, torch.bfloat16), ids)
    alone = sum(greedy_one(model, x) == g32[i] for i, x in enumerate(ids[:N_CHECK_ONE]))
    if alone != min(N_CHECK_ONE, len(ids)):
        sys.exit(f"batched and alone greedy differ on {N_CHECK_ONE - alone} prompts")
    right = 0
    with open(out + ".tmp", "w", encoding="utf-8") as f:
        for it, x, (gen, _), (gen16, _) in zip(items, ids, g32, g16):
            it = dict(it, hf_input_ids=x, hf_ids=gen,
                      hf_text=tok.decode(gen, skip_special_tokens=True), hf_bf16_ids=gen16)
            right += it["hf_text"] == it["answer"]
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    os.replace(out + ".tmp", out)
    same_torch = sum(it.get("t5_torch_ids") == g[0] for it, g in zip(items, g32))
    print(f"{len(items)} prompts: HF fp32 text exactly right on {right}; HF ids equal "
          f"t5_torch_ids on {same_torch}; batched == alone on {alone} of {N_CHECK_ONE}; "
          f"bf16-weight ids equal fp32 on {sum(a[0] == b[0] for a, b in zip(g32, g16))}")


if __name__ == "__main__":
    main()
