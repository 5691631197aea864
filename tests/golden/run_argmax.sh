#!/bin/bash
# Tokens picked on the backend (device_argmax): the golden greedy, natural-stop and score requests
# without return_logits, so every step of the run qualifies. HF's ids must come out (golden_check
# --ids-only), the run must have picked tokens on the backend, and device_argmax: off must give
# byte-identical responses.
# usage: run_argmax.sh BUILD_DIR FIXTURE_DIR TP [BACKEND] [DTYPE]
set -euo pipefail
build=$1 fixture=$2 tp=$3 backend=${4:-cpu} dtype=${5:-fp32}
name=argmax
source "$(dirname "$0")/../test_lib.sh"
"$build/encdec_convert" --quiet --hf "$fixture" --out "$work/model.h5"
sed 's/, "return_logits": true//' "$fixture/requests.jsonl" > "$work/requests.jsonl"
grep -q return_logits "$work/requests.jsonl" && { echo "FAIL: return_logits left in"; exit 1; }
expected=$fixture/expected.jsonl
[ "$dtype" = fp32 ] || expected=$fixture/expected_${dtype}_weights.jsonl
for mode in on off; do
  cat > "$work/$mode.yaml" <<YAML
model: $work/model.h5
backend: $backend
dtype: $dtype
tp: $tp
max_batch_size: 8
max_input_len: 64
max_output_len: 24
device_argmax: $mode
YAML
  ENCDEC_LOG=info mpirun --oversubscribe -n "$tp" "$build/encdec_tp" --config "$work/$mode.yaml" \
    --requests "$work/requests.jsonl" --output "$work/$mode.jsonl" 2> "$work/$mode.log"
done
picked=$(grep -o 'steps ([0-9]* with tokens picked on the device)' "$work/on.log" | tail -1 | grep -o '([0-9]*' | tr -d '(')
[ "${picked:-0}" -gt 0 ] || fail "device_argmax: on picked no tokens on the device: $(grep summary "$work/on.log")"
grep -q '(0 with tokens picked on the device)' "$work/off.log" || fail "device_argmax: off still picked on the device"
cmp -s "$work/on.jsonl" "$work/off.jsonl" || fail "responses differ between device_argmax on and off"
"$build/golden_check" "$expected" "$work/on.jsonl" --ids-only || fail "ids differ from HF's"
echo "run_argmax: $picked steps picked on the device, $failures failures"
[ "$failures" = 0 ]
