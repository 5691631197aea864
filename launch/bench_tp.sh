#!/bin/bash
# Tensor-parallel scaling on one node's GPUs: encdec_bench at each TP size (one rank per GPU)
# and batch, bf16, NVLink multicast off; prints one JSON line per run with the encoder time, ms
# per decode step, output tokens/s and the share of a step the all-reduces take (timed alone:
# encdec_bench's allreduce_ms_per_step). BENCH_LOG=FILE keeps the runs' logs.
#   launch/bench_tp.sh MODEL [TP_SIZES: "1 2 4"] [BATCHES: "1 64"] [INPUT_LEN: 128] [OUTPUT_LEN: 64]
set -euo pipefail
model=$1 tps=${2:-1 2 4} batches=${3:-1 64} inp=${4:-128} out=${5:-64}
build=${BUILD_DIR:-build}
export NCCL_NVLS_ENABLE=0
gpus=$(nvidia-smi -L 2>/dev/null | wc -l)
for tp in $tps; do
  if [ "$tp" -gt "$gpus" ]; then
    echo "bench_tp: TP=$tp skipped: $gpus GPU(s) here" >&2
    continue
  fi
  for b in $batches; do
    mpirun --bind-to none -n "$tp" -x NCCL_NVLS_ENABLE "$build/encdec_bench" --model "$model" \
      --backend cuda --batch "$b" --input-len "$inp" --output-len "$out" \
      2>>"${BENCH_LOG:-/dev/null}" | grep "^{"
  done
done
