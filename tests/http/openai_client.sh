#!/bin/bash
# The official OpenAI Node client (tests/http/openai_client.mjs, npm `openai` as pinned in
# tests/http/package-lock.json: `npm ci --prefix tests/http`, which launch/run_tests.sh runs)
# against the server at TP (1, the default, or 2: mpirun) with an API key and max_queue 4;
# outputs compared with the JSON Lines path's at TP=1; the server drains and exits 0 with its
# pools free.
# usage: openai_client.sh BUILD_DIR FIXTURES_DIR [TP]
set -uo pipefail
build=$1 fixtures=$2 tp=${3:-1}
name=http_openai_tp$tp
here=$(cd "$(dirname "$0")" && pwd)
source "$here/../test_lib.sh"
source "$here/serve_lib.sh"
command -v node > /dev/null || { echo "FAIL node is needed (launch/install_deps.sh installs nodejs)"; exit 1; }
[ -f "$here/node_modules/openai/package.json" ] ||
  { echo "FAIL the openai package is not installed: run npm ci --prefix tests/http"; exit 1; }
convert_fixture t5_v1_1_untied
# every step that decodes takes at least 3 ms (common/test_delay.h): the client's 4 long streams
# (1,500 tokens, at least 4.5 s) still run when its 5th call checks max_queue
export ENCDEC_TEST_STEP_DELAY_MS=3
key=test-key-$RANDOM
printf 'model: %s\nmax_batch_size: 8\nmax_input_len: 40\nmax_output_len: 1500\n' "$work/m.h5" > "$work/run.yaml"
# the requests the client sends, for the JSON Lines path (ids as openai_client.mjs names them)
ids() { sed -n "/\"id\": \"greedy-$1\"/p" "$fx/requests.jsonl" | sed -E 's/.*"input_ids": (\[[^]]*\]).*/\1/'; }
{
  for i in 0 1 2 3; do
    echo "{\"id\": \"nat-$i\", \"input_ids\": $(ids $i), \"max_new_tokens\": 16}"
    echo "{\"id\": \"min-$i\", \"input_ids\": $(ids $i), \"max_new_tokens\": 16, \"min_new_tokens\": 16}"
    echo "{\"id\": \"emb-$i\", \"input_ids\": $(ids $i), \"encode_only\": true, \"pooling\": \"mean\"}"
  done
  for s in 11 12; do
    echo "{\"id\": \"samp-$s\", \"input_ids\": $(ids 1), \"max_new_tokens\": 12, \"do_sample\": true, \"temperature\": 0.9, \"top_p\": 0.95, \"top_k\": 0, \"seed\": $s}"
  done
  echo "{\"id\": \"lp\", \"input_ids\": $(ids 2), \"max_new_tokens\": 8, \"return_logprobs\": true}"
} > "$work/ref_in.jsonl"
"$build/encdec_tp" --config "$work/run.yaml" --requests "$work/ref_in.jsonl" --output "$work/ref.jsonl" \
  2> "$work/ref.log" || { echo "FAIL the JSON Lines run exited non-zero: $(tail -3 "$work/ref.log")"; exit 1; }
serve_start main "$tp" "api_key: $key" "max_queue: 4"
node "$here/openai_client.mjs" "$url" "$key" m "$work/ref_in.jsonl" "$work/ref.jsonl" || failures=$((failures + 1))
serve_stop
checks=$((checks + 1))
pools_end_free "$server_log" || fail "the server's log has no 'KV pools at the end' line with every block free"
echo "$name: $checks checks (besides the client's), $failures failed"
[ "$failures" = 0 ]
