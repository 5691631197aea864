#!/bin/bash
# The trained demo model (configs/demo/model, made by launch/demo/train_cpu.py), text in and text
# out through the model file's own tokenizer: converted, then the held-out prompts of
# configs/demo/heldout.jsonl (never in the training data) served as {"text": PROMPT} requests on
# BACKEND in fp32 and in bf16; each response's "text" must equal the expected answer exactly on
# at least MIN_EXACT percent of them; bf16 with int8 and with fp8 projections (quantize:), with
# the embedding and LM head quantized too, and with the FP8 KV cache, within half a point of
# bf16. Against Hugging Face's own answers (launch/demo/hf_reference.py: transformers'
# AutoTokenizer and greedy generate on the saved folder): every prompt's ids from the model
# file's tokenizer equal "hf_input_ids"; in fp32 every response's output_ids equal "hf_ids" and
# its text "hf_text"; in bf16 its output_ids equal "hf_bf16_ids" (HF on the weights rounded to
# bf16). The yardstick must fail: a copy of heldout.jsonl with one answer altered must count
# exactly one more wrong answer.
# usage: demo_text.sh BUILD_DIR DEMO_DIR [BACKEND]
set -uo pipefail
build=$1 demo=$2 backend=${3:-cpu}
MIN_EXACT=99   # percent of held-out answers exactly right, in fp32 and in bf16
name=demo_text
source "$(dirname "$0")/../test_lib.sh"
held=$demo/heldout.jsonl
"$build/encdec_convert" --quiet --hf "$demo/model" --out "$work/m.h5" || exit 1
jq -c '{id: .id, text: .prompt, max_new_tokens: 32}' "$held" > "$work/requests.jsonl" ||
  { echo "FAIL $held: not JSON Lines of {id, prompt, answer}"; exit 1; }
n=$(grep -c . "$held")
[ "$n" -ge 200 ] || fail "$held has $n prompts, want at least 200"

# serve NAME DTYPE [KEY=VALUE...]: $work/resp_NAME.jsonl, the responses to every request, with
# weights in DTYPE and the run-config keys given (quantize=int8, kv_cache_dtype=fp8, ...).
serve() {
  printf 'model: %s\nbackend: %s\ndtype: %s\ntp: 1\nmax_batch_size: 32\nmax_input_len: 64\nmax_output_len: 32\nrequests: %s\noutput: %s\n' \
    "$work/m.h5" "$backend" "$2" "$work/requests.jsonl" "$work/resp_$1.jsonl" > "$work/run_$1.yaml"
  local kv
  for kv in "${@:3}"; do echo "${kv%%=*}: ${kv#*=}" >> "$work/run_$1.yaml"; done
  ${MPIEXEC:-mpirun} --oversubscribe -n 1 "$build/encdec_tp" --config "$work/run_$1.yaml" ||
    fail "encdec_tp ($1) exited with $?"
}

# wrong EXPECTED RESPONSES: one line per held-out item whose response text is not its answer
# (a missing response counts as wrong): "id: prompt -> got TEXT, want ANSWER".
wrong() {
  jq -rn --slurpfile want "$1" --slurpfile got "$2" '
    ($got | map({key: (.id | tostring), value: .}) | from_entries) as $r
    | $want[] | select(($r[.id | tostring].text // null) != .answer)
    | "\(.id): \(.prompt) -> got \($r[.id | tostring].text // "(no response)" | tojson), want \(.answer | tojson)"'
}

# accurate NAME [MIN_RIGHT]: at least MIN_EXACT percent right (or MIN_RIGHT answers); sets
# right_NAME to the count.
accurate() {
  checks=$((checks + 1))
  wrong "$held" "$work/resp_$1.jsonl" > "$work/wrong_$1.txt" || { fail "$1: comparing failed"; return; }
  local bad need=$(((MIN_EXACT * n + 99) / 100))
  [ -z "${2:-}" ] || need=$2
  bad=$(grep -c . "$work/wrong_$1.txt")
  printf -v "right_$1" %s $((n - bad))
  if [ $((n - bad)) -lt "$need" ]; then
    fail "$1: $((n - bad)) of $n held-out answers exactly right, want at least $need"
    head -5 "$work/wrong_$1.txt"
  else
    echo "$1: $((n - bad)) of $n held-out answers exactly right (at least $need required)"
    head -3 "$work/wrong_$1.txt"
  fi
}

# same_as_hf NAME FIELD: every response's output_ids equal the item's FIELD (hf_ids: HF's fp32
# greedy ids, whose text hf_text the response's text must equal too; hf_bf16_ids: HF's on the
# weights rounded to bf16: trained weights give peaked distributions, so bf16 must match exactly).
same_as_hf() {
  checks=$((checks + 1))
  jq -rn --arg f "$2" --slurpfile want "$held" --slurpfile got "$work/resp_$1.jsonl" '
    ($got | map({key: (.id | tostring), value: .}) | from_entries) as $r
    | $want[] | select($r[.id | tostring].output_ids != .[$f] or
                       ($f == "hf_ids" and $r[.id | tostring].text != .hf_text))
    | "\(.id): \(.prompt) -> ids \($r[.id | tostring].output_ids | tojson), HF \(.[$f] | tojson)"' \
    > "$work/diff_$1.txt" || { fail "$1: comparing ids failed"; return; }
  if [ -s "$work/diff_$1.txt" ]; then
    fail "$1: $(grep -c . "$work/diff_$1.txt") of $n responses differ from HF's greedy answers ($2)"
    head -5 "$work/diff_$1.txt"
  else
    echo "$1: output_ids equal Hugging Face's greedy answers ($2) on all $n prompts"
  fi
}

# The model file's tokenizer gives every prompt HF's AutoTokenizer ids.
checks=$((checks + 1))
jq -r '.prompt' "$held" | "$build/encdec_tokenize" --model "$work/m.h5" > "$work/tok_ids.txt" ||
  fail "encdec_tokenize exited with $?"
if ! cmp -s <(jq -c '.hf_input_ids' "$held") <(jq -c . "$work/tok_ids.txt"); then
  fail "prompt tokenization differs from HF's AutoTokenizer: $(diff <(jq -c '.hf_input_ids' "$held") \
    <(jq -c . "$work/tok_ids.txt") | head -4)"
else
  echo "tokenizer: all $n prompts tokenized as HF's AutoTokenizer does"
fi

serve fp32 fp32
accurate fp32
same_as_hf fp32 hf_ids
serve bf16 bf16
accurate bf16
same_as_hf bf16 hf_bf16_ids
# Weight-only int8 and fp8 (E4M3) projections, quantized at load: within half a point of bf16's
# accuracy (issue: quantized weights), i.e. at most n / 200 answers fewer
for q in int8 fp8; do
  serve "$q" bf16 quantize="$q"
  accurate "$q" $((right_bf16 - n / 200))
  serve "${q}_embeddings" bf16 quantize="$q" quantize_embeddings=on # embedding and LM head too
  accurate "${q}_embeddings" $((right_bf16 - n / 200))
done
# the FP8 KV cache, both pools
serve kv_fp8 bf16 kv_cache_dtype=fp8
accurate kv_fp8 $((right_bf16 - n / 200))

# The yardstick can fail: altering the answer of one item served right must add exactly that item
# to the wrong ones.
checks=$((checks + 1))
right_id=$(jq -r '.id' "$held" | grep -vxFf <(cut -d: -f1 "$work/wrong_fp32.txt") | head -1)
jq -c --arg id "$right_id" 'if (.id | tostring) == $id then .answer = "x" + .answer else . end' \
  "$held" > "$work/altered.jsonl"
wrong "$work/altered.jsonl" "$work/resp_fp32.jsonl" > "$work/wrong_altered.txt"
if [ -z "$right_id" ] ||
   [ "$(grep -c . "$work/wrong_altered.txt")" -ne $(($(grep -c . "$work/wrong_fp32.txt") + 1)) ] ||
   ! grep -q "^$right_id: " "$work/wrong_altered.txt"; then
  fail "the altered answer of item ${right_id:-?} was not counted wrong"
fi

echo "demo_text ($backend): $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]
