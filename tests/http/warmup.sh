#!/bin/bash
# The server's warm-up (run-config `warmup`, on by default; docs/SERVING.md) at TP=1 on the tiny
# t5_v1_1_untied fixture, every decoding step slowed (ENCDEC_TEST_STEP_DELAY_MS) so that the
# warm-up lasts long enough to watch on any machine: /health answers 503 "warming up" until it
# ends, then 200; a completion sent during the warm-up is answered once it ends, with the ids a
# server without warm-up gives; the log names the groups (max_batch_size 4 x max_input_len 40:
# one encoder group, then batch sizes 4..1: 5 groups); the metrics and the summary count only
# the client's request. With warmup: off, /health is 200 at once and the log has no warm-up.
# usage: warmup.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
name=http_warmup
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../test_lib.sh"
source "$here/serve_lib.sh"
convert_fixture t5_v1_1_untied
write_run_yaml 4
body='{"prompt": [11, 12, 13, 14, 15, 1], "max_tokens": 6, "min_tokens": 6, "temperature": 0}'
ids() { grep -o '"token_ids": *\[[^]]*\]' "$1"; }

# warmup: on (the default), returned at /health's first answer, which must be the warm-up's 503
t0=$SECONDS
ENCDEC_TEST_STEP_DELAY_MS=150 serve_ready=any serve_start on 1
checks=$((checks + 2))
[ "$health_code" = 503 ] || fail "/health while warming up: $health_code, expected 503 ($(cat "$work/on.health"))"
grep -q '"warming up"' "$work/on.health" || fail "/health while warming up said: $(cat "$work/on.health")"
# a call during the warm-up waits for it, then is answered
curl -s -o "$work/during.json" -w '%{http_code}' --max-time 60 -H 'Content-Type: application/json' \
  --data-binary "$body" "$url/v1/completions" > "$work/during.code" &
caller=$!
until [ "$(http_code "$url/health")" = 200 ] || [ $((SECONDS - t0)) -ge 60 ]; do sleep 0.05; done
checks=$((checks + 4))
[ "$(http_code "$url/health")" = 200 ] || fail "/health never answered 200 after the warm-up"
wait "$caller"
[ "$(cat "$work/during.code")" = 200 ] || fail "call during the warm-up: $(cat "$work/during.code") $(head -c 300 "$work/during.json")"
grep -q 'warm-up: 5 groups of synthetic requests' "$server_log" ||
  fail "no 'warm-up: 5 groups' line: $(grep 'warm-up' "$server_log")"
[ "$(metric 'encdec_requests_finished_total{reason="length"}')" = 1 ] ||
  fail "finished requests counted (the warm-up's must not be): $(curl -s "$url/metrics" | grep finished_total)"
serve_stop
checks=$((checks + 1))
grep -q 'summary: 1 done, 0 errors' "$server_log" ||
  fail "the summary counts the warm-up: $(grep 'summary:' "$server_log")"

# warmup: off: ready at once, no warm-up, the same ids
serve_start off 1 "warmup: off"
checks=$((checks + 3))
curl -s -o "$work/off.json" --max-time 60 -H 'Content-Type: application/json' \
  --data-binary "$body" "$url/v1/completions"
[ -n "$(ids "$work/off.json")" ] || fail "warmup off: no token_ids: $(head -c 300 "$work/off.json")"
[ "$(ids "$work/during.json")" = "$(ids "$work/off.json")" ] ||
  fail "ids differ: during the warm-up $(ids "$work/during.json"), without it $(ids "$work/off.json")"
! grep -q 'warm-up:' "$server_log" || fail "warmup: off still warmed up"
serve_stop
echo "$name: $checks checks, $failures failed"
[ "$failures" = 0 ]
