#!/bin/bash
# golden_check must fail when it should: HF's own expected file passes as responses; with one
# greedy id changed it fails, in the exact mode and in the margin-aware mode (--margin-ids; our
# logits equal HF's there, so no margin is within our error).
# usage: golden_check_selftest.sh BUILD_DIR FIXTURE_DIR
set -uo pipefail
build=$1 fixture=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/encdec_golden_selftest.XXXXXX")
trap 'rm -rf "$work"' EXIT
exp=$fixture/expected.jsonl
# greedy-0's first id moved to the next token of the vocabulary (a token HF ranks lower: its
# margin over ours is far above our error, which is 0 here)
jq -c 'if .id == "greedy-0" then .output_ids[0] = ((.output_ids[0] + 1) % (.logits[0] | length)) else . end' \
  "$exp" > "$work/bad.jsonl"
# an id outside the vocabulary
sed -E '/"id": "greedy-0"/ s/"output_ids": \[[0-9]+/"output_ids": [99999/' "$exp" > "$work/outside.jsonl"
failures=0
expect() { # expect pass|fail ARGS...
  local want=$1; shift
  if "$build/golden_check" "$@" >"$work/out" 2>&1; then got=pass; else got=fail; fi
  if [ "$got" != "$want" ]; then
    echo "FAIL: golden_check $* gave $got, expected $want"; cat "$work/out"; failures=$((failures + 1))
  fi
}
cmp -s "$exp" "$work/bad.jsonl" && { echo "FAIL: the doctored file equals the original"; exit 1; }
expect pass "$exp" "$exp"
expect pass "$exp" "$exp" --margin-ids --tol 3e-2
expect fail "$exp" "$work/bad.jsonl"
expect fail "$exp" "$work/bad.jsonl" --margin-ids --tol 3e-2
grep -q "part where HF's margin" "$work/out" || { echo "FAIL: no margin message"; failures=$((failures + 1)); }
expect fail "$exp" "$work/outside.jsonl"
expect fail "$exp" "$work/outside.jsonl" --margin-ids --tol 3e-2
echo "golden_check_selftest: $failures failures"
[ "$failures" = 0 ]
