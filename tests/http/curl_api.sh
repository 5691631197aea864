#!/bin/bash
# The HTTP server (docs/SERVING.md) driven by curl at TP ranks, on the tiny t5_v1_1_untied fixture:
#  - parity: completions (greedy, min_tokens, several prompts, n samples with seeds, logprobs,
#    beam search, stop_token_ids, a decoder prefix), embeddings (float and base64) and /generate
#    (plain and streamed) answer exactly what the JSON Lines path answers for the same requests
#    (`encdec_tp --requests FILE` at the same TP), usage numbers included;
#  - streaming: SSE exactly (`data: ` events, blank-line separated, `data: [DONE]` last, a usage
#    chunk only when asked), chunks concatenating to the plain answer;
#  - /v1/models, /health, /metrics (Prometheus text that parses; counters move by what was sent);
#  - errors in OpenAI's shape with docs/SERVING.md's codes: 400 naming `param`, 401 (api_key),
#    404, 405, 413 (a 10 MB body), 415, 429 (max_queue), 503 while draining;
#  - garbage bytes, malformed HTTP, half-open (slowloris) connections and oversized headers
#    while a normal request is served;
#  - clients that disconnect mid-stream (and non-streamed ones that give up) cancel their
#    requests: decoder work stops, KV blocks return to the pools;
#  - SIGTERM (SIGUSR1 to mpirun at TP=2) drains: /health and new requests 503, every request in
#    flight completes in full, every rank exits 0 with its pools free.
# usage: curl_api.sh BUILD_DIR FIXTURES_DIR TP
set -uo pipefail
build=$1 fixtures=$2 tp=$3
name=http_curl_tp$tp
here=$(dirname "$0")
source "$here/../test_lib.sh"
source "$here/serve_lib.sh"
for tool in curl jq; do
  command -v $tool >/dev/null || { echo "FAIL $tool is needed (launch/install_deps.sh installs it)"; exit 1; }
done
convert_fixture t5_v1_1_untied
# every step that decodes takes at least 3 ms (common/test_delay.h): the long requests of the
# cancellation, drain and queue checks are still running when the test acts on them, on a
# machine of any speed (undelayed, 2,500 tokens took under a second: a race the test could lose)
export ENCDEC_TEST_STEP_DELAY_MS=3
key=test-key-$RANDOM
auth="Authorization: Bearer $key"
# max_output_len 4000: the long requests of the cancellation, drain and queue checks
printf 'model: %s\nmax_batch_size: 8\nmax_input_len: 40\nmax_output_len: 4000\n' "$work/m.h5" \
  > "$work/run.yaml"
printf 'tp: %s\n' "$tp" | cat "$work/run.yaml" - > "$work/batch.yaml"
batch_run() { # batch_run IN OUT: the JSON Lines path at this TP
  mpirun --oversubscribe -n "$tp" "$build/encdec_tp" --config "$work/batch.yaml" --requests "$1" \
    --output "$2" 2> "$2.log" || fail "the JSON Lines run of $1 exited non-zero: $(tail -3 "$2.log")"
}
check() { # check DESCRIPTION COMMAND...: counts a check, fails with DESCRIPTION unless it succeeds
  local what=$1
  shift
  checks=$((checks + 1))
  "$@" > /dev/null || fail "$what"
}

# call METHOD PATH [BODY [CURL_ARGS...]]: the answer's body in $work/body, its headers in
# $work/headers; prints the status. BODY (text, or @FILE) is sent with Content-Type $ctype
# (application/json; empty: none) and every call with the header $auth (the API key; empty:
# none): set them for one call as `ctype=text/plain call ...`.
ctype=application/json
call() {
  local method=$1 path=$2 body=${3-}
  shift 3 2>/dev/null || shift $#
  local args=(-s -o "$work/body" -D "$work/headers" -w '%{http_code}' --max-time 30 -X "$method")
  [ -n "$auth" ] && args+=(-H "$auth")
  [ -n "$body" ] && args+=(-H "Content-Type: $ctype" --data-binary "$body")
  [ -n "$body" ] && [ -z "$ctype" ] && args+=(-H "Content-Type:") # not curl's default type
  curl "${args[@]}" "$@" "$url$path" || true
}
# expect_status WHAT WANT METHOD PATH [BODY [CURL_ARGS...]]: the call answers WANT
expect_status() {
  local what=$1 want=$2 got
  shift 2
  got=$(call "$@")
  checks=$((checks + 1))
  [ "$got" = "$want" ] || { fail "$what: status $got, expected $want: $(head -c 300 "$work/body")"; return 1; }
}
# expect_error WHAT STATUS PARAM METHOD PATH [BODY ...]: an error answer in OpenAI's shape with
# this status and, unless PARAM is -, error.param = PARAM
expect_error() {
  local what=$1 want=$2 param=$3
  shift 3
  expect_status "$what" "$want" "$@" || return
  checks=$((checks + 1))
  jq -e '.error | (.message | type == "string" and length > 0) and (.type | type == "string")
         and has("param") and has("code")' "$work/body" > /dev/null ||
    { fail "$what: not an OpenAI error object: $(head -c 300 "$work/body")"; return; }
  if [ "$param" != - ]; then
    checks=$((checks + 1))
    [ "$(jq -r '.error.param // ""' "$work/body")" = "$param" ] ||
      fail "$what: error.param is $(jq -c .error.param "$work/body"), expected \"$param\" ($(jq -r .error.message "$work/body"))"
  fi
}

# --- the requests, as JSON Lines for the batch path -------------------------------------------
echo "[$SECONDS s] the requests, as JSON Lines for the batch path"
ids() { sed -n "/\"id\": \"greedy-$1\"/p" "$fx/requests.jsonl" | jq -c .input_ids; }
X0=$(ids 0) X1=$(ids 1) X2=$(ids 2) X3=$(ids 3)
{
  for i in 0 1 2 3; do
    x=$(ids $i)
    echo "{\"id\": \"nat-$i\", \"input_ids\": $x, \"max_new_tokens\": 16}"
    echo "{\"id\": \"min-$i\", \"input_ids\": $x, \"max_new_tokens\": 16, \"min_new_tokens\": 16}"
    echo "{\"id\": \"emb-$i\", \"input_ids\": $x, \"encode_only\": true, \"pooling\": \"mean\"}"
  done
  for s in 11 12; do
    echo "{\"id\": \"samp-$s\", \"input_ids\": $X1, \"max_new_tokens\": 12, \"do_sample\": true, \"temperature\": 0.9, \"top_p\": 0.95, \"top_k\": 0, \"seed\": $s}"
  done
  echo "{\"id\": \"lp\", \"input_ids\": $X2, \"max_new_tokens\": 8, \"return_logprobs\": true}"
  echo "{\"id\": \"beam\", \"input_ids\": $X3, \"max_new_tokens\": 10, \"beam_width\": 4, \"num_return_sequences\": 2}"
  echo "{\"id\": \"prefix\", \"input_ids\": $X1, \"decoder_input_ids\": [0, 5, 6], \"max_new_tokens\": 6}"
  echo "{\"id\": \"forced\", \"input_ids\": $X2, \"max_new_tokens\": 8, \"forced_bos_id\": 7}"
  echo "{\"id\": \"procs\", \"input_ids\": $X3, \"max_new_tokens\": 12, \"do_sample\": true, \"temperature\": 0.8, \"seed\": 5, \"top_k\": 10, \"repetition_penalty\": 1.3, \"no_repeat_ngram_size\": 2}"
  sed -n '/"id": "greedy-1"/p' "$fx/requests.jsonl"
  echo "{\"id\": \"gstream\", \"input_ids\": $X2, \"max_new_tokens\": 16, \"min_new_tokens\": 16, \"stream\": true}"
} > "$work/ref_in.jsonl"
batch_run "$work/ref_in.jsonl" "$work/ref.jsonl"
ref() { jq -c "select(.id == \"$1\" and (has(\"new_ids\") | not))" "$work/ref.jsonl"; } # final record
ref_ids() { ref "$1" | jq -c .output_ids; }
# stop_token_ids: the third token nat-1 generates stops it there
stop_tok=$(ref nat-1 | jq '.output_ids[2]')
bad_tok=$(ref nat-1 | jq '.output_ids[0]')
{
  echo "{\"id\": \"stop\", \"input_ids\": $X1, \"max_new_tokens\": 16, \"stop_token_ids\": [$stop_tok]}"
  echo "{\"id\": \"bad\", \"input_ids\": $X1, \"max_new_tokens\": 16, \"bad_words_ids\": [[$bad_tok]]}"
} > "$work/ref2_in.jsonl"
batch_run "$work/ref2_in.jsonl" "$work/ref2.jsonl"

serve_start main "$tp" "api_key: $key"
echo "server up at TP=$tp on port $port"
check "/metrics pool totals before any request are not the log's: $(curl -s "$url/metrics" | grep '^encdec_kv_.*total' | tr '\n' ' ') vs $(grep -m1 'KV pools per rank' "$server_log")" \
  pool_totals_match
check "KV blocks in use before any request" pools_idle

# --- completions: parity with the batch path ------------------------------------------------
echo "[$SECONDS s] completions: parity with the batch path"
# completion WHAT BODY EXPECTED_IDS_JSON FINISH PROMPT_TOKENS: one prompt, one choice
completion() {
  local what=$1 body=$2 want=$3 finish=$4 ptok=$5
  expect_status "$what" 200 POST /v1/completions "$body" || return
  check "$what: token_ids $(jq -c '.choices[0].token_ids' "$work/body"), batch path $want" \
    jq -e --argjson w "$want" '.choices | length == 1 and .[0].token_ids == $w and .[0].index == 0' "$work/body"
  check "$what: finish_reason $(jq -c '.choices[0].finish_reason' "$work/body"), expected $finish" \
    jq -e --arg f "$finish" '.choices[0].finish_reason == $f' "$work/body"
  check "$what: answer shape (id cmpl-, object text_completion, created, model m, text)" \
    jq -e '(.id | startswith("cmpl-")) and .object == "text_completion" and (.created | type == "number")
           and .model == "m" and (.choices[0].text | type == "string")' "$work/body"
  check "$what: usage $(jq -c .usage "$work/body"), expected prompt_tokens $ptok, completion_tokens $(jq length <<< "$want")" \
    jq -e --argjson w "$want" --argjson p "$ptok" \
      '.usage == {prompt_tokens: $p, completion_tokens: ($w | length), total_tokens: ($p + ($w | length))}' "$work/body"
}
finish_of() { ref "$1" | jq -r '.finish_reason | if . == "eos" then "stop" else . end'; }
for i in 0 1 2 3; do
  x=$(ids $i)
  n=$(jq length <<< "$x")
  completion "greedy prompt $i" "{\"model\": \"m\", \"prompt\": $x, \"max_tokens\": 16, \"temperature\": 0}" \
    "$(ref_ids nat-$i)" "$(finish_of nat-$i)" "$n"
  completion "min_tokens prompt $i" "{\"prompt\": $x, \"max_tokens\": 16, \"min_tokens\": 16, \"temperature\": 0}" \
    "$(ref_ids min-$i)" length "$n"
done
ref2() { jq -c "select(.id == \"$1\")" "$work/ref2.jsonl"; }
completion "stop_token_ids" "{\"prompt\": $X1, \"max_tokens\": 16, \"temperature\": 0, \"stop_token_ids\": [$stop_tok]}" \
  "$(ref2 stop | jq -c .output_ids)" stop "$(jq length <<< "$X1")"
checks=$((checks + 1))
[ "$(ref2 stop | jq -r .finish_reason)" = stop ] && [ "$(ref2 stop | jq '.output_ids | length')" = 3 ] ||
  fail "the stop_token_ids reference did not stop at its third token: $(ref2 stop)"
completion "bad_words_ids" "{\"prompt\": $X1, \"max_tokens\": 16, \"temperature\": 0, \"bad_words_ids\": [[$bad_tok]]}" \
  "$(ref2 bad | jq -c .output_ids)" "$(ref2 bad | jq -r '.finish_reason | if . == "eos" then "stop" else . end')" 5
completion "forced_bos_token_id" "{\"prompt\": $X2, \"max_tokens\": 8, \"temperature\": 0, \"forced_bos_token_id\": 7}" \
  "$(ref_ids forced)" "$(finish_of forced)" 13
completion "top_k, repetition_penalty, no_repeat_ngram_size with sampling" \
  "{\"prompt\": $X3, \"max_tokens\": 12, \"temperature\": 0.8, \"seed\": 5, \"top_k\": 10, \"repetition_penalty\": 1.3, \"no_repeat_ngram_size\": 2}" \
  "$(ref_ids procs)" "$(finish_of procs)" 23
completion "user is ignored" "{\"prompt\": $X1, \"max_tokens\": 16, \"temperature\": 0, \"user\": \"someone\"}" \
  "$(ref_ids nat-1)" "$(finish_of nat-1)" 5
completion "decoder_prompt (the start token added)" "{\"prompt\": $X1, \"max_tokens\": 6, \"temperature\": 0, \"decoder_prompt\": [5, 6]}" \
  "$(ref prefix | jq -c '.output_ids[2:]')" "$(finish_of prefix)" 5
# the decoder prefix is not part of the completion (native output_ids carry it)
completion "decoder_input_ids prefix" "{\"prompt\": $X1, \"max_tokens\": 6, \"temperature\": 0, \"decoder_input_ids\": [0, 5, 6]}" \
  "$(ref prefix | jq -c '.output_ids[2:]')" "$(finish_of prefix)" "$(jq length <<< "$X1")"

# several prompts: one choice per prompt, in order
expect_status "three prompts" 200 POST /v1/completions \
  "{\"prompt\": [$X0, $X1, $X2], \"max_tokens\": 16, \"temperature\": 0}" &&
  check "three prompts: choices differ from the batch path's nat-0..2" \
    jq -e --argjson a "$(ref_ids nat-0)" --argjson b "$(ref_ids nat-1)" --argjson c "$(ref_ids nat-2)" \
      '[.choices[] | {index, token_ids}] == [{index: 0, token_ids: $a}, {index: 1, token_ids: $b}, {index: 2, token_ids: $c}]
       and .usage.prompt_tokens == 19 and .usage.completion_tokens == ($a + $b + $c | length)' "$work/body"
# n samples: seeds seed, seed + 1; top_k off as OpenAI has none
expect_status "n=2 samples" 200 POST /v1/completions \
  "{\"prompt\": $X1, \"max_tokens\": 12, \"temperature\": 0.9, \"top_p\": 0.95, \"seed\": 11, \"n\": 2}" &&
  check "n=2 samples with seed 11: choices $(jq -c '[.choices[].token_ids]' "$work/body"), batch path $(ref_ids samp-11) $(ref_ids samp-12)" \
    jq -e --argjson a "$(ref_ids samp-11)" --argjson b "$(ref_ids samp-12)" \
      '[.choices[] | {index, token_ids}] == [{index: 0, token_ids: $a}, {index: 1, token_ids: $b}]' "$work/body"
# logprobs: 1 gives each token's log-probability (the native return_logprobs)
expect_status "logprobs" 200 POST /v1/completions \
  "{\"prompt\": $X2, \"max_tokens\": 8, \"temperature\": 0, \"logprobs\": 1}" &&
  check "logprobs: $(jq -c '.choices[0].logprobs' "$work/body" | head -c 300) vs batch $(ref lp | jq -c .logprobs)" \
    jq -e --argjson r "$(ref lp)" '.choices[0] as $c | ($c.token_ids == $r.output_ids) and
      ($c.logprobs.token_logprobs | length) == ($r.logprobs | length) and
      ([$c.logprobs.token_logprobs, $r.logprobs] | transpose | all(((.[0] - .[1]) | fabs) <= 1e-5 * (1 + (.[1] | fabs))))' "$work/body"
expect_status "logprobs 0" 200 POST /v1/completions \
  "{\"prompt\": $X2, \"max_tokens\": 8, \"temperature\": 0, \"logprobs\": 0}" &&
  check "logprobs 0: $(jq -c '.choices[0].logprobs' "$work/body" | head -c 300) vs batch $(ref lp | jq -c .logprobs)" \
    jq -e --argjson r "$(ref lp)" '.choices[0].logprobs.token_logprobs as $l | ($l | length) == ($r.logprobs | length) and
      ([$l, $r.logprobs] | transpose | all(((.[0] - .[1]) | fabs) <= 1e-5 * (1 + (.[1] | fabs))))' "$work/body"
# beam search: best_of beams, the best n returned
expect_status "beam search" 200 POST /v1/completions \
  "{\"prompt\": $X3, \"max_tokens\": 10, \"temperature\": 0, \"use_beam_search\": true, \"best_of\": 4, \"n\": 2}" &&
  check "beam search: choices $(jq -c '[.choices[].token_ids]' "$work/body"), batch path $(ref beam | jq -c '[.sequences[].output_ids]')" \
    jq -e --argjson r "$(ref beam)" '[.choices[].token_ids] == [$r.sequences[].output_ids]' "$work/body"

# OpenAI's defaults: temperature 1 (sampling), no seed, max_tokens 16
expect_status "sampling with the defaults (no temperature, no seed)" 200 POST /v1/completions "{\"prompt\": $X1}" &&
  check "sampling with the defaults: $(head -c 300 "$work/body")" \
    jq -e '(.choices[0].token_ids | length) >= 1 and (.choices[0].token_ids | length) <= 16' "$work/body"

# --- streaming -----------------------------------------------------------------------------
echo "[$SECONDS s] streaming"
# sse_check WHAT FILE [HEADERS]: FILE (a raw answer body) is SSE exactly: events `data: X`
# each followed by a blank line, nothing else, `data: [DONE]` last and only there; writes the
# chunks (a JSON array) to FILE.chunks. HEADERS (a header file): Content-Type text/event-stream.
sse_check() {
  local what=$1 f=$2 h=${3-}
  checks=$((checks + 1))
  if ! awk 'NR % 2 == 1 && !/^data: ./ { bad = 1 } NR % 2 == 0 && $0 != "" { bad = 1 }
            NR % 2 == 1 { prev_data = $0 }
            END { exit bad || NR % 2 != 0 || prev_data != "data: [DONE]" }' "$f"; then
    fail "$what: not SSE events ending with data: [DONE]: $(head -c 400 "$f")"
    return 1
  fi
  checks=$((checks + 1))
  [ "$(grep -c '^data: \[DONE\]$' "$f")" = 1 ] || { fail "$what: [DONE] more than once"; return 1; }
  checks=$((checks + 1))
  grep '^data: ' "$f" | sed '$d; s/^data: //' | jq -s -c . > "$f.chunks" 2>/dev/null ||
    { fail "$what: a data event that is not JSON"; return 1; }
  [ -z "$h" ] || grep -qi '^content-type: text/event-stream' "$h" ||
    fail "$what: Content-Type $(grep -i '^content-type' "$h")"
}
# stream_call WHAT BODY: a streamed completion into $work/stream (checked as SSE)
stream_call() {
  expect_status "$1" 200 POST /v1/completions "$2" -N || return 1
  cp "$work/body" "$work/stream"
  sse_check "$1" "$work/stream" "$work/headers"
}
for i in 0 3; do
  x=$(ids $i)
  if stream_call "streamed prompt $i" "{\"prompt\": $x, \"max_tokens\": 16, \"temperature\": 0, \"stream\": true}"; then
    check "streamed prompt $i: the chunks' token_ids do not concatenate to the batch path's $(ref_ids nat-$i)" \
      jq -e --argjson w "$(ref_ids nat-$i)" '[.[].choices[].token_ids[]] == $w' "$work/stream.chunks"
    check "streamed prompt $i: chunk shape (object text_completion, id cmpl-, choices[0].text/index)" \
      jq -e 'all(.object == "text_completion" and (.id | startswith("cmpl-")) and .model == "m"
                 and (.choices | length == 1) and (.choices[0].text | type == "string") and .choices[0].index == 0)' "$work/stream.chunks"
    check "streamed prompt $i: finish_reason only on the last chunk, $(finish_of nat-$i) there" \
      jq -e --arg f "$(finish_of nat-$i)" '(.[-1].choices[0].finish_reason == $f) and
         ([.[:-1][].choices[0].finish_reason] | all(. == null))' "$work/stream.chunks"
    check "streamed prompt $i: a usage chunk though include_usage was not asked" \
      jq -e 'all((.usage // null) == null)' "$work/stream.chunks"
  fi
done
if stream_call "streamed with include_usage" \
    "{\"prompt\": $X2, \"max_tokens\": 16, \"min_tokens\": 16, \"temperature\": 0, \"stream\": true, \"stream_options\": {\"include_usage\": true}}"; then
  check "include_usage: ids differ from the batch path's" \
    jq -e --argjson w "$(ref_ids min-2)" '[.[].choices[].token_ids[]] == $w' "$work/stream.chunks"
  check "include_usage: the last chunk is not {choices: [], usage: 13 + 16}: $(jq -c '.[-1]' "$work/stream.chunks")" \
    jq -e '.[-1].choices == [] and .[-1].usage == {prompt_tokens: 13, completion_tokens: 16, total_tokens: 29}
           and ([.[:-1][] | .usage // null] | all(. == null))' "$work/stream.chunks"
fi
if stream_call "streamed n=2 samples over 2 prompts" \
    "{\"prompt\": [$X1, $X1], \"max_tokens\": 12, \"temperature\": 0.9, \"top_p\": 0.95, \"seed\": 11, \"n\": 2, \"stream\": true}"; then
  # prompt-major: choices 0, 1 are prompt 0's samples (seeds 11, 12), 2, 3 prompt 1's
  for c in 0 1 2 3; do
    s=$((11 + c % 2))
    check "streamed samples: choice $c's ids differ from samp-$s's" \
      jq -e --argjson w "$(ref_ids samp-$s)" --argjson c $c '[.[].choices[] | select(.index == $c) | .token_ids[]] == $w' \
        "$work/stream.chunks"
  done
fi
expect_error "beam search cannot stream" 400 stream POST /v1/completions \
  "{\"prompt\": $X3, \"max_tokens\": 10, \"temperature\": 0, \"use_beam_search\": true, \"best_of\": 4, \"stream\": true}"

# --- embeddings ------------------------------------------------------------------------------
echo "[$SECONDS s] embeddings"
# close A_JSON B_JSON: two float arrays equal within 1e-5 relative
close() { jq -e -n --argjson a "$1" --argjson b "$2" '($a | length) == ($b | length) and ($a | length) > 0 and
  ([$a, $b] | transpose | all(((.[0] - .[1]) | fabs) <= 1e-5 * (1 + (.[1] | fabs))))' > /dev/null; }
if expect_status "embeddings" 200 POST /v1/embeddings "{\"model\": \"m\", \"input\": [$X0, $X1, $X2, $X3]}"; then
  cp "$work/body" "$work/emb_float"
  check "embeddings: answer shape" jq -e '.object == "list" and .model == "m" and (.data | length) == 4 and
    ([.data[] | .object == "embedding"] | all) and [.data[].index] == [0, 1, 2, 3] and
    .usage == {prompt_tokens: 42, total_tokens: 42}' "$work/emb_float"
  for i in 0 1 2 3; do
    checks=$((checks + 1))
    close "$(jq -c ".data[$i].embedding" "$work/emb_float")" "$(ref emb-$i | jq -c .encoder_output)" ||
      fail "embedding $i differs from the batch path's mean-pooled encoder output"
  done
fi
if expect_status "embeddings base64" 200 POST /v1/embeddings "{\"input\": [$X0, $X1, $X2, $X3], \"encoding_format\": \"base64\"}"; then
  for i in 0 1 2 3; do
    b64=$(jq -r ".data[$i].embedding" "$work/body")
    # little-endian fp32 (od reads the host order: little-endian here)
    floats=$(base64 -d <<< "$b64" | od -An -v -t f4 -w4 | awk '{ printf "%s%s", sep, $1; sep = "," }')
    checks=$((checks + 1))
    close "[$floats]" "$(jq -c ".data[$i].embedding" "$work/emb_float")" ||
      fail "base64 embedding $i decodes to [${floats:0:80}...], not the float answer"
  done
fi
expect_status "one embedding input" 200 POST /v1/embeddings "{\"input\": $X1}" &&
  check "one embedding input: not the batch path's" close "$(jq -c '.data[0].embedding' "$work/body")" "$(ref emb-1 | jq -c .encoder_output)"
expect_error "embeddings: dimensions refused" 400 dimensions POST /v1/embeddings "{\"input\": $X1, \"dimensions\": 8}"

# --- /generate: the native request and record ----------------------------------------------
echo "[$SECONDS s] /generate: the native request and record"
g1=$(sed -n '/"id": "greedy-1"/p' "$fx/requests.jsonl")
if expect_status "/generate" 200 POST /generate "$g1"; then
  check "/generate: the record differs from the batch path's (ids, finish_reason, logits)" \
    jq -e --argjson r "$(ref greedy-1)" '.id == $r.id and .output_ids == $r.output_ids and .finish_reason == $r.finish_reason
      and ([.logits, $r.logits] | transpose | all(transpose | all(((.[0] - .[1]) | fabs) <= 1e-4 * (1 + (.[1] | fabs)))))' "$work/body"
fi
expect_status "/generate without an id" 200 POST /generate "{\"input_ids\": $X0, \"max_new_tokens\": 16}" &&
  check "/generate without an id: no id made, or other ids" \
    jq -e --argjson w "$(ref_ids nat-0)" 'has("id") and .id != null and .output_ids == $w' "$work/body"
if expect_status "/generate streamed" 200 POST /generate "$(ref gstream | jq -c '{id} + {input_ids: '"$X2"', max_new_tokens: 16, min_new_tokens: 16, stream: true}')" -N; then
  cp "$work/body" "$work/gstream"
  if sse_check "/generate streamed" "$work/gstream" "$work/headers"; then
    jq -c '{id: .[0].id, new_ids: [.[:-1][].new_ids[]], final: .[-1]}' "$work/gstream.chunks" > "$work/gs_http"
    jq -s -c '{id: .[0].id, new_ids: [.[:-1][].new_ids[]], final: .[-1]}' <(grep '"gstream"' "$work/ref.jsonl") > "$work/gs_ref"
    check "/generate streamed: the native stream records differ from the batch path's ($(cat "$work/gs_http" | head -c 300))" \
      cmp -s "$work/gs_http" "$work/gs_ref"
  fi
fi
expect_error "/generate: a bad native field names it" 400 max_new_tokens POST /generate \
  "{\"input_ids\": $X0, \"max_new_tokens\": -3}"

# --- models, health, metrics ----------------------------------------------------------------
echo "[$SECONDS s] models, health, metrics"
expect_status "/v1/models" 200 GET /v1/models &&
  check "/v1/models: $(head -c 300 "$work/body")" jq -e '.object == "list" and (.data | length) == 1 and
    .data[0].id == "m" and .data[0].object == "model" and .data[0].owned_by == "encdec_tp" and
    (.data[0].created | type == "number") and .data[0].max_model_len > 0' "$work/body"
expect_status "/health" 200 GET /health && check "/health body $(cat "$work/body")" jq -e '. == {status: "ok"}' "$work/body"
# prom_check FILE: Prometheus text format 0.0.4: # HELP / # TYPE lines, samples `name{labels} value`
# whose family has a TYPE (histograms: _bucket with le, _sum, _count), numeric values
prom_check() {
  awk '
    /^# HELP [a-zA-Z_:][a-zA-Z0-9_:]* / { next }
    /^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$/ { type[$3] = $4; next }
    /^#/ { print "bad comment: " $0; bad = 1; next }
    /^$/ { next }
    {
      if (!match($0, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="[^"]*",?)*\})? [-+]?([0-9.]+([eE][-+]?[0-9]+)?|Inf|NaN)$/)) {
        print "bad sample: " $0; bad = 1; next }
      n = $0; sub(/[{ ].*/, "", n); fam = n
      if (!(fam in type)) { sub(/_(bucket|sum|count)$/, "", fam)
        if (type[fam] != "histogram") { print "no TYPE for " n; bad = 1 } }
      if (n ~ /_bucket$/ && $0 !~ /le="/) { print "bucket without le: " $0; bad = 1 }
      samples++
    }
    END { exit bad || samples < 10 }' "$1"
}
metrics_to() { curl -s --max-time 5 "$url/metrics" > "$1"; }
sample() { awk -v n="$2" '$1 == n { print $2; found = 1 } END { if (!found) print "absent" }' "$1"; }
metrics_to "$work/m0"
check "/metrics is not Prometheus text: $(prom_check "$work/m0" | head -3)" prom_check "$work/m0"
for s in encdec_requests_running encdec_requests_waiting encdec_kv_self_blocks_used encdec_kv_self_blocks_total \
         encdec_kv_cross_blocks_used encdec_kv_cross_blocks_total encdec_encoder_tokens_total encdec_decoder_tokens_total \
         'encdec_requests_finished_total{reason="length"}' 'encdec_http_responses_total{code="200"}' \
         encdec_time_to_first_token_seconds_count encdec_e2e_request_latency_seconds_count encdec_step_seconds_count; do
  checks=$((checks + 1))
  [ "$(sample "$work/m0" "$s")" != absent ] || fail "/metrics has no $s"
done
# one request of 5 encoder tokens (an input not sent before: the encoder cache cannot skip it)
# and 16 generated: the counters move by it
expect_status "metrics probe" 200 POST /v1/completions "{\"prompt\": [61, 62, 63, 64, 1], \"max_tokens\": 16, \"min_tokens\": 16, \"temperature\": 0}"
metrics_to "$work/m1"
delta() { awk -v a="$(sample "$work/m0" "$1")" -v b="$(sample "$work/m1" "$1")" 'BEGIN { print b - a }'; }
checks=$((checks + 5))
[ "$(delta encdec_encoder_tokens_total)" = 5 ] || fail "encoder tokens moved by $(delta encdec_encoder_tokens_total), expected 5"
[ "$(delta encdec_decoder_tokens_total)" -ge 16 ] || fail "decoder tokens moved by $(delta encdec_decoder_tokens_total), expected >= 16"
[ "$(delta 'encdec_requests_finished_total{reason="length"}')" = 1 ] || fail "finished{length} moved by $(delta 'encdec_requests_finished_total{reason="length"}'), expected 1"
# the /metrics call itself may count as a 200: 1 or 2
case $(delta 'encdec_http_responses_total{code="200"}') in 1|2) ;; *) fail "responses{200} moved by $(delta 'encdec_http_responses_total{code="200"}')";; esac
[ "$(delta encdec_e2e_request_latency_seconds_count)" = 1 ] || fail "the e2e histogram count moved by $(delta encdec_e2e_request_latency_seconds_count), expected 1"
checks=$((checks + 1))
[ "$(sample "$work/m1" encdec_kv_self_blocks_total)" -gt 0 ] && [ "$(sample "$work/m1" encdec_kv_cross_blocks_total)" -gt 0 ] ||
  fail "KV pool totals $(sample "$work/m1" encdec_kv_self_blocks_total) / $(sample "$work/m1" encdec_kv_cross_blocks_total)"

# --- errors ----------------------------------------------------------------------------------
echo "[$SECONDS s] errors"
expect_error "max_tokens -1" 400 max_tokens POST /v1/completions "{\"prompt\": $X1, \"max_tokens\": -1}"
expect_error "temperature -1" 400 temperature POST /v1/completions "{\"prompt\": $X1, \"temperature\": -1}"
expect_error "top_p 2" 400 top_p POST /v1/completions "{\"prompt\": $X1, \"top_p\": 2}"
expect_error "a token outside the vocabulary" 400 prompt POST /v1/completions "{\"prompt\": [5, 100000, 1]}"
expect_error "an empty prompt" 400 prompt POST /v1/completions "{\"prompt\": [], \"temperature\": 0}"
expect_error "no prompt" 400 prompt POST /v1/completions "{\"max_tokens\": 3}"
expect_error "a text prompt without a tokenizer" 400 prompt POST /v1/completions "{\"prompt\": \"hello\"}"
expect_error "stop strings without a tokenizer" 400 stop POST /v1/completions "{\"prompt\": $X1, \"stop\": [\"x\"]}"
expect_error "echo" 400 echo POST /v1/completions "{\"prompt\": $X1, \"echo\": true}"
expect_error "presence_penalty" 400 presence_penalty POST /v1/completions "{\"prompt\": $X1, \"presence_penalty\": 0.5}"
expect_error "logprobs 5" 400 logprobs POST /v1/completions "{\"prompt\": $X1, \"logprobs\": 5}"
expect_error "a prompt over max_input_len" 400 prompt POST /v1/completions "{\"prompt\": [$(seq -s, 3 50)], \"temperature\": 0}"
expect_error "max_tokens over max_output_len" 400 max_tokens POST /v1/completions "{\"prompt\": $X1, \"max_tokens\": 5000, \"temperature\": 0}"
expect_error "an unknown field" 400 frobnicate POST /v1/completions "{\"prompt\": $X1, \"frobnicate\": 1}"
expect_error "bad JSON" 400 - POST /v1/completions '{"prompt": [1, 2'
expect_error "a JSON array body" 400 - POST /v1/completions "[1, 2]"
auth= expect_error "no key" 401 - POST /v1/completions "{\"prompt\": $X1}"
auth="Authorization: Bearer wrong" expect_error "a wrong key" 401 - POST /v1/completions "{\"prompt\": $X1}"
auth="Authorization: Basic $key" expect_error "the key not as Bearer" 401 - POST /v1/completions "{\"prompt\": $X1}"
auth="Authorization: Bearer wrong" expect_error "a wrong key on /v1/models" 401 - GET /v1/models
auth="Authorization: Bearer wrong" expect_error "a wrong key on /v1/embeddings" 401 - POST /v1/embeddings "{\"input\": $X1}"
auth="Authorization: Bearer wrong" expect_error "a wrong key on /generate" 401 - POST /generate "{\"input_ids\": $X1}"
auth= expect_status "/health needs no key" 200 GET /health
auth= expect_status "/metrics needs no key" 200 GET /metrics
expect_error "an unknown route" 404 - GET /v1/nothing
expect_error "an unknown POST route" 404 - POST /v1/chat/nothing "{}"
expect_error "another model" 404 model POST /v1/completions "{\"model\": \"gpt-4\", \"prompt\": $X1}"
expect_error "another model, embeddings" 404 model POST /v1/embeddings "{\"model\": \"gpt-4\", \"input\": $X1}"
expect_error "GET /v1/completions" 405 - GET /v1/completions
expect_error "POST /v1/models" 405 - POST /v1/models "{}"
expect_error "DELETE /generate" 405 - DELETE /generate
ctype=text/plain expect_error "a text/plain body" 415 - POST /v1/completions "{\"prompt\": $X1}"
ctype=application/x-www-form-urlencoded expect_error "a form body" 415 - POST /v1/completions "{\"prompt\": $X1}"
ctype="application/json; charset=utf-8" expect_status "application/json with a charset" 200 POST /v1/completions \
  "{\"prompt\": $X1, \"max_tokens\": 2, \"temperature\": 0}"
ctype= expect_error "no content type" 415 - POST /v1/completions "{\"prompt\": $X1}"
head -c 10485760 /dev/zero | tr '\0' ' ' > "$work/big.json"
expect_error "a 10 MB body" 413 - POST /v1/completions "@$work/big.json"
# max_body_bytes is 1 MiB: a body of exactly 1 MiB (spaces before the JSON) is read, one byte more
# is 413, also when sent chunked (no Content-Length to refuse it by)
small="{\"prompt\": $X1, \"max_tokens\": 2, \"temperature\": 0}"
{ head -c $((1048576 - ${#small})) /dev/zero | tr '\0' ' '; printf '%s' "$small"; } > "$work/mib.json"
expect_status "a body of exactly max_body_bytes" 200 POST /v1/completions "@$work/mib.json"
{ printf ' '; cat "$work/mib.json"; } > "$work/mib1.json"
expect_error "a body of max_body_bytes + 1" 413 - POST /v1/completions "@$work/mib1.json"
expect_error "a chunked body over max_body_bytes" 413 - POST /v1/completions "@$work/mib1.json" -H "Transfer-Encoding: chunked"
# the server still answers after each of those
completion "greedy after the errors" "{\"prompt\": $X1, \"max_tokens\": 16, \"temperature\": 0}" \
  "$(ref_ids nat-1)" "$(finish_of nat-1)" 5

# --- bad HTTP while a normal client is served ----------------------------------------------
echo "[$SECONDS s] bad HTTP while a normal client is served"
# raw BYTES: one connection gets BYTES (printf %b); prints the status line answered, "closed"
# (closed without an answer) or "no answer in 2 s"
raw() {
  local fd line
  trap '' PIPE # the server may close while we write
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" || { echo "connect failed"; return; }
  printf '%b' "$1" >&$fd 2>/dev/null
  if IFS= read -r -t 2 line <&$fd; then echo "${line%$'\r'}"
  elif [ $? -gt 128 ]; then echo "no answer in 2 s"
  else echo "closed"; fi
  exec {fd}>&-
}
# bad_http WHAT ANSWER: a 4xx (or 505 for a version) status line, or a closed connection
bad_http() {
  checks=$((checks + 1))
  echo "bad HTTP: $1: $2"
  case $2 in "HTTP/1."[01]" 4"[0-9][0-9]*|"HTTP/1."[01]" 505"*|closed) ;; *) fail "$1: answered '$2', expected a 4xx or a closed connection";; esac
}
bad_http "a malformed request line" "$(raw 'GET\r\n\r\n')"
bad_http "an unknown HTTP version" "$(raw 'GET /health HTTP/9.9\r\nHost: x\r\n\r\n')"
bad_http "a bad Content-Length" "$(raw "POST /v1/completions HTTP/1.1\r\nHost: x\r\n$auth\r\nContent-Type: application/json\r\nContent-Length: abc\r\n\r\n{}")"
bad_http "a header line without a colon" "$(raw 'GET /health HTTP/1.1\r\nHost: x\r\nnonsense\r\n\r\n')"
bad_http "a 200 KB header" "$(raw "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: $(head -c 200000 /dev/zero | tr '\0' a)\r\n\r\n")"
bad_http "a 200 KB URL" "$(raw "GET /$(head -c 200000 /dev/zero | tr '\0' a) HTTP/1.1\r\nHost: x\r\n\r\n")"
# garbage bytes: any answer, or none (held open), is fine as long as others are served (below)
echo "bad HTTP: garbage bytes: $(raw '\x00\xff\xfe garbage \x01\x02\r\n\r\n')"
# held open while a normal request is served: half-open clients (headers never finished, a
# body never finished), connections that say nothing, and ones that sent garbage
holders=()
for i in $(seq 6); do
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" && holders+=("$fd")
  printf 'POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Ty' >&$fd
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" && holders+=("$fd")
  printf 'POST /v1/completions HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"prompt": [' "$auth" >&$fd
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" && holders+=("$fd")
  exec {fd}<>"/dev/tcp/127.0.0.1/$port" && holders+=("$fd")
  printf '\x00\xff\xfe garbage \x01\x02\r\n' >&$fd
done
t0=$(date +%s.%N)
completion "greedy while 24 bad connections hang" "{\"prompt\": $X2, \"max_tokens\": 16, \"temperature\": 0}" \
  "$(ref_ids nat-2)" "$(finish_of nat-2)" 13
expect_status "/health while bad connections hang" 200 GET /health
t1=$(date +%s.%N)
checks=$((checks + 1))
awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 5) }' || fail "served in $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s while bad connections hung"
for fd in "${holders[@]}"; do exec {fd}>&-; done

# --- disconnects cancel --------------------------------------------------------------------
echo "[$SECONDS s] disconnects cancel"
# 2 non-streamed requests of 4,000 tokens whose clients are ended once both run, and 6 streamed
# ones whose clients leave after their first event: 32,000 decoder tokens (seconds of work) if
# nothing were cancelled
metrics_to "$work/d0"
finished_sum() { awk '/^encdec_requests_finished_total/ { s += $2 } END { print s + 0 }' "$1"; }
long="\"max_tokens\": 4000, \"min_tokens\": 4000, \"temperature\": 0"
plain=()
for i in 1 2; do
  curl -s -o /dev/null --max-time 60 -H "$auth" -H 'Content-Type: application/json' \
    --data-binary "{\"prompt\": $X1, $long}" "$url/v1/completions" &
  plain+=($!)
done
check "2 non-streamed requests not running within 30 s" wait_metric encdec_requests_running 2 30
kill "${plain[@]}"
for i in $(seq 6); do
  ( curl -s -N --max-time 60 -H "$auth" -H 'Content-Type: application/json' \
      --data-binary "{\"prompt\": $X1, $long, \"stream\": true}" "$url/v1/completions" | head -c 100 > /dev/null ) &
done
wait_jobs
t0=$SECONDS
until metrics_to "$work/d1"; [ $(($(finished_sum "$work/d1") - $(finished_sum "$work/d0"))) -ge 8 ]; do
  [ $((SECONDS - t0)) -lt 30 ] || break
  sleep 0.05
done
cp "$work/d0" "$work/m0"; cp "$work/d1" "$work/m1"
decoded=$(delta encdec_decoder_tokens_total)
echo "disconnects: $decoded decoder tokens of 32000 asked, $(delta 'encdec_requests_finished_total{reason="abort"}') finished as abort, in $((SECONDS - t0)) s after the clients left"
checks=$((checks + 2))
[ $(($(finished_sum "$work/d1") - $(finished_sum "$work/d0"))) = 8 ] ||
  fail "the 8 requests of clients that left were not all finished 30 s later: $(grep '^encdec_requests_' "$work/d1" | tr '\n' ' ')"
[ "$decoded" -lt 16000 ] || fail "disconnected clients' requests were decoded on: $decoded decoder tokens of 32000"
check "KV blocks or requests still in use (/metrics) after every client left and its request finished: $(grep -E '^encdec_(kv_.*used|requests_(running|waiting))' "$work/d1" | tr '\n' ' ')" \
  pools_idle
completion "greedy after the disconnects" "{\"prompt\": $X1, \"max_tokens\": 16, \"temperature\": 0}" \
  "$(ref_ids nat-1)" "$(finish_of nat-1)" 5

# --- the drain -------------------------------------------------------------------------------
echo "[$SECONDS s] the drain"
# 8 streamed requests of 1,500 tokens (one batch of 8, at least 4.5 s), all running (their 200 headers, sent
# with the first token, arrived), then the drain signal: /health and new calls 503 while they
# run, all 8 complete in full (data: [DONE] last), the server exits 0 with its pools free
long="\"max_tokens\": 1500, \"min_tokens\": 1500, \"temperature\": 0"
for i in $(seq 8); do
  curl -s -N -D "$work/dr$i.headers" -o "$work/dr$i.body" -w '%{http_code}' --max-time 120 -H "$auth" \
    -H 'Content-Type: application/json' --data-binary "{\"prompt\": $X1, $long, \"stream\": true}" \
    "$url/v1/completions" > "$work/dr$i.code" &
done
# accepted N T PREFIX: N of the header files $work/PREFIX*.headers say 200 within T seconds
# (libmicrohttpd sends a stream's headers with its first chunk: a request running)
accepted() {
  local t0=$SECONDS
  until [ "$(cat "$work"/$3*.headers 2>/dev/null | grep -c '^HTTP/1.1 200')" -ge "$1" ]; do
    [ $((SECONDS - t0)) -lt "$2" ] || return 1
    sleep 0.02
  done
}
done_count() { grep -l '^data: \[DONE\]' "$work"/$1*.body 2>/dev/null | wc -l; }
check "8 streamed requests not all running within 30 s" accepted 8 30 dr
serve_signal
expect_status "/health while draining" 503 GET /health &&
  check "/health body while draining: $(cat "$work/body")" jq -e '. == {status: "draining"}' "$work/body"
expect_error "a new completion while draining" 503 - POST /v1/completions "{\"prompt\": $X1, \"max_tokens\": 4, \"temperature\": 0}"
expect_error "a new /generate while draining" 503 - POST /generate "{\"input_ids\": $X1}"
checks=$((checks + 1))
[ "$(done_count dr)" -lt 8 ] || fail "every request had finished before the drain checks were done (they prove nothing)"
wait_jobs
for i in $(seq 8); do
  checks=$((checks + 1))
  if [ "$(cat "$work/dr$i.code")" != 200 ]; then
    fail "request $i, in flight at the drain signal: status $(cat "$work/dr$i.code"): $(head -c 200 "$work/dr$i.body")"
  elif sse_check "request $i, in flight at the drain signal" "$work/dr$i.body" "$work/dr$i.headers"; then
    check "request $i, in flight at the drain signal, did not complete its 1500 tokens: $(tail -c 300 "$work/dr$i.body")" \
      jq -e '([.[].choices[].token_ids[]] | length == 1500) and .[-1].choices[0].finish_reason == "length"' "$work/dr$i.body.chunks"
  fi
done
serve_wait 60
check "the drained server's log has no 'KV pools at the end' line with every block free" pools_end_free "$server_log"

# --- 429: max_queue -----------------------------------------------------------------------------
echo "[$SECONDS s] 429: max_queue"
# max_queue 3: while 3 requests of 1,500 tokens (at least 4.5 s) run a 4th gets 429; once they are done a
# request is served again. The cross pool capped at 48 tokens (3 blocks) with max_input_len 64:
# a prompt of 60 ids can never fit, and is answered with an error (400 before a stream starts,
# or an error event in it before data: [DONE])
sed -i 's/^max_input_len: 40/max_input_len: 64/' "$work/run.yaml"
serve_start queue "$tp" "max_queue: 3" "max_cross_kv_tokens: 48" "http_threads_max: 4"
auth=
huge="{\"prompt\": [$(seq -s, 2 61)], \"max_tokens\": 4, \"temperature\": 0"
expect_error "a request that can never fit the pools" 400 - POST /v1/completions "$huge}"
code=$(call POST /v1/completions "$huge, \"stream\": true}" -N)
checks=$((checks + 1))
if [ "$code" = 400 ]; then
  jq -e '.error.message' "$work/body" > /dev/null || fail "a streamed request that can never fit: 400 without an error object"
elif [ "$code" = 200 ]; then
  cp "$work/body" "$work/huge"
  sse_check "a streamed request that can never fit" "$work/huge" "$work/headers" &&
    check "a streamed request that can never fit: no error event before [DONE]: $(head -c 300 "$work/huge")" \
      jq -e 'any(.[]; .error.message | type == "string")' "$work/huge.chunks"
else
  fail "a streamed request that can never fit: status $code: $(head -c 200 "$work/body")"
fi
echo "a streamed request that can never fit: $code $(head -c 300 "$work/body")"
long="\"max_tokens\": 1500, \"min_tokens\": 1500, \"temperature\": 0"
for i in 1 2 3; do
  curl -s -N -D "$work/q$i.headers" -o "$work/q$i.body" -w '%{http_code}' --max-time 60 -H 'Content-Type: application/json' \
    --data-binary "{\"prompt\": $X1, $long, \"stream\": true}" "$url/v1/completions" > "$work/q$i.code" &
done
check "3 streamed requests not all running within 30 s" accepted 3 30 q
expect_error "a 4th request with max_queue 3" 429 - POST /v1/completions "{\"prompt\": $X1, \"max_tokens\": 4, \"temperature\": 0}"
checks=$((checks + 1))
[ "$(done_count q)" -lt 3 ] || fail "the 3 requests had finished before the 429 check (it proves nothing)"
wait_jobs
for i in 1 2 3; do
  checks=$((checks + 1))
  [ "$(cat "$work/q$i.code")" = 200 ] && grep -q '^data: \[DONE\]' "$work/q$i.body" ||
    fail "queued request $i: status $(cat "$work/q$i.code"), $(tail -c 100 "$work/q$i.body")"
done
completion "greedy after the queue emptied" "{\"prompt\": $X1, \"max_tokens\": 16, \"temperature\": 0}" \
  "$(ref_ids nat-1)" "$(finish_of nat-1)" 5
# http_threads_max 4: with 4 silent connections open a 5th client waits in the listen queue,
# and is served once they close (within 5 s, not the 30 s connection timeout). The client is
# started with the holders' descriptors closed: a copy of them would keep the sockets open.
holders=()
for i in 1 2 3 4; do exec {fd}<>"/dev/tcp/127.0.0.1/$port" && holders+=("$fd"); done
(
  for fd in "${holders[@]}"; do exec {fd}>&-; done
  exec curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$url/health" > "$work/waiter.code"
) &
waiter=$!
sleep 0.5
checks=$((checks + 1))
[ ! -s "$work/waiter.code" ] || fail "http_threads_max 4: a 5th client was answered while 4 connections held every slot"
for fd in "${holders[@]}"; do exec {fd}>&-; done
t0=$(date +%s.%N)
wait "$waiter"
t1=$(date +%s.%N)
checks=$((checks + 1))
[ "$(cat "$work/waiter.code")" = 200 ] && awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 5) }' ||
  fail "http_threads_max: a client queued behind 4 silent connections got $(cat "$work/waiter.code") $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s after they closed"
serve_stop 60
check "the queue server's log has no 'KV pools at the end' line with every block free" pools_end_free "$server_log"
checks=$((checks + 1))
! pgrep -f "$work/" > /dev/null || fail "a process of the test's servers is still running: $(pgrep -af "$work/")"

echo "$name: $checks checks, $failures failed"
if [ "$failures" != 0 ]; then # the servers' own account, for a failure seen only elsewhere (CI)
  for f in "$work"/*.log; do echo "--- the last lines of $f"; tail -n 15 "$f"; done
fi
[ "$failures" = 0 ]
