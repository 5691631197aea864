#!/bin/bash
# The encoder cache must not change answers. A fixture's requests (each input three times in a
# row: greedy, natural and score requests, so repeats land in the same step) and then all of them
# again under new ids (repeats across steps, after the first ones finished), served with
# encoder_cache on and off, and on with a cross pool too small to keep every input (eviction),
# also under max_utilization with a self pool so small that it preempts:
#   - the responses are byte-identical (sorted by line) but for their logits, which must agree
#     within 1e-4 relative (golden_check): a hit reads cross K/V computed in another encoder batch
#     than the cache off computes it in, and an fp32 GEMM over other rows rounds differently in
#     the last bits (~1e-6), as any other batch composition does; on also matches Hugging Face;
#   - on: every request whose input was seen before is a hit (hits = requests - distinct inputs,
#     misses = distinct inputs), off: 0 hits and 0 misses; the tiny pool evicts;
#   - both pools end with every block free.
# usage: run_encoder_cache.sh BUILD_DIR FIXTURE_DIR TP
set -uo pipefail
build=$1 fixture=$2 tp=$3
name=encoder_cache ENCDEC_LOG=info
source "$(dirname "$0")/../test_lib.sh"
source "$(dirname "$0")/golden_lib.sh"
"$build/encdec_convert" --quiet --hf "$fixture" --out "$work/model.h5" || exit 1
{ cat "$fixture/requests.jsonl"; sed 's/"id": "/"id": "again-/' "$fixture/requests.jsonl"; } \
  > "$work/requests.jsonl"
n_req=$(wc -l < "$work/requests.jsonl")
n_inputs=$(grep -o '"input_ids": \[[^]]*\]' "$work/requests.jsonl" | sort -u | wc -l)
longest=$(grep -o '"input_ids": \[[^]]*\]' "$work/requests.jsonl" | awk -F, '{print NF}' | sort -n | tail -1)
# The tiny cross pool: the longest input and one block more (kv_block_size 4).
tiny_tokens=$(( (longest + 3) / 4 * 4 + 4 ))

run() { # MODE EXTRA_YAML
  { golden_config "$work/model.h5" cpu fp32 "$tp"; printf '%s' "$2"; } > "$work/$1.yaml"
  timeout 300 mpirun --oversubscribe -n "$tp" "$build/encdec_tp" --config "$work/$1.yaml" \
    --requests "$work/requests.jsonl" --output "$work/$1.jsonl" 2> "$work/$1.log" \
    || { fail "$1: encdec_tp exited $?"; tail -5 "$work/$1.log"; }
  sort "$work/$1.jsonl" > "$work/$1.sorted"
}
run on 'encoder_cache: on
'
run off 'encoder_cache: off
'
run tiny "encoder_cache: on
kv_block_size: 4
max_cross_kv_tokens: $tiny_tokens
"
run tinymu "encoder_cache: on
kv_block_size: 4
max_cross_kv_tokens: $tiny_tokens
scheduler_policy: max_utilization
max_kv_tokens: 40
"
counter() { grep summary "$work/$1.log" | tail -1 | grep -o "[0-9]* $2" | grep -o '^[0-9]*'; }
checks=$((checks + 12))
[ "$(grep -c output_ids "$work/off.sorted")" = "$n_req" ] || fail "off answered $(grep -c output_ids "$work/off.sorted") of $n_req"
no_logits() { sed 's/"logits":\[[]0-9.e+,[-]*\]//' "$work/$1.sorted"; }
checks=$((checks + 5))
for mode in on tiny tinymu; do
  cmp -s <(no_logits $mode) <(no_logits off) || fail "$mode: responses (logits aside) differ from encoder_cache off"
  "$build/golden_check" "$work/off.jsonl" "$work/$mode.jsonl" --tol 1e-4 > "$work/$mode.check" \
    || { fail "$mode: ids or logits differ from encoder_cache off"; cat "$work/$mode.check"; }
done
grep -q '"logits":\[' "$work/off.sorted" || fail "no logits in the responses: the logits check checked nothing"
no_logits off | grep -q '"logits"' && fail "the logits were not all cut: the byte comparison is too weak"
"$build/golden_check" "$fixture/expected.jsonl" "$work/on.jsonl" --tol 1e-4 || fail "on differs from HF"
[ "$(counter on hits)" = $((n_req - n_inputs)) ] && [ "$(counter on misses)" = "$n_inputs" ] \
  || fail "on: $(counter on hits) hits, $(counter on misses) misses; expected $((n_req - n_inputs)), $n_inputs"
[ "$(counter off hits)" = 0 ] && [ "$(counter off misses)" = 0 ] || fail "off, but it counted hits or misses"
[ "$(counter tiny evictions)" -gt 0 ] 2>/dev/null || fail "tiny cross pool ($tiny_tokens tokens): no evictions"
[ "$(counter tiny hits)" -gt 0 ] 2>/dev/null || fail "tiny cross pool: no hits"
[ "$(counter tinymu preempted)" -gt 0 ] 2>/dev/null || fail "max_utilization with a 40-token self pool: no preemption"
[ "$(counter tinymu hits)" -gt 0 ] 2>/dev/null || fail "max_utilization, tiny pools: no hits"
for mode in on tiny tinymu; do
  grep -Eq 'KV pools at the end: self ([0-9]+)/\1 blocks free, cross ([0-9]+)/\2 free' "$work/$mode.log" \
    || fail "$mode: pools did not return to their starting free counts: $(grep 'KV pools at the end' "$work/$mode.log")"
done
for mode in on off tiny tinymu; do grep summary "$work/$mode.log" | sed "s/^/  $mode: /"; done
echo "run_encoder_cache: $(basename "$fixture") tp$tp, $checks checks, $failures failed"
[ "$failures" = 0 ]
