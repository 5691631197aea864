#!/bin/bash
# The encoder cache through the HTTP server at TP=1 (tiny t5_v1_1_untied fixture): a prompt sent
# twice is one miss, then one hit whose encoder pass is skipped (encdec_encoder_tokens_total does
# not move), with the same answer; /metrics' cache counters and blocks follow, the pools read idle
# (cached blocks free) between calls, and the drained server's log has the counts in its summary
# and every block free at the end.
# usage: encoder_cache.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
name=http_encoder_cache
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../test_lib.sh"
source "$here/serve_lib.sh"
convert_fixture t5_v1_1_untied
write_run_yaml 4
serve_start cache 1 "encoder_cache: on"
body='{"prompt": [11, 12, 13, 14, 15, 1], "max_tokens": 6, "min_tokens": 6, "temperature": 0}'
post() { # post OUT: the body's answer in OUT, its status printed
  curl -s -o "$1" -w '%{http_code}' --max-time 30 -H 'Content-Type: application/json' \
    --data-binary "$body" "$url/v1/completions"
}
ids() { grep -o '"token_ids": *\[[^]]*\]' "$1"; }
expect() { # expect WHAT METRIC VALUE: within 5 s (the gauges follow a step's answers)
  local got t0=$SECONDS
  until got=$(metric "$2"); [ "$got" = "$3" ] || [ $((SECONDS - t0)) -ge 5 ]; do sleep 0.02; done
  checks=$((checks + 1))
  [ "$got" = "$3" ] || fail "$1: $2 = ${got:-absent}, expected $3"
}
expect "before any request" encdec_encoder_cache_hits_total 0
expect "before any request" encdec_encoder_cache_blocks 0
tokens0=$(metric encdec_encoder_tokens_total)
checks=$((checks + 2))
[ "$(post "$work/a.json")" = 200 ] || fail "first call: $(head -c 300 "$work/a.json")"
expect "after the first call" encdec_encoder_cache_misses_total 1
expect "after the first call" encdec_encoder_cache_hits_total 0
expect "after the first call" encdec_encoder_cache_blocks 1 # 6 tokens: one block of 16
expect "after the first call" encdec_encoder_tokens_total $((tokens0 + 6))
wait_pools_idle 10 || fail "pools not idle after the first call (its cached block must count as free)"
[ "$(post "$work/b.json")" = 200 ] || fail "second call: $(head -c 300 "$work/b.json")"
expect "after the repeat" encdec_encoder_cache_hits_total 1
expect "after the repeat" encdec_encoder_cache_misses_total 1
expect "after the repeat (encoder pass skipped)" encdec_encoder_tokens_total $((tokens0 + 6))
expect "after the repeat" encdec_encoder_cache_evictions_total 0
checks=$((checks + 2))
[ -n "$(ids "$work/a.json")" ] && [ "$(ids "$work/a.json")" = "$(ids "$work/b.json")" ] ||
  fail "the repeat's answer $(ids "$work/b.json") differs from the first's $(ids "$work/a.json")"
wait_pools_idle 10 || fail "pools not idle after the repeat"
serve_stop
checks=$((checks + 2))
grep -q 'summary: .*encoder cache 1 hits, 1 misses, 0 evictions, 1 blocks (1 idle)' "$server_log" ||
  fail "summary: $(grep summary "$server_log")"
pools_end_free "$server_log" || fail "the log's 'KV pools at the end' line: $(grep 'KV pools at the end' "$server_log")"
echo "$name: $checks checks, $failures failed"
[ "$failures" = 0 ]
