#!/bin/bash
# encdec_bench and Hugging Face on the same model shape and workload, in one run on the GPU
# machine; prints both JSON lines and the ratio of ms per decode step (HF / encdec_tp).
#   launch/bench_vs_hf.sh MODEL BATCH [INPUT_LEN] [OUTPUT_LEN] [HF_MODES] [ENCDEC_DTYPE: auto = bf16]
#                         [BEAMS]
set -euo pipefail
model=$1 batch=$2 inp=${3:-128} out=${4:-64} modes=${5:-eager} dtype=${6:-auto} beams=${7:-1}
build=${BUILD_DIR:-build}
ours=$(mpirun --bind-to none -n 1 "$build/encdec_bench" --model "$model" --backend cuda --dtype "$dtype" \
  --batch "$batch" --input-len "$inp" --output-len "$out" --beams "$beams" 2>/dev/null | grep '^{')
echo "$ours"
python3 "$(dirname "$0")/bench_hf.py" --model "$model" --batch "$batch" --input-len "$inp" \
  --output-len "$out" --modes "$modes" --beams "$beams" 2>>"${HF_LOG:-/dev/null}" | while read -r hf; do
  echo "$hf"
  python3 -c "import json,sys; o=json.loads(sys.argv[1]); h=json.loads(sys.argv[2]); \
print(json.dumps({'model': o['model'], 'batch': o['batch'], 'vs': h['impl'], \
'step_speedup': round(h['decode_ms_per_step'] / o['decode_ms_per_step'], 2), \
'encoder_speedup': round(h['encoder_ms'] / max(o['encoder_ms'], 1e-9), 2), \
'tokens_per_s_ratio': round(o['output_tokens_per_s'] / h['output_tokens_per_s'], 2)}))" "$ours" "$hf"
done
