#!/bin/bash
# A backend fault on one rank ends the whole job cleanly: a TP=2 CPU serve with
# ENCDEC_INJECT_FAULT=attention_paged:3 set for rank 1 only (its 3rd decoder attention call
# records a fault; kernels/backend.h) must exit non-zero well before the timeout, with a message
# naming the op and the rank, leave no rank running and no output file behind. The fault travels
# from the backend's check() after the step to the ranks' agreement (runtime/engine.c).
# usage: fault_injection.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
name=fault_injection
source "$(dirname "$0")/../test_lib.sh"
convert_fixture t5_v1_0_tied
printf 'model: %s\ntp: 2\nmax_input_len: 40\nmax_output_len: 20\n' "$work/m.h5" > "$work/run.yaml"
# rank 1 alone gets the hook (Open MPI sets OMPI_COMM_WORLD_RANK before exec)
cat > "$work/rank1_fault.sh" <<'SH'
#!/bin/bash
[ "${OMPI_COMM_WORLD_RANK:-}" = 1 ] && export ENCDEC_INJECT_FAULT=attention_paged:3
exec "$@"
SH
chmod +x "$work/rank1_fault.sh"
start=$(date +%s)
timeout 120 mpirun --oversubscribe -n 2 "$work/rank1_fault.sh" "$build/encdec_tp" \
  --config "$work/run.yaml" --requests "$fx/requests.jsonl" --output "$work/out.jsonl" \
  > "$work/log" 2>&1
rc=$?
elapsed=$(( $(date +%s) - start ))
checks=$((checks + 1))
if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
  fail "mpirun returned $rc after ${elapsed}s (0 = success, 124 = hung)"
fi
checks=$((checks + 1))
grep -q 'attention_paged' "$work/log" || fail "no message naming the op attention_paged"
checks=$((checks + 1))
grep -qiE 'rank[ =:]*1\b' "$work/log" || fail "no message naming rank 1"
checks=$((checks + 1))
if pgrep -f "$work/run.yaml" >/dev/null; then
  fail "a rank is still running"
  for p in $(pgrep -f "$work/run.yaml"); do kill -9 "$p"; done # this test's ranks only
fi
checks=$((checks + 1))
compgen -G "$work/out.jsonl*" >/dev/null && fail "output file left behind"
if [ $failures -ne 0 ]; then echo "--- log:"; cat "$work/log"; fi
echo "fault_injection: status $rc after ${elapsed}s; $checks checks, $failures failed"
[ $failures -eq 0 ]
