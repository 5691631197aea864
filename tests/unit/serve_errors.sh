#!/bin/bash
# encdec_tp must answer bad requests with an error naming the field while serving the rest, and
# refuse bad configs and TP sizes with a message naming the key or field, without hanging.
# usage: serve_errors.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
name=serve_errors ENCDEC_LOG=warn
source "$(dirname "$0")/../test_lib.sh"
convert_fixture t5_v1_0_tied
write_run_yaml 2
# serve_expect_3 NAME: serves $work/NAME.jsonl into $work/NAME.out and expects exit status 3 (the
# run completed, some requests were answered with errors: README); counts one check.
serve_expect_3() {
  mpirun -n 1 "$build/encdec_tp" --config "$work/run.yaml" --requests "$work/$1.jsonl" \
    --output "$work/$1.out"
  local rc=$?
  checks=$((checks + 1))
  [ "$rc" = 3 ] || fail "$1 run: exit status $rc, expected 3 (some requests failed)"
}

# 1. Good and bad requests interleaved: every good one is answered correctly.
{
  sed -n 1,3p "$fx/requests.jsonl"
  echo 'this is not json'
  echo '{"id": "oov", "input_ids": [5, 96]}'
  echo '{"input_ids": [5]}'
  echo '{"id": "typo", "input_ids": [5], "max_new_token": 3}'
  echo '{"id": "long", "input_ids": ['"$(seq -s, 2 50)"']}'
  sed -n '4,$p' "$fx/requests.jsonl"
} > "$work/mixed.jsonl"
checks=$((checks + 1))
serve_expect_3 mixed
"$build/golden_check" "$fx/expected.jsonl" "$work/mixed.out" > "$work/golden.log" || fail "good requests: $(tail -1 "$work/golden.log")"
for needle in '"line":4' 'input_ids[1]: token id 96 is outside' 'field id is required' \
              'unknown field max_new_token' 'exceed max_input_len 40'; do
  checks=$((checks + 1))
  grep -qF "$needle" "$work/mixed.out" || fail "no error response containing '$needle'"
done
checks=$((checks + 1))
[ "$(grep -c '"error"' "$work/mixed.out")" = 5 ] || fail "expected 5 error responses"

# 2. Hostile lines among good ones (issue "Hostile inputs and faults", items 3, 6, 8, 10): every
# non-blank line gets exactly one record, the good ones their exact results, each hostile one an
# error naming its line (and its id where that reads cleanly); the output is valid UTF-8 JSON.
{
  sed -n 1,3p "$fx/requests.jsonl"
  printf '\0{"id": "nul-first", "input_ids": [5]}\n'                                     # line 4
  echo '{"id": "two-a", "input_ids": [5]}{"id": "two-b", "input_ids": [5]}'             # 5
  echo '{"id": "trail", "input_ids": [5]} garbage'                                      # 6
  echo '{"id": "dup", "input_ids": [5], "max_new_tokens": 2, "max_new_tokens": 3}'      # 7
  echo '{"id": "temp", "input_ids": [5], "do_sample": true, "temperature": 1e-40}'      # 8
  echo '{"id": "rep", "input_ids": [5], "repetition_penalty": 1e-300}'                  # 9
  printf '{"id": "bad\xff", "input_ids": [5]}\n'                                         # 10
  echo '{"id": 1.5, "input_ids": [5]}'                                                  # 11
  echo '{"id": "a\u0000b", "input_ids": [5]}'                                           # 12
  printf '   \r\n\n'                                                                     # 13, 14: blank
  printf '{"id": "x", "input_ids": [5], "pooling": "\xc3\x28"}\n'                         # 15
  printf '{"id": "huge", "input_ids": ['; head -c 2000000 /dev/zero | tr '\0' '5'; printf ']}\n' # 16
  sed -n '4,$p' "$fx/requests.jsonl"
} > "$work/hostile.jsonl"
checks=$((checks + 1))
serve_expect_3 hostile
"$build/golden_check" "$fx/expected.jsonl" "$work/hostile.out" > "$work/hostile.log" 2>&1 ||
  fail "hostile: good requests or valid JSON: $(tail -1 "$work/hostile.log")"
for needle in '{"id":"nul-first","error":{"message":"line 4: a NUL byte at column 1"' \
              '{"id":"two-a","error":{"message":"line 5: trailing text after the JSON object at column 34"' \
              '{"id":"trail","error":{"message":"line 6: trailing text after the JSON object at column 35"' \
              '{"id":"dup","error":{"message":"line 7: field max_new_tokens appears twice"' \
              '{"id":"temp","error":{"message":"line 8: field temperature: 1e-40 is below the smallest normal float' \
              '{"id":"rep","error":{"message":"line 9: field repetition_penalty: 1e-300 is below the smallest normal float' \
              '{"id":null,"error":{"message":"line 10: field id holds invalid UTF-8 at column 12"' \
              '{"id":null,"error":{"message":"line 11: field id must be a string or an integer' \
              '{"id":null,"error":{"message":"line 12: field id holds \\u0000 (a NUL character)' \
              '{"id":"x","error":{"message":"line 15: field pooling holds invalid UTF-8 at column 43"' \
              '{"id":null,"error":{"message":"line 16: the request holds 2000031 bytes, more than max_request_bytes (1048576); refused unread"'; do
  checks=$((checks + 1))
  grep -qF -- "$needle" "$work/hostile.out" || fail "hostile: no record starting '$needle'"
done
checks=$((checks + 3))
[ "$(grep -c '"error"' "$work/hostile.out")" = 11 ] || fail "hostile: expected 11 error records"
lines_in=$(LC_ALL=C grep -a -c -v $'^[ \t\r]*$' "$work/hostile.jsonl")
[ "$(wc -l < "$work/hostile.out")" = "$lines_in" ] ||
  fail "hostile: $(wc -l < "$work/hostile.out") records for $lines_in non-blank lines"
iconv -f UTF-8 -t UTF-8 "$work/hostile.out" > /dev/null 2>&1 || fail "hostile: output is not UTF-8"

# expect_refusal NAME RANKS NEEDLE ARGS...: the run fails, says NEEDLE, leaves no output file.
expect_refusal() {
  local name=$1 ranks=$2 needle=$3; shift 3
  checks=$((checks + 1))
  if timeout 120 mpirun --oversubscribe -n "$ranks" "$build/encdec_tp" \
       --requests "$fx/requests.jsonl" --output "$work/$name.out" "$@" >"$work/$name.log" 2>&1; then
    fail "$name: succeeded"; return
  fi
  [ $? = 124 ] && fail "$name: hung"
  grep -qF -- "$needle" "$work/$name.log" || { fail "$name: no '$needle' in:"; cat "$work/$name.log"; }
  compgen -G "$work/$name.out*" >/dev/null && fail "$name: left an output file"
}
printf 'model: %s\nmax_batch: 3\n' "$work/m.h5" > "$work/unknown_key.yaml"
expect_refusal unknown_key 1 "unknown_key.yaml:2: unknown config key 'max_batch'" --config "$work/unknown_key.yaml"
printf 'model: %s\ntp: 2\n' "$work/m.h5" > "$work/tp2.yaml"
expect_refusal tp_ranks 1 "key 'tp' is 2 but mpirun started 1 ranks" --config "$work/tp2.yaml"
printf 'model: %s\ntp: 3\n' "$work/m.h5" > "$work/tp3.yaml"
expect_refusal tp_heads 3 "num_heads=4 does not divide by tp=3" --config "$work/tp3.yaml"
printf 'model: %s/missing.h5\ntp: 2\n' "$work" > "$work/missing.yaml"
expect_refusal missing_model 2 "model file $work/missing.h5: no such file" --config "$work/missing.yaml"
printf 'model: %s\nbackend: cuda\n' "$work/m.h5" > "$work/cuda.yaml"
expect_refusal cuda_backend 1 "key 'backend'" --config "$work/cuda.yaml"
expect_refusal no_requests 1 "requests /nonexistent.jsonl: cannot open" --config "$work/run.yaml" --requests /nonexistent.jsonl

# Learned positions bound the lengths (BART: max_position_embeddings 64 in the fixture).
"$build/encdec_convert" --quiet --hf "$fixtures/bart_small" --out "$work/bart.h5" || exit 1
printf 'model: %s\nmax_input_len: 100\n' "$work/bart.h5" > "$work/bart_long.yaml"
expect_refusal bart_positions 1 "key 'max_input_len' (100) exceeds the model's max_position_embeddings (64)" --config "$work/bart_long.yaml"

echo "serve_errors: $checks checks, $failures failed"
[ $failures = 0 ]
