"""A minimal T5ForConditionalGeneration in plain PyTorch (1.13+), numerically the forward of
Hugging Face transformers' T5 (5.x), for training the demo model where transformers is not
installed. Checked against HF's own logits by check_t5_torch.py (tests/golden fixtures).

What it reproduces (names are HF's, so state dicts load and save as HF's):
  * T5LayerNorm: RMS norm computed in fp32, weight only, eps = layer_norm_epsilon.
  * Attention without 1/sqrt(d_kv) scaling; relative position bias from HF's
    _relative_position_bucket (bidirectional in the encoder, causal in the decoder), computed by
    block 0 of each stack and shared by its other blocks; cross-attention has no position bias.
  * FFN: "relu" (wi, wo) or "gated-gelu" (gelu_new(wi_0 x) * wi_1 x, wo).
  * Tied head: logits = decoder_output * d_model**-0.5 @ shared.T when scale_decoder_outputs
    (defaults to tie_word_embeddings); an untied head uses lm_head.weight unscaled.
  * Dropout: none (the demo trains without it; dropout_rate must be 0).

Shapes: input_ids [B, S] int64, decoder_input_ids [B, T] int64, attention_mask [B, S] (1 = token),
logits [B, T, vocab_size] fp32.

Also: safetensors read/write (the format written by hand: u64 little-endian header length, JSON
header of {name: {dtype, shape, data_offsets}}, raw little-endian data), sharded directories with
model.safetensors.index.json included.
"""
import json
import math
import os
import struct

import torch
import torch.nn as nn
import torch.nn.functional as F

ST_DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}
ST_NAMES = {v: k for k, v in ST_DTYPES.items()}


# ---------------------------------------------------------------- safetensors

def read_safetensors(path):
    """{name: tensor} of one .safetensors file (copies, fp32/fp16/bf16/i64)."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] not in ST_DTYPES:
            raise ValueError(f"{path}: tensor {name}: dtype {info['dtype']} not supported")
        a, b = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[a:b]), dtype=ST_DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).clone()
    return out


def write_safetensors(path, tensors):
    """tensors {name: tensor} into one .safetensors file (names sorted, 8-byte aligned header)."""
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        t = tensors[name].detach().contiguous().cpu()
        raw = t.view(torch.uint8).numpy().tobytes() if t.numel() else b""
        header[name] = {"dtype": ST_NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for raw in blobs:
            f.write(raw)


def read_hf_weights(folder):
    """All tensors of an HF folder: model.safetensors, or the shards its index names."""
    index = os.path.join(folder, "model.safetensors.index.json")
    if os.path.exists(index):
        with open(index) as f:
            files = sorted(set(json.load(f)["weight_map"].values()))
    else:
        files = ["model.safetensors"]
    out = {}
    for name in files:
        out.update(read_safetensors(os.path.join(folder, name)))
    return out


# ---------------------------------------------------------------- model

def relative_position_bucket(relative_position, bidirectional, num_buckets, max_distance):
    """HF T5Attention._relative_position_bucket, line for line."""
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    if_large = max_exact + (
        torch.log(relative_position.float() / max_exact)
        / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)
    ).to(torch.long)
    if_large = torch.min(if_large, torch.full_like(if_large, num_buckets - 1))
    return relative_buckets + torch.where(is_small, relative_position, if_large)


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


class T5LayerNorm(nn.Module):
    def __init__(self, d, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, h):
        var = h.to(torch.float32).pow(2).mean(-1, keepdim=True)
        h = h * torch.rsqrt(var + self.eps)
        return self.weight * h.to(self.weight.dtype)


class T5Attention(nn.Module):
    def __init__(self, c, has_bias, bidirectional):
        super().__init__()
        self.h, self.dkv = c["num_heads"], c["d_kv"]
        inner = self.h * self.dkv
        self.q = nn.Linear(c["d_model"], inner, bias=False)
        self.k = nn.Linear(c["d_model"], inner, bias=False)
        self.v = nn.Linear(c["d_model"], inner, bias=False)
        self.o = nn.Linear(inner, c["d_model"], bias=False)
        self.bidirectional = bidirectional
        self.nb = c["relative_attention_num_buckets"]
        self.md = c["relative_attention_max_distance"]
        if has_bias:
            self.relative_attention_bias = nn.Embedding(self.nb, self.h)

    def compute_bias(self, q_len, k_len):
        """[1, heads, q_len, k_len] position bias."""
        dev = self.relative_attention_bias.weight.device
        ctx = torch.arange(q_len, dtype=torch.long, device=dev)[:, None]
        mem = torch.arange(k_len, dtype=torch.long, device=dev)[None, :]
        buckets = relative_position_bucket(mem - ctx, self.bidirectional, self.nb, self.md)
        return self.relative_attention_bias(buckets).permute(2, 0, 1).unsqueeze(0)

    def forward(self, x, kv, bias):
        """x [B, Tq, d], kv [B, Tk, d], bias broadcastable to [B, heads, Tq, Tk] (added)."""
        B = x.shape[0]

        def split(t):
            return t.view(B, -1, self.h, self.dkv).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(kv)), split(self.v(kv))
        scores = torch.matmul(q, k.transpose(2, 3)) + bias
        w = F.softmax(scores.float(), dim=-1).type_as(scores)
        out = torch.matmul(w, v).transpose(1, 2).reshape(B, -1, self.h * self.dkv)
        return self.o(out)


class T5SelfLayer(nn.Module):
    def __init__(self, c, has_bias, bidirectional):
        super().__init__()
        self.SelfAttention = T5Attention(c, has_bias, bidirectional)
        self.layer_norm = T5LayerNorm(c["d_model"], c["layer_norm_epsilon"])

    def forward(self, h, bias):
        n = self.layer_norm(h)
        return h + self.SelfAttention(n, n, bias)


class T5CrossLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.EncDecAttention = T5Attention(c, False, True)
        self.layer_norm = T5LayerNorm(c["d_model"], c["layer_norm_epsilon"])

    def forward(self, h, enc, mask):
        return h + self.EncDecAttention(self.layer_norm(h), enc, mask)


class T5DenseAct(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.gated = c["feed_forward_proj"].startswith("gated-")
        act = c["feed_forward_proj"].split("-")[-1]
        if act not in ("gelu", "relu"):
            raise ValueError(f"feed_forward_proj {c['feed_forward_proj']!r}: only relu, gated-gelu")
        self.act = gelu_new if act == "gelu" else F.relu
        d, ff = c["d_model"], c["d_ff"]
        if self.gated:
            self.wi_0 = nn.Linear(d, ff, bias=False)
            self.wi_1 = nn.Linear(d, ff, bias=False)
        else:
            self.wi = nn.Linear(d, ff, bias=False)
        self.wo = nn.Linear(ff, d, bias=False)

    def forward(self, x):
        h = self.act(self.wi_0(x)) * self.wi_1(x) if self.gated else self.act(self.wi(x))
        return self.wo(h)


class T5FFLayer(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.DenseReluDense = T5DenseAct(c)
        self.layer_norm = T5LayerNorm(c["d_model"], c["layer_norm_epsilon"])

    def forward(self, h):
        return h + self.DenseReluDense(self.layer_norm(h))


class T5Block(nn.Module):
    def __init__(self, c, is_decoder, has_bias):
        super().__init__()
        layers = [T5SelfLayer(c, has_bias, not is_decoder)]
        if is_decoder:
            layers.append(T5CrossLayer(c))
        layers.append(T5FFLayer(c))
        self.layer = nn.ModuleList(layers)
        self.is_decoder = is_decoder

    def forward(self, h, self_bias, enc=None, cross_mask=None):
        h = self.layer[0](h, self_bias)
        if self.is_decoder:
            h = self.layer[1](h, enc, cross_mask)
        return self.layer[-1](h)


class T5Stack(nn.Module):
    def __init__(self, c, is_decoder):
        super().__init__()
        n = c["num_decoder_layers"] if is_decoder else c["num_layers"]
        self.block = nn.ModuleList([T5Block(c, is_decoder, i == 0) for i in range(n)])
        self.final_layer_norm = T5LayerNorm(c["d_model"], c["layer_norm_epsilon"])
        self.is_decoder = is_decoder

    def forward(self, h, mask_bias, enc=None, cross_mask=None):
        """h [B, T, d] embedded; mask_bias: additive [B, 1, 1|T, T] (self) mask."""
        T = h.shape[1]
        bias = self.block[0].layer[0].SelfAttention.compute_bias(T, T) + mask_bias
        for b in self.block:
            h = b(h, bias, enc, cross_mask)
        return self.final_layer_norm(h)


def additive_mask(keep):
    """keep [B, S] (1 = attend) -> [B, 1, 1, S] with 0 / dtype-min, as HF builds it."""
    return (1.0 - keep[:, None, None, :].float()) * torch.finfo(torch.float32).min


class T5ForConditionalGeneration(nn.Module):
    def __init__(self, config):
        super().__init__()
        c = dict(config)
        c.setdefault("num_decoder_layers", c["num_layers"])
        c.setdefault("layer_norm_epsilon", 1e-6)
        c.setdefault("feed_forward_proj", "relu")
        c.setdefault("tie_word_embeddings", True)
        if c.get("dropout_rate", 0.0) not in (0, 0.0):
            raise ValueError("t5_torch has no dropout: config dropout_rate must be 0")
        self.config = c
        self.tie = c["tie_word_embeddings"]
        self.scale = c.get("scale_decoder_outputs", self.tie)
        self.shared = nn.Embedding(c["vocab_size"], c["d_model"])
        self.encoder = T5Stack(c, False)
        self.decoder = T5Stack(c, True)
        if not self.tie:
            self.lm_head = nn.Linear(c["d_model"], c["vocab_size"], bias=False)

    def encode(self, input_ids, attention_mask=None):
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        return self.encoder(self.shared(input_ids), additive_mask(attention_mask))

    def decode(self, enc, decoder_input_ids, attention_mask=None):
        """Logits [B, T, vocab] of the decoder over enc [B, S, d] (causal self-attention)."""
        B, S = enc.shape[:2]
        T = decoder_input_ids.shape[1]
        if attention_mask is None:
            attention_mask = torch.ones(B, S, dtype=torch.long, device=enc.device)
        causal = torch.tril(torch.ones(T, T, device=enc.device))[None, None]
        self_mask = (1.0 - causal) * torch.finfo(torch.float32).min
        h = self.decoder(self.shared(decoder_input_ids), self_mask, enc, additive_mask(attention_mask))
        if self.scale:
            h = h * (self.config["d_model"] ** -0.5)
        w = self.shared.weight if self.tie else self.lm_head.weight
        return F.linear(h, w)

    def forward(self, input_ids, decoder_input_ids, attention_mask=None):
        return self.decode(self.encode(input_ids, attention_mask), decoder_input_ids, attention_mask)

    @torch.no_grad()
    def greedy(self, input_ids, attention_mask=None, max_new_tokens=32):
        """Greedy output ids per row (lists, EOS included when reached, start token excluded);
        recomputes the decoder each step (no cache: the demo's answers are short)."""
        c = self.config
        start, eos = c.get("decoder_start_token_id", 0), c.get("eos_token_id", 1)
        enc = self.encode(input_ids, attention_mask)
        B = input_ids.shape[0]
        dec = torch.full((B, 1), start, dtype=torch.long)
        done = torch.zeros(B, dtype=torch.bool)
        for _ in range(max_new_tokens):
            nxt = self.decode(enc, dec, attention_mask)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, c.get("pad_token_id", 0)), nxt)
            dec = torch.cat([dec, nxt[:, None]], 1)
            done |= nxt == eos
            if bool(done.all()):
                break
        out = []
        for row in dec[:, 1:].tolist():
            out.append(row[:row.index(eos) + 1] if eos in row else row)
        return out

    # ------------------------------------------------------------ HF folders

    def load_hf_state(self, tensors):
        """Loads HF-named tensors; a tied model ignores lm_head.weight (as HF 5.x does). Raises
        naming any missing or unexpected tensor."""
        own = self.state_dict()
        extra = [k for k in tensors if k not in own and not (self.tie and k == "lm_head.weight")
                 and not k.endswith("embed_tokens.weight")]
        missing = [k for k in own if k not in tensors]
        if extra or missing:
            raise ValueError(f"HF tensors: missing {missing}, unexpected {extra}")
        self.load_state_dict({k: tensors[k].float() for k in own})

    @classmethod
    def from_hf(cls, folder):
        with open(os.path.join(folder, "config.json")) as f:
            m = cls(json.load(f))
        m.load_hf_state(read_hf_weights(folder))
        return m.eval()

    def save_hf(self, folder, extra_config=None):
        """config.json + model.safetensors (fp32, HF's names; a tied model stores only
        shared.weight, as HF 5.x writes it) into folder."""
        os.makedirs(folder, exist_ok=True)
        sd = {k: v.float() for k, v in self.state_dict().items()}
        write_safetensors(os.path.join(folder, "model.safetensors"), sd)
        cfg = dict(self.config)
        cfg.update(extra_config or {})
        with open(os.path.join(folder, "config.json"), "w") as f:
            json.dump(cfg, f, indent=2, sort_keys=True)
            f.write("\n")
