#!/bin/bash
# Weight-only quantized projections (quantize: int8 | fp8, docs/MODEL_FORMAT.md) on one golden
# fixture at TP ranks, fp32 activations:
#  - a model converted with `encdec_convert --quantize QUANT` is served with its projections
#    quantized (the load says so) and compared with Hugging Face's fp32 outputs: logits within
#    TOL (the format's error, reported) and greedy ids identical wherever HF's margin
#    (its logit of its token minus its logit of ours) exceeds twice that error (golden_check
#    --margin-ids --logits-only: requests without logits give no margin to judge by);
#  - the unquantized model served with `quantize: QUANT` (quantized at load) answers exactly
#    what the converted one answers (the same codes and scales, whatever the TP split);
#  - the kernels: the converted model served with `quantize: none` (its codes dequantized to
#    fp32 weights at load, then plain fp32 GEMMs) answers what matmul_wq answers, within the
#    fp32 yardstick (1e-4), every request's ids identical.
# With EMBEDDINGS = embeddings, the token embedding and LM head are quantized too
# (--quantize-embeddings, quantize_embeddings: on).
# With env DTYPE=bf16 | fp16 (the runs' activations and unquantized weights in that dtype, as a
# served 16-bit model runs; on the GPU, fp8 codes of large GEMMs multiply x's own E4M3 codes),
# the first two checks only, against HF's fp32 within TOL (the dequantized run of the third is
# not an exact yardstick for 16-bit activations).
# usage: run_quantized.sh BUILD_DIR FIXTURE_DIR QUANT TP TOL [embeddings]
#   env BACKEND: cpu (default) or cuda; DTYPE: fp32 (default), bf16 or fp16
set -euo pipefail
backend=${BACKEND:-cpu} dtype=${DTYPE:-fp32}
build=$1 fixture=$(cd "$2" && pwd) quant=$3 tp=$4 tol=$5 emb=${6:-}
convert_emb=() emb_key=off emb_loaded=$dtype
[ -z "$emb" ] || convert_emb=(--quantize-embeddings) emb_key=on emb_loaded=$quant
source "$(dirname "$0")/golden_lib.sh"
name=$(basename "$fixture")
work=$(mktemp -d "${TMPDIR:-/tmp}/encdec_quant_${name}_${quant}_tp${tp}.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$build/encdec_convert" --quiet --hf "$fixture" --out "$work/q.h5" --quantize "$quant" "${convert_emb[@]}"
"$build/encdec_convert" --quiet --hf "$fixture" --out "$work/f.h5"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# serve NAME MODEL QUANTIZE QUANTIZE_EMBEDDINGS LOADED: $work/NAME.jsonl, its log $work/NAME.log;
# the load must say its projections and embeddings are LOADED ("int8, embeddings fp32", ...).
serve() {
  {
    golden_config "$2" "$backend" "$dtype" "$tp"
    printf 'quantize: %s\nquantize_embeddings: %s\nrequests: %s\noutput: %s\n' "$3" "$4" \
      "$fixture/requests.jsonl" "$work/$1.jsonl"
  } > "$work/$1.yaml"
  ENCDEC_LOG=info ${MPIEXEC:-mpirun} --oversubscribe -n "$tp" "$build/encdec_tp" --config "$work/$1.yaml" \
    2> "$work/$1.log" || { cat "$work/$1.log" >&2; exit 1; }
  grep -qF "(projections $5)" "$work/$1.log" ||
    { echo "FAIL $1: the load did not leave the projections $5: $(grep 'weights ' "$work/$1.log")"; exit 1; }
}
serve converted "$work/q.h5" auto auto "$quant, embeddings $emb_loaded"
serve at_load "$work/f.h5" "$quant" "$emb_key" "$quant, embeddings $emb_loaded"
if [ -n "$emb" ]; then # quantize_embeddings: on without quantized projections is refused by name
  { golden_config "$work/f.h5" "$backend" fp32 "$tp"; printf 'quantize: none\nquantize_embeddings: on\n'; } > "$work/bad.yaml"
  if ${MPIEXEC:-mpirun} --oversubscribe -n "$tp" "$build/encdec_tp" --config "$work/bad.yaml" \
       --requests "$fixture/requests.jsonl" --output "$work/bad.jsonl" 2> "$work/bad.log" ||
     ! grep -q "key 'quantize_embeddings'" "$work/bad.log"; then
    echo "FAIL quantize_embeddings: on with quantize: none was not refused naming the key: $(tail -2 "$work/bad.log")"
    exit 1
  fi
fi
echo "$name $quant${emb:+ with embeddings} tp$tp, $dtype activations, against HF fp32:"
"$build/golden_check" "$fixture/expected.jsonl" "$work/converted.jsonl" --tol "$tol" --margin-ids \
  --logits-only
echo "quantized at load against converted with --quantize:"
"$build/golden_check" "$work/converted.jsonl" "$work/at_load.jsonl" --tol 0
if [ "$dtype" = fp32 ]; then
  serve dequantized "$work/q.h5" none auto "fp32, embeddings fp32"
  echo "matmul_wq against fp32 GEMMs on the dequantized weights:"
  "$build/golden_check" "$work/dequantized.jsonl" "$work/converted.jsonl" --tol 1e-4
fi
