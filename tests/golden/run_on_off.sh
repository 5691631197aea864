#!/bin/bash
# A speed switch must not change answers. Runs a fixture's golden requests with KEY on and off:
# the responses must be byte-identical, "on" must have used the feature (its counter in the
# summary line is > 0, "off"'s is 0), and "on" must match HF.
#   device_argmax: greedy tokens picked on the backend, and with SET = beam_ (the fixture's beam
#                  requests) beam steps from each beam's top 2W scores picked there. The
#                  requests lose return_logits so that more steps qualify; HF's ids are checked
#                  (golden_check --ids-only). Beam scores are sums of log-softmax values whose
#                  normalizer is summed in another order on the device (and per vocabulary
#                  slice over ranks): for beam_ the responses must be identical except the
#                  "score" values, which must agree within 1e-6 + 1e-5 relative.
#   cuda_graphs:   decoder steps replayed from recorded graphs (cuda backend); logits checked.
# usage: run_on_off.sh BUILD_DIR FIXTURE_DIR TP BACKEND KEY [SET: "" | beam_]
set -euo pipefail
build=$1 fixture=$2 tp=$3 backend=$4 key=$5 set=${6:-}
name=on_off
source "$(dirname "$0")/../test_lib.sh"
source "$(dirname "$0")/golden_lib.sh"
"$build/encdec_convert" --quiet --hf "$fixture" --out "$work/model.h5"
case "$key" in
  device_argmax)
    sed 's/, "return_logits": true//' "$fixture/${set}requests.jsonl" > "$work/requests.jsonl"
    counter='[0-9]* with tokens picked on the device' check=(--ids-only) ;;
  cuda_graphs)
    cp "$fixture/requests.jsonl" "$work/requests.jsonl"
    counter='[0-9]* replayed from' check=(--tol 1e-3) ;;
  *) echo "run_on_off: unknown KEY $key"; exit 2 ;;
esac
for mode in on off; do
  { golden_config "$work/model.h5" "$backend" fp32 "$tp"; echo "$key: $mode"; } > "$work/$mode.yaml"
  ENCDEC_LOG=info mpirun --oversubscribe -n "$tp" "$build/encdec_tp" --config "$work/$mode.yaml" \
    --requests "$work/requests.jsonl" --output "$work/$mode.jsonl" 2> "$work/$mode.log"
done
count() { grep -o "$counter" "$work/$1.log" | tail -1 | grep -o '^[0-9]*'; }
[ "$(count on)" -gt 0 ] || fail "$key: on, but its counter is 0: $(grep summary "$work/on.log")"
[ "$(count off)" = 0 ] || fail "$key: off, but its counter is $(count off)"
scores() { grep -o '"score":[-0-9.e+]*' "$1" | cut -d: -f2; }
if [ "$set" = beam_ ]; then
  sed 's/"score":[-0-9.e+]*/"score":_/g' "$work/on.jsonl" > "$work/on.ids"
  sed 's/"score":[-0-9.e+]*/"score":_/g' "$work/off.jsonl" > "$work/off.ids"
  cmp -s "$work/on.ids" "$work/off.ids" || fail "responses (scores aside) differ between $key on and off"
  paste <(scores "$work/on.jsonl") <(scores "$work/off.jsonl") |
    awk '{d = $1 - $2; if (d < 0) d = -d; a = $2 < 0 ? -$2 : $2; if (d > 1e-6 + 1e-5 * a) bad++}
         END {exit bad > 0}' || fail "beam scores differ by more than 1e-6 + 1e-5 relative"
else
  cmp -s "$work/on.jsonl" "$work/off.jsonl" || fail "responses differ between $key on and off"
fi
"$build/golden_check" "$fixture/${set}expected.jsonl" "$work/on.jsonl" "${check[@]}" || fail "differs from HF"
echo "run_on_off: $key used $(count on) times, $failures failures"
[ "$failures" = 0 ]
