#!/bin/bash
# What a new user meets in the first hour (issue 22, "The first hour, mended"), each checked from
# the command line: a model served on default lengths (no refusal for fewer positions).
# usage: first_hour.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$(cd "$2" && pwd) # absolute: the configs below are in other folders
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

# 2. Paths in a config name files beside it: the same run from a config in another folder, with
# relative paths, started from a third folder; flags stay relative to the working directory.
mkdir -p "$work/cfg/data" "$work/elsewhere"
cp "$fx/requests.jsonl" "$work/cfg/data/requests.jsonl"
printf 'model: ../bart.h5\nrequests: data/requests.jsonl\noutput: data/out.jsonl\n' > "$work/cfg/run.yaml"
checks=$((checks + 1))
(cd "$work/elsewhere" && mpirun -n 1 "$build/encdec_tp" --config ../cfg/run.yaml) > "$work/rel.log" 2>&1 ||
  fail "config-relative paths: $(tail -3 "$work/rel.log")"
checks=$((checks + 1))
"$build/golden_check" "$fx/expected.jsonl" "$work/cfg/data/out.jsonl" > "$work/rel.check" 2>&1 ||
  fail "config-relative paths: $(tail -1 "$work/rel.check")"
checks=$((checks + 1))
(cd "$work/elsewhere" && mpirun -n 1 "$build/encdec_tp" --config ../cfg/run.yaml \
   --requests ../cfg/data/requests.jsonl --output flag.jsonl) > "$work/flag.log" 2>&1 &&
  [ -s "$work/elsewhere/flag.jsonl" ] || fail "--output relative to the working directory"
# A model path that does not exist says so (and a folder is not a model).
for m in "$work/nope.h5" "$work/cfg"; do
  printf 'model: %s\n' "$m" > "$work/missing.yaml"
  checks=$((checks + 1))
  mpirun -n 1 "$build/encdec_tp" --config "$work/missing.yaml" --requests "$fx/requests.jsonl" \
    > "$work/missing.log" 2>&1 && fail "model $m: accepted"
  want="model file $work/nope.h5: no such file"
  [ "$m" = "$work/cfg" ] && want="model file $work/cfg is a folder, not a converted model"
  grep -qF "$want" "$work/missing.log" || fail "model $m: no '$want' in: $(cat "$work/missing.log")"
done

echo "first_hour: $checks checks, $failures failed"
[ $failures = 0 ]
