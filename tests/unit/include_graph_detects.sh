#!/bin/bash
# launch/include_graph.sh must fail on an upward include: a copy of the tree's base and kernels
# folders with one kernels file that includes a models header.
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp -r "$src/common" "$src/kernels" "$tmp/"
mkdir -p "$tmp/models" && echo '#include "common/status.h"' >"$tmp/models/spec.h"
"$src/launch/include_graph.sh" "$tmp" >/dev/null # clean copy: passes
echo '#include "models/spec.h"' >>"$tmp/kernels/backend.c"
if out=$("$src/launch/include_graph.sh" "$tmp"); then
  echo "include_graph.sh accepted kernels/backend.c including models/spec.h"; exit 1
fi
grep -q 'UPWARD: kernels/backend.c includes models/spec.h' <<<"$out"
echo "include_graph.sh refuses the upward include"
