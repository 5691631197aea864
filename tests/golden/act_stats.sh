#!/bin/bash
# The activation ranges of models, for the quantization issue's FP8 check (README "Quantized
# weights"): each model is served on the CPU backend in fp32 with ENCDEC_ACT_STATS=1
# (kernels/cpu/act_stats.h) and its line printed: GEMM inputs seen, the largest |x|, and the
# share of nonzero values E4M3 would round to zero with a scale per row (the GPU's FP8 path) and
# with one scale per GEMM input.
# usage: act_stats.sh BUILD_DIR MODEL_DIR REQUESTS_JSONL [MODEL_DIR REQUESTS_JSONL ...]
#   MODEL_DIR: a Hugging Face folder (a golden fixture, configs/demo/model); REQUESTS_JSONL: the
#   requests to serve (a fixture's requests.jsonl; the demo's prompts as {"text": ...} lines).
set -euo pipefail
[ $# -ge 3 ] && [ $(($# % 2)) -eq 1 ] || { sed -n 2,9p "$0"; exit 2; }
build=$1
shift
source "$(dirname "$0")/golden_lib.sh"
work=$(mktemp -d "${TMPDIR:-/tmp}/encdec_act_stats.XXXXXX")
trap 'rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
while [ $# -ge 2 ]; do
  model=$1 requests=$(realpath "$2")
  shift 2
  "$build/encdec_convert" --quiet --hf "$model" --out "$work/m.h5"
  { golden_config "$work/m.h5" cpu fp32 1
    printf 'requests: %s\noutput: %s\n' "$requests" "$work/out.jsonl"; } > "$work/run.yaml"
  ENCDEC_ACT_STATS=1 ${MPIEXEC:-mpirun} -n 1 "$build/encdec_tp" --config "$work/run.yaml" \
    > /dev/null 2> "$work/log" || { echo "$(basename "$model"): encdec_tp failed"; cat "$work/log"; exit 1; }
  grep -q 'summary: [0-9]* done, 0 errors' "$work/log" ||
    { echo "$(basename "$model"): requests failed: $(grep -m1 'summary:' "$work/log")"; exit 1; }
  line=$(grep 'act_stats:' "$work/log") || { echo "$(basename "$model"): no statistics"; exit 1; }
  echo "$(basename "$model"): ${line#*act_stats: }"
  rm -f "$work/m.h5" "$work/out.jsonl"
done
