#!/bin/bash
# The trained demo model (configs/demo, made by launch/demo/train_demo.py): converted and served
# as input_ids requests on BACKEND, 500 held-out prompts each way:
#   fp32 weights: output_ids identical to HF's greedy ids on every prompt (fixture/expected.jsonl),
#                 and at least 99% of answers exactly right (fixture/answers.jsonl);
#   bf16 weights: output_ids identical to HF's on the same weights rounded to bf16
#                 (fixture/expected_bf16_weights.jsonl), and at least 99% exactly right.
# Then the check itself must fail on a copy of expected.jsonl with one answer altered.
# usage: demo_model.sh BUILD_DIR DEMO_DIR [BACKEND]
set -uo pipefail
build=$1 demo=$2 backend=${3:-cpu}
name=demo_model
source "$(dirname "$0")/../test_lib.sh"
fx=$demo/fixture
"$build/encdec_convert" --quiet --hf "$demo/model" --out "$work/m.h5" || exit 1

# serve DTYPE: $work/resp_DTYPE.jsonl, the responses to every fixture request.
serve() {
  printf 'model: %s\nbackend: %s\ndtype: %s\ntp: 1\nmax_batch_size: 32\nmax_input_len: 64\nmax_output_len: 32\nrequests: %s\noutput: %s\n' \
    "$work/m.h5" "$backend" "$1" "$fx/requests.jsonl" "$work/resp_$1.jsonl" > "$work/run_$1.yaml"
  ${MPIEXEC:-mpirun} --oversubscribe -n 1 "$build/encdec_tp" --config "$work/run_$1.yaml" ||
    fail "encdec_tp ($1) exited with $?"
}

# same_ids EXPECTED DTYPE: every response's ids equal EXPECTED's.
same_ids() {
  checks=$((checks + 1))
  "$build/golden_check" "$1" "$work/resp_$2.jsonl" --ids-only > "$work/check.txt" ||
    fail "$2 output_ids differ from $(basename "$1"): $(head -5 "$work/check.txt")"
  tail -1 "$work/check.txt"
}

# accurate DTYPE: at most 1% of answers differ from the right answer's ids.
accurate() {
  checks=$((checks + 1))
  "$build/golden_check" "$fx/answers.jsonl" "$work/resp_$1.jsonl" --ids-only > "$work/acc.txt"
  local n wrong
  n=$(grep -c . "$fx/answers.jsonl")
  wrong=$(sed -n 's/.*(\([0-9]*\) failures)$/\1/p' "$work/acc.txt")
  if [ -z "$wrong" ] || [ $((wrong * 100)) -gt "$n" ]; then
    fail "$1: ${wrong:-?} of $n answers wrong (at most 1% allowed)"
    grep '^FAIL' "$work/acc.txt" | head -5
  else
    echo "$1: $((n - wrong)) of $n held-out answers exactly right"
  fi
}

n_req=$(grep -c . "$fx/requests.jsonl")
[ "$n_req" -ge 500 ] || fail "the fixture has $n_req requests, want at least 500"
serve fp32
same_ids "$fx/expected.jsonl" fp32
accurate fp32
serve bf16
same_ids "$fx/expected_bf16_weights.jsonl" bf16
accurate bf16

# The yardstick can fail: one altered answer (an id prepended to the first) must be named.
checks=$((checks + 1))
sed '1s/"output_ids": \[/"output_ids": [7, /' "$fx/expected.jsonl" > "$work/altered.jsonl"
if "$build/golden_check" "$work/altered.jsonl" "$work/resp_fp32.jsonl" --ids-only > "$work/alt.txt" ||
   ! grep -q '^FAIL .*: output_ids differ' "$work/alt.txt"; then
  fail "golden_check did not name the altered answer: $(tail -1 "$work/alt.txt")"
fi

echo "demo_model ($backend): $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
