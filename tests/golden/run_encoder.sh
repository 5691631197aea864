#!/bin/bash
# Encoder outputs against HF's encoder_last_hidden_state: the golden greedy requests with
# return_encoder_output, plus, in the same batches, encode-only requests of the same inputs
# (JSON, mean pooling, base64-f32).
# usage: run_encoder.sh BUILD_DIR FIXTURE_DIR TP
set -euo pipefail
build=$1 fixture=$2 tp=$3
work=$(mktemp -d "${TMPDIR:-/tmp}/encdec_encoder.XXXXXX")
trap 'rm -rf "$work"' EXIT
"$build/encdec_convert" --quiet --hf "$fixture" --out "$work/model.h5"
while read -r line; do
  case "$line" in *'"id": "greedy-'*) ;; *) echo "$line"; continue ;; esac
  id=$(echo "$line" | grep -o '"id": "[^"]*"' | sed 's/.*: "//; s/"//')
  ids=$(echo "$line" | grep -o '"input_ids": \[[^]]*\]')
  echo "${line%\}}, \"return_encoder_output\": true}"
  echo "{\"id\": \"enc-$id\", $ids, \"encode_only\": true}"
  echo "{\"id\": \"mean-$id\", $ids, \"encode_only\": true, \"pooling\": \"mean\"}"
  echo "{\"id\": \"b64-$id\", $ids, \"encode_only\": true, \"encoder_output_format\": \"base64-f32\"}"
done < "$fixture/requests.jsonl" > "$work/requests.jsonl"
source "$(dirname "$0")/golden_lib.sh"
golden_config "$work/model.h5" cpu fp32 "$tp" > "$work/run.yaml"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ENCDEC_LOG=${ENCDEC_LOG:-warn}
mpirun --oversubscribe -n "$tp" "$build/encdec_tp" --config "$work/run.yaml" \
  --requests "$work/requests.jsonl" --output "$work/responses.jsonl"
"$build/golden_check" "$fixture/expected.jsonl" "$work/responses.jsonl" --tol 1e-4 \
  --encode-only-prefix enc- --encode-only-prefix mean- --encode-only-prefix b64-
