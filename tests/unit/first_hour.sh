#!/bin/bash
# What a new user meets in the first hour (issue 22, "The first hour, mended"), each checked from
# the command line: a model served on default lengths (no refusal for fewer positions).
# usage: first_hour.sh BUILD_DIR FIXTURES_DIR VERSION (CMake's project version)
set -uo pipefail
build=$1 fixtures=$(cd "$2" && pwd) # absolute: the configs below are in other folders
version=$3
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

# 3. Every tool: --help lists its flags and points to the README's tables (exit 0); --version
# prints CMake's project version (exit 0); an unknown flag is named as unknown (exit 2).
for tool in encdec_tp encdec_convert encdec_bench; do
  checks=$((checks + 1))
  "$build/$tool" --help > "$work/help.out" 2> "$work/help.err" || fail "$tool --help: exit $?"
  for needle in "usage:" "--help" "--version" "README's"; do
    grep -qF -- "$needle" "$work/help.out" || fail "$tool --help: no '$needle'"
  done
  checks=$((checks + 1))
  out=$("$build/$tool" --version 2>&1) || fail "$tool --version: exit $?"
  [ "$out" = "$tool $version" ] || fail "$tool --version printed '$out', expected '$tool $version'"
  checks=$((checks + 1))
  "$build/$tool" --frobnicate 1 > /dev/null 2> "$work/unknown.err"
  rc=$?
  [ $rc = 2 ] || fail "$tool --frobnicate: exit $rc, expected 2"
  grep -qF "unknown flag '--frobnicate'" "$work/unknown.err" ||
    fail "$tool --frobnicate: not named as unknown: $(head -1 "$work/unknown.err")"
done
grep -qF -- "--config FILE" < <("$build/encdec_tp" --help) || fail "encdec_tp --help: no --config"
grep -qF -- "--cache-dir DIR" < <("$build/encdec_bench" --help) || fail "encdec_bench --help: no --cache-dir"
# Conversion progress off a terminal: lines, no carriage returns; the last says every tensor.
checks=$((checks + 1))
"$build/encdec_convert" --hf "$fx" --out "$work/progress.h5" 2> "$work/progress.err" ||
  fail "convert with progress: $(tail -1 "$work/progress.err")"
! grep -q $'\r' "$work/progress.err" || fail "convert progress off a terminal holds \\r"
grep -qE '^encdec_convert: ([0-9]+)/\1 tensors' "$work/progress.err" ||
  fail "convert progress: no final line: $(cat "$work/progress.err")"

# 4. encdec_bench's random-weight models live in a cache folder, printed when used (the order
# of --cache-dir, $ENCDEC_CACHE_DIR, $XDG_CACHE_HOME/encdec_tp, ~/.cache/encdec_tp is
# unit.test_bench_cache's): one real run writes into the default folder, created as needed.
checks=$((checks + 1))
env -u ENCDEC_CACHE_DIR ENCDEC_LOG=info XDG_CACHE_HOME="$work/xdg" HOME="$work/home" \
  mpirun -n 1 "$build/encdec_bench" --model t5-small --dtype fp32 --batch 1 --input-len 4 \
  --output-len 1 > "$work/bench.out" 2> "$work/bench.err" ||
  fail "bench into \$XDG_CACHE_HOME: $(tail -2 "$work/bench.err")"
model=$work/xdg/encdec_tp/encdec_bench_t5-small_fp32.h5
[ -s "$model" ] || fail "bench: no model at $model"
grep -qF "writing random-weight t5-small to $model" "$work/bench.err" || fail "bench: path not printed"
grep -qF '"requests_done": 1' "$work/bench.out" || fail "bench: no result line"

echo "first_hour: $checks checks, $failures failed"
[ $failures = 0 ]
