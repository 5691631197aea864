#!/bin/bash
# Idle ranks do not spin: a TP=2 CPU serve reads its requests from a FIFO that the test writes
# slowly. While rank 0 waits for input (it sends keep-alives: watchdog_s is 2, shorter than the
# idle phase) rank 1 waits for the next plan; over 4 idle seconds each rank must use < 5% of a
# core (utime + stime from /proc/PID/stat). Open MPI's blocking broadcast used ~85-100% here.
# Then the rest of the requests arrive and the run must finish normally with every response.
# usage: idle_cpu.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
name=idle_cpu
source "$(dirname "$0")/../test_lib.sh"
convert_fixture t5_v1_0_tied
printf 'model: %s\ntp: 2\nmax_batch_size: 2\nmax_input_len: 40\nmax_output_len: 20\nwatchdog_s: 2\n' \
  "$work/m.h5" > "$work/run.yaml"
mkfifo "$work/requests"
timeout 120 mpirun --oversubscribe -n 2 "$build/encdec_tp" --config "$work/run.yaml" \
  --requests "$work/requests" --output "$work/out.jsonl" > "$work/log" 2>&1 &
job=$!
exec 3> "$work/requests"
head -n 2 "$fx/requests.jsonl" >&3
declare -A pid
for _ in $(seq 1 100); do
  sleep 0.1
  for p in $(pgrep -f "$work/run.yaml" || true); do
    r=$(rank_of "$p")
    [ -n "$r" ] && pid[$r]=$p
  done
  [ -n "${pid[0]:-}" ] && [ -n "${pid[1]:-}" ] && break
done
checks=$((checks + 1))
if [ -z "${pid[0]:-}" ] || [ -z "${pid[1]:-}" ]; then fail "ranks never started"; cat "$work/log"; exit 1; fi
sleep 3 # loading, the first requests' steps, then both ranks idle
hz=$(getconf CLK_TCK) window=4
a0=$(cpu_ticks "${pid[0]}") a1=$(cpu_ticks "${pid[1]}")
sleep $window
b0=$(cpu_ticks "${pid[0]}") b1=$(cpu_ticks "${pid[1]}")
for r in 0 1; do
  a=a$r b=b$r
  pct=$(echo "scale=1; (${!b} - ${!a}) * 100 / ($window * $hz)" | bc)
  echo "idle rank $r: ${pct}% of a core over ${window} s"
  checks=$((checks + 1))
  [ "$(echo "$pct < 5" | bc)" = 1 ] || fail "idle rank $r used ${pct}% of a core"
done
tail -n +3 "$fx/requests.jsonl" >&3
exec 3>&-
wait $job
rc=$?
checks=$((checks + 1))
[ $rc -eq 0 ] || fail "the run failed after the idle phase (status $rc)"
checks=$((checks + 1))
n=$(wc -l < "$work/out.jsonl" 2>/dev/null || echo 0)
[ "$n" -eq "$(grep -c . "$fx/requests.jsonl")" ] || fail "$n responses"
if [ $failures -ne 0 ]; then echo "--- log:"; cat "$work/log"; fi
echo "idle_cpu: $checks checks, $failures failed"
[ $failures -eq 0 ]
