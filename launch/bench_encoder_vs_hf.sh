#!/bin/bash
# Encoder-only throughput (text-encoder use): encdec_bench --encode-only and HF's encoder on the
# same shape in one run on the GPU machine, with the GEMM-bound floor that bench_hf.py measures
# (2 x encoder matrix parameters x tokens over the bf16 GEMM rate of this device); prints both
# JSON lines and one summary line (ours / floor, HF / ours).
#   launch/bench_encoder_vs_hf.sh MODEL BATCH INPUT_LEN [ENCDEC_DTYPE: auto = bf16]
set -euo pipefail
model=$1 batch=$2 inp=$3 dtype=${4:-auto}
build=${BUILD_DIR:-build}
ours=$(mpirun -n 1 "$build/encdec_bench" --model "$model" --backend cuda --dtype "$dtype" \
  --batch "$batch" --input-len "$inp" --output-len 1 --encode-only 2>/dev/null | grep '^{')
echo "$ours"
hf=$(python3 "$(dirname "$0")/bench_hf.py" --model "$model" --batch "$batch" --input-len "$inp" \
  --encode-only 2>>"${HF_LOG:-/dev/null}")
echo "$hf"
python3 -c "import json,sys; o=json.loads(sys.argv[1]); h=json.loads(sys.argv[2]); \
print(json.dumps({'model': o['model'], 'batch': o['batch'], 'input_len': o['input_len'], \
'ours_ms': o['encoder_ms'], 'floor_ms': round(h['floor_ms'], 2), \
'ours_over_floor': round(o['encoder_ms'] / h['floor_ms'], 2), \
'hf_over_ours': round(h['encoder_ms'] / o['encoder_ms'], 2)}))" "$ours" "$hf"
