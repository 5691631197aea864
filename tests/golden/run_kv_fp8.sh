#!/bin/bash
# The FP8 KV cache (kv_cache_dtype: fp8: E4M3 codes, a scale per position and head, both pools;
# env BACKEND: cpu, the default, or cuda) on one golden fixture at TP ranks, fp32 weights:
#  - greedy and score requests against Hugging Face's fp32 logits within TOL (the format's error,
#    reported), greedy ids identical wherever HF's margin for its token over ours exceeds twice
#    that error (golden_check --margin-ids --logits-only);
#  - the beam-search set (whose beams share, then copy, self-attention blocks) answers every
#    request with its sequences and no error.
# usage: run_kv_fp8.sh BUILD_DIR FIXTURE_DIR TP TOL
set -euo pipefail
backend=${BACKEND:-cpu}
build=$1 fixture=$(cd "$2" && pwd) tp=$3 tol=$4
source "$(dirname "$0")/golden_lib.sh"
name=$(basename "$fixture")
work=$(mktemp -d "${TMPDIR:-/tmp}/encdec_kv_fp8_${name}_tp${tp}.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$build/encdec_convert" --quiet --hf "$fixture" --out "$work/m.h5"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# serve SET: $work/SETresponses.jsonl for $fixture/SETrequests.jsonl ("" or beam_)
serve() {
  { golden_config "$work/m.h5" "$backend" fp32 "$tp"; printf 'kv_cache_dtype: fp8\n'; } > "$work/run.yaml"
  ENCDEC_LOG=info ${MPIEXEC:-mpirun} --oversubscribe -n "$tp" "$build/encdec_tp" --config "$work/run.yaml" \
    --requests "$fixture/${1}requests.jsonl" --output "$work/${1}responses.jsonl" 2> "$work/$1log" ||
    { cat "$work/$1log" >&2; exit 1; }
  grep -q "KV pools per rank (fp8)" "$work/$1log" || { echo "FAIL the pools are not fp8: $(grep 'KV pools' "$work/$1log")"; exit 1; }
}
serve ""
echo "$name fp8 KV tp$tp against HF fp32:"
"$build/golden_check" "$fixture/expected.jsonl" "$work/responses.jsonl" --tol "$tol" --margin-ids --logits-only
serve beam_
want=$(grep -c . "$fixture/beam_requests.jsonl")
got=$(jq -s '[.[] | select(.error == null and ((.sequences // [.output_ids]) | length) > 0)] | length' \
  "$work/beam_responses.jsonl")
[ "$got" = "$want" ] || { echo "FAIL beam set: $got of $want requests answered with sequences: $(grep -m2 error "$work/beam_responses.jsonl")"; exit 1; }
echo "beam set: $got of $want requests answered"
