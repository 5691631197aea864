#!/usr/bin/env python3
"""Hugging Face transformers baseline for encdec_bench's workload: a random-weight model of a
real shape (no download), greedy, EOS held off (min_new_tokens = max_new_tokens), bf16 on one GPU.
Prints one JSON line per mode: encoder ms, ms per decode step, output tokens/s, peak memory.
--encode-only times the encoder alone and prints its GEMM-bound floor (gemm_floor) beside it.
  python3 launch/bench_hf.py --model t5-base --batch 64 --input-len 128 --output-len 64 \
      --modes eager,compile
"""
import argparse
import json
import time

import torch
import transformers
from transformers import AutoModelForSeq2SeqLM, T5Config

SHAPES = {  # the same shapes as models/presets.c
    "t5-small": dict(d_model=512, d_kv=64, num_heads=8, d_ff=2048, num_layers=6,
                     feed_forward_proj="relu", tie_word_embeddings=True),
    "t5-base": dict(d_model=768, d_kv=64, num_heads=12, d_ff=3072, num_layers=12,
                    feed_forward_proj="relu", tie_word_embeddings=True),
    "t5-large": dict(d_model=1024, d_kv=64, num_heads=16, d_ff=4096, num_layers=24,
                     feed_forward_proj="relu", tie_word_embeddings=True),
    "flan-t5-xl": dict(d_model=2048, d_kv=64, num_heads=32, d_ff=5120, num_layers=24,
                       feed_forward_proj="gated-gelu", tie_word_embeddings=False),
    "flan-t5-xxl": dict(d_model=4096, d_kv=64, num_heads=64, d_ff=10240, num_layers=24,
                        feed_forward_proj="gated-gelu", tie_word_embeddings=False),
}


_M2M100 = dict(activation_function="relu", encoder_attention_heads=16,
               decoder_attention_heads=16, max_position_embeddings=1024, scale_embedding=True,
               vocab_size=256206, pad_token_id=1, bos_token_id=0, eos_token_id=2,
               decoder_start_token_id=2)
TRANSLATION = {  # models/presets.c's hf_presets: the hub config.json keys that shape the math
    "nllb-200-distilled-600M": ("M2M100Config", dict(
        _M2M100, d_model=1024, encoder_ffn_dim=4096, decoder_ffn_dim=4096, encoder_layers=12,
        decoder_layers=12)),
    "nllb-200-3.3B": ("M2M100Config", dict(
        _M2M100, d_model=2048, encoder_ffn_dim=8192, decoder_ffn_dim=8192, encoder_layers=24,
        decoder_layers=24)),
    "opus-mt-en-de": ("MarianConfig", dict(
        activation_function="swish", d_model=512, encoder_ffn_dim=2048, decoder_ffn_dim=2048,
        encoder_layers=6, decoder_layers=6, encoder_attention_heads=8, decoder_attention_heads=8,
        max_position_embeddings=512, scale_embedding=True, vocab_size=58101,
        decoder_vocab_size=58101, share_encoder_decoder_embeddings=True, pad_token_id=58100,
        eos_token_id=0, decoder_start_token_id=58100, forced_eos_token_id=0)),
    "pegasus-large": ("PegasusConfig", dict(
        activation_function="relu", d_model=1024, encoder_ffn_dim=4096, decoder_ffn_dim=4096,
        encoder_layers=16, decoder_layers=16, encoder_attention_heads=16,
        decoder_attention_heads=16, max_position_embeddings=1024, scale_embedding=True,
        vocab_size=96103, pad_token_id=0, eos_token_id=1, decoder_start_token_id=0,
        forced_eos_token_id=1)),
}


def make_config(name):
    if name in TRANSLATION:
        cls, kw = TRANSLATION[name]
        return getattr(transformers, cls)(dropout=0.0, attention_dropout=0.0, **kw)
    return T5Config(vocab_size=32128, decoder_start_token_id=0, dropout_rate=0.0, **SHAPES[name])


def timed(fn, reps):
    fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(reps):
        out = fn()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / reps, out


def gemm_floor(model, tokens, reps=20):
    """The encoder's GEMM-bound floor: 2 x encoder matrix parameters x tokens over the bf16 GEMM
    rate measured here with torch.matmul (cuBLAS) on the encoder's largest GEMM shape
    [tokens, d_model] x [d_model, d_ff]."""
    enc = model.get_encoder()
    params = sum(m.weight.numel() for m in enc.modules() if isinstance(m, torch.nn.Linear))
    d_model = model.config.d_model
    d_ff = getattr(model.config, "d_ff", None) or model.config.encoder_ffn_dim
    x = torch.randn(tokens, d_model, device="cuda", dtype=torch.bfloat16)
    w = torch.randn(d_model, d_ff, device="cuda", dtype=torch.bfloat16)
    s, _ = timed(lambda: x @ w, reps)
    rate = 2.0 * tokens * d_model * d_ff / s
    return {"encoder_params": params, "gemm_tflops": rate / 1e12,
            "gemm_shape": [tokens, d_model, d_ff], "floor_ms": 1e3 * 2.0 * params * tokens / rate}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="t5-base")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--input-len", default="128",
                    help="L, or A-B: request r gets A + (r * 7919) %% (B - A + 1) tokens "
                         "(encdec_bench's lengths), right-padded with an attention mask")
    ap.add_argument("--output-len", type=int, default=64)
    ap.add_argument("--modes", default="eager")
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--encode-only", action="store_true", help="time the encoder alone")
    ap.add_argument("--beams", type=int, default=1, help="beam search with this many beams")
    a = ap.parse_args()
    torch.manual_seed(0)
    cfg = make_config(a.model)
    # Built on the GPU in bf16 directly: initializing billions of random weights on the CPU
    # first takes minutes.
    torch.set_default_dtype(torch.bfloat16)
    with torch.device("cuda"):
        model = AutoModelForSeq2SeqLM.from_config(cfg).eval()
    torch.set_default_dtype(torch.float32)
    lo, _, hi = a.input_len.partition("-")
    lo, hi = int(lo), int(hi or lo)
    lens = [lo + (r * 7919) % (hi - lo + 1) for r in range(a.batch)]
    ids = torch.randint(3, cfg.vocab_size, (a.batch, hi), device="cuda")
    mask = (torch.arange(hi, device="cuda")[None, :] < torch.tensor(lens, device="cuda")[:, None])
    ids = ids.masked_fill(~mask, cfg.pad_token_id)
    mask = mask.long()
    a.input_len = a.input_len if "-" in a.input_len else hi
    if a.encode_only:
        with torch.no_grad():
            enc_s, _ = timed(lambda: model.get_encoder()(input_ids=ids, attention_mask=mask), a.reps)
            floor = gemm_floor(model, sum(lens))
        print(json.dumps({"impl": "hf-eager", "model": a.model, "dtype": "bf16",
                          "batch": a.batch, "input_len": a.input_len, "encode_only": 1,
                          "encoder_ms": 1e3 * enc_s,
                          "encoder_tokens_per_s": sum(lens) / enc_s, **floor}),
              flush=True)
        return
    for mode in a.modes.split(","):
        kw = dict(max_new_tokens=a.output_len, min_new_tokens=a.output_len, do_sample=False,
                  num_beams=a.beams)
        if mode == "compile":
            # generate() compiles the forward itself when the cache is static (HF's documented
            # "static cache + torch.compile" path); the warm-up call in timed() pays the compile.
            kw["cache_implementation"] = "static"
        torch.cuda.reset_peak_memory_stats()
        with torch.no_grad():
            enc_s, _ = timed(lambda: model.get_encoder()(input_ids=ids, attention_mask=mask), a.reps)
            total_s, out = timed(lambda: model.generate(ids, attention_mask=mask, **kw), a.reps)
        steps = out.shape[1] - 1
        print(json.dumps({
            "impl": "hf-" + mode, "model": a.model, "dtype": "bf16", "batch": a.batch,
            "beams": a.beams,
            "input_len": a.input_len, "output_len": a.output_len, "encoder_ms": 1e3 * enc_s,
            "decode_ms_per_step": 1e3 * (total_s - enc_s) / steps,
            "output_tokens_per_s": a.batch * steps / total_s, "wall_s": total_s,
            "peak_device_mb": torch.cuda.max_memory_allocated() / 2**20}), flush=True)


if __name__ == "__main__":
    main()
