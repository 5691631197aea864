#!/bin/bash
# encdec_convert ended by SIGTERM, SIGINT or SIGHUP while it writes leaves no OUT.partial-PID
# file behind (and no OUT), and exits by that signal. The checkpoint is the t5_v1_0_tied fixture
# with its vocabulary grown to 2M rows (256 MB of embedding), so the write takes long enough to
# be interrupted; the test waits until the partial file exists before it signals.
# usage: convert_interrupt.sh BUILD_DIR FIXTURES_DIR
set -uo pipefail
build=$1 fixtures=$2
name=convert_interrupt
source "$(dirname "$0")/../test_lib.sh"
fx=$fixtures/t5_v1_0_tied
mkdir -p "$work/big"
python3 - "$fx" "$work/big" <<'PY'
import json, struct, sys
src, dst = sys.argv[1], sys.argv[2]
raw = open(src + "/model.safetensors", "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
hdr = json.loads(raw[8:8 + n])
vocab = 2_000_000
out, blobs, off = {}, [], 0
for name, t in hdr.items():
    if name == "__metadata__":
        continue
    b, e = t["data_offsets"]
    data = raw[8 + n + b:8 + n + e]
    if name == "shared.weight":
        t = dict(t, shape=[vocab, t["shape"][1]])
        data = data + bytes(vocab * t["shape"][1] * 4 - len(data))
    out[name] = {"dtype": t["dtype"], "shape": t["shape"], "data_offsets": [off, off + len(data)]}
    blobs.append(data)
    off += len(data)
h = json.dumps(out).encode()
with open(dst + "/model.safetensors", "wb") as f:
    f.write(struct.pack("<Q", len(h)) + h)
    for b in blobs:
        f.write(b)
cfg = json.load(open(src + "/config.json"))
cfg["vocab_size"] = vocab
json.dump(cfg, open(dst + "/config.json", "w"))
PY
[ -s "$work/big/model.safetensors" ] || { echo "could not write the big checkpoint"; exit 1; }
for sig in TERM INT HUP; do
  out=$work/out_$sig.h5
  "$build/encdec_convert" --quiet --hf "$work/big" --out "$out" &
  pid=$!
  for _ in $(seq 1 400); do # until the partial file exists (up to 20 s)
    compgen -G "$out.partial-*" > /dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  checks=$((checks + 3))
  compgen -G "$out.partial-*" > /dev/null || fail "SIG$sig: the conversion ended before it could be interrupted"
  kill -"$sig" "$pid"
  wait "$pid"
  rc=$?
  [ "$rc" = $((128 + $(kill -l "$sig"))) ] || fail "SIG$sig: exit status $rc, expected death by the signal"
  if compgen -G "$out*" > /dev/null; then fail "SIG$sig: left $(ls "$out"*)"; fi
done
echo "convert_interrupt: $checks checks, $failures failed"
[ "$failures" = 0 ]
