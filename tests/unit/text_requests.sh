#!/bin/bash
# Text requests through the model file's tokenizer (ByT5's bytes: the byt5_small fixture with a
# tokenizer_config.json, converted): a request with "text" gives the same output ids as one with
# the ids encdec_tokenize makes of that text; every result's "text" equals encdec_tokenize
# --decode of its output ids (ids the tokenizer lacks dropped, as HF's fast tokenizers do), and a
# stream's "text" pieces concatenate to its final text. A model without tokenizer files answers
# a text request with an error naming the field, and the others are served.
# usage: text_requests.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
name=text_requests
source "$(dirname "$0")/../test_lib.sh"
cp -r "$fixtures/byt5_small" "$work/hf"
echo '{"tokenizer_class": "ByT5Tokenizer", "eos_token": "</s>", "pad_token": "<pad>",
       "unk_token": "<unk>", "extra_ids": 0}' > "$work/hf/tokenizer_config.json"
"$build/encdec_convert" --quiet --hf "$work/hf" --out "$work/m.h5" || exit 1
write_run_yaml 4
texts=("héllo wörld" "abc" "日本語 ok" "tab	and \"quotes\"")
: > "$work/text.jsonl"; : > "$work/ids.jsonl"
for i in "${!texts[@]}"; do
  t=${texts[$i]}
  ids=$(printf '%s\n' "$t" | "$build/encdec_tokenize" --model "$work/m.h5") || fail "encdec_tokenize"
  jq -cn --arg t "$t" --argjson i "$i" '{id: $i, text: $t, max_new_tokens: 12, stream: ($i == 1)}' \
    >> "$work/text.jsonl"
  jq -cn --argjson ids "$ids" --argjson i "$i" '{id: $i, input_ids: $ids, max_new_tokens: 12}' \
    >> "$work/ids.jsonl"
done
"$build/encdec_tp" --config "$work/run.yaml" --requests "$work/text.jsonl" --output "$work/text.out" \
  || fail "text run exited non-zero"
"$build/encdec_tp" --config "$work/run.yaml" --requests "$work/ids.jsonl" --output "$work/ids.out" \
  || fail "ids run exited non-zero"
for i in "${!texts[@]}"; do
  checks=$((checks + 1))
  a=$(jq -c "select(.id == $i and .output_ids) | .output_ids" "$work/text.out")
  b=$(jq -c "select(.id == $i) | .output_ids" "$work/ids.out")
  [ -n "$a" ] && [ "$a" = "$b" ] || fail "request $i: text gave $a, its ids gave $b"
  got=$(jq -r "select(.id == $i and .output_ids) | .text" "$work/text.out")
  want=$(jq -c "select(.id == $i and .output_ids) | [.output_ids[] | select(. < 259)]" \
           "$work/text.out" | "$build/encdec_tokenize" --model "$work/m.h5" --decode | jq -r .)
  [ "$got" = "$want" ] || fail "request $i: text '$got', decode of its ids '$want'"
done
checks=$((checks + 1))
pieces=$(jq -rj 'select(.id == 1 and .new_ids) | .text' "$work/text.out")
final=$(jq -r 'select(.id == 1 and .stream_end) | .text' "$work/text.out")
[ "$pieces" = "$final" ] || fail "stream pieces '$pieces' differ from the final text '$final'"
# stop strings: a sampled request's text (the first seed giving one) holds character c; the same
# request with stop c ends with "stop" on the token that completes c, its ids a prefix of the
# free run's, its text cut before c (streamed and not)
sample='"text": "abc", "max_new_tokens": 20, "do_sample": true, "top_k": 0, "temperature": 3'
stop_char=
for seed in $(seq 1 20); do
  echo "{\"id\": 0, $sample, \"seed\": $seed}" > "$work/free.jsonl"
  "$build/encdec_tp" --config "$work/run.yaml" --requests "$work/free.jsonl" --output "$work/free.out"
  free_text=$(jq -r .text "$work/free.out")
  if [ -n "$free_text" ]; then stop_char=${free_text:0:1}; break; fi
done
checks=$((checks + 1))
if [ -z "$stop_char" ]; then
  fail "no seed in 1..20 gave a sampled text to take a stop string from"
else
  stop_json=$(jq -cn --arg c "$stop_char" '$c')
  { echo "{\"id\": 1, $sample, \"seed\": $seed, \"stop\": [$stop_json, \"never-there\"]}"
    echo "{\"id\": 2, $sample, \"seed\": $seed, \"stop\": $stop_json, \"stream\": true}"
  } > "$work/stop.jsonl"
  "$build/encdec_tp" --config "$work/run.yaml" --requests "$work/stop.jsonl" --output "$work/stop.out" \
    || fail "stop run exited non-zero"
  free_ids=$(jq -c .output_ids "$work/free.out")
  want_text=${free_text%%"$stop_char"*}
  for id in 1 2; do
    checks=$((checks + 2))
    rec=$(jq -c "select(.id == $id and .output_ids)" "$work/stop.out")
    [ "$(jq -r .finish_reason <<< "$rec")" = stop ] || fail "stop $id: finish_reason not stop: $rec"
    jq -e --argjson free "$free_ids" '.output_ids as $o | ($o | length) <= ($free | length) and
      $free[0:($o | length)] == $o' <<< "$rec" > /dev/null || fail "stop $id: ids not a prefix of $free_ids: $rec"
    [ "$(jq -r .text <<< "$rec")" = "$want_text" ] || fail "stop $id: text '$(jq -r .text <<< "$rec")', want '$want_text'"
  done
  checks=$((checks + 1))
  [ "$(jq -rj 'select(.id == 2 and .new_ids) | .text' "$work/stop.out")" = "$want_text" ] ||
    fail "stop: the stream's pieces are not the cut text"
fi
# no tokenizer: the text request is refused by name, the ids request served
convert_fixture t5_v1_0_tied
printf '{"id": "t", "text": "hi"}\n{"id": "n", "input_ids": [5, 6, 1], "max_new_tokens": 2}\n' \
  > "$work/mixed.jsonl"
"$build/encdec_tp" --config "$work/run.yaml" --requests "$work/mixed.jsonl" --output "$work/mixed.out"
rc=$?
checks=$((checks + 1))
[ $rc = 3 ] || fail "a refused text request should give exit 3, got $rc"
jq -s -e 'any(.[]; .id == "t" and (.error.message | test("field text: the model file carries no tokenizer")))' \
  "$work/mixed.out" >/dev/null || fail "no error naming field text: $(cat "$work/mixed.out")"
jq -s -e 'any(.[]; .id == "n" and (.output_ids | length == 2))' "$work/mixed.out" >/dev/null \
  || fail "the ids request was not served"
echo "text_requests: $checks checks, $failures failures"
[ $failures = 0 ]
