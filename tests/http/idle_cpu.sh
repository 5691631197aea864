#!/bin/bash
# An idle server does not spin (issue 21: "idle CPU of every rank"): the HTTP server at TP (1 or
# 2), ready and with nothing to do, must use < 5% of a core on every rank over 4 s (utime + stime
# from /proc/PID/stat; rank 0 sleeps until a request arrives, the others wait for the next plan);
# a completion sent after the idle spell is then answered with the same ids as one sent before it.
# Prints each rank's share, the record of the measurement.
# usage: idle_cpu.sh BUILD_DIR FIXTURES_DIR TP
set -uo pipefail
build=$1 fixtures=$2 tp=$3
name=http_idle_cpu_tp$tp
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../test_lib.sh"
source "$here/serve_lib.sh"
convert_fixture t5_v1_0_tied
write_run_yaml 4
body='{"prompt": [11, 12, 13, 14, 15, 1], "max_tokens": 6, "min_tokens": 6, "temperature": 0}'
complete() { curl -s --max-time 30 -H 'Content-Type: application/json' -d "$body" "$url/v1/completions" |
  grep -o '"token_ids": *\[[^]]*\]'; }
serve_start idle "$tp"
before=$(complete)
checks=$((checks + 1))
[ -n "$before" ] || fail "the first completion has no token_ids"

# the ranks: encdec_tp itself at TP=1; at TP=2 the processes of this config, by their rank
declare -A pid
if [ "$tp" = 1 ]; then
  pid[0]=$server_pid
else
  for p in $(pgrep -f "$work/idle.yaml" || true); do
    r=$(rank_of "$p")
    [ -n "$r" ] && pid[$r]=$p
  done
fi
hz=$(getconf CLK_TCK)
sleep 1 # the answer's last records and the connection's close
declare -A t0
for r in "${!pid[@]}"; do t0[$r]=$(cpu_ticks "${pid[$r]}"); done
sleep 4
for r in $(seq 0 $((tp - 1))); do
  checks=$((checks + 1))
  if [ -z "${pid[$r]:-}" ] || [ -z "${t0[$r]:-}" ]; then
    fail "rank $r's process not found"
    continue
  fi
  pct=$(( ( $(cpu_ticks "${pid[$r]}") - t0[$r] ) * 100 / (4 * hz) ))
  echo "$name: idle CPU of rank $r over 4 s: $pct% of a core"
  [ "$pct" -lt 5 ] || fail "rank $r used $pct% of a core while idle (limit 5%)"
done

after=$(complete)
checks=$((checks + 1))
[ "$after" = "$before" ] || fail "the completion after the idle spell differs: '$after' vs '$before'"
serve_stop
echo "$name: $checks checks, $failures failed"
[ "$failures" = 0 ]
