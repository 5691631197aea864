#!/bin/bash
# A streamed request that is preempted (max_utilization, a self pool too small for every
# request at once) and run again resumes its stream: its stream lines' new_ids, concatenated,
# are exactly its final output_ids (nothing sent twice), and equal the ids of an unstreamed run.
# usage: stream_preempt.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
name=stream_preempt
source "$(dirname "$0")/../test_lib.sh"
convert_fixture t5_v1_0_tied
write_run_yaml 4
printf 'scheduler_policy: max_utilization\nkv_block_size: 4\nmax_kv_tokens: 48\n' >> "$work/run.yaml"
for i in 1 2 3 4; do
  echo "{\"id\": $i, \"input_ids\": [$((i + 4)), 7, 9, 1], \"max_new_tokens\": 20, \"min_new_tokens\": 20, \"stream\": true}"
done > "$work/stream.jsonl"
sed 's/, "stream": true//' "$work/stream.jsonl" > "$work/plain.jsonl"
ENCDEC_LOG=info "$build/encdec_tp" --config "$work/run.yaml" --requests "$work/stream.jsonl" \
  --output "$work/stream.out" 2> "$work/stream.err" || fail "streamed run exited non-zero"
"$build/encdec_tp" --config "$work/run.yaml" --requests "$work/plain.jsonl" \
  --output "$work/plain.out" || fail "plain run exited non-zero"
checks=$((checks + 1))
grep -Eq 'summary: .* [1-9][0-9]* preempted' "$work/stream.err" ||
  fail "no preemption happened (the test proves nothing): $(grep summary "$work/stream.err")"
for i in 1 2 3 4; do
  checks=$((checks + 2))
  streamed=$(jq -sc "[.[] | select(.id == $i and .new_ids) | .new_ids[]]" "$work/stream.out")
  final=$(jq -c "select(.id == $i and .stream_end) | .output_ids" "$work/stream.out")
  plain=$(jq -c "select(.id == $i) | .output_ids" "$work/plain.out")
  [ "$streamed" = "$final" ] || fail "request $i: streamed $streamed, final $final"
  [ "$final" = "$plain" ] || fail "request $i: streamed run $final, plain run $plain"
done
echo "stream_preempt: $checks checks, $failures failures"
[ $failures = 0 ]
