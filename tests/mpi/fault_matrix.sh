#!/bin/bash
# Faults under mpirun -n 2 (issue 23): SIGKILL and SIGSTOP of rank 0, rank 1 and mpirun, each
# at four moments of a TP=2 CPU serve of the smallest fixture with watchdog_s: 2:
#   load        the rank is about to read its weight shard (start-up)
#   plan_bcast  the rank enters the broadcast of step plan 2 (its 3rd arrival)
#   allreduce   the rank enters its 5th tensor-parallel all-reduce
#   mid         the test sends the signal once responses flow (the partial output has lines)
# The first three use the hook ENCDEC_TEST_SIGNAL_AT (common/test_signal.h; ":parent" makes rank 0
# signal mpirun, its parent). For every cell (README "Tests", "Output files"):
#   - the job ends within watchdog_s + 30 s of the signal: mpirun and both ranks gone (pgrep on
#     the cell's own config path: no orphan);
#   - mpirun's status is non-zero;
#   - the log names what failed: Open MPI's "rank R with PID ... exited on signal 9" for a killed
#     rank; the watchdog's "rank P gave up at start-up|at step S ... rank R is stopped" for a
#     stopped one (its peer gives up);
#   - the output: no OUT and no OUT.partial-* after every fault but one: a SIGKILL of rank 0 (the
#     writer: nothing runs in it any more) once the output is open leaves exactly OUT.partial-PID,
#     PID rank 0's, and the next run writing OUT removes it and completes. A SIGKILL of mpirun
#     leaves nothing: the ranks get SIGHUP as their parent dies (launch/encdec_tp.c), which
#     removes the partial file; no rank can print (their stderr went through mpirun): the
#     shell's status 137 is the message.
# A stopped rank 0 is ended by mpirun (SIGCONT, SIGTERM, SIGKILL within odls_base_sigkill_timeout,
# 1 s): usually its SIGTERM handler removes the partial file, but when the SIGKILL comes before the
# stopped rank could run again the file stays, as after a SIGKILL; the test accepts exactly that
# file then (the rerun is checked on the SIGKILL cells: mpirun has not reaped such a rank 0).
# SIGSTOP of mpirun pauses the launcher only: the ranks cannot tell, so they serve every request,
# rename OUT into place and wait in MPI_Finalize for mpirun; the test checks that OUT is complete
# within watchdog_s + 30 s with both ranks still there, sends SIGCONT and expects status 0 within
# 10 s (README "Tests" documents this).
# usage: fault_matrix.sh BUILD_DIR FIXTURES_DIR [CELL...]   CELL = KILL|STOP:0|1|mpirun:POINT
# (default: all 24)
set -uo pipefail
build=$1 fixtures=$2
shift 2
name=fault_matrix
source "$(dirname "$0")/../test_lib.sh"
convert_fixture t5_v1_1_untied
watchdog_s=2 margin=30
cells=("$@")
if [ ${#cells[@]} -eq 0 ]; then
  for sig in KILL STOP; do
    for target in 0 1 mpirun; do
      for point in load plan_bcast allreduce mid; do cells+=("$sig:$target:$point"); done
    done
  done
fi
# The fixture's 15 requests 40 times (600: the job runs for a second or more), ids made unique;
# the 15 alone for the reruns.
for i in $(seq 1 40); do
  sed "s/\"id\": \"\([^\"]*\)\"/\"id\": \"\1-$i\"/" "$fx/requests.jsonl"
done > "$work/requests.jsonl"
n_requests=$(wc -l < "$work/requests.jsonl")

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }
rank_pid() { # rank_pid CFG RANK: the pid of that rank of the job using CFG, or ""
  local p
  for p in $(pgrep -f "$1" || true); do
    tr '\0' '\n' < "/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2" &&
      { echo "$p"; return; }
  done
}
state_of() { awk '{ print $3 }' "/proc/$1/stat" 2>/dev/null; } # "" once gone
job_gone() { ! kill -0 "$job" 2>/dev/null || [ "$(state_of "$job")" = Z ]; }
left() { pgrep -f "$cfg" | tr '\n' ' '; }

summary=()
run_cell() {
  local cell=$1 sig target point
  IFS=: read -r sig target point <<< "$cell"
  local tag=${cell//:/_}
  cfg=$work/$tag.yaml out=$work/$tag.out log=$work/$tag.log
  sed "s|@MODEL@|$work/m.h5|" > "$cfg" <<EOF
model: @MODEL@
tp: 2
max_batch_size: 2
max_input_len: 40
max_output_len: 20
watchdog_s: $watchdog_s
EOF
  local hook='' n
  if [ "$point" != mid ]; then
    case $point in load) n=1 ;; plan_bcast) n=3 ;; allreduce) n=5 ;; esac
    if [ "$target" = mpirun ]; then hook=$point:0:$n:$sig:parent; else hook=$point:$target:$n:$sig; fi
  fi
  local started t_sig='' t_end='' rc r0='' victim=''
  started=$(now)
  ENCDEC_TEST_SIGNAL_AT=$hook mpirun --oversubscribe -n 2 "$build/encdec_tp" --config "$cfg" \
    --requests "$work/requests.jsonl" --output "$out" > "$log" 2>&1 &
  job=$!
  # Until the signal: the hook's line in the log (a rank), mpirun stopped or gone (mpirun), or,
  # mid-run, the test's own kill once the partial output has lines. 60 s: a loaded machine.
  for _ in $(seq 1 600); do
    [ -z "$r0" ] && r0=$(rank_pid "$cfg" 0)
    if [ "$point" = mid ]; then
      if [ -n "$r0" ] && [ "$(cat "$out".partial-* 2>/dev/null | wc -l)" -gt 5 ]; then
        case $target in mpirun) victim=$job ;; *) victim=$(rank_pid "$cfg" "$target") ;; esac
        [ -n "$victim" ] && kill -"$sig" "$victim" && { t_sig=$(now); break; }
      fi
    elif [ "$target" = mpirun ]; then
      grep -q '^test_signal:' "$log" || { [ "$(state_of "$job")" = T ] || job_gone; } &&
        { t_sig=$(now); break; }
    elif grep -q '^test_signal:' "$log"; then
      t_sig=$(now)
      break
    fi
    # mpirun gone: for the cells that signal mpirun from a rank, that is the signal (its
    # rank's log line may never have passed through the dead mpirun); else the job ended first
    if job_gone; then
      [ "$target" = mpirun ] && [ "$point" != mid ] && t_sig=$(now)
      break
    fi
    sleep 0.1
  done
  checks=$((checks + 1))
  if [ -z "$t_sig" ]; then
    fail "$cell: the signal was never sent (status $(wait $job; echo $?))"; tail -5 "$log"
    summary+=("$cell: no signal"); return
  fi
  [ -z "$r0" ] && r0=$(sed -n 's/^test_signal: rank 0 sends SIG[A-Z0-9]* to itself \([0-9]*\) .*/\1/p' "$log")
  local deadline
  deadline=$(awk -v t="$t_sig" -v w=$((watchdog_s + margin)) 'BEGIN { printf "%.3f", t + w }')
  local complete=''
  if [ "$sig:$target" = STOP:mpirun ]; then
    # The ranks run on: OUT complete, both ranks still there (in MPI_Finalize), then SIGCONT.
    while awk -v d="$deadline" -v t="$(now)" 'BEGIN { exit !(t < d) }'; do
      [ -f "$out" ] && [ "$(wc -l < "$out")" -eq "$n_requests" ] && { complete=$(now); break; }
      sleep 0.1
    done
    checks=$((checks + 2))
    [ -n "$complete" ] || fail "$cell: OUT not complete $(secs "$t_sig" "$(now)") s after the stop"
    [ "$(pgrep -fc "$cfg")" -eq 3 ] || fail "$cell: expected mpirun and 2 ranks while mpirun is stopped, found: $(left)"
    kill -CONT "$job"
    deadline=$(awk -v t="$(now)" 'BEGIN { printf "%.3f", t + 10 }')
  fi
  while awk -v d="$deadline" -v t="$(now)" 'BEGIN { exit !(t < d) }'; do
    job_gone && [ -z "$(left)" ] && { t_end=$(now); break; }
    sleep 0.1
  done
  checks=$((checks + 2))
  local stuck=''
  if [ -z "$t_end" ]; then
    stuck=$(left)
    fail "$cell: not ended $(secs "$t_sig" "$(now)") s after the signal: left $stuck"
    for p in $(pgrep -f "$cfg"); do kill -9 "$p"; done # this cell's processes only
  fi
  wait $job
  rc=$?
  if [ "$sig:$target" = STOP:mpirun ]; then
    [ $rc -eq 0 ] || fail "$cell: status $rc after SIGCONT, expected 0"
  else
    [ $rc -ne 0 ] || fail "$cell: status 0"
  fi
  # What names the fault.
  local pattern=''
  case $sig:$target in
    KILL:0|KILL:1) pattern="rank $target with PID [0-9]+ on node [^ ]+ exited on signal 9" ;;
    STOP:0|STOP:1)
      pattern="watchdog: rank $((1 - target)) gave up at (start-up|step [0-9]+) .*: rank $target is stopped"
      [ "$point" = load ] && pattern="watchdog: rank $((1 - target)) gave up at start-up .*: rank $target is stopped" ;;
  esac
  if [ -n "$pattern" ]; then
    checks=$((checks + 1))
    grep -qE "$pattern" "$log" || fail "$cell: the log does not name the rank (/$pattern/)"
  fi
  # The output.
  checks=$((checks + 1))
  local files want=''
  files=$(cd "$work" && ls -d "$tag".out* 2>/dev/null | tr '\n' ' ')
  files=${files% }
  if [ "$sig:$target" = STOP:mpirun ]; then
    want=$tag.out
  elif [ "$sig:$target" = KILL:0 ] && [ "$point" != load ]; then
    want=$tag.out.partial-$r0
  fi
  local note=''
  if [ "$sig:$target" = STOP:0 ] && [ "$point" != load ] && [ "$files" = "$tag.out.partial-$r0" ]; then
    # Open MPI ends the stopped rank 0 with SIGCONT, SIGTERM and SIGKILL: when the SIGKILL comes
    # before rank 0 has run again, its partial file stays, as after any SIGKILL (README).
    want=$files note=" (the SIGKILL came first)"
  fi
  [ "$files" = "$want" ] || fail "$cell: output files '$files', expected '$want'"
  if [ -n "$want" ] && [ "$want" != "$tag.out" ] && [ "$files" = "$want" ] && [ -z "$note" ]; then
    # The next run writing OUT removes the stale partial file and completes.
    checks=$((checks + 1))
    mpirun --oversubscribe -n 2 "$build/encdec_tp" --config "$cfg" \
      --requests "$fx/requests.jsonl" --output "$out" > "$log.rerun" 2>&1
    files=$(cd "$work" && ls -d "$tag".out* 2>/dev/null | tr '\n' ' ')
    [ "${files% }" = "$tag.out" ] && [ "$(wc -l < "$out")" -eq "$(wc -l < "$fx/requests.jsonl")" ] &&
      grep -q "removed $out.partial-$r0, left by an interrupted run" "$log.rerun" ||
      fail "$cell: the rerun left '$files' (stale partial not removed, or OUT incomplete)"
  fi
  local took=${t_end:+$(secs "$t_sig" "$t_end") s}
  [ -n "$complete" ] && took="OUT complete $(secs "$t_sig" "$complete") s after the stop; all ended $took after it (SIGCONT sent at once)"
  summary+=("$cell: status $rc, ${took:-NOT ended (left $stuck)}, output '$want'$note")
  if [ $failures -ne 0 ] && [ -z "${shown:-}" ]; then shown=1; echo "--- $cell log:"; tail -20 "$log"; fi
  rm -f "$out" "$out".partial-*
}

t0=$(now)
for cell in "${cells[@]}"; do run_cell "$cell"; done
printf '  %s\n' "${summary[@]}"
echo "fault_matrix: ${#cells[@]} cells in $(secs "$t0" "$(now)") s; $checks checks, $failures failed"
[ $failures -eq 0 ]
