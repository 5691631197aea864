#!/bin/bash
# The HTTP server's throughput against encdec_bench on the same workload (issue 21, "Speed"):
# for each model, encdec_bench decodes BATCH requests of INPUT_LEN tokens (random, as encdec_bench
# makes them) for OUTPUT_LEN tokens each (EOS held off); then encdec_tp serves the same model
# with max_batch_size BATCH over HTTP and encdec_loadgen sends the same prompts from BATCH
# concurrent streaming clients (one wave of BATCH requests, as encdec_bench, then 4 x BATCH
# after a warm-up wave). Prints both tokens/s, the loadgen's p50/p99 time to first token,
# inter-token latency and end to end, and the server's idle CPU (rank 0, over 5 s).
# usage: launch/bench_serve.sh BUILD_DIR [MODEL ...]   (default t5-base flan-t5-xl)
#   env: BACKEND (cuda), BATCH (64), INPUT_LEN (260-440), OUTPUT_LEN (64), PORT (18200),
#        SERVER_LOG_DIR (keep each server's log there), SERVE_KEYS (more run-config lines for the server, e.g. $'admission_wait_ms: 0'),
#        CACHE (the folder for the random-weight models: $ENCDEC_CACHE_DIR, else
#        ~/.cache/encdec_tp)
set -uo pipefail
build=${1:?usage: bench_serve.sh BUILD_DIR [MODEL ...]}
shift
models=("$@")
[ ${#models[@]} -gt 0 ] || models=(t5-base flan-t5-xl)
backend=${BACKEND:-cuda} n=${BATCH:-64} inl=${INPUT_LEN:-260-440} outl=${OUTPUT_LEN:-64}
port=${PORT:-18200}
cache=${CACHE:-${ENCDEC_CACHE_DIR:-$HOME/.cache/encdec_tp}}
mkdir -p "$cache"
work=$(mktemp -d "${TMPDIR:-/tmp}/bench_serve.XXXXXX")
trap 'rm -rf "$work"' EXIT
maxin=${inl#*-}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
for m in "${models[@]}"; do
  file=$cache/bench_serve_${m}_$backend.h5
  echo "== $m ($backend): encdec_bench --batch $n --input-len $inl --output-len $outl"
  "$build/encdec_bench" --model "$m" --backend "$backend" --batch "$n" --input-len "$inl" \
    --output-len "$outl" --model-file "$file" > "$work/bench.log" 2>&1
  tail -6 "$work/bench.log"
  # encoder_cache off: the load generator's waves repeat prompts, which the cache would answer
  # without their encoder passes; encdec_bench's inputs never repeat.
  printf 'model: %s\nbackend: %s\nmax_batch_size: %d\nmax_input_len: %d\nmax_output_len: %d\nhttp_port: %d\nmax_queue: 4096\nstats_every: 0\nencoder_cache: off\n' \
    "$file" "$backend" "$n" "$maxin" "$outl" "$port" > "$work/serve.yaml"
  [ -n "${SERVE_KEYS:-}" ] && printf '%s\n' "$SERVE_KEYS" >> "$work/serve.yaml"
  "$build/encdec_tp" --config "$work/serve.yaml" > "$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 900); do curl -sf "localhost:$port/health" > /dev/null && break; sleep 0.2; done
  sleep 1
  a=$(cpu_ticks $pid); sleep 5; b=$(cpu_ticks $pid)
  echo "idle CPU of the server (rank 0) over 5 s: $(( (b - a) * 100 / 500 ))% of a core"
  echo "-- encdec_loadgen: $n clients, $n requests (one wave, as encdec_bench)"
  "$build/encdec_loadgen" --url "http://127.0.0.1:$port" --clients "$n" --requests "$n" \
    --max-tokens "$outl" --input-len "$inl" 2>&1 | tail -8
  echo "-- encdec_loadgen: $n clients, $((4 * n)) requests after a warm-up wave"
  "$build/encdec_loadgen" --url "http://127.0.0.1:$port" --clients "$n" --requests $((4 * n)) \
    --warmup "$n" --max-tokens "$outl" --input-len "$inl" 2>&1 | tail -8
  kill -TERM $pid; wait $pid; echo "server exit status: $?"
  grep -E "summary" "$work/server.log" # where the server's time went (runtime/engine.c report)
  if [ -n "${SERVER_LOG_DIR:-}" ]; then cp "$work/server.log" "$SERVER_LOG_DIR/server_$m.log"; fi
done
