#!/bin/bash
# The encoder cache end to end (issue 27), cache on against off, on random-weight models of a
# real shape (encdec_bench's, mbart-large by default):
#   1. repeats: one SRC_LEN-token source into LANGS target languages (forced_bos_id = each
#      language's code: mBART-50's from LANG_BASE = 250004). A live encdec_tp (requests on stdin)
#      first answers a warm-up round of the same shape on another source, then ROUNDS rounds, each
#      a new source: the time from writing a round's LANGS requests to its last answer, per
#      output length in OUT_LENS; prints every round, the median, and off / on.
#   2. no repeats: encdec_bench (BATCH random inputs of SRC_LEN/4..SRC_LEN tokens, 64 new tokens) with
#      --set encoder_cache=off / on, twice each, alternating: output tokens/s, wall, encoder ms
#      and host ms per step.
# usage: launch/bench_encoder_cache.sh [BUILD_DIR]      (default: build)
#   env: BACKEND=cuda MODEL=mbart-large TP=1 SRC_LEN=400 LANGS=8 OUT_LENS="16 64 256" ROUNDS=3
#        BATCH=32 LANG_BASE=250004 CACHE_DIR=<encdec_bench's: $ENCDEC_CACHE_DIR, else
#        $XDG_CACHE_HOME/encdec_tp, else ~/.cache/encdec_tp> (the random model, ~1.2 GB for
#        mbart-large in bf16, is written there once and reused)
# On a GPU machine: launch/bench_encoder_cache.sh build. A CPU smoke run (minutes):
#   BACKEND=cpu MODEL=t5-small SRC_LEN=64 OUT_LENS=4 ROUNDS=1 BATCH=4 LANG_BASE=100 \
#     launch/bench_encoder_cache.sh /tmp/build
set -uo pipefail
build=${1:-build}
BACKEND=${BACKEND:-cuda} MODEL=${MODEL:-mbart-large} TP=${TP:-1} SRC_LEN=${SRC_LEN:-400}
LANGS=${LANGS:-8} OUT_LENS=${OUT_LENS:-16 64 256} ROUNDS=${ROUNDS:-3} BATCH=${BATCH:-32}
LANG_BASE=${LANG_BASE:-250004}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
work=$(mktemp -d "${TMPDIR:-/tmp}/bench_encoder_cache.XXXXXX")
trap 'rm -rf "$work"' EXIT
CACHE_DIR=${CACHE_DIR:-${ENCDEC_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/encdec_tp}}
mkdir -p "$CACHE_DIR"
case "$MODEL" in
  mbart*) vocab=250000 eos=2 ;; # random ids below mBART-50's language codes
  t5*|flan*) vocab=32000 eos=1 ;;
  *) echo "bench_encoder_cache: MODEL $MODEL: mbart-large or a t5 preset" >&2; exit 2 ;;
esac
dtype=bf16
[ "$BACKEND" = cpu ] && dtype=fp32
model=$CACHE_DIR/encdec_bench_${MODEL}_$dtype.h5
field() { grep -o "\"$1\": [-0-9.e+]*" | head -1 | awk '{print $2}'; }
echo "# bench_encoder_cache: $MODEL ($dtype) on $BACKEND, TP=$TP; $(date -u +%FT%TZ)" \
  "$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)"

# --- 2 first: it also writes the random model that part 1 serves -------------------------------
min_len=$((SRC_LEN / 4 > 0 ? SRC_LEN / 4 : 1))
echo "## no repeats: encdec_bench --batch $BATCH --input-len $min_len-$SRC_LEN --output-len 64"
for mode in off on off on; do
  line=$(mpirun --oversubscribe -n "$TP" "$build/encdec_bench" --model "$MODEL" --backend "$BACKEND" \
           --batch "$BATCH" --input-len "$min_len-$SRC_LEN" --output-len 64 --cache-dir "$CACHE_DIR" \
           --set encoder_cache=$mode 2>"$work/bench.log" | grep '^{')
  if [ -z "$line" ]; then echo "encdec_bench failed:"; tail -5 "$work/bench.log"; exit 1; fi
  printf 'encoder_cache %-3s  output_tokens_per_s %8s  wall_s %7s  encoder_ms %8s  host_ms_per_step %6s  decode_ms_per_step %7s\n' \
    "$mode" "$(field output_tokens_per_s <<<"$line")" "$(field wall_s <<<"$line")" \
    "$(field encoder_ms <<<"$line")" "$(field host_ms_per_step <<<"$line")" \
    "$(field decode_ms_per_step <<<"$line")"
done
[ -f "$model" ] || { echo "no model file at $model"; exit 1; }

# --- 1: one source into LANGS languages --------------------------------------------------------
# round_requests ROUND OUT: LANGS request lines, one source (seeded by ROUND) for each language.
round_requests() {
  awk -v r="$1" -v out="$2" -v n="$SRC_LEN" -v langs="$LANGS" -v base="$LANG_BASE" \
      -v vocab="$vocab" -v eos="$eos" 'BEGIN {
    srand(1000 + r); ids = ""
    for (t = 0; t < n; t++) ids = ids (t ? "," : "") (t == n - 1 ? eos : 4 + int(rand() * (vocab - 4)))
    for (k = 0; k < langs; k++)
      printf "{\"id\": \"r%d-l%d\", \"input_ids\": [%s], \"max_new_tokens\": %d, \"min_new_tokens\": %d, \"forced_bos_id\": %d}\n", r, k, ids, out, out, base + k
  }'
}
now() { date +%s.%N; }
echo "## repeats: one $SRC_LEN-token source into $LANGS languages, end to end per round (s)"
for out in $OUT_LENS; do
  declare -A median=()
  for mode in off on; do
    printf 'model: %s\nbackend: %s\ntp: %s\nmax_batch_size: %s\nmax_input_len: %s\nmax_output_len: %s\nstats_every: 0\nencoder_cache: %s\n' \
      "$model" "$BACKEND" "$TP" "$LANGS" "$SRC_LEN" $((out + 4)) "$mode" > "$work/run.yaml"
    coproc LIVE { exec mpirun --oversubscribe -n "$TP" "$build/encdec_tp" --config "$work/run.yaml" \
      --requests - --output - 2>"$work/live.log"; }
    times=()
    for r in $(seq 0 "$ROUNDS"); do # round 0: the warm-up
      t0=$(now)
      round_requests "$r" "$out" >&"${LIVE[1]}"
      for k in $(seq 1 "$LANGS"); do
        IFS= read -r -t 600 answer <&"${LIVE[0]}" || { echo "no answer (see below)"; tail -5 "$work/live.log"; exit 1; }
        case "$answer" in *'"error"'*) echo "error answer: ${answer:0:300}"; exit 1 ;; esac
      done
      t1=$(now)
      [ "$r" = 0 ] || times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.4f", b - a}')")
    done
    exec {LIVE[1]}>&-
    wait "$LIVE_PID" || { echo "encdec_tp exited non-zero:"; tail -5 "$work/live.log"; exit 1; }
    median[$mode]=$(printf '%s\n' "${times[@]}" | sort -g | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
    cache=$(grep -o 'encoder cache [^;]*' "$work/live.log" | tail -1)
    printf 'out %4d  encoder_cache %-3s  rounds %s  median %s  (%s)\n' "$out" "$mode" \
      "${times[*]}" "${median[$mode]}" "$cache"
  done
  printf 'out %4d  off / on = %s\n' "$out" \
    "$(awk -v a="${median[off]}" -v b="${median[on]}" 'BEGIN {printf "%.2fx", a / b}')"
  unset median
done
