#!/usr/bin/env python3
"""Trains the demo model: a small T5 (Flan-T5 shape) with its own SentencePiece tokenizer on the
task of make_data.py, and writes Hugging Face's own greedy answers on held-out prompts as the
fixture that encdec_tp must reproduce.

Runs where PyTorch, transformers (5.x), tokenizers and sentencepiece are installed (the GPU
machine); trains on CUDA when present (bf16 autocast, fp32 master weights), else on the CPU.
Everything HF answers for the fixture is computed on the CPU in fp32, 100 prompts at a time
(the first 100 also alone, unpadded, to confirm the batched ids), from
the model and tokenizer *reloaded from the saved folder*, so it is what a user of the files gets.

Writes into OUT_DIR:
  model/      the HF folder: config.json, model.safetensors (fp32), generation_config.json,
              spiece.model, tokenizer.json, tokenizer_config.json (and what else HF writes)
  fixture/requests.jsonl              encdec_tp requests: HF-encoded input_ids, max_new_tokens
  fixture/expected.jsonl              HF greedy output_ids and finish_reason (fp32)
  fixture/expected_bf16_weights.jsonl the same on weights rounded to bf16 (fp32 math)
  fixture/answers.jsonl               per id: task, prompt, answer, output_ids = the answer's ids
                                      (what a correct model generates), HF's ids and decoded text
  fixture/meta.json                   versions, sizes, training facts, accuracies, tokenizer checks

Usage: train_demo.py OUT_DIR [--train-seconds S] [--max-steps N] [--tar FILE] [--quick]
  --tar FILE   also pack OUT_DIR into FILE once the model is saved and again at the end
  --quick      a few steps on a small data set (to test the script, not to make the model)

On the GPU machine (one call, about 6-8 minutes of device time with the defaults):
  python3 launch/demo/train_demo.py /tmp/demo --tar $OUT/demo.tar > $OUT/train.log 2>&1
then here: mkdir -p configs/demo && tar -C configs/demo -xf FILES_AT/demo.tar, and
tests/unit/demo_model.sh BUILD_DIR configs/demo checks encdec_tp against the fixture.
"""
import argparse
import copy
import datetime
import json
import os
import shutil
import sys
import tarfile
import time

import sentencepiece as spm
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_data  # noqa: E402

import transformers  # noqa: E402
from transformers import (AutoModelForSeq2SeqLM, AutoTokenizer, T5Config,  # noqa: E402
                          T5ForConditionalGeneration, T5Tokenizer)

EXTRA_IDS = 100       # sentinels as HF ships T5: <extra_id_0> is the last id
SP_VOCAB = 256        # asked of SentencePiece; it keeps fewer where the text needs fewer
MAX_NEW = 32          # greedy length cap of the fixture (every answer is far shorter)
N_FIXTURE = 500       # held-out prompts in the fixture
N_HELDOUT = 5000      # held-out prompts for the accuracy measured on the GPU
N_CHECK_ONE = 100     # fixture prompts also run alone (unpadded) to confirm the batched ids
T0 = time.time()


def log(*a):
    print(f"[{time.time() - T0:7.1f}s]", *a, flush=True)


def train_sentencepiece(texts, prefix):
    """A unigram spiece.model in T5's layout: <pad>=0, </s>=1, <unk>=2, no BOS; digits split."""
    corpus = prefix + ".txt"
    with open(corpus, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(t + "\n")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=SP_VOCAB, model_type="unigram",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, split_digits=True, character_coverage=1.0,
        hard_vocab_limit=False, num_threads=8, minloglevel=2)
    return prefix + ".model"


def tokenizer_problems(tok, sp, texts):
    """Ways tok differs from T5's conventions on top of sp: a list of strings (empty = none)."""
    n_sp = sp.get_piece_size()
    out = []
    if len(tok) != n_sp + EXTRA_IDS:
        out.append(f"len(tokenizer) {len(tok)} != {n_sp} pieces + {EXTRA_IDS} extra ids")
    for name, want in (("pad_token_id", 0), ("eos_token_id", 1), ("unk_token_id", 2)):
        if getattr(tok, name) != want:
            out.append(f"{name} {getattr(tok, name)} != {want}")
    for i, want in ((0, n_sp + EXTRA_IDS - 1), (EXTRA_IDS - 1, n_sp)):
        got = tok.convert_tokens_to_ids(f"<extra_id_{i}>")
        if got != want:
            out.append(f"<extra_id_{i}> has id {got}, HF's T5 layout puts it at {want}")
    bad_enc = bad_dec = 0
    for t in texts:
        ids = tok(t).input_ids
        if ids != sp.encode(t) + [1]:
            bad_enc += 1
            if bad_enc <= 3:
                out.append(f"encode {t!r}: HF {ids} vs spiece {sp.encode(t) + [1]}")
        if tok.decode(ids, skip_special_tokens=True) != t:
            bad_dec += 1
            if bad_dec <= 3:
                out.append(f"decode {t!r}: HF {tok.decode(ids, skip_special_tokens=True)!r}")
    if bad_enc or bad_dec:
        out.append(f"{bad_enc} of {len(texts)} encodings and {bad_dec} decodings differ")
    return out


def build_tokenizer(spm_path, work, texts):
    """The HF T5 tokenizer over spm_path that keeps T5's layout and sentencepiece's ids: first what
    from_pretrained makes of a folder holding only spiece.model (how HF converts a T5 repo), else
    one built from the pieces and scores. Returns (tokenizer, how, problems)."""
    sp = spm.SentencePieceProcessor(model_file=spm_path)
    tried = []

    def from_folder():
        d = os.path.join(work, "spm_only")
        os.makedirs(d, exist_ok=True)
        shutil.copy(spm_path, os.path.join(d, "spiece.model"))
        return T5Tokenizer.from_pretrained(d, extra_ids=EXTRA_IDS)

    def from_pieces():
        vocab = [(sp.id_to_piece(i), sp.get_score(i)) for i in range(sp.get_piece_size())]
        vocab += [(f"<extra_id_{i}>", 0.0) for i in range(EXTRA_IDS - 1, -1, -1)]
        return T5Tokenizer(vocab=vocab, extra_ids=EXTRA_IDS)

    for how, make in (("from_pretrained(spiece.model)", from_folder), ("vocab=pieces", from_pieces)):
        try:
            tok = make()
        except Exception as e:  # reported, then the next way is tried
            log(f"tokenizer {how}: failed: {type(e).__name__}: {e}")
            continue
        problems = tokenizer_problems(tok, sp, texts)
        log(f"tokenizer {how}: {type(tok).__name__}, {len(tok)} ids, problems: {problems or 'none'}")
        if not problems:
            return tok, how, []
        tried.append((len(problems), how, tok, problems))
    if not tried:
        raise RuntimeError("no way of building the HF tokenizer worked (see above)")
    _, how, tok, problems = min(tried, key=lambda t: t[0])
    log(f"WARNING: using tokenizer {how} with problems: {problems}")
    return tok, how, problems


def encode(tok, texts, pad_value):
    """Padded [len(texts), longest] int64 ids (each ends with EOS) and the longest length."""
    ids = tok(texts).input_ids
    n = max(len(x) for x in ids)
    out = torch.full((len(ids), n), pad_value, dtype=torch.long)
    for i, x in enumerate(ids):
        out[i, :len(x)] = torch.tensor(x)
    return out, n


def model_config(vocab_size):
    """Flan-T5's shape, small: gated-GELU FFN, tied embeddings, 4 heads of 32 (inner dim 128 !=
    d_model 256), 3 encoder and 3 decoder layers."""
    return T5Config(vocab_size=vocab_size, d_model=256, d_kv=32, num_heads=4, d_ff=512,
                    num_layers=3, num_decoder_layers=3, relative_attention_num_buckets=32,
                    relative_attention_max_distance=128, feed_forward_proj="gated-gelu",
                    tie_word_embeddings=True, dropout_rate=0.0, layer_norm_epsilon=1e-6,
                    decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)


def batch_answers(model, tok, prompts, device, bs=500):
    """HF greedy answers (decoded, special tokens skipped) for prompts, batched with padding."""
    out = []
    with torch.no_grad():
        for i in range(0, len(prompts), bs):
            enc = tok(prompts[i:i + bs], return_tensors="pt", padding=True)
            seq = model.generate(input_ids=enc.input_ids.to(device),
                                 attention_mask=enc.attention_mask.to(device), do_sample=False,
                                 num_beams=1, max_new_tokens=MAX_NEW)
            out += tok.batch_decode(seq, skip_special_tokens=True)
    return out


def accuracy(answers, rows):
    """Overall and per-task exact-match fractions of answers against rows' (prompt, answer, task)."""
    per = {}
    for got, (_, want, task) in zip(answers, rows):
        ok, n = per.get(task, (0, 0))
        per[task] = (ok + (got == want), n + 1)
    total = sum(ok for ok, _ in per.values()) / max(1, len(rows))
    return total, {t: ok / n for t, (ok, n) in per.items()}


def train(model, tok, x, y, device, args, heldout):
    """AdamW with warmup and linear decay over progress = max(step / max_steps, elapsed /
    train_seconds): the schedule ends on whichever budget runs out first."""
    model.to(device).train()
    cuda = device.type == "cuda"
    try:
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98),
                                weight_decay=0.01, fused=cuda)
    except TypeError:  # torch without fused AdamW
        opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98),
                                weight_decay=0.01)
    x, y = x.to(device), y.to(device)
    g = torch.Generator().manual_seed(1234)
    perm, pos, step, start = torch.randperm(len(x), generator=g), 0, 0, time.time()
    warmup, loss_sum, loss_n, progress = 300, 0.0, 0, 0.0
    probe = heldout[:1000]
    while progress < 1.0:
        if pos + args.batch > len(x):
            perm, pos = torch.randperm(len(x), generator=g), 0
        idx = perm[pos:pos + args.batch].to(device)
        pos += args.batch
        lr = args.lr * min(1.0, (step + 1) / warmup) * max(0.05, 1.0 - progress)
        for group in opt.param_groups:
            group["lr"] = lr
        xb, yb = x[idx], y[idx]
        with torch.autocast(device_type=device.type, dtype=torch.bfloat16, enabled=cuda):
            loss = model(input_ids=xb, attention_mask=(xb != 0).long(), labels=yb).loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        if step % 50 == 0:  # a sampled loss: reading it every step would stall the GPU
            loss_sum, loss_n = loss_sum + float(loss), loss_n + 1
        progress = max(step / args.max_steps, (time.time() - start) / args.train_seconds)
        if step % args.eval_every == 0 or progress >= 1.0:
            model.eval()
            acc, per = accuracy(batch_answers(model, tok, [p for p, _, _ in probe], device),
                                probe)
            model.train()
            log(f"step {step} lr {lr:.2e} loss(sampled) {loss_sum / max(1, loss_n):.4f} "
                f"held-out exact {acc:.4f} {json.dumps({k: round(v, 4) for k, v in per.items()})}")
            loss_sum, loss_n = 0.0, 0
    model.eval()
    return {"steps": step, "train_seconds": round(time.time() - start, 1),
            "examples_seen": step * args.batch, "final_lr": lr}


def rounded_copy(model, dtype):
    """A copy of model with every weight rounded to dtype and kept in fp32."""
    mq = copy.deepcopy(model)
    with torch.no_grad():
        for p in mq.parameters():
            p.copy_(p.to(dtype).to(torch.float32))
    return mq


def greedy_one(model, ids):
    """HF greedy on one prompt, no padding: generated ids (after the start token), finish."""
    with torch.no_grad():
        seq = model.generate(torch.tensor([ids]), do_sample=False, num_beams=1,
                             max_new_tokens=MAX_NEW)
    gen = seq[0].tolist()[1:]
    eos = model.config.eos_token_id
    return gen, ("eos" if gen and gen[-1] == eos else "length")


def greedy_batch(model, ids_list, bs=100):
    """HF greedy on many prompts, bs at a time, right-padded with an attention mask: per prompt
    the generated ids (after the start token, up to and with the first EOS) and finish."""
    eos, out = model.config.eos_token_id, []
    for i in range(0, len(ids_list), bs):
        chunk = ids_list[i:i + bs]
        n = max(len(x) for x in chunk)
        x = torch.zeros((len(chunk), n), dtype=torch.long)
        for j, ids in enumerate(chunk):
            x[j, :len(ids)] = torch.tensor(ids)
        with torch.no_grad():
            seq = model.generate(input_ids=x, attention_mask=(x != 0).long(), do_sample=False,
                                 num_beams=1, max_new_tokens=MAX_NEW)
        for row in seq.tolist():
            gen = row[1:]
            if eos in gen:
                out.append((gen[:gen.index(eos) + 1], "eos"))
            else:
                out.append((gen, "length"))
    return out


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


def pack(out_dir, tar_path):
    if not tar_path:
        return
    with tarfile.open(tar_path, "w") as t:
        for name in sorted(os.listdir(out_dir)):
            if name != "work":
                t.add(os.path.join(out_dir, name), arcname=name)
    log(f"packed {out_dir} into {tar_path} ({os.path.getsize(tar_path)} bytes)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out_dir")
    ap.add_argument("--train-seconds", type=float, default=280)
    ap.add_argument("--deadline", type=float, default=500,
                    help="seconds from the start by which everything should be done: training "
                         "is cut to leave the fixture's measured CPU time")
    ap.add_argument("--max-steps", type=int, default=20000)
    ap.add_argument("--n-train", type=int, default=800_000)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--eval-every", type=int, default=1000)
    ap.add_argument("--tar")
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    global N_FIXTURE, N_HELDOUT
    if args.quick:
        args.n_train, args.max_steps, args.eval_every, args.batch = 4000, 30, 15, 64
        N_FIXTURE, N_HELDOUT = 12, 40
    torch.manual_seed(0)
    torch.set_num_threads(min(4, os.cpu_count() or 1))
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    out, work = args.out_dir, os.path.join(args.out_dir, "work")
    model_dir, fx_dir = os.path.join(out, "model"), os.path.join(out, "fixture")
    for d in (work, model_dir, fx_dir):
        os.makedirs(d, exist_ok=True)
    log(f"transformers {transformers.__version__}, torch {torch.__version__}, device {device}"
        + (f" ({torch.cuda.get_device_name()})" if device.type == "cuda" else ""))

    # 1. data and tokenizer
    make_data.self_check()
    rows = make_data.train_examples(args.n_train, seed=1)
    heldout = make_data.heldout_examples(max(N_HELDOUT, N_FIXTURE), seed=2)
    train_texts = [t for p, a, _ in rows for t in (p, a)]
    spm_path = train_sentencepiece(train_texts[:400_000], os.path.join(work, "spiece"))
    check_texts = [t for p, a, _ in heldout[:2000] for t in (p, a)]
    tok, tok_how, tok_problems = build_tokenizer(spm_path, work, check_texts)
    tok.save_pretrained(model_dir)
    shutil.copy(spm_path, os.path.join(model_dir, "spiece.model"))
    x, lx = encode(tok, [p for p, _, _ in rows], 0)
    y, ly = encode(tok, [a for _, a, _ in rows], -100)
    log(f"{len(rows)} training pairs, longest input {lx} and answer {ly} tokens (EOS included); "
        f"{len(heldout)} held-out")
    if ly > MAX_NEW - 4:
        raise RuntimeError(f"answers of {ly} tokens leave no margin under MAX_NEW {MAX_NEW}")

    # 2. model and training
    model = T5ForConditionalGeneration(model_config(len(tok)))
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params} parameters")
    # The fixture's CPU time, from an untrained copy (it runs to MAX_NEW: an upper bound).
    t = time.time()
    probe_model = copy.deepcopy(model).eval()
    probe_ids = [tok(p).input_ids for p, _, _ in heldout[:100]]
    greedy_batch(probe_model, probe_ids)
    per_batch = time.time() - t
    for ids in probe_ids[:4]:
        greedy_one(probe_model, ids)
    per_call = (time.time() - t - per_batch) / 4
    reserve = 2 * per_batch * N_FIXTURE / 100 + N_CHECK_ONE * per_call + 40
    budget = max(60.0, min(args.train_seconds, args.deadline - (time.time() - T0) - reserve))
    log(f"HF greedy on the CPU: {per_batch:.1f} s per 100 prompts batched, {per_call * 1000:.0f} ms "
        f"one alone (untrained: to MAX_NEW); reserving {reserve:.0f} s for the fixture and checks; "
        f"training for {budget:.0f} s")
    args.train_seconds = budget
    facts = train(model, tok, x, y, device, args, heldout)
    log(f"trained: {facts}")
    model.to("cpu").save_pretrained(model_dir)
    sizes = {f: os.path.getsize(os.path.join(model_dir, f)) for f in sorted(os.listdir(model_dir))}
    log(f"saved {model_dir}: {sizes} (total {sum(sizes.values())} bytes)")
    pack(out, args.tar)

    # 3. HF's answers from the saved folder, on the CPU in fp32
    hf = AutoModelForSeq2SeqLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    hf_tok = AutoTokenizer.from_pretrained(model_dir)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "spiece.model"))
    reload_problems = tokenizer_problems(hf_tok, sp, check_texts)
    log(f"reloaded: {type(hf).__name__}, {type(hf_tok).__name__}; tokenizer problems: "
        f"{reload_problems or 'none'}")
    with torch.no_grad():
        probe = hf_tok([p for p, _, _ in heldout[:16]], return_tensors="pt", padding=True)
        dec = torch.zeros((16, 1), dtype=torch.long)
        a = hf(**probe, decoder_input_ids=dec).logits
        b = model.eval()(**probe, decoder_input_ids=dec).logits
    reload_diff = float((a - b).abs().max())
    log(f"reloaded vs trained model, first-step logits: max |diff| {reload_diff:.3g}")
    hq = rounded_copy(hf, torch.bfloat16)
    reqs, exps, exps16, answers = [], [], [], []
    fx = heldout[:N_FIXTURE]
    fx_ids = [hf_tok(p).input_ids for p, _, _ in fx]
    greedy32, greedy16 = greedy_batch(hf, fx_ids), greedy_batch(hq, fx_ids)
    log("fixture: batched greedy done")
    # Batched and padded must give what one prompt alone gives (checked on the first ones).
    alone_same = sum(greedy_one(hf, ids) == greedy32[i] for i, ids in enumerate(fx_ids[:N_CHECK_ONE]))
    alone_same16 = sum(greedy_one(hq, ids) == greedy16[i]
                       for i, ids in enumerate(fx_ids[:N_CHECK_ONE]))
    log(f"fixture: one prompt alone gives the batched answer on {alone_same} (fp32) and "
        f"{alone_same16} (bf16 weights) of {min(N_CHECK_ONE, len(fx))}")
    for i, (prompt, answer, task) in enumerate(fx):
        rid = f"demo-{i}"
        ids = fx_ids[i]
        (gen, fin), (gen16, fin16) = greedy32[i], greedy16[i]
        reqs.append({"id": rid, "input_ids": ids, "max_new_tokens": MAX_NEW})
        exps.append({"id": rid, "output_ids": gen, "finish_reason": fin})
        exps16.append({"id": rid, "output_ids": gen16, "finish_reason": fin16})
        answers.append({"id": rid, "task": task, "prompt": prompt, "answer": answer,
                        "output_ids": hf_tok(answer).input_ids, "finish_reason": "eos",
                        "hf_output_ids": gen,
                        "hf_text": hf_tok.decode(gen, skip_special_tokens=True),
                        "hf_bf16_weights_text": hf_tok.decode(gen16, skip_special_tokens=True)})
    write_jsonl(os.path.join(fx_dir, "requests.jsonl"), reqs)
    write_jsonl(os.path.join(fx_dir, "expected.jsonl"), exps)
    write_jsonl(os.path.join(fx_dir, "expected_bf16_weights.jsonl"), exps16)
    write_jsonl(os.path.join(fx_dir, "answers.jsonl"), answers)
    n = len(answers)
    acc = {
        "fixture_fp32_text_exact": sum(r["hf_text"] == r["answer"] for r in answers) / n,
        "fixture_fp32_ids_exact": sum(r["hf_output_ids"] == r["output_ids"] for r in answers) / n,
        "fixture_bf16_weights_text_exact":
            sum(r["hf_bf16_weights_text"] == r["answer"] for r in answers) / n,
        "fixture_bf16_weights_ids_same_as_fp32":
            sum(e["output_ids"] == f["output_ids"] for e, f in zip(exps, exps16)) / n,
    }
    log(f"fixture accuracies: {acc}")

    # 4. accuracy on every held-out prompt, batched, fp32 and bf16 (weights and math) on device
    hf_dev = hf.to(device)
    prompts = [p for p, _, _ in heldout]
    acc["heldout_fp32"], acc["heldout_fp32_per_task"] = accuracy(
        batch_answers(hf_dev, hf_tok, prompts, device), heldout)
    hb = copy.deepcopy(hf_dev).to(torch.bfloat16)
    acc["heldout_bf16"], acc["heldout_bf16_per_task"] = accuracy(
        batch_answers(hb, hf_tok, prompts, device), heldout)
    acc["heldout_n"] = len(heldout)
    log(f"held-out accuracies: {json.dumps(acc)}")

    demo_prompts = ["words: 2026", "digits: one hundred and one thousand two hundred",
                    "date: 2026-12-06", "iso date: 29 February 2024", "words: 999999",
                    "digits: seventeen", "words: 40512", "date: 1969-07-20",
                    "iso date: 1 January 2000", "digits: six thousand and seven"]
    examples = [{"prompt": p, "answer": a}
                for p, a in zip(demo_prompts, batch_answers(hf.to("cpu"), hf_tok, demo_prompts,
                                                            torch.device("cpu")))]
    for e in examples:
        log(f"example: {e['prompt']}  ->  {e['answer']}")
    meta = {"transformers": transformers.__version__, "torch": torch.__version__,
            "sentencepiece": spm.__version__, "python": sys.version.split()[0],
            "device": torch.cuda.get_device_name() if device.type == "cuda" else "cpu",
            "date_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "parameters": n_params, "model_files": sizes, "model_bytes": sum(sizes.values()),
            "tokenizer_class": type(hf_tok).__name__, "tokenizer_built_by": tok_how,
            "tokenizer_problems": tok_problems, "tokenizer_problems_after_reload": reload_problems,
            "sp_pieces": sp.get_piece_size(), "vocab_size": hf.config.vocab_size,
            "reload_logits_max_diff": reload_diff,
            "fixture_batched_equals_alone": {"fp32": alone_same, "bf16_weights": alone_same16,
                                             "of": min(N_CHECK_ONE, len(fx))}, "max_new_tokens": MAX_NEW,
            "longest_input_tokens": lx, "longest_answer_tokens": ly,
            "training": dict(facts, n_train_pairs=len(rows), batch=args.batch, lr=args.lr,
                             quick=args.quick),
            "accuracy": acc, "examples": examples, "elapsed_s": round(time.time() - T0, 1)}
    with open(os.path.join(fx_dir, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    shutil.rmtree(work)
    pack(out, args.tar)
    log("done")


if __name__ == "__main__":
    main()
