#!/bin/bash
# Tensor parallelism must not change the answers: a fixture's greedy requests (greedy, natural
# EOS and scoring) served at TP=1 and at TP=N, same backend and weight dtype, must give every
# request the same output ids, and the TP=N run must match HF with the dtype's yardstick.
#   usage: run_tp_same.sh BUILD_DIR FIXTURE_DIR TP BACKEND [DTYPE: fp32]
# With the cuda backend each rank takes its own GPU: TP GPUs are needed (label multigpu).
set -euo pipefail
build=$1 fixture=$2 tp=$3 backend=$4 dtype=${5:-fp32}
name=tp_same
source "$(dirname "$0")/../test_lib.sh"
source "$(dirname "$0")/golden_lib.sh"
export NCCL_NVLS_ENABLE=0
"$build/encdec_convert" --quiet --hf "$fixture" --out "$work/model.h5"
for n in 1 "$tp"; do
  golden_config "$work/model.h5" "$backend" "$dtype" "$n" > "$work/tp$n.yaml"
  mpirun --oversubscribe -n "$n" -x NCCL_NVLS_ENABLE "$build/encdec_tp" --config "$work/tp$n.yaml" \
    --requests "$fixture/requests.jsonl" --output "$work/tp$n.jsonl"
done
# "id output_ids" per response, in id order (responses are written as requests finish).
ids() {
  while IFS= read -r line; do
    echo "$(grep -o '"id": *"[^"]*"' <<<"$line") $(grep -o '"output_ids": *\[[^]]*\]' <<<"$line")"
  done < "$1" | sort
}
ids "$work/tp1.jsonl" > "$work/tp1.ids"
ids "$work/tp$tp.jsonl" > "$work/tp$tp.ids"
[ "$(wc -l < "$work/tp1.ids")" = "$(wc -l < "$fixture/requests.jsonl")" ] ||
  fail "TP=1 answered $(wc -l < "$work/tp1.ids") of $(wc -l < "$fixture/requests.jsonl") requests"
differing=$(diff "$work/tp1.ids" "$work/tp$tp.ids" | grep -c '^>' || true)
[ "$differing" = 0 ] || fail "TP=$tp: $differing requests' output ids differ from TP=1:
$(diff "$work/tp1.ids" "$work/tp$tp.ids" | head -6)"
hf_yardstick "$fixture" "$backend" "$dtype"
"$build/golden_check" "$expected" "$work/tp$tp.jsonl" "${check[@]}" || fail "TP=$tp differs from HF"
echo "run_tp_same: $(wc -l < "$work/tp1.ids") requests, TP=1 and TP=$tp, $backend $dtype: $failures failures"
[ "$failures" = 0 ]
