#!/bin/bash
# Dozens of requests of mixed lengths through KV pools capped far below the workload (a self pool
# of a few blocks, a cross pool for about one long input): every request completes with output
# ids identical to a run with large pools, under both policies, at TP=1 and TP=2; both pools end
# with all blocks free; a request that can never fit gets an error while the rest complete.
# usage: kv_pools.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
name=kv_pools ENCDEC_LOG=info
source "$(dirname "$0")/../test_lib.sh"
"$build/encdec_convert" --quiet --hf "$fixtures/t5_v1_0_tied" --out "$work/m.h5" || exit 1

# 40 requests: inputs of 1..36 tokens, 1..20 new tokens, some with EOS allowed; one too long
# for the small cross pool (44 tokens > 40).
awk 'BEGIN {
  for (i = 0; i < 40; i++) {
    n = (i * 7) % 36 + 1; m = (i * 5) % 20 + 1
    ids = ""; for (t = 0; t < n; t++) ids = ids (t ? "," : "") (t == n - 1 ? 1 : 2 + (i * 13 + t * 7) % 90)
    printf "{\"id\": \"r%02d\", \"input_ids\": [%s], \"max_new_tokens\": %d%s}\n", i, ids, m, (i % 3 ? ", \"min_new_tokens\": " m : "")
  }
  ids = ""; for (t = 0; t < 44; t++) ids = ids (t ? "," : "") (5 + t)
  printf "{\"id\": \"too-long\", \"input_ids\": [%s], \"max_new_tokens\": 4}\n", ids
}' > "$work/requests.jsonl"

common="model: $work/m.h5
max_batch_size: 8
max_input_len: 48
max_output_len: 20
kv_block_size: 4"
printf '%s\n' "$common" > "$work/large.yaml"
grep -v too-long "$work/requests.jsonl" > "$work/fitting.jsonl"
mpirun -n 1 "$build/encdec_tp" --config "$work/large.yaml" --requests "$work/fitting.jsonl" \
  --output "$work/large.out" 2>"$work/large.log" || { fail "large-pool run"; cat "$work/large.log"; }
sort "$work/large.out" > "$work/large.sorted"
checks=$((checks + 1))
[ "$(grep -c output_ids "$work/large.sorted")" = 40 ] || fail "large-pool run answered $(grep -c output_ids "$work/large.sorted") of 40"

for policy in guaranteed_no_evict max_utilization; do
  for tp in 1 2; do
    name=${policy}_tp$tp
    printf '%s\ntp: %d\nscheduler_policy: %s\nmax_kv_tokens: 24\nmax_cross_kv_tokens: 40\n' \
      "$common" "$tp" "$policy" > "$work/$name.yaml"
    checks=$((checks + 1))
    # exit status 3: completed, with the too-long request answered by an error record
    timeout 120 mpirun --oversubscribe -n "$tp" "$build/encdec_tp" --config "$work/$name.yaml" \
      --requests "$work/requests.jsonl" --output "$work/$name.out" 2>"$work/$name.log"
    rc=$?
    if [ "$rc" != 3 ]; then
      fail "$name: run exited $rc, expected 3 (one request refused)"; tail -5 "$work/$name.log"; continue
    fi
    checks=$((checks + 3))
    grep -v '"error"' "$work/$name.out" | sort | diff -q - "$work/large.sorted" >/dev/null \
      || fail "$name: outputs differ from the large-pool run"
    grep -q '"id":"too-long","error".*need 11 cross-KV blocks of 4 tokens, the cross pool has 10' \
      "$work/$name.out" || fail "$name: no error for the request that can never fit"
    grep -q 'KV pools at the end: self 6/6 blocks free, cross 10/10 free' "$work/$name.log" \
      || { fail "$name: pools did not return to their starting free counts"; grep "KV pools" "$work/$name.log"; }
    if [ $policy = max_utilization ]; then
      checks=$((checks + 1))
      grep -Eq 'summary: .* [1-9][0-9]* preempted' "$work/$name.log" || fail "$name: no preemption exercised"
    fi
    grep -E 'summary' "$work/$name.log" | sed "s/^/  $name: /"
  done
done
echo "kv_pools: $checks checks, $failures failed"
[ $failures = 0 ]
