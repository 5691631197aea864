#!/bin/bash
# compute-sanitizer memcheck over a whole serving run on the GPU (bf16 weights, device argmax,
# recorded decoder graphs, beams): must report 0 errors.
# usage: sanitize_serve.sh BUILD_DIR FIXTURE_DIR
set -euo pipefail
build=$1 fixture=$2
name=sanitize
source "$(dirname "$0")/../test_lib.sh"
"$build/encdec_convert" --quiet --hf "$fixture" --out "$work/model.h5"
printf 'model: %s\nbackend: cuda\nmax_batch_size: 8\nmax_input_len: 64\nmax_output_len: 24\n' \
  "$work/model.h5" > "$work/run.yaml"
cat "$fixture/requests.jsonl" "$fixture/beam_requests.jsonl" > "$work/requests.jsonl"
ENCDEC_LOG=info compute-sanitizer --tool memcheck --error-exitcode 3 "$build/encdec_tp" \
  --config "$work/run.yaml" --requests "$work/requests.jsonl" --output "$work/out.jsonl" \
  > "$work/log" 2>&1 || fail "compute-sanitizer or the run failed"
grep -E "ERROR SUMMARY|summary:" "$work/log" || true
grep -q "ERROR SUMMARY: 0 errors" "$work/log" || fail "memcheck found errors"
[ "$failures" = 0 ]
