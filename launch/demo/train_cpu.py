#!/usr/bin/env python3
"""Trains the demo model on the CPU with no transformers: t5_torch.py (HF's T5 forward, checked by
check_t5_torch.py) on make_data.py's task, with its own SentencePiece unigram tokenizer in HF T5's
layout (<pad>=0, </s>=1, <unk>=2, then the pieces, then <extra_id_99> .. <extra_id_0>).

Every few minutes it measures greedy exact-match accuracy on held-out prompts (make_data's
held-out items, a slice distinct from the one committed as configs/demo/heldout.jsonl) and saves
the best model so far as an HF folder, so stopping it at any time leaves the best one.

Writes into OUT (configs/demo by default):
  model/          config.json, model.safetensors (fp32), generation_config.json, spiece.model,
                  tokenizer_config.json, special_tokens_map.json
  heldout.jsonl   N_TEST held-out items: {"id", "task", "prompt", "answer"} (the CPU test's set)
  train_log.json  the settings, sizes, steps, time and accuracies of the saved model

Usage: train_cpu.py [--out DIR] [--minutes M] [--threads T] [--d-model D] [--layers L] ...
The committed configs/demo/model came from (2026-12-06, one thread of a shared 2-core machine):
  train_cpu.py --out DIR --minutes 28 --threads 1 --train 600000 --lr 7e-4 --eval-every 300
then compare_engine.py DIR/model DIR/heldout.jsonl --write-reference configs/demo/heldout.jsonl;
configs/demo/train_log.json holds its arguments, steps and accuracies. The schedule and the
checkpoints follow the wall clock, so a rerun on another machine gives a different (similar) model.
"""
import argparse
import json
import os
import random
import shutil
import sys
import tempfile
import time

import sentencepiece as spm
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import make_data  # noqa: E402
import t5_torch  # noqa: E402

EXTRA_IDS = 100
N_TEST = 300          # held-out items committed for the CPU test (heldout_examples[:N_TEST])
T0 = time.time()


def log(*a):
    print(f"[{time.time() - T0:7.1f}s]", *a, flush=True)


def train_tokenizer(texts, work, vocab):
    corpus = os.path.join(work, "spm_corpus.txt")
    with open(corpus, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(t + "\n")
    prefix = os.path.join(work, "spiece")
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=vocab, model_type="unigram",
        pad_id=0, eos_id=1, unk_id=2, bos_id=-1, split_digits=True, character_coverage=1.0,
        hard_vocab_limit=False, num_threads=1, minloglevel=2, seed_sentencepiece_size=100000)
    return prefix + ".model"


def write_tokenizer_files(folder, sp_path):
    shutil.copy(sp_path, os.path.join(folder, "spiece.model"))
    extra = [f"<extra_id_{i}>" for i in range(EXTRA_IDS)]
    special = {"eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
               "additional_special_tokens": extra}
    cfg = dict(special, tokenizer_class="T5Tokenizer", extra_ids=EXTRA_IDS, model_max_length=512)
    for name, d in (("tokenizer_config.json", cfg), ("special_tokens_map.json", special)):
        with open(os.path.join(folder, name), "w") as f:
            json.dump(d, f, indent=2)
            f.write("\n")


def encode_rows(sp, rows):
    """[(prompt ids + EOS, answer ids + EOS)] for (prompt, answer, task) rows."""
    P = sp.encode([r[0] for r in rows])
    A = sp.encode([r[1] for r in rows])
    return [(p + [1], a + [1]) for p, a in zip(P, A)]


def pad(seqs, value):
    n = max(len(s) for s in seqs)
    out = torch.full((len(seqs), n), value, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, :len(s)] = torch.tensor(s)
    return out


def batches(pairs, bs, rng):
    """Length-bucketed batches (sorted within chunks of 50 batches, then shuffled) forever."""
    while True:
        idx = list(range(len(pairs)))
        rng.shuffle(idx)
        chunk = bs * 50
        out = []
        for c in range(0, len(idx), chunk):
            part = sorted(idx[c:c + chunk], key=lambda i: len(pairs[i][0]) + len(pairs[i][1]))
            out += [part[j:j + bs] for j in range(0, len(part), bs)]
        rng.shuffle(out)
        for b in out:
            yield b


def greedy_texts(model, sp, prompts, bs=100, max_new=32):
    model.eval()
    out = []
    for i in range(0, len(prompts), bs):
        ids = [p + [1] for p in sp.encode(prompts[i:i + bs])]
        x = pad(ids, 0)
        mask = (torch.arange(x.shape[1])[None] < torch.tensor([len(s) for s in ids])[:, None]).long()
        for row in model.greedy(x, mask, max_new):
            out.append((row, sp.decode([t for t in row if 2 < t < sp.get_piece_size()])))
    model.train()
    return out


def exact(model, sp, rows):
    got = greedy_texts(model, sp, [r[0] for r in rows])
    per = {}
    for (_, text), (_, want, task) in zip(got, rows):
        ok, n = per.get(task, (0, 0))
        per[task] = (ok + (text == want), n + 1)
    return sum(ok for ok, _ in per.values()) / len(rows), {t: ok / n for t, (ok, n) in per.items()}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.dirname(HERE)), "configs/demo"))
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--train", type=int, default=400000, help="training examples generated")
    ap.add_argument("--sp-vocab", type=int, default=256)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--d-kv", type=int, default=32)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-ff", type=int, default=256)
    ap.add_argument("--layers", type=int, default=2)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=7e-4)  # 2e-3 stalled (1-2% exact at 3,900 steps)
    ap.add_argument("--eval-every", type=float, default=240, help="seconds between evaluations")
    ap.add_argument("--n-eval", type=int, default=400)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--bench", type=int, default=0, help="time this many steps and exit")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    work = tempfile.mkdtemp(prefix="encdec_demo_spm.")  # the tokenizer's training corpus
    model_dir = os.path.join(a.out, "model")
    os.makedirs(work, exist_ok=True)

    make_data.self_check()
    train_rows = make_data.train_examples(a.train, a.seed)
    held = make_data.heldout_examples(N_TEST + a.n_eval, a.seed + 1)
    test_rows, eval_rows = held[:N_TEST], held[N_TEST:]
    log(f"{len(train_rows)} training examples, {len(eval_rows)} eval, {len(test_rows)} test")
    with open(os.path.join(a.out, "heldout.jsonl"), "w") as f:
        for i, (prompt, answer, task) in enumerate(test_rows):
            f.write(json.dumps({"id": i, "task": task, "prompt": prompt, "answer": answer}) + "\n")
    sp_path = train_tokenizer([t for r in train_rows[:40000] for t in r[:2]], work, a.sp_vocab)
    sp = spm.SentencePieceProcessor(model_file=sp_path)
    n_sp = sp.get_piece_size()
    for _, ans, _ in held:
        if sp.decode(sp.encode(ans)) != ans or 2 in sp.encode(ans):
            raise SystemExit(f"tokenizer does not round-trip {ans!r}")
    pairs = encode_rows(sp, train_rows)
    log(f"spiece: {n_sp} pieces (+{EXTRA_IDS} extra ids); longest prompt "
        f"{max(len(p) for p, _ in pairs)}, answer {max(len(q) for _, q in pairs)} tokens")

    config = {"architectures": ["T5ForConditionalGeneration"], "model_type": "t5",
              "vocab_size": n_sp + EXTRA_IDS, "d_model": a.d_model, "d_kv": a.d_kv,
              "num_heads": a.heads, "d_ff": a.d_ff, "num_layers": a.layers,
              "num_decoder_layers": a.layers, "relative_attention_num_buckets": 32,
              "relative_attention_max_distance": 128, "feed_forward_proj": "gated-gelu",
              "dense_act_fn": "gelu_new", "is_gated_act": True, "tie_word_embeddings": True,
              "scale_decoder_outputs": True, "dropout_rate": 0.0, "layer_norm_epsilon": 1e-6,
              "initializer_factor": 1.0, "is_encoder_decoder": True, "is_decoder": False,
              "use_cache": True, "decoder_start_token_id": 0, "pad_token_id": 0,
              "eos_token_id": 1, "dtype": "float32"}
    model = t5_torch.T5ForConditionalGeneration(config)
    # HF's T5 init (factor 1): embeddings N(0, 1), q N(0, (d*dkv)^-1/2), k/v/o/wi d^-1/2, wo ff^-1/2
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("layer_norm.weight"):
                continue
            if name == "shared.weight":
                p.normal_(0, 1.0)
            elif name.endswith("relative_attention_bias.weight"):
                p.normal_(0, a.d_model ** -0.5)
            elif ".q." in name:
                p.normal_(0, (a.d_model * a.d_kv) ** -0.5)
            elif ".o." in name:
                p.normal_(0, (a.heads * a.d_kv) ** -0.5)
            elif ".wo." in name:
                p.normal_(0, a.d_ff ** -0.5)
            else:
                p.normal_(0, a.d_model ** -0.5)
    n_params = sum(p.numel() for p in model.parameters())
    log(f"model: {n_params} parameters, config {json.dumps({k: config[k] for k in ('vocab_size', 'd_model', 'd_kv', 'num_heads', 'd_ff', 'num_layers')})}")

    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.98), weight_decay=0.01)
    rng = random.Random(a.seed)
    stream = batches(pairs, a.batch, rng)
    budget = a.minutes * 60
    t_start, last_eval, step, best = time.time(), time.time(), 0, -1.0
    loss_sum, loss_n, warmup = 0.0, 0, 200
    history = []
    model.train()
    while True:
        elapsed = time.time() - t_start
        progress = min(1.0, elapsed / budget)
        if a.bench and step == a.bench:
            log(f"bench: {step} steps in {elapsed:.1f}s = {elapsed / step:.3f} s/step")
            return
        lr = a.lr * min(1.0, (step + 1) / warmup) * max(0.05, min(1.0, (1.0 - progress) / 0.4))
        for g in opt.param_groups:
            g["lr"] = lr
        b = next(stream)
        x = pad([pairs[i][0] for i in b], 0)
        y = pad([pairs[i][1] for i in b], -100)
        dec_in = torch.cat([torch.zeros(len(b), 1, dtype=torch.long), y[:, :-1].clamp(min=0)], 1)
        logits = model(x, dec_in, (x != 0).long())
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        step += 1
        loss_sum, loss_n = loss_sum + float(loss), loss_n + 1
        done = progress >= 1.0
        if time.time() - last_eval >= a.eval_every or done:
            with torch.no_grad():
                acc, per = exact(model, sp, eval_rows)
            history.append({"step": step, "seconds": round(time.time() - t_start),
                            "loss": loss_sum / loss_n, "eval_exact": acc})
            log(f"step {step} lr {lr:.2e} loss {loss_sum / loss_n:.4f} eval exact {acc:.4f} {per}")
            loss_sum, loss_n = 0.0, 0
            if acc > best:
                best = acc
                os.makedirs(model_dir, exist_ok=True)
                model.save_hf(model_dir)
                write_tokenizer_files(model_dir, sp_path)
                with open(os.path.join(model_dir, "generation_config.json"), "w") as f:
                    json.dump({"decoder_start_token_id": 0, "eos_token_id": 1,
                               "pad_token_id": 0}, f, indent=2)
                    f.write("\n")
                with open(os.path.join(a.out, "train_log.json"), "w") as f:
                    json.dump({"args": vars(a), "parameters": n_params, "spiece_pieces": n_sp,
                               "saved_at_step": step, "saved_after_seconds": round(time.time() - t_start),
                               "eval_exact": acc, "eval_per_task": per, "eval_items": len(eval_rows),
                               "history": history, "torch": torch.__version__}, f, indent=2)
                    f.write("\n")
                log(f"saved (best so far) to {model_dir}")
            last_eval = time.time()
        if done:
            break
    log(f"done: {step} steps, best eval exact {best:.4f}")


if __name__ == "__main__":
    main()
