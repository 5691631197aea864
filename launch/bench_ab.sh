#!/bin/bash
# Two builds, or one build under two environments, side by side on one machine: every case runs
# A then B, ROUNDS times over, so that both see the same clocks and neighbours; prints each run's
# ms per decode step (encdec_bench's decode_ms_per_step) and B's mean over A's.
#   launch/bench_ab.sh BUILD_A BUILD_B [ROUNDS: 2] [CASE...]
#   CASE: encdec_bench's arguments in one word, default the small-batch decode set:
#     "--model t5-base --batch 1" "--model t5-base --batch 8"
#     "--model t5-base --batch 64 --beams 4" "--model flan-t5-xl --batch 1 --output-len 64"
# Environment: A_ENV / B_ENV, variables for A's or B's runs ("ENCDEC_PDL=0 ENCDEC_DECODE_GEMV=0");
# BACKEND (cuda); RANKS (1); BENCH_LOG=FILE keeps the runs' logs and result lines (tokens/s,
# wall, memory). A run that fails prints "failed" and its log's first error line; the others go on.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,11p "$0"; exit 2; }
build_a=$1 build_b=$2 rounds=${3:-2}
shift $(($# < 3 ? $# : 3))
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=("--model t5-base --batch 1" "--model t5-base --batch 8"
  "--model t5-base --batch 64 --beams 4" "--model flan-t5-xl --batch 1 --output-len 64")
for b in "$build_a" "$build_b"; do
  [ -x "$b/encdec_bench" ] || { echo "bench_ab: $b/encdec_bench not found" >&2; exit 2; }
done
log=${BENCH_LOG:-/dev/null}
err=$(mktemp)
trap 'rm -f "$err"' EXIT

# one_run BUILD ENV CASE: prints the run's ms per decode step, or "failed" and why.
one_run() {
  local out
  # shellcheck disable=SC2086 # ENV and CASE are word lists by design
  out=$(env $2 mpirun --bind-to none -n "${RANKS:-1}" "$1/encdec_bench" \
    --backend "${BACKEND:-cuda}" $3 2>"$err" | grep '^{') || out=
  cat "$err" >>"$log"
  [ -z "$out" ] || echo "$out" >>"$log" # the whole result line: tokens/s, wall, memory
  if [ -n "$out" ]; then
    sed -n 's/.*"decode_ms_per_step": \([0-9.]*\).*/\1/p' <<<"$out"
  else
    echo "failed ($(grep -m1 -i 'encdec\|error' "$err" || head -1 "$err"))"
  fi
}

# mean VALUE...: their mean, or "-" when one of them is not a number.
mean() {
  printf '%s\n' "$@" | awk '$1 !~ /^[0-9.]+$/ { bad = 1 } { s += $1; n++ }
    END { if (bad || !n) print "-"; else print s / n }'
}

printf '%-52s %-24s %-24s %s\n' "case" "A ms/step" "B ms/step" "B/A"
for c in "${cases[@]}"; do
  a=() b=()
  for ((r = 0; r < rounds; r++)); do
    a+=("$(one_run "$build_a" "${A_ENV:-}" "$c")")
    b+=("$(one_run "$build_b" "${B_ENV:-}" "$c")")
  done
  ma=$(mean "${a[@]}") mb=$(mean "${b[@]}")
  ratio=-
  [ "$ma" = - ] || [ "$mb" = - ] || ratio=$(awk -v a="$ma" -v b="$mb" \
    'BEGIN { if (a > 0) printf "%.3f", b / a; else print "-" }')
  printf '%-52s %-24s %-24s %s\n' "$c" "${a[*]}" "${b[*]}" "$ratio"
done
