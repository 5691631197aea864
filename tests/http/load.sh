#!/bin/bash
# Load at TP=1 on the CPU backend, tiny t5_v1_1_untied fixture, max_batch_size 16:
#   load.sh BUILD FIXTURES: 64 concurrent streaming clients (tests/http/load.mjs, Node's fetch)
#     send 320 mixed requests (prompts of 1..40 ids, 1..24 tokens, greedy and sampled with
#     seeds, some with min_tokens); every answer equals the JSON Lines path's for the same
#     native request (ids, finish_reason, usage), no errors; the KV pools are back to their
#     starting free counts (/metrics, and the log's "KV pools at the end" line after the
#     drain); p50/p99 time to first token and end to end printed.
#   load.sh BUILD FIXTURES loadgen: launch/encdec_loadgen (the GPU benchmark's client), 16
#     clients, 96 greedy requests of exactly 8 tokens, checked against the JSON Lines path's ids
#     (--expect); its report printed.
set -uo pipefail
build=$1 fixtures=$2 mode=${3:-node}
name=http_load_$mode
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../test_lib.sh"
source "$here/serve_lib.sh"
convert_fixture t5_v1_1_untied
printf 'model: %s\nmax_batch_size: 16\nmax_input_len: 40\nmax_output_len: 24\n' "$work/m.h5" > "$work/run.yaml"
if [ "$mode" = node ]; then
  command -v node > /dev/null || { echo "FAIL node is needed (launch/install_deps.sh installs nodejs)"; exit 1; }
  node "$here/load.mjs" gen 320 2026 > "$work/requests.jsonl" || exit 1
else
  [ -x "$build/encdec_loadgen" ] || { echo "FAIL $build/encdec_loadgen was not built (libcurl missing?)"; exit 1; }
  # the loadgen's requests: greedy, min_tokens = max_tokens = 8
  for r in $(seq 0 95); do
    len=$((1 + (r * 7) % 40))
    printf '{"id": "g%d", "input_ids": [%s1], "max_new_tokens": 8, "min_new_tokens": 8}\n' "$r" \
      "$(for t in $(seq 2 "$len"); do printf '%d,' $((2 + (r * 31 + t * 17) % 78)); done)"
  done > "$work/requests.jsonl"
fi
"$build/encdec_tp" --config "$work/run.yaml" --requests "$work/requests.jsonl" --output "$work/ref.jsonl" \
  2> "$work/ref.log" || { echo "FAIL the JSON Lines run exited non-zero: $(tail -3 "$work/ref.log")"; exit 1; }
serve_start load 1
checks=$((checks + 1))
pools_idle || fail "KV blocks in use before any request: $(curl -s "$url/metrics" | grep '^encdec_kv_' | tr '\n' ' ')"
t0=$SECONDS
if [ "$mode" = node ]; then
  node "$here/load.mjs" run "$url" "$work/requests.jsonl" "$work/ref.jsonl" 64 || fail "load.mjs reported errors"
else
  # --expect lines in the requests' order (the batch output is in completion order)
  for r in $(seq 0 95); do grep -m1 "\"id\":\"g$r\"\|\"id\": \"g$r\"" "$work/ref.jsonl"; done > "$work/expect.jsonl"
  checks=$((checks + 1))
  [ "$(wc -l < "$work/expect.jsonl")" = 96 ] || fail "the JSON Lines path did not answer all 96 requests"
  "$build/encdec_loadgen" --url "$url" --clients 16 --requests 96 --max-tokens 8 \
    --prompts "$work/requests.jsonl" --expect "$work/expect.jsonl" > "$work/loadgen.json" ||
    fail "encdec_loadgen reported errors"
  cat "$work/loadgen.json"
  checks=$((checks + 1))
  grep -q '"ok": 96, "errors": 0,.*"output_tokens": 768,' "$work/loadgen.json" || fail "loadgen report: $(cat "$work/loadgen.json")"
fi
echo "load: $((SECONDS - t0)) s of client time"
checks=$((checks + 1))
wait_pools_idle 10 || fail "KV blocks still in use after the load: $(curl -s "$url/metrics" | grep -E '^encdec_(kv_|requests_(running|waiting)|encoder_cache_blocks)')"
checks=$((checks + 1))
pool_totals_match || fail "/metrics pool totals differ from the log's: $(curl -s "$url/metrics" | grep '^encdec_kv_.*total' | tr '\n' ' ') vs $(grep -m1 'KV pools per rank' "$server_log")"
serve_stop
checks=$((checks + 1))
pools_end_free "$server_log" || fail "the log has no 'KV pools at the end' line with every block free: $(grep 'KV pools at the end' "$server_log")"
echo "$name: $checks checks, $failures failed"
[ "$failures" = 0 ]
