#!/bin/bash
# A rank that dies mid-run must end the whole job with an error, not leave the others waiting.
# Rank 0 waits for requests on a FIFO that stays open; rank 1 waits for the next step plan;
# rank 1 is then killed and mpirun must return non-zero well before the timeout.
# usage: rank_death.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/encdec_rank_death.XXXXXX")
holder=
trap '[ -n "$holder" ] && kill $holder 2>/dev/null; rm -rf "$work"' EXIT
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 ENCDEC_LOG=warn
"$build/encdec_convert" --quiet --hf "$fixtures/t5_v1_0_tied" --out "$work/m.h5" || exit 1
printf 'model: %s\ntp: 2\nmax_input_len: 40\nmax_output_len: 20\n' "$work/m.h5" > "$work/run.yaml"
mkfifo "$work/requests"
sleep 120 > "$work/requests" &  # keeps the FIFO open without writing
holder=$!
start=$(date +%s)
timeout 90 mpirun --oversubscribe -n 2 "$build/encdec_tp" --config "$work/run.yaml" \
  --requests "$work/requests" --output "$work/out.jsonl" > "$work/log" 2>&1 &
job=$!
victim=
for _ in $(seq 1 100); do
  sleep 0.2
  for p in $(pgrep -f "$build/encdec_tp" || true); do
    { tr "\\0" "\\n" < "/proc/$p/environ" | grep -qx "OMPI_COMM_WORLD_RANK=1" && victim=$p; } 2>/dev/null
  done
  [ -n "$victim" ] && break
done
[ -n "$victim" ] || { echo "FAIL: rank 1 never started"; cat "$work/log"; exit 1; }
sleep 2  # let both ranks finish loading and block
kill -9 "$victim"
wait $job
rc=$?
elapsed=$(( $(date +%s) - start ))
if [ $rc -eq 0 ] || [ $rc -eq 124 ]; then
  echo "FAIL: mpirun returned $rc after ${elapsed}s (0 = success, 124 = hung)"; cat "$work/log"; exit 1
fi
if compgen -G "$work/out.jsonl*" >/dev/null; then echo "FAIL: output file left behind"; exit 1; fi
echo "rank_death: job ended with status $rc ${elapsed}s after start; PASS"
