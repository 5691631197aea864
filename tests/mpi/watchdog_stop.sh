#!/bin/bash
# A stopped rank must not hang the job: a TP=2 CPU serve of a tiny model with many requests and
# watchdog_s: 3; once responses flow, rank VICTIM (0 or 1) gets SIGSTOP. The other rank's next
# collective or plan wait gives up after 3 s and ends the job: mpirun must return non-zero within
# 30 s of the stop, the log must name the rank that gave up and the step, no rank may be left
# (stopped or running) and no output file, partial or whole, may remain.
# usage: watchdog_stop.sh BUILD_DIR FIXTURES_DIR VICTIM_RANK
set -uo pipefail
build=$1 fixtures=$2 victim_rank=$3
name=watchdog_stop$victim_rank
source "$(dirname "$0")/../test_lib.sh"
convert_fixture t5_v1_0_tied
printf 'model: %s\ntp: 2\nmax_batch_size: 2\nmax_input_len: 40\nmax_output_len: 20\nwatchdog_s: 3\n' \
  "$work/m.h5" > "$work/run.yaml"
for i in $(seq 1 400); do
  sed "s/\"id\": \"\([^\"]*\)\"/\"id\": \"\1-$i\"/" "$fx/requests.jsonl"
done > "$work/requests.jsonl"
timeout 120 mpirun --oversubscribe -n 2 "$build/encdec_tp" --config "$work/run.yaml" \
  --requests "$work/requests.jsonl" --output "$work/out.jsonl" > "$work/log" 2>&1 &
job=$!
victim=
for _ in $(seq 1 300); do # until responses flow (the partial file has lines): mid-run
  sleep 0.1
  for p in $(pgrep -f "$work/run.yaml" || true); do
    { tr "\\0" "\\n" < "/proc/$p/environ" | grep -qx "OMPI_COMM_WORLD_RANK=$victim_rank" &&
      victim=$p; } 2>/dev/null
  done
  [ -n "$victim" ] && compgen -G "$work/out.jsonl.partial-*" >/dev/null &&
    [ "$(cat "$work"/out.jsonl.partial-* 2>/dev/null | wc -l)" -gt 5 ] && break
done
checks=$((checks + 1))
[ -n "$victim" ] || { fail "rank $victim_rank never started"; cat "$work/log"; exit 1; }
kill -STOP "$victim"
stopped=$(date +%s.%N)
wait $job
rc=$?
elapsed=$(echo "$(date +%s.%N) - $stopped" | bc)
checks=$((checks + 1))
if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
  fail "mpirun returned $rc ${elapsed}s after the stop (0 = success, 124 = hung)"
fi
checks=$((checks + 1))
[ "$(echo "$elapsed < 30" | bc)" = 1 ] || fail "the job took ${elapsed}s to end after the stop"
checks=$((checks + 1))
grep -qE "watchdog: rank $((1 - victim_rank)) gave up at step [0-9]+ .*rank $victim_rank is stopped" \
  "$work/log" || fail "no watchdog message naming rank $((1 - victim_rank)), the step and rank $victim_rank"
checks=$((checks + 1))
if pgrep -f "$work/run.yaml" >/dev/null; then
  fail "a rank is still there"
  for p in $(pgrep -f "$work/run.yaml"); do kill -9 "$p"; done # this test's ranks only
fi
checks=$((checks + 1))
compgen -G "$work/out.jsonl*" >/dev/null && fail "output file left behind: $(ls "$work")"
grep -m1 'watchdog' "$work/log"
if [ $failures -ne 0 ]; then echo "--- log:"; cat "$work/log"; fi
echo "$name: status $rc, ${elapsed}s after SIGSTOP of rank $victim_rank; $checks checks, $failures failed"
[ $failures -eq 0 ]
