#!/bin/bash
# The folder-level include graph of the project's C, CUDA and C++ sources: one line per arrow,
# "from -> to (N includes)", then every include that runs back up a layer, and exit status 1 if
# there is any. Layers, bottom to top (each may include only its own folder and those below):
#   common (0)  <-  kernels, parallel (1, not each other)  <-  models (2)  <-  runtime (3)
#   <-  launch, tests (4)
# Run from anywhere: launch/include_graph.sh [SOURCE_ROOT]  (also `make include_graph` in a build
# folder, and the CTest test layers.include_graph).
set -euo pipefail
cd "${1:-$(dirname "$0")/..}"
rank() {
  case "$1" in
    common) echo 0 ;; kernels|parallel) echo 1 ;; models) echo 2 ;; runtime) echo 3 ;;
    launch|tests) echo 4 ;; *) echo -1 ;;
  esac
}
edges=$(mktemp)
trap 'rm -f "$edges"' EXIT
for f in $(find common kernels parallel models runtime launch tests -type f \
             \( -name '*.c' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' -o -name '*.cc' \
             -o -name '*.cpp' \) 2>/dev/null | sort); do
  from=${f%%/*}
  { grep -oE '^[[:space:]]*#[[:space:]]*include[[:space:]]+"[^"]+"' "$f" || true; } |
    sed -E 's/.*"([^"]+)".*/\1/' |
    while read -r inc; do
      to=${inc%%/*}
      [ "$to" = "$inc" ] && continue # a same-folder include without a path
      [ "$(rank "$to")" = -1 ] && continue # not one of ours (e.g. cjson/cJSON.h)
      echo "$from $to $f $inc"
    done
done >"$edges"
echo "include graph (from -> to: includes):"
awk '$1 != $2 {n[$1 " -> " $2]++} END {for (k in n) print "  " k ": " n[k]}' "$edges" | sort
bad=0
while read -r from to file inc; do
  rf=$(rank "$from"); rt=$(rank "$to")
  if [ "$from" != "$to" ] && { [ "$rt" -gt "$rf" ] || { [ "$rt" = "$rf" ] && [ "$rf" != 4 ]; }; }; then
    echo "UPWARD: $file includes $inc ($from may not include $to)"
    bad=1
  fi
done <"$edges"
if [ "$bad" = 0 ]; then echo "no include runs back up a layer"; fi
exit "$bad"
