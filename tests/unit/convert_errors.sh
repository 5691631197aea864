#!/bin/bash
# encdec_convert must refuse what it cannot convert faithfully, name the key or tensor, and leave
# no output file; and it must convert fp16/bf16 storage that encdec_tp then serves.
# usage: convert_errors.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/encdec_convert_errors.XXXXXX")
trap 'rm -rf "$work"' EXIT
failures=0 checks=0

# expect_failure NAME NEEDLE: converts $work/NAME (a fixture copy) and checks the refusal.
expect_failure() {
  local name=$1 needle=$2
  checks=$((checks + 1))
  if "$build/encdec_convert" --quiet --hf "$work/$name" --out "$work/$name.h5" 2>"$work/$name.err"; then
    echo "FAIL $name: conversion succeeded"; failures=$((failures + 1)); return
  fi
  if ! grep -qF -- "$needle" "$work/$name.err"; then
    echo "FAIL $name: message lacks '$needle':"; cat "$work/$name.err"; failures=$((failures + 1))
  fi
  if compgen -G "$work/$name.h5*" >/dev/null; then
    echo "FAIL $name: left an output file behind"; ls "$work"; failures=$((failures + 1))
  fi
}

# variant NAME SOURCE SED: a copy of fixture SOURCE with config.json edited by SED.
variant() {
  cp -r "$fixtures/$2" "$work/$1"
  [ -z "$3" ] || sed -i -E "$3" "$work/$1/config.json"
}

variant arch t5_v1_0_tied 's/T5ForConditionalGeneration/FooForConditionalGeneration/'
expect_failure arch "architectures: 'FooForConditionalGeneration' is not supported"
variant act t5_v1_0_tied 's/"feed_forward_proj": "relu"/"feed_forward_proj": "gated-quux"/'
expect_failure act "key feed_forward_proj: activation 'quux' is not implemented"
variant decoder_only t5_v1_0_tied 's/"is_decoder": false/"is_decoder": true/'
expect_failure decoder_only "key is_decoder"
variant more_layers t5_v1_0_tied 's/"num_layers": 2/"num_layers": 3/'
expect_failure more_layers "tensor encoder.block.2.layer.0.layer_norm.weight is missing"
variant fewer_layers t5_v1_0_tied 's/"num_layers": 2/"num_layers": 1/'
expect_failure fewer_layers "encoder.block.1.layer.0.SelfAttention.k.weight (in"
variant shape t5_v1_0_tied 's/"d_ff": 64/"d_ff": 60/'
expect_failure shape "DenseReluDense.wi.weight has shape [64, 32] but config.json implies [60, 32]"
variant bad_type t5_v1_0_tied 's/"d_model": 32/"d_model": "32"/'
expect_failure bad_type "key d_model must be an integer"
# relative_attention_max_distance at the decoder's exact buckets (8 buckets: 4 exact): HF's bucket
# formula divides by log(4 / 4) = 0; it used to convert and then index far out of bounds.
variant rel_distance t5_v1_0_tied 's/"relative_attention_max_distance": 12/"relative_attention_max_distance": 4/'
expect_failure rel_distance "config.json: rel_max_distance (relative_attention_max_distance) = 4 must exceed"
variant rel_buckets t5_v1_0_tied 's/"relative_attention_num_buckets": 8/"relative_attention_num_buckets": 3/'
expect_failure rel_buckets "rel_buckets (relative_attention_num_buckets) = 3"
# Numbers outside int's range are refused before any cast (1e30 used to be undefined behaviour).
variant huge_int t5_v1_0_tied 's/"d_model": 32/"d_model": 1e30/'
expect_failure huge_int "key d_model = 1e+30 is outside the 32-bit integer range"
variant huge_eos t5_v1_0_tied 's/"eos_token_id": 1/"eos_token_id": [4294967297, 2]/'
expect_failure huge_eos "key eos_token_id = 4294967297 is outside the 32-bit integer range"
variant frac_eos t5_v1_0_tied 's/"eos_token_id": 1/"eos_token_id": [1.5]/'
expect_failure frac_eos "key eos_token_id must be an integer"
variant neg_eps t5_v1_0_tied 's/"layer_norm_epsilon": 1e-06/"layer_norm_epsilon": -1e-06/'
expect_failure neg_eps "norm_eps = -1e-06 must be finite and positive"
variant huge_eps t5_v1_0_tied 's/"layer_norm_epsilon": 1e-06/"layer_norm_epsilon": 1e300/'
expect_failure huge_eps "norm_eps = inf must be finite and positive"
variant truncated t5_v1_0_tied ''
head -c 100000 "$fixtures/t5_v1_0_tied/model.safetensors" > "$work/truncated/model.safetensors"
expect_failure truncated "truncated"
variant shard_missing t5_v1_1_gated ''
rm "$work/shard_missing/model-00003-of-00009.safetensors"
expect_failure shard_missing "model-00003-of-00009.safetensors: cannot open"
variant no_weights t5_v1_0_tied ''
rm "$work/no_weights/model.safetensors"
expect_failure no_weights "neither model.safetensors nor model.safetensors.index.json"

# fp16 and bf16 storage convert, load and serve every request.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ENCDEC_LOG=warn
for dtype in fp16 bf16; do
  checks=$((checks + 1))
  if ! "$build/encdec_convert" --quiet --hf "$fixtures/t5_v1_1_gated" --out "$work/$dtype.h5" --dtype $dtype; then
    echo "FAIL $dtype: conversion failed"; failures=$((failures + 1)); continue
  fi
  printf 'model: %s\nmax_input_len: 64\nmax_output_len: 24\n' "$work/$dtype.h5" > "$work/$dtype.yaml"
  n=$(mpirun -n 1 "$build/encdec_tp" --config "$work/$dtype.yaml" \
        --requests "$fixtures/t5_v1_1_gated/requests.jsonl" | grep -c '"output_ids"')
  [ "$n" = 15 ] || { echo "FAIL $dtype: $n of 15 responses"; failures=$((failures + 1)); }
done
echo "convert_errors: $checks checks, $failures failed"
[ $failures = 0 ]
