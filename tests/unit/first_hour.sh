#!/bin/bash
# What a new user meets in the first hour (issue 22, "The first hour, mended"), each checked from
# the command line: a model served on default lengths (no refusal for fewer positions).
# usage: first_hour.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
name=first_hour
source "$(dirname "$0")/../test_lib.sh"

# 1. max_input_len / max_output_len default to what the model allows: the BART fixture has 64
# positions (the old defaults, 512 and 128, were refused); its requests are served exactly.
fx=$fixtures/bart_small
"$build/encdec_convert" --quiet --hf "$fx" --out "$work/bart.h5" || exit 1
printf 'model: %s\nrequests: %s\noutput: %s\n' "$work/bart.h5" "$fx/requests.jsonl" \
  "$work/bart.out" > "$work/bart.yaml"
checks=$((checks + 1))
ENCDEC_LOG=info mpirun -n 1 "$build/encdec_tp" --config "$work/bart.yaml" > "$work/bart.log" 2>&1 ||
  fail "bart on default lengths: $(tail -3 "$work/bart.log")"
checks=$((checks + 1))
grep -qF "max_input_len 64 (auto), max_output_len 63 (auto)" "$work/bart.log" ||
  fail "bart: no log line naming the lengths taken from the model"
checks=$((checks + 1))
"$build/golden_check" "$fx/expected.jsonl" "$work/bart.out" > "$work/bart.check" 2>&1 ||
  fail "bart on default lengths: $(tail -1 "$work/bart.check")"

echo "first_hour: $checks checks, $failures failed"
[ $failures = 0 ]
