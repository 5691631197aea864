# Shared by the golden fixture scripts: source it.
#
# golden_config MODEL BACKEND DTYPE TP: prints the run config that serves a fixture (its
# requests fit 8 at a time, inputs up to 64 tokens, outputs up to 24); callers append their own
# keys.
golden_config() {
  printf 'model: %s\nbackend: %s\ndtype: %s\ntp: %s\nmax_batch_size: 8\nmax_input_len: 64\nmax_output_len: 24\n' \
    "$1" "$2" "$3" "$4"
}

# hf_yardstick FIXTURE_DIR BACKEND DTYPE [SET: "" | beam_]: sets `expected` (the HF reference
# file) and `check` (golden_check's options) of a golden run:
#   fp32 weights: HF's fp32 outputs, logits within 1e-4 on the CPU and 1e-3 on the GPU;
#   16-bit weights: HF in fp32 on the same weights rounded to DTYPE, logits within 3e-2, ids
#   identical wherever HF's margin for its token over ours exceeds twice our error (--margin-ids).
hf_yardstick() {
  local fixture=$1 backend=$2 dtype=$3 set=${4:-}
  expected=$fixture/${set}expected.jsonl
  check=(--tol 1e-4)
  [ "$backend" = cpu ] || check=(--tol 1e-3)
  if [ "$dtype" != fp32 ]; then
    check=(--tol 3e-2 --margin-ids)
    expected=$fixture/${set}expected_${dtype}_weights.jsonl
  fi
}
