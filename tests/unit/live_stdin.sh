#!/bin/bash
# The live engine: requests written to stdin one at a time, with pauses, are each answered
# before the next one is written (the intake reads lines as they arrive; a finished request's
# response is written at once), at TP=1 and TP=2; the answers equal the batch run's; closing
# stdin ends the run with exit 0.
# usage: live_stdin.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
name=live_stdin
source "$(dirname "$0")/../test_lib.sh"
convert_fixture t5_v1_0_tied
write_run_yaml 4
head -3 "$fx/requests.jsonl" > "$work/three.jsonl"

for tp in 1 2; do
  sed "s/^max_batch_size/tp: $tp\nmax_batch_size/" "$work/run.yaml" > "$work/run$tp.yaml"
  # the same requests as a batch file at the same TP (logits sum in the same order)
  mpirun --oversubscribe -n "$tp" "$build/encdec_tp" --config "$work/run$tp.yaml" \
    --requests "$work/three.jsonl" --output "$work/batch$tp.out" || fail "batch run exited non-zero"
  coproc LIVE { exec mpirun --oversubscribe -n "$tp" "$build/encdec_tp" \
    --config "$work/run$tp.yaml" --requests - --output - 2>"$work/live$tp.err"; }
  : > "$work/live$tp.out"
  for i in 1 2 3; do
    sed -n "${i}p" "$work/three.jsonl" >&"${LIVE[1]}"
    checks=$((checks + 1))
    # the answer must come while the writer holds back the next request
    if IFS= read -r -t 120 answer <&"${LIVE[0]}"; then
      echo "$answer" >> "$work/live$tp.out"
    else
      fail "tp $tp: no answer to request $i within 120 s while stdin stays open"
      break
    fi
    sleep 0.5
  done
  exec {LIVE[1]}>&- # end of input: the run finishes
  checks=$((checks + 1))
  wait "$LIVE_PID" || fail "tp $tp: the live run exited non-zero ($(tail -2 "$work/live$tp.err"))"
  checks=$((checks + 1))
  diff <(sort "$work/batch$tp.out") <(sort "$work/live$tp.out") > /dev/null ||
    fail "tp $tp: live answers differ from the batch run's"
done
# Two requests in flight with one id: the second is refused naming the id, the first served;
# once the first has finished, the id may be used again (a later run here).
{
  sed -n 2p "$fx/requests.jsonl"
  sed -n 2p "$fx/requests.jsonl"
  sed -n 3p "$fx/requests.jsonl"
} > "$work/dup.jsonl"
dup_id=$(sed -n 2p "$fx/requests.jsonl" | sed -E 's/^\{"id": ("[^"]*").*/\1/')
mpirun -n 1 "$build/encdec_tp" --config "$work/run.yaml" --requests "$work/dup.jsonl" \
  --output "$work/dup.out" 2>/dev/null
rc=$?
checks=$((checks + 3))
[ "$rc" = 3 ] || fail "duplicate id: exit status $rc, expected 3"
grep "{\"id\":$dup_id,\"error\"" "$work/dup.out" |
  grep -q "line 2: field id: .*${dup_id//\"/}.* is the id of a request still in flight" ||
  fail "duplicate id: no error record naming the id ($dup_id)"
[ "$(grep -c output_ids "$work/dup.out")" = 2 ] || fail "duplicate id: the other two requests were not both served"
# A partial output left by a run that was killed (its process gone) is removed by the next run
# that writes the same output; the finished file is there, the stale one is not.
true & dead=$!
wait "$dead"
echo '{"id": "half' > "$work/dup.out.partial-$dead"
mpirun -n 1 "$build/encdec_tp" --config "$work/run.yaml" --requests "$work/dup.jsonl" \
  --output "$work/dup.out" 2>/dev/null
checks=$((checks + 2))
[ ! -e "$work/dup.out.partial-$dead" ] || fail "a stale partial output of a dead process was left"
[ "$(wc -l < "$work/dup.out")" = 3 ] || fail "the run after a stale partial did not write its output"
# ... also when its process is dead but not yet reaped (a zombie: after mpirun is killed, its
# ranks can linger so until init reaps them): here a child of a parent that never waits
zombie_pid_file=$work/zombie.pid
bash -c 'sleep 0 & echo $! > "$0"; exec sleep 30' "$zombie_pid_file" & zparent=$!
for _ in $(seq 50); do
  zpid=$(cat "$zombie_pid_file" 2>/dev/null)
  [ -n "$zpid" ] && [ "$(awk '{print $3}' "/proc/$zpid/stat" 2>/dev/null)" = Z ] && break
  sleep 0.1
done
echo '{"id": "half' > "$work/dup.out.partial-$zpid"
mpirun -n 1 "$build/encdec_tp" --config "$work/run.yaml" --requests "$work/dup.jsonl" \
  --output "$work/dup.out" 2>/dev/null
checks=$((checks + 1))
[ ! -e "$work/dup.out.partial-$zpid" ] || fail "a stale partial output of a zombie process ($zpid) was left"
kill "$zparent" 2>/dev/null; wait "$zparent" 2>/dev/null
echo "live_stdin: $checks checks, $failures failed"
[ "$failures" = 0 ]
