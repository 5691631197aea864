#!/bin/bash
# Decoding options end to end on a golden model:
#  - sampling with a seed: identical alone, in a mixed batch, and at TP=2;
#  - streamed lines concatenate to the final output;
#  - 4 beams keep one cross-KV copy per request (pool counters);
#  - stop_token_ids, stop_sequences, bad_words_ids, return_logprobs.
# usage: decoding_options.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
name=decoding ENCDEC_LOG=info
source "$(dirname "$0")/../test_lib.sh"
check() { checks=$((checks + 1)); "$@"; }
"$build/encdec_convert" --quiet --hf "$fixtures/t5_v1_1_gated" --out "$work/m.h5" || exit 1
printf 'model: %s\nmax_batch_size: 8\nmax_input_len: 64\nmax_output_len: 24\nkv_block_size: 4\n' \
  "$work/m.h5" > "$work/run.yaml"
line_of() { grep "\"id\":\"$1\"" "$2" | grep -v new_ids; }
ids_of() { line_of "$1" "$2" | grep -o '"output_ids":\[[0-9,]*\]' | head -1 | sed 's/.*\[//; s/\]//'; }

# 1. Seeded sampling.
S='{"id": "s", "input_ids": [12, 40, 7, 33, 1], "max_new_tokens": 16, "do_sample": true, "seed": 7, "top_k": 20, "top_p": 0.9, "temperature": 0.8}'
echo "$S" > "$work/alone.jsonl"
{ echo '{"id": "g1", "input_ids": [5, 6, 7, 1], "max_new_tokens": 10}'
  echo '{"id": "s2", "input_ids": [12, 40, 7, 33, 1], "max_new_tokens": 16, "do_sample": true, "seed": 8}'
  echo "$S"
  echo '{"id": "g2", "input_ids": [9, 1], "max_new_tokens": 20, "min_new_tokens": 20}'; } > "$work/mixed.jsonl"
for run in "alone 1" "mixed 1" "mixed 2"; do
  set -- $run
  printf 'model: %s\nmax_batch_size: 8\nmax_input_len: 64\nmax_output_len: 24\nkv_block_size: 4\ntp: %s\n' \
    "$work/m.h5" "$2" > "$work/run_$2.yaml"
  mpirun --oversubscribe -n "$2" "$build/encdec_tp" --config "$work/run_$2.yaml" \
    --requests "$work/$1.jsonl" --output "$work/$1_$2.out" 2>"$work/$1_$2.log" || fail "sampling run $1 tp$2"
done
a=$(ids_of s "$work/alone_1.out"); b=$(ids_of s "$work/mixed_1.out"); c=$(ids_of s "$work/mixed_2.out")
check [ -n "$a" ] || fail "no sampled output"
checks=$((checks + 2))
[ "$a" = "$b" ] || fail "sampling differs in a mixed batch: '$a' vs '$b'"
[ "$a" = "$c" ] || fail "sampling differs at TP=2: '$a' vs '$c'"
g=$(ids_of g1 "$work/mixed_1.out")
checks=$((checks + 1))
[ "$(ids_of s2 "$work/mixed_1.out")" != "$a" ] || fail "seeds 7 and 8 gave the same sample"

# 2. Streaming: the new_ids of every stream line concatenate to the final output_ids.
echo '{"id": "st", "input_ids": [12, 40, 7, 1], "max_new_tokens": 12, "stream": true, "return_logprobs": true}' > "$work/stream.jsonl"
mpirun -n 1 "$build/encdec_tp" --config "$work/run_1.yaml" --requests "$work/stream.jsonl" \
  --output "$work/stream.out" 2>/dev/null || fail "stream run"
streamed=$(grep new_ids "$work/stream.out" | grep -o '"new_ids":\[[0-9,]*\]' | sed 's/.*\[//; s/\]//' | paste -sd, -)
final=$(ids_of st "$work/stream.out")
checks=$((checks + 2))
[ "$(grep -c new_ids "$work/stream.out")" -ge 2 ] || fail "expected several stream lines"
[ -n "$final" ] && [ "$streamed" = "$final" ] || fail "stream lines '$streamed' != final '$final'"

# 3. Beam search keeps one cross-KV copy per request: 30 input tokens = 8 blocks of 4.
ids=$(seq -s, 10 38); echo "{\"id\": \"b\", \"input_ids\": [$ids, 1], \"beam_width\": 4, \"max_new_tokens\": 12}" > "$work/beam.jsonl"
mpirun -n 1 "$build/encdec_tp" --config "$work/run_1.yaml" --requests "$work/beam.jsonl" \
  --output "$work/beam.out" 2>"$work/beam.log" || fail "beam run"
checks=$((checks + 2))
grep -q 'cross pool 0/[0-9]* (peak 8)' "$work/beam.log" || { fail "4 beams did not keep exactly one cross copy (8 blocks)"; grep summary "$work/beam.log"; }
grep -q 'KV pools at the end: self \([0-9]*\)/\1 blocks free' "$work/beam.log" || fail "beam run leaked self blocks"

# 4. Stop tokens, stop sequences, bad words, logprobs, on a greedy reference.
echo '{"id": "ref", "input_ids": [21, 22, 23, 1], "max_new_tokens": 12, "min_new_tokens": 12}' > "$work/ref.jsonl"
mpirun -n 1 "$build/encdec_tp" --config "$work/run_1.yaml" --requests "$work/ref.jsonl" --output "$work/ref.out" 2>/dev/null
IFS=, read -r -a ref <<< "$(ids_of ref "$work/ref.out")"
t2=${ref[2]}
cut=0; while [ "${ref[$cut]}" != "$t2" ]; do cut=$((cut + 1)); done
want_stop=$(IFS=,; echo "${ref[*]:0:$((cut + 1))}")
{ echo "{\"id\": \"stop\", \"input_ids\": [21, 22, 23, 1], \"max_new_tokens\": 12, \"stop_token_ids\": [$t2]}"
  echo "{\"id\": \"seq\", \"input_ids\": [21, 22, 23, 1], \"max_new_tokens\": 12, \"stop_sequences\": [[${ref[0]}, ${ref[1]}]]}"
  echo "{\"id\": \"bad\", \"input_ids\": [21, 22, 23, 1], \"max_new_tokens\": 12, \"bad_words_ids\": [[${ref[0]}]]}"
  echo "{\"id\": \"lp\", \"input_ids\": [21, 22, 23, 1], \"max_new_tokens\": 5, \"return_logprobs\": true}"
  echo "{\"id\": \"oops\", \"input_ids\": [21, 1], \"top_p\": 1.5}"; } > "$work/opts.jsonl"
mpirun -n 1 "$build/encdec_tp" --config "$work/run_1.yaml" --requests "$work/opts.jsonl" --output "$work/opts.out" 2>/dev/null
checks=$((checks + 6))
[ "$(ids_of stop "$work/opts.out")" = "$want_stop" ] || fail "stop_token_ids: got '$(ids_of stop "$work/opts.out")', want '$want_stop'"
line_of stop "$work/opts.out" | grep -q '"finish_reason":"stop"' || fail "stop_token_ids: finish_reason is not stop"
[ "$(ids_of seq "$work/opts.out")" = "${ref[0]},${ref[1]}" ] || fail "stop_sequences: got '$(ids_of seq "$work/opts.out")'"
! echo ",$(ids_of bad "$work/opts.out")," | grep -q ",${ref[0]}," || fail "bad_words_ids: banned token ${ref[0]} generated"
lp=$(line_of lp "$work/opts.out" | grep -o '"logprobs":\[[^]]*\]' | sed 's/.*\[//; s/\]//')
[ "$(echo "$lp" | tr ',' '\n' | grep -c .)" = 5 ] && ! echo "$lp" | tr ',' '\n' | grep -qv '^-' || fail "logprobs: '$lp'"
grep -q '"id":"oops","error".*field top_p must be in (0, 1\]' "$work/opts.out" || fail "top_p 1.5 not refused"
echo "decoding_options: $checks checks, $failures failed"
[ $failures = 0 ]
