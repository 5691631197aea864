#!/bin/bash
# Builds and runs the whole CTest suite (labels: cpu, mpi; cuda tests need a GPU and are not
# registered in builds without the CUDA backend). Prints CTest's summary line.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/build.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cd "${BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)" "$@"
