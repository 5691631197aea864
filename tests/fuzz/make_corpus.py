#!/usr/bin/env python3
"""Writes the fuzz harnesses' seed corpora (tests/fuzz/corpus/NAME/): valid inputs and hostile
ones. The files are committed; rerun this (python3 tests/fuzz/make_corpus.py) after changing it.
Files it does not name are left alone (inputs a fuzz run found and someone committed)."""
import json
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))


def write(corpus, name, data):
    d = os.path.join(HERE, "corpus", corpus)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- request: one JSON Lines line -------------------------------------------------------------
req = {
    "valid_minimal": '{"id": "a", "input_ids": [5, 6, 7]}',
    "valid_int_id": '{"id": 42, "input_ids": [1], "max_new_tokens": 4}',
    "valid_beam": '{"id": "b", "input_ids": [3, 4], "beam_width": 4, "num_return_sequences": 2, '
                  '"length_penalty": 0.8, "early_stopping": "never", "no_repeat_ngram_size": 2}',
    "valid_sample": '{"id": "s", "input_ids": [9], "do_sample": true, "temperature": 0.7, '
                    '"top_k": 5, "top_p": 0.9, "seed": 18446744073709551615, '
                    '"repetition_penalty": 1.2}',
    "valid_lists": '{"id": "l", "input_ids": [1, 2], "decoder_input_ids": [0, 3], '
                   '"bad_words_ids": [[4], [5, 6]], "stop_sequences": [[7, 8]], '
                   '"stop_token_ids": [9], "return_logprobs": true, "stream": true}',
    "valid_encoder": '{"id": "e", "input_ids": [1, 2, 3], "encode_only": true, "pooling": "mean", '
                     '"encoder_output_format": "base64-f32"}',
    "valid_trailing_ws": '{"id": "w", "input_ids": [1]}  \t\r\n',
    "nul_first": '\x00{"id": "n", "input_ids": [1]}',
    "nul_inside": '{"id": "n\x00", "input_ids": [1]}',
    "escaped_nul": '{"id": "a\\u0000b", "input_ids": [1]}',
    "two_objects": '{"id": "a", "input_ids": [1]}{"id": "b", "input_ids": [2]}',
    "trailing_garbage": '{"id": "a", "input_ids": [1]} xyz',
    "duplicate_key": '{"id": "a", "input_ids": [1], "input_ids": [2]}',
    "duplicate_id": '{"id": "a", "id": "b", "input_ids": [1]}',
    "invalid_utf8": b'{"id": "\xff\xfe", "input_ids": [1]}',
    "overlong_utf8": b'{"id": "\xc0\xaf", "input_ids": [1]}',
    "surrogate_utf8": b'{"id": "\xed\xa0\x80", "input_ids": [1]}',
    "lone_surrogate_escape": '{"id": "\\ud800", "input_ids": [1]}',
    "huge_id": '{"id": 9007199254740993, "input_ids": [1]}',
    "huge_numbers": '{"id": "h", "input_ids": [1e30, 2147483648], "max_new_tokens": 1e308}',
    "huge_float": '{"id": "h", "input_ids": [1], "temperature": 1e39, "length_penalty": 1e400}',
    "negative_ids": '{"id": "n", "input_ids": [-1, -2147483649]}',
    "fraction_ids": '{"id": "f", "input_ids": [1.5]}',
    "nan": '{"id": "n", "input_ids": [1], "temperature": NaN}',
    "infinity": '{"id": "i", "input_ids": [1], "top_p": Infinity, "length_penalty": -Infinity}',
    "subnormal": '{"id": "d", "input_ids": [1], "temperature": 1e-45, "repetition_penalty": 1e-310}',
    "deep_nesting": '{"id": "d", "input_ids": ' + "[" * 2000 + "]" * 2000 + "}",
    "deep_objects": '{"id": ' + '{"a":' * 1000 + "1" + "}" * 1000 + ', "input_ids": [1]}',
    "unknown_field": '{"id": "u", "input_ids": [1], "input_idz": [1]}',
    "too_long": '{"id": "t", "input_ids": [' + ", ".join(["1"] * 100) + "]}",
    "beam_too_wide": '{"id": "b", "input_ids": [1], "beam_width": 1000, "num_return_sequences": 2000}',
    "not_object": '[1, 2, 3]',
    "truncated": '{"id": "t", "input_ids": [1, 2',
    "empty_lists": '{"id": "e", "input_ids": [], "bad_words_ids": [[]], "stop_sequences": []}',
    "wrong_types": '{"id": true, "input_ids": "abc", "do_sample": 1, "early_stopping": "sometimes"}',
    "decoder_prefix_bad": '{"id": "d", "input_ids": [1], "decoder_input_ids": [5, 1]}',
    "only_whitespace": ' \t ',
    "bom": '\ufeff{"id": "b", "input_ids": [1]}',
}
for k, v in req.items():
    write("request", k, v)

# --- config: a YAML run config ----------------------------------------------------------------
base = ("model: m.h5\nbackend: cpu\ndtype: fp32\ntp: 1\nmax_batch_size: 4\nmax_input_len: 64\n"
        "max_output_len: 16\nrequests: r.jsonl\noutput: \"-\"\n")
cfg = {
    "valid_demo": base,
    "valid_kv": base + "kv_memory: 8GiB\ncross_kv_fraction: 0.25\nkv_block_size: 32\n"
                       "kv_cache_dtype: bf16\nscheduler_policy: max_utilization\n",
    "valid_fraction": base + "kv_memory: 0.5\nmax_request_bytes: 64KiB\n",
    "valid_flags": base + "device_argmax: off\ncuda_graphs: on\njoint_gemms: off\n"
                          "lm_head_split: replicated\nstats_every: 0\nmax_kv_tokens: 4096\n",
    "kv_units": base + "kv_memory: 512MB\n",
    "kv_unit_lowercase": base + "kv_memory: 8gib\n",
    "kv_unit_space": base + "kv_memory: 8 GiB\n",
    "kv_unit_unknown": base + "kv_memory: 8XB\n",
    "kv_unit_too_big": base + "kv_memory: 2000TiB\n",
    "kv_unit_negative": base + "kv_memory: -1GiB\n",
    "kv_bare_bytes": base + "kv_memory: 1000000000\n",
    "kv_tiny": base + "kv_memory: 1B\n",
    "nan": base + "cross_kv_fraction: nan\n",
    "dot_nan": base + "cross_kv_fraction: .NaN\n",
    "inf": base + "kv_memory: .inf\n",
    "huge_float": base + "kv_memory: 1e300\n",
    "hex": base + "cross_kv_fraction: 0x1p-2\nmax_batch_size: 0x10\n",
    "huge_int": base + "max_batch_size: 99999999999999999999999\n",
    "derived_overflow": base.replace("max_batch_size: 4", "max_batch_size: 65536")
                            .replace("max_input_len: 64", "max_input_len: 1048576"),
    "second_document": base + "---\nmodel: other.h5\n",
    "document_end": base + "...\n",
    "nested_map": base + "backend:\n  kind: cpu\n",
    "nested_seq": "tp: [1, 2]\n" + base,
    "deep_nesting": "a: " + "[" * 5000 + "]" * 5000 + "\n",
    "alias": "model: &m m.h5\nrequests: *m\n",
    "merge_key": "<<: {tp: 2}\n" + base,
    "duplicate_key": base + "tp: 2\n",
    "unknown_key": base + "max_batch: 4\n",
    "invalid_utf8": base.encode() + b"model: \xff\xfe.h5\n",
    "nul_cut": base.encode() + b"\x00tp: 99\n",
    "tabs": "model:\tm.h5\n",
    "long_string": "model: " + "x" * 3000 + "\n",
    "quoted": "model: 'm.h5'\nbackend: \"cpu\"\ntp: '1'\n",
    "tagged": "tp: !!str 1\nmodel: !custom m.h5\n",
    "empty": "",
    "not_a_map": "- a\n- b\n",
    "scalar_doc": "just text\n",
    "flow_map": "{model: m.h5, tp: 1}\n",
    "null_value": "model:\ntp: ~\n",
    "bool_words": base + "device_argmax: yes\ncuda_graphs: true\n",
}
for k, v in cfg.items():
    write("config", k, v)


# --- safetensors: a whole .safetensors file ---------------------------------------------------
def st(header, data=b"", raw_header=None, hlen=None):
    h = raw_header if raw_header is not None else json.dumps(header).encode()
    n = len(h) if hlen is None else hlen
    return struct.pack("<Q", n) + h + data


T = lambda dt, shape, b, e: {"dtype": dt, "shape": shape, "data_offsets": [b, e]}
sts = {
    "valid": st({"a": T("F32", [2, 2], 0, 16), "b": T("BF16", [3], 16, 22),
                 "c": T("F16", [1, 1], 22, 24), "__metadata__": {"format": "pt"}}, bytes(24)),
    "valid_empty_tensor": st({"e": T("F32", [0, 4], 0, 0), "a": T("F32", [1], 0, 4)}, bytes(4)),
    "valid_other_dtype": st({"i": T("I64", [2], 0, 16)}, bytes(16)),
    "valid_scalar": st({"s": T("F32", [], 0, 4)}, bytes(4)),
    "overlap": st({"a": T("F32", [2], 0, 8), "b": T("F32", [2], 4, 12)}, bytes(12)),
    "overlap_same": st({"a": T("F32", [2], 0, 8), "b": T("F32", [2], 0, 8)}, bytes(8)),
    "overlap_inside": st({"a": T("F32", [4], 0, 16), "b": T("F16", [2], 4, 8)}, bytes(16)),
    "shape_1e30": st(None, bytes(8), raw_header=b'{"a":{"dtype":"F32","shape":[1e30,1e30],'
                                                 b'"data_offsets":[0,8]}}'),
    "shape_product_overflow": st({"a": T("F32", [2**40, 2**40], 0, 8)}, bytes(8)),
    "shape_negative": st({"a": T("F32", [-2, -1], 0, 8)}, bytes(8)),
    "shape_fraction": st({"a": T("F32", [0.5, 4], 0, 8)}, bytes(8)),
    "shape_rank9": st({"a": T("F32", [1] * 9, 0, 4)}, bytes(4)),
    "shape_strings": st({"a": T("F32", ["2"], 0, 8)}, bytes(8)),
    "offsets_past_end": st({"a": T("F32", [4], 0, 16)}, bytes(8)),
    "offsets_reversed": st({"a": T("F32", [2], 8, 0)}, bytes(8)),
    "offsets_huge": st({"a": T("F32", [1], 2**63, 2**63 + 4)}, bytes(8)),
    "offsets_fraction": st({"a": T("F32", [1], 0.5, 4.5)}, bytes(8)),
    "offsets_three": st(None, bytes(8), raw_header=b'{"a":{"dtype":"F32","shape":[1],'
                                                   b'"data_offsets":[0,4,8]}}'),
    "bytes_mismatch": st({"a": T("F32", [3], 0, 8)}, bytes(8)),
    "duplicate_name": st(None, bytes(8), raw_header=b'{"a":{"dtype":"F32","shape":[1],'
                         b'"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],'
                         b'"data_offsets":[4,8]}}'),
    "long_name": st({"n" * 300: T("F32", [1], 0, 4)}, bytes(4)),
    "header_len_huge": st({"a": T("F32", [1], 0, 4)}, bytes(4), hlen=2**64 - 1),
    "header_len_past_end": st({"a": T("F32", [1], 0, 4)}, b"", hlen=1000),
    "truncated_len": b"\x10\x00\x00",
    "header_not_json": st(None, b"", raw_header=b"not json at all"),
    "header_array": st(None, b"", raw_header=b"[1,2,3]"),
    "header_trailing": st(None, bytes(4), raw_header=b'{"a":{"dtype":"F32","shape":[1],'
                                                     b'"data_offsets":[0,4]}}garbage'),
    "header_two_objects": st(None, bytes(4), raw_header=b'{"a":{"dtype":"F32","shape":[1],'
                                                        b'"data_offsets":[0,4]}}{}'),
    "header_nul": st(None, bytes(4), raw_header=b'{"a\x00b":{"dtype":"F32","shape":[1],'
                                                b'"data_offsets":[0,4]}}'),
    "header_invalid_utf8": st(None, bytes(4), raw_header=b'{"\xff":{"dtype":"F32","shape":[1],'
                                                         b'"data_offsets":[0,4]}}'),
    "header_deep": st(None, b"", raw_header=b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}"),
    "entry_not_object": st(None, b"", raw_header=b'{"a":5,"b":null}'),
    "dtype_not_string": st({"a": {"dtype": 4, "shape": [1], "data_offsets": [0, 4]}}, bytes(4)),
    "missing_fields": st({"a": {"dtype": "F32"}}, bytes(4)),
    "metadata_only": st({"__metadata__": {"x": "y"}}),
    "nan_in_header": st(None, bytes(4), raw_header=b'{"a":{"dtype":"F32","shape":[NaN],'
                                                   b'"data_offsets":[0,4]}}'),
}
for k, v in sts.items():
    write("safetensors", k, v)

# --- safetensors_index: model.safetensors.index.json (shards a: x, y; b: z) -----------------
idx = {
    "valid": {"metadata": {"total_size": 30},
              "weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors"}},
    "valid_subset": {"weight_map": {"z": "b.safetensors"}},
    "missing_tensor": {"weight_map": {"x": "a.safetensors", "w": "a.safetensors"}},
    "wrong_shard": {"weight_map": {"z": "a.safetensors"}},
    "missing_shard": {"weight_map": {"x": "c.safetensors"}},
    "not_string": {"weight_map": {"x": 5}},
    "not_object": {"weight_map": ["a.safetensors"]},
    "no_weight_map": {"metadata": {}},
    "empty_map": {"weight_map": {}},
    "index_as_shard": {"weight_map": {"x": "model.safetensors.index.json"}},
    "empty_name": {"weight_map": {"x": ""}},
    "dot_name": {"weight_map": {"x": "."}},
}
for k, v in idx.items():
    write("safetensors_index", k, json.dumps(v))
write("safetensors_index", "duplicate_key",
      '{"weight_map": {"x": "a.safetensors", "x": "b.safetensors"}}')
write("safetensors_index", "same_tensor_two_shards",
      '{"weight_map": {"x": "a.safetensors", "y": "a.safetensors", "z": "b.safetensors", '
      '"y": "b.safetensors"}}')
write("safetensors_index", "trailing_garbage", '{"weight_map": {"z": "b.safetensors"}} x')
write("safetensors_index", "nul_cut", b'{"weight_map": {"z": "b.safetensors"}}\x00garbage')
write("safetensors_index", "invalid_utf8", b'{"weight_map": {"\xff": "b.safetensors"}}')
write("safetensors_index", "deep", '{"weight_map": ' + "[" * 3000 + "]" * 3000 + "}")
write("safetensors_index", "not_json", "weight_map: a.safetensors")

# --- h5_model: edit programs (see fuzz_h5_model.c) --------------------------------------------
NAMES = ["encdec_format_version", "family", "source_architecture", "vocab_size", "d_model",
         "d_kv", "num_heads", "d_ff", "enc_layers", "dec_layers", "rel_buckets",
         "rel_max_distance", "rel_bias_per_layer", "gated_ffn", "act", "norm", "norm_eps",
         "scale_decoder_outputs", "tied_head", "pad_id", "eos_id", "decoder_start_id", "pre_norm",
         "final_norm", "linear_bias", "learned_pos", "max_positions", "pos_offset", "embed_scale",
         "embed_norm", "attn_scale", "logits_bias", "forced_bos_id", "forced_eos_id", "dtype"]
A = {n: i for i, n in enumerate(NAMES)}


def delete(n): return bytes([0, A[n]])
def int_attr(n, v, size=8, unsigned=False):
    code = {1: 0, 2: 1, 4: 2, 8: 3}[size] | (4 if unsigned else 0)
    return bytes([1, A[n], code]) + struct.pack("<Q", v & (2**64 - 1))
def float_attr(n, v, f64=True): return bytes([2, A[n], 1 if f64 else 0]) + struct.pack("<d", v)
def fstr(n, s, pad=0, utf8=False):
    return bytes([3, A[n], len(s), pad | (4 if utf8 else 0)]) + s
def vstr(n, s): return bytes([4, A[n], len(s)]) + s
def arr(n, vals): return bytes([5, A[n], len(vals)]) + b"".join(struct.pack("<q", v) for v in vals)
def other(n, kind): return bytes([6, A[n], kind])
def tensor(ty, rank, d0, d1, chunked=1): return bytes([7, 0, ty, rank - 1, d0, d1, chunked])


h5 = {
    "valid": b"",
    "valid_vlen_family": vstr("family", b"t5"),
    "valid_nullpad_dtype": fstr("dtype", b"fp32", pad=1),
    "valid_spacepad_family": fstr("family", b"t5  ", pad=2),
    "valid_int_widths": int_attr("d_kv", 4, 1) + int_attr("num_heads", 4, 2, True)
                        + int_attr("vocab_size", 48, 4),
    "valid_float32_eps": float_attr("norm_eps", 1e-6, f64=False),
    "version_2": int_attr("encdec_format_version", 2),
    "version_missing": delete("encdec_format_version"),
    "version_string": fstr("encdec_format_version", b"1"),
    "family_long": fstr("family", b"f" * 63),
    "family_vlen_long": vstr("family", b"g" * 63),
    "family_invalid_utf8": fstr("family", b"\xff\xfe", utf8=True),
    "family_nul": fstr("family", b"t\x005", pad=1),
    "family_empty": fstr("family", b""),
    "vocab_2p31": int_attr("vocab_size", 2**31),
    "vocab_negative": int_attr("vocab_size", -48),
    "vocab_u64_huge": int_attr("vocab_size", 2**64 - 1, 8, True),
    "d_model_zero": int_attr("d_model", 0),
    "d_model_huge": int_attr("d_model", 2**30) + int_attr("d_ff", 2**30),
    "shape_product_huge": int_attr("vocab_size", 2**24) + int_attr("d_model", 2**24)
                          + int_attr("d_kv", 2**20) + int_attr("num_heads", 2**10),
    "layers_huge": int_attr("enc_layers", 2**31 - 1) + int_attr("dec_layers", 2**31 - 1),
    "eps_nan": float_attr("norm_eps", float("nan")),
    "eps_inf": float_attr("norm_eps", float("inf")),
    "eps_negative": float_attr("norm_eps", -1.0),
    "eps_too_big_for_float": float_attr("norm_eps", 1e300),
    "eps_subnormal": float_attr("norm_eps", 1e-310),
    "embed_scale_nan": float_attr("embed_scale", float("nan"), f64=False),
    "attn_scale_int": int_attr("attn_scale", 1),
    "eps_as_int": int_attr("norm_eps", 0),
    "d_model_as_float": float_attr("d_model", 16.0),
    "act_unknown": int_attr("act", 99),
    "norm_unknown": int_attr("norm", -1),
    "flag_two": int_attr("tied_head", 2) + int_attr("pre_norm", 7),
    "rel_buckets_odd": int_attr("rel_buckets", 3) + int_attr("rel_max_distance", 1),
    "rel_buckets_huge": int_attr("rel_buckets", 2**20),
    "ids_outside_vocab": int_attr("eos_id", 48) + int_attr("pad_id", -5)
                         + int_attr("decoder_start_id", 2**31 - 1),
    "forced_ids_bad": int_attr("forced_bos_id", 1000) + int_attr("forced_eos_id", -2),
    "learned_pos_huge": int_attr("learned_pos", 1) + int_attr("max_positions", 2**31 - 1)
                        + int_attr("pos_offset", 2),
    "pos_offset_negative": int_attr("learned_pos", 1) + int_attr("max_positions", 64)
                           + int_attr("pos_offset", -3),
    "array_attr": arr("d_model", [16, 16]),
    "empty_array_attr": arr("vocab_size", []),
    "null_dataspace": arr("d_ff", []),
    "bitfield_attr": other("num_heads", 0),
    "opaque_attr": other("family", 1),
    "compound_attr": other("norm_eps", 2),
    "enum_attr": other("act", 3),
    "attr_deleted": delete("norm_eps"),
    "dtype_fp64": fstr("dtype", b"fp64"),
    "dtype_long": fstr("dtype", b"x" * 40),
    "dtype_int": int_attr("dtype", 1),
    "dtype_missing": delete("dtype"),
    "dtype_bf16_on_f32": fstr("dtype", b"bf16"),
    "tensor_f64": tensor(3, 2, 48, 16),
    "tensor_u16_bf16": tensor(1, 2, 48, 16),
    "tensor_i16": tensor(2, 2, 48, 16) + fstr("dtype", b"fp16"),
    "tensor_u8": tensor(4, 2, 48, 16),
    "tensor_rank1": tensor(0, 1, 48, 0),
    "tensor_shape_wrong": tensor(0, 2, 47, 16),
    "tensor_empty": tensor(0, 2, 0, 0, chunked=0),
    "tensor_unchunked": tensor(0, 2, 48, 16, chunked=0),
    "tensor_u16_says_fp32": tensor(1, 2, 48, 16) + fstr("dtype", b"fp32"),
    "many_edits": (int_attr("vocab_size", 8) + int_attr("d_model", 4) + int_attr("eos_id", 1)
                   + tensor(0, 2, 8, 4) + vstr("dtype", b"fp32")),
    # quantized (flags: 1 checksummed, 2 no scales, 4 one scale too many, 8 a zero scale,
    # 16 a NaN scale, 32 float64 scales)
    "valid_int8": tensor(5, 2, 48, 16),
    "valid_fp8": tensor(6, 2, 48, 16),
    "int8_no_scales": tensor(5, 2, 48, 16, chunked=1 | 2),
    "fp8_scales_too_long": tensor(6, 2, 48, 16, chunked=1 | 4),
    "int8_zero_scale": tensor(5, 2, 48, 16, chunked=1 | 8),
    "fp8_nan_scale": tensor(6, 2, 48, 16, chunked=1 | 16),
    "int8_scales_f64": tensor(5, 2, 48, 16, chunked=1 | 32),
    "int8_rank1": tensor(5, 1, 48, 0),
    "int8_says_fp8": tensor(5, 2, 48, 16) + fstr("dtype", b"fp8_e4m3"),
    "fp8_says_int8": tensor(6, 2, 48, 16) + fstr("dtype", b"int8"),
}
for k, v in h5.items():
    write("h5_model", k, v)
