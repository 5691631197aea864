#!/bin/bash
# Fresh machine to first answers: installs the packages, builds, converts the bundled trained
# demo T5 (configs/demo/model: number words <-> digits and date formats, with its tokenizer)
# and serves the text requests of configs/demo_requests.jsonl through mpirun on the CPU,
# printing one JSON response per line (each with its "text").
set -euo pipefail
cd "$(dirname "$0")/.."
launch/install_deps.sh
launch/build.sh
mkdir -p build/demo
build/encdec_convert --quiet --hf configs/demo/model --out build/demo/demo-t5.h5
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
mpirun --oversubscribe -n 1 build/encdec_tp --config configs/demo_cpu.yaml
