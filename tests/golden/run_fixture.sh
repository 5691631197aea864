#!/bin/bash
# Converts one golden fixture, serves its requests with mpirun -n TP, and compares with HF.
# usage: run_fixture.sh BUILD_DIR FIXTURE_DIR TP [LM_HEAD_SPLIT] [SET] [BACKEND] [DTYPE] [KEY=VALUE]
#   SET: "" or "greedy" for requests/expected.jsonl (greedy, score mode), "beam_" for the beam search and
#   penalty cases (beam_requests/beam_expected.jsonl)
#   DTYPE: weight dtype (fp32 default). fp16/bf16 (greedy/score set) are compared with
#   expected_<DTYPE>_weights.jsonl: HF in fp32 on the same weights rounded to DTYPE
#   KEY=VALUE: one more run-config key (e.g. joint_gemms=off), same yardstick
#   EXPECT_LOG (environment): a line the run's info log must hold (which path a setting took)
set -euo pipefail
build=$1 fixture=$2 tp=$3 lm_head=${4:-vocab} set=${5:-} backend=${6:-cpu} dtype=${7:-fp32}
extra=${8:-}
[ "$set" = greedy ] && set=
source "$(dirname "$0")/golden_lib.sh"
hf_yardstick "$fixture" "$backend" "$dtype" "$set"
name=$(basename "$fixture")
work=$(mktemp -d "${TMPDIR:-/tmp}/encdec_golden_${name}_tp${tp}.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$build/encdec_convert" --quiet --hf "$fixture" --out "$work/model.h5"
{
  golden_config "$work/model.h5" "$backend" "$dtype" "$tp"
  printf 'lm_head_split: %s\nrequests: %s\noutput: %s\n' "$lm_head" "$fixture/${set}requests.jsonl" \
    "$work/responses.jsonl"
} > "$work/run.yaml"
[ -z "$extra" ] || echo "${extra%%=*}: ${extra#*=}" >> "$work/run.yaml"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export ENCDEC_LOG=${ENCDEC_LOG:-warn}
if [ -n "${EXPECT_LOG:-}" ]; then # the run's info log must hold this line (the path taken)
  ENCDEC_LOG=info ${MPIEXEC:-mpirun} --oversubscribe -n "$tp" "$build/encdec_tp" \
    --config "$work/run.yaml" 2> "$work/run.log"
  grep -qF -- "$EXPECT_LOG" "$work/run.log" || { echo "run_fixture: the log lacks '$EXPECT_LOG'"; exit 1; }
else
  ${MPIEXEC:-mpirun} --oversubscribe -n "$tp" "$build/encdec_tp" --config "$work/run.yaml"
fi
"$build/golden_check" "$expected" "$work/responses.jsonl" "${check[@]}"
