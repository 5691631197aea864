#!/bin/bash
# Fresh machine to first responses: installs the packages, builds, converts the bundled tiny
# Hugging Face T5 v1.1 checkpoint (tests/golden/fixtures/t5_v1_1_gated) and serves the demo
# requests through mpirun on the CPU, printing one JSON response per line.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/install_deps.sh
launch/build.sh
mkdir -p build/demo
build/encdec_convert --hf tests/golden/fixtures/t5_v1_1_gated --out build/demo/t5-tiny.h5
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun --oversubscribe -n 1 build/encdec_tp --config configs/demo_cpu.yaml
