#!/bin/bash
# Builds and runs the whole CTest suite (labels: cpu, mpi; cuda tests need a GPU, multigpu tests
# two GPUs and multigpu4 four; neither is registered in builds without the CUDA backend). Runs
# what the GPUs present allow. Prints CTest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "${BUILD_DIR:-build}"
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU' || true)
leave_out=""
if [ "$gpus" -ge 4 ]; then
  :
elif [ "$gpus" -ge 2 ]; then
  echo "run_tests: $gpus GPUs here; leaving out the tests labelled multigpu4 (4 GPUs)"
  leave_out="multigpu4"
elif [ "$gpus" = 1 ]; then
  echo "run_tests: one GPU here; leaving out the tests labelled multigpu (several GPUs)"
  leave_out="multigpu"
else
  # The cuda-labelled tests need a GPU; on machines without one they are left out, not skipped
  # inside: run them on a GPU machine with `ctest -L cuda`.
  echo "run_tests: no GPU here; running every test except those labelled cuda or multigpu"
  leave_out="cuda|multigpu"
fi
ctest --output-on-failure -j "$(nproc)" ${leave_out:+-LE "$leave_out"} "$@"
