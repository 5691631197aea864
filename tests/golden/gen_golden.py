#!/usr/bin/env python3
"""Golden fixture generator: tiny random-weight Hugging Face encoder-decoders and HF's outputs.

Runs where PyTorch + transformers are installed (the GPU machine); everything runs on the CPU in
fp32 so the fixtures are deterministic. For each fixture directory DIR it writes:
  DIR/config.json, DIR/model.safetensors (or a sharded index)  -- exactly what save_pretrained writes
  DIR/requests.jsonl   -- requests in encdec_tp's JSON Lines format
  DIR/expected.jsonl   -- HF's answer per request id: output_ids, finish_reason, logits, encoder_output
  DIR/beam_requests.jsonl / beam_expected.jsonl -- beam search / penalty cases for the decoding issue
  DIR/expected_bf16_weights.jsonl, DIR/expected_fp16_weights.jsonl -- the greedy and score cases
      again, HF in fp32 on the same weights rounded to bf16 / fp16: the reference for encdec_tp
      with 16-bit weights (what remains is its arithmetic, not the weights' storage precision)
  DIR/meta.json        -- transformers version, which head HF really used, per-fixture facts
Outputs come from the model *reloaded from disk*, so they are what a user of the files gets.

Usage: python3 gen_golden.py OUT_DIR [fixture ...]
"""
import copy
import json
import os
import sys
import traceback

import torch
import transformers
from transformers import (AutoModelForSeq2SeqLM, BartConfig, M2M100Config, MarianConfig,
                          MBartConfig, MT5Config, PegasusConfig, T5Config, UMT5Config)

MAX_NEW = 16      # greedy length: decoder positions 0..16 pass max_distance of every fixture
SCORE_LEN = 11    # teacher-forced decoder input length


def perturb(model, seed):
    """Replace HF's small init with weights that give decisive logits (clear top-1 margins)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "embed_positions" in name and model.config.model_type in SINUSOIDAL:
                continue  # HF's sinusoid table, which encdec_convert computes and checks
            if "norm" in name and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias") and p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
            elif "relative_attention_bias" in name:
                p.copy_(0.5 * torch.randn(p.shape, generator=g))
            elif "embed" in name or name.startswith("shared") or "lm_head" in name:
                p.copy_(torch.randn(p.shape, generator=g))
            elif p.dim() == 2:
                p.copy_(torch.randn(p.shape, generator=g) / (p.shape[1] ** 0.5))
            else:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        if hasattr(model, "final_logits_bias"):  # a buffer: random and non-zero, so it counts
            model.final_logits_bias.copy_(0.5 * torch.randn(model.final_logits_bias.shape,
                                                            generator=g))


# Model types whose position table is a sinusoid (kept as HF builds it).
SINUSOIDAL = ("m2m_100", "marian", "pegasus")


def sinusoid_reference(kind, rows, dim, pad):
    """The table encdec_convert computes (models/pos_table.c), for meta.json's comparison."""
    import math
    out = torch.zeros(rows, dim, dtype=torch.float64)
    if kind == "halves":
        sentinel = dim // 2 + dim % 2
        for j in range(dim):
            ang = torch.arange(rows, dtype=torch.float64) / (10000 ** (2 * (j // 2) / dim))
            if j % 2 == 0:
                out[:, j // 2] = torch.sin(ang)
            else:
                out[:, sentinel + j // 2] = torch.cos(ang)
    else:
        half = dim // 2
        f = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000) / (half - 1)))
        ang = torch.arange(rows, dtype=torch.float32).unsqueeze(1) * f.unsqueeze(0)
        out[:, :half] = torch.sin(ang).double()
        out[:, half:2 * half] = torch.cos(ang).double()
        out[pad] = 0
    return out.float()


def position_table_facts(model, d):
    """meta.json facts on HF's position tables: where they live, whether the saved checkpoint
    holds them, and their largest difference from what encdec_convert computes."""
    from safetensors import safe_open
    cfg = model.config
    facts = {}
    saved = set()
    for f in os.listdir(d):
        if f.endswith(".safetensors"):
            with safe_open(os.path.join(d, f), "pt") as h:
                saved |= set(h.keys())
    facts["checkpoint_position_tensors"] = sorted(k for k in saved if "embed_positions" in k)
    for stack in ("encoder", "decoder"):
        mod = getattr(model.model, stack).embed_positions
        table = getattr(mod, "weight", None)
        if table is None:
            table = mod.weights
        table = table.detach().float()
        kind = "fairseq" if cfg.model_type == "m2m_100" else "halves"
        ref = sinusoid_reference(kind, table.shape[0], table.shape[1], cfg.pad_token_id)
        facts[f"{stack}_table_shape"] = list(table.shape)
        facts[f"{stack}_table_max_diff_vs_encdec"] = float((table - ref).abs().max())
    return facts


def fixtures():
    """name -> (config, seed, save kwargs, extra request fields). Heads divide by 4, d_ff by 4."""
    return {
        # T5 v1.0: ReLU, tied embeddings with the d_model**-0.5 rescale.
        "t5_v1_0_tied": (T5Config(vocab_size=96, d_model=32, d_kv=8, num_heads=4, d_ff=64,
                                  num_layers=2, num_decoder_layers=2,
                                  relative_attention_num_buckets=8,
                                  relative_attention_max_distance=12, feed_forward_proj="relu",
                                  tie_word_embeddings=True, dropout_rate=0.0,
                                  decoder_start_token_id=0), 1, {}, {}),
        # T5 v1.1 / Flan-T5 shape: gated GELU, untied head, inner dim 48 != d_model 32, 3/2 layers;
        # saved sharded to exercise model.safetensors.index.json.
        "t5_v1_1_gated": (T5Config(vocab_size=100, d_model=32, d_kv=12, num_heads=4, d_ff=56,
                                   num_layers=3, num_decoder_layers=2,
                                   relative_attention_num_buckets=16,
                                   relative_attention_max_distance=20,
                                   feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                                   dropout_rate=0.0, decoder_start_token_id=0),
                          2, {"max_shard_size": "40KB"}, {}),
        "t5_v1_1_untied": (T5Config(vocab_size=80, d_model=24, d_kv=10, num_heads=4, d_ff=40,
                                    num_layers=3, num_decoder_layers=2,
                                    relative_attention_num_buckets=10,
                                    relative_attention_max_distance=14,
                                    feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                                    dropout_rate=0.0, decoder_start_token_id=0),
                           8, {}, {"untied_head": True}),
        # t5_v1_0_tied's weights, with EOS re-declared (after the inputs are made) as the token the
        # model generates most often mid-sequence, so greedy and beam search end naturally and
        # beam search's finished hypotheses and early stopping are exercised.
        "t5_eos_natural": (T5Config(vocab_size=96, d_model=32, d_kv=8, num_heads=4, d_ff=64,
                                    num_layers=2, num_decoder_layers=2,
                                    relative_attention_num_buckets=8,
                                    relative_attention_max_distance=12, feed_forward_proj="relu",
                                    tie_word_embeddings=True, dropout_rate=0.0,
                                    decoder_start_token_id=0), 1, {}, {"pick_eos": True}),
        "mt5_small": (MT5Config(vocab_size=160, d_model=32, d_kv=8, num_heads=4, d_ff=48,
                                num_layers=3, num_decoder_layers=2,
                                relative_attention_num_buckets=8,
                                relative_attention_max_distance=16, feed_forward_proj="gated-gelu",
                                tie_word_embeddings=False, dropout_rate=0.0,
                                decoder_start_token_id=0), 3, {}, {}),
        "byt5_small": (T5Config(vocab_size=384, d_model=32, d_kv=8, num_heads=4, d_ff=64,
                                num_layers=3, num_decoder_layers=1,
                                relative_attention_num_buckets=8,
                                relative_attention_max_distance=16, feed_forward_proj="gated-gelu",
                                tie_word_embeddings=False, dropout_rate=0.0,
                                decoder_start_token_id=0), 4, {}, {}),
        "umt5_small": (UMT5Config(vocab_size=120, d_model=32, d_kv=8, num_heads=4, d_ff=48,
                                  num_layers=2, num_decoder_layers=2,
                                  relative_attention_num_buckets=8,
                                  relative_attention_max_distance=16,
                                  feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                                  dropout_rate=0.0, decoder_start_token_id=0), 5, {}, {}),
        "bart_small": (BartConfig(vocab_size=90, d_model=32, encoder_layers=2, decoder_layers=2,
                                  encoder_attention_heads=4, decoder_attention_heads=4,
                                  encoder_ffn_dim=64, decoder_ffn_dim=64, max_position_embeddings=64,
                                  activation_function="gelu", scale_embedding=False, dropout=0.0,
                                  attention_dropout=0.0, activation_dropout=0.0, pad_token_id=1,
                                  bos_token_id=0, eos_token_id=2, decoder_start_token_id=2,
                                  forced_eos_token_id=None, forced_bos_token_id=None), 6, {}, {}),
        "mbart_small": (MBartConfig(vocab_size=110, d_model=32, encoder_layers=2, decoder_layers=3,
                                    encoder_attention_heads=4, decoder_attention_heads=4,
                                    encoder_ffn_dim=48, decoder_ffn_dim=48,
                                    max_position_embeddings=64, activation_function="gelu",
                                    scale_embedding=True, dropout=0.0, attention_dropout=0.0,
                                    activation_dropout=0.0, pad_token_id=1, bos_token_id=0,
                                    eos_token_id=2, decoder_start_token_id=2,
                                    forced_eos_token_id=None, forced_bos_token_id=None),
                        7, {}, {"forced_bos_id": 100}),
        # NLLB-200 / M2M100: pre-norm, final norms, fairseq sinusoid at pad_id + 1, scaled
        # embeddings, ReLU; forced_bos_id as NLLB's target-language token.
        "nllb_small": (M2M100Config(vocab_size=96, d_model=32, encoder_layers=2, decoder_layers=2,
                                    encoder_attention_heads=4, decoder_attention_heads=4,
                                    encoder_ffn_dim=64, decoder_ffn_dim=64,
                                    max_position_embeddings=64, activation_function="relu",
                                    scale_embedding=True, dropout=0.0, attention_dropout=0.0,
                                    activation_dropout=0.0, encoder_layerdrop=0.0,
                                    decoder_layerdrop=0.0, pad_token_id=1, bos_token_id=0,
                                    eos_token_id=2, decoder_start_token_id=2,
                                    forced_eos_token_id=None, forced_bos_token_id=None),
                       9, {}, {"forced_bos_id": 90}),
        # Marian opus-mt: post-norm, sinusoid halves from 0, scaled embeddings, swish,
        # final_logits_bias, decoding starts at the pad token.
        "marian_small": (MarianConfig(vocab_size=88, decoder_vocab_size=88, d_model=32,
                                      encoder_layers=2, decoder_layers=2,
                                      encoder_attention_heads=4, decoder_attention_heads=4,
                                      encoder_ffn_dim=64, decoder_ffn_dim=64,
                                      max_position_embeddings=64, activation_function="swish",
                                      scale_embedding=True, dropout=0.0, attention_dropout=0.0,
                                      activation_dropout=0.0, pad_token_id=87, eos_token_id=0,
                                      decoder_start_token_id=87, forced_eos_token_id=None,
                                      share_encoder_decoder_embeddings=True), 10, {}, {}),
        # Pegasus: pre-norm, final norms, sinusoid halves from 0, scaled embeddings,
        # final_logits_bias.
        "pegasus_small": (PegasusConfig(vocab_size=80, d_model=32, encoder_layers=2,
                                        decoder_layers=2, encoder_attention_heads=4,
                                        decoder_attention_heads=4, encoder_ffn_dim=48,
                                        decoder_ffn_dim=48, max_position_embeddings=64,
                                        activation_function="relu", scale_embedding=True,
                                        dropout=0.0, attention_dropout=0.0,
                                        activation_dropout=0.0, pad_token_id=0, eos_token_id=1,
                                        decoder_start_token_id=0, forced_eos_token_id=None),
                          11, {}, {}),
    }


def save_untied(model, cfg, d, seed):
    """Write a pre-5.x style untied T5 checkpoint (own lm_head.weight, tie_word_embeddings false,
    no scale_decoder_outputs key) and return the model with that head really in use."""
    from safetensors.torch import save_file
    g = torch.Generator().manual_seed(seed + 7)
    head = torch.randn(model.lm_head.weight.shape, generator=g)
    model.lm_head.weight = torch.nn.Parameter(head.clone())
    model.config.scale_decoder_outputs = False
    sd = {k: v.detach().contiguous().clone() for k, v in model.state_dict().items()
          if not k.endswith("embed_tokens.weight")}
    sd["lm_head.weight"] = head.clone()
    save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
    c = model.config.to_dict()
    c["tie_word_embeddings"] = False
    c.pop("scale_decoder_outputs", None)
    c["architectures"] = [type(model).__name__]
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(c, f, indent=1)
    assert not torch.equal(model.lm_head.weight, model.shared.weight)
    return model.eval()


def pick_eos(model, inputs, d):
    """Re-declares EOS as the token greedy decoding produces most often after its first two
    steps, and rewrites config.json (the weights are unchanged)."""
    counts = {}
    specials = special_ids(model.config)
    for ids in inputs:
        out = gen_ids(model, ids, max_new_tokens=MAX_NEW, min_new_tokens=MAX_NEW)
        for t in out.sequences[0].tolist()[3:]:
            if t not in specials:
                counts[t] = counts.get(t, 0) + 1
    eos = max(sorted(counts), key=lambda t: counts[t])
    model.config.eos_token_id = eos
    model.generation_config.eos_token_id = eos
    model.config.save_pretrained(d)
    model.generation_config.save_pretrained(d)


def special_ids(cfg):
    return {int(t) for t in (cfg.pad_token_id, cfg.eos_token_id,
                             getattr(cfg, "decoder_start_token_id", None),
                             getattr(cfg, "bos_token_id", None)) if t is not None}


def teacher_forced_incremental(model, ids, dec):
    """Logits for every position of dec, fed one token at a time through HF's KV cache: the causal
    math HF's generate() uses."""
    with torch.no_grad():
        enc = model.get_encoder()(input_ids=torch.tensor([ids]))
        past, rows = None, []
        for t in dec:
            out = model(encoder_outputs=enc, decoder_input_ids=torch.tensor([[t]]),
                        past_key_values=past, use_cache=True)
            past = out.past_key_values
            rows.append(out.logits[0, -1])
    return torch.stack(rows)


def make_inputs(cfg, g, max_distance):
    """Input lengths: 1 token, short, around and beyond max_distance (log buckets)."""
    lengths = [1, 5, max_distance - 1, max_distance + 9, 2 * max_distance + 3]
    specials = special_ids(cfg)
    out = []
    for n in lengths:
        ids = []
        while len(ids) < n - 1:
            t = int(torch.randint(3, cfg.vocab_size, (1,), generator=g))
            if t not in specials:
                ids.append(t)
        out.append(ids + [int(cfg.eos_token_id)])  # inputs end with EOS, as tokenizers make them
    return out


def gen_ids(model, ids, **kw):
    with torch.no_grad():
        out = model.generate(torch.tensor([ids]), do_sample=False, return_dict_in_generate=True,
                             output_logits=True, output_scores=True, **kw)
    return out


def strip(seq, start_len, pad_id):
    seq = seq.tolist()[start_len:]
    return seq


def finish(ids, eos, max_new):
    return "eos" if ids and ids[-1] == eos and len(ids) <= max_new else "length"


def rounded_weight_reference(model, dtype, inputs, reqs, eos, forced, meta):
    """The greedy and score cases on a copy of model whose weights are rounded to dtype (kept in
    fp32 and computed in fp32)."""
    mq = copy.deepcopy(model)
    with torch.no_grad():
        for p in mq.parameters():
            p.copy_(p.to(dtype).to(torch.float32))
        # M2M100's sinusoid table is a buffer, not a parameter: encdec_tp stores it with the
        # weights (in their dtype), as HF's model.to(dtype) casts it.
        for name, b in mq.named_buffers():
            if "embed_positions" in name and b.is_floating_point():
                b.copy_(b.to(dtype).to(torch.float32))
    by_id = {r["id"]: r for r in reqs}
    rows = []
    for i, ids in enumerate(inputs):
        kw = {"max_new_tokens": MAX_NEW, "min_new_tokens": MAX_NEW}
        if forced is not None:
            kw["forced_bos_token_id"] = forced
        out = gen_ids(mq, ids, **kw)
        gen = strip(out.sequences[0], 1, mq.config.pad_token_id)
        rows.append({"id": f"greedy-{i}", "output_ids": gen,
                     "finish_reason": finish(gen, eos, MAX_NEW),
                     "logits": [l[0].tolist() for l in out.logits]})
        dec = by_id[f"score-{i}"]["decoder_input_ids"]
        if "score_reference" in meta:
            logits = teacher_forced_incremental(mq, ids, dec)
        else:
            with torch.no_grad():
                logits = mq(input_ids=torch.tensor([ids]),
                            decoder_input_ids=torch.tensor([dec])).logits[0]
        rows.append({"id": f"score-{i}", "output_ids": dec[1:], "finish_reason": "length",
                     "logits": logits.tolist()})
    return rows


def build(name, cfg, seed, save_kw, extra, out_dir):
    d = os.path.join(out_dir, name)
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(seed)
    model = AutoModelForSeq2SeqLM.from_config(cfg)
    perturb(model, seed)
    if extra.get("untied_head"):
        model = save_untied(model, cfg, d, seed)
    else:
        model.save_pretrained(d, **save_kw)
        model = AutoModelForSeq2SeqLM.from_pretrained(d, dtype=torch.float32).eval()
    cfg = model.config
    meta = {"transformers": transformers.__version__, "torch": torch.__version__,
            "model_type": cfg.model_type, "files": sorted(os.listdir(d))}
    emb = model.get_input_embeddings().weight
    head = model.get_output_embeddings().weight
    meta["hf_head_is_input_embedding"] = bool(head.data_ptr() == emb.data_ptr()
                                              or torch.equal(head, emb))
    for k in ("scale_decoder_outputs", "tie_word_embeddings"):
        if hasattr(cfg, k):
            meta["config_" + k] = getattr(cfg, k)
    if cfg.model_type in SINUSOIDAL:
        meta["positions"] = position_table_facts(model, d)
        if hasattr(model, "final_logits_bias"):
            meta["final_logits_bias_abs_max"] = float(model.final_logits_bias.abs().max())

    g = torch.Generator().manual_seed(seed + 100)
    max_distance = getattr(cfg, "relative_attention_max_distance", 12)
    inputs = make_inputs(cfg, g, max_distance)
    if extra.get("pick_eos"):
        pick_eos(model, inputs, d)
        meta["eos_token_id_picked"] = int(model.config.eos_token_id)
    eos = int(cfg.eos_token_id)
    start = int(cfg.decoder_start_token_id)
    reqs, exps, breqs, bexps = [], [], [], []
    forced = extra.get("forced_bos_id")

    for i, ids in enumerate(inputs):
        # 1. greedy with EOS held off, with raw logits per generated step
        rid = f"greedy-{i}"
        kw = {"max_new_tokens": MAX_NEW, "min_new_tokens": MAX_NEW}
        if forced is not None:
            kw["forced_bos_token_id"] = forced
        out = gen_ids(model, ids, **kw)
        gen = strip(out.sequences[0], 1, cfg.pad_token_id)
        req = {"id": rid, "input_ids": ids, "max_new_tokens": MAX_NEW, "min_new_tokens": MAX_NEW,
               "return_logits": True}
        if forced is not None:
            req["forced_bos_id"] = forced
        reqs.append(req)
        with torch.no_grad():
            enc = model.get_encoder()(input_ids=torch.tensor([ids])).last_hidden_state[0]
        exps.append({"id": rid, "output_ids": gen, "finish_reason": finish(gen, eos, MAX_NEW),
                     "logits": [l[0].tolist() for l in out.logits],
                     "encoder_output": enc.tolist()})
        # 2. greedy, natural stop (EOS allowed)
        rid = f"natural-{i}"
        kw = {"max_new_tokens": MAX_NEW}
        if forced is not None:
            kw["forced_bos_token_id"] = forced
        out = gen_ids(model, ids, **kw)
        gen = strip(out.sequences[0], 1, cfg.pad_token_id)
        req = {"id": rid, "input_ids": ids, "max_new_tokens": MAX_NEW}
        if forced is not None:
            req["forced_bos_id"] = forced
        reqs.append(req)
        exps.append({"id": rid, "output_ids": gen, "finish_reason": finish(gen, eos, MAX_NEW)})
        # 3. teacher-forced logits on a random decoder input starting with the start token
        rid = f"score-{i}"
        dec = [start] + [int(t) for t in torch.randint(3, cfg.vocab_size, (SCORE_LEN - 1,),
                                                       generator=g)]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([ids]),
                           decoder_input_ids=torch.tensor([dec])).logits[0]
        # HF's one-pass forward should equal step-by-step decoding; where it does not (UMT5 in
        # transformers 5.17 leaves the decoder unmasked without a cache), the causal step-by-step
        # logits are the reference and meta.json says so.
        inc = teacher_forced_incremental(model, ids, dec)
        gap = float((logits - inc).abs().max())
        meta["score_full_vs_incremental_max_diff"] = max(
            gap, meta.get("score_full_vs_incremental_max_diff", 0.0))
        if gap > 1e-4 * float(inc.abs().max()):
            meta["score_reference"] = "incremental (HF one-pass forward is not causal here)"
            logits = inc
        reqs.append({"id": rid, "input_ids": ids, "decoder_input_ids": dec, "max_new_tokens": 0,
                     "return_logits": True})
        exps.append({"id": rid, "output_ids": dec[1:], "finish_reason": "length",
                     "logits": logits.tolist()})
        # 4. beam search and penalties (the decoding issue's fixtures)
        for tag, kw in (("beam4", {"num_beams": 4, "min_new_tokens": MAX_NEW}),
                        ("beam4-lp", {"num_beams": 4, "length_penalty": 0.6,
                                      "num_return_sequences": 2}),
                        ("beam4-natural", {"num_beams": 4, "early_stopping": True}),
                        ("rep", {"repetition_penalty": 1.8, "min_new_tokens": MAX_NEW}),
                        ("ngram", {"no_repeat_ngram_size": 2, "min_new_tokens": MAX_NEW})):
            rid = f"{tag}-{i}"
            kw = dict(kw, max_new_tokens=MAX_NEW)
            if forced is not None:
                kw["forced_bos_token_id"] = forced
            with torch.no_grad():
                out = model.generate(torch.tensor([ids]), do_sample=False,
                                     return_dict_in_generate=True, output_scores=True, **kw)
            seqs = [strip(s, 1, cfg.pad_token_id) for s in out.sequences]
            req = {"id": rid, "input_ids": ids, "max_new_tokens": MAX_NEW}
            for k, v in kw.items():
                if k == "num_beams":
                    req["beam_width"] = v
                elif k == "forced_bos_token_id":
                    req["forced_bos_id"] = v
                elif k != "max_new_tokens":
                    req[k] = v
            breqs.append(req)
            e = {"id": rid, "output_ids": seqs[0], "sequences": seqs}
            if getattr(out, "sequences_scores", None) is not None:
                e["scores"] = out.sequences_scores.tolist()
            bexps.append(e)

    for dt_name, dt in (("bf16", torch.bfloat16), ("fp16", torch.float16)):
        rows = rounded_weight_reference(model, dt, inputs, reqs, eos, forced, meta)
        with open(os.path.join(d, f"expected_{dt_name}_weights.jsonl"), "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    meta["natural_eos"] = sum(1 for e in exps if e["id"].startswith("natural")
                              and e["finish_reason"] == "eos")
    meta["beam_best_ends_eos"] = sum(1 for e in bexps if e["output_ids"]
                                     and e["output_ids"][-1] == eos)
    for fname, rows in (("requests.jsonl", reqs), ("expected.jsonl", exps),
                        ("beam_requests.jsonl", breqs), ("beam_expected.jsonl", bexps)):
        with open(os.path.join(d, fname), "w") as f:
            for r in rows:
                f.write(json.dumps(r) + "\n")
    with open(os.path.join(d, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def main():
    out_dir = sys.argv[1]
    only = set(sys.argv[2:])
    torch.set_num_threads(4)
    failures = 0
    for name, (cfg, seed, save_kw, extra) in fixtures().items():
        if only and name not in only:
            continue
        try:
            meta = build(name, cfg, seed, save_kw, extra, out_dir)
            print(name, json.dumps(meta), flush=True)
        except Exception:  # one family's failure must not hide the others' fixtures
            failures += 1
            print(name, "FAILED", flush=True)
            traceback.print_exc()
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
