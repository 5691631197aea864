#!/bin/bash
# Builds and runs the whole CTest suite (labels: cpu, mpi; cuda tests need a GPU, multigpu tests
# two GPUs and multigpu4 four; neither is registered in builds without the CUDA backend). Runs
# what the GPUs present allow. Prints CTest's summary line.
# Then a second build, ${BUILD_DIR:-build}-asan: clang with AddressSanitizer, UndefinedBehavior-
# Sanitizer (no recovery) and LeakSanitizer (tests/lsan.supp), CPU only, that runs the tests
# labelled cpu again and the libFuzzer harnesses (label fuzz, ENCDEC_FUZZ_SECONDS each, default
# 20). ENCDEC_SANITIZE=0 leaves that part out. Arguments go to the first suite's ctest only.
# Fails if any part failed.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
launch/build.sh
# the HTTP tests' Node packages (tests/http/package-lock.json: the official openai client);
# without them http.openai_client.tp* fail saying so
if command -v npm >/dev/null; then
  npm ci --prefix tests/http --no-audit --no-fund --loglevel=error ||
    echo "run_tests: npm ci --prefix tests/http failed: http.openai_client.tp* will fail"
fi
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
status=0
ctest --output-on-failure -j "$(nproc)" ${leave_out:+-LE "$leave_out"} "$@" || status=$?

if [ "${ENCDEC_SANITIZE:-1}" = 0 ]; then
  echo "run_tests: ENCDEC_SANITIZE=0: sanitizer and fuzz tests left out"
  exit $status
fi
if ! command -v clang >/dev/null; then
  echo "run_tests: clang not found (launch/install_deps.sh installs it): sanitizer and fuzz" \
       "tests left out"
  exit $status
fi
cd "$root"
asan_build=${BUILD_DIR:-build}-asan
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
echo "run_tests: ASan + UBSan + LSan build in $asan_build: the tests labelled cpu, then fuzz"
# clang++ too: the tokenizer's C++ shim makes the programs link as C++, and libFuzzer's
# -fsanitize=fuzzer link needs clang's driver
cmake -S . -B "$asan_build" -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
  -DENCDEC_CUDA=OFF -DENCDEC_FUZZ=ON \
  -DENCDEC_FUZZ_SECONDS="${ENCDEC_FUZZ_SECONDS:-20}" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_FLAGS="$san" -DCMAKE_CXX_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
t0=$SECONDS
cmake --build "$asan_build" -j "$(nproc)"
echo "run_tests: sanitizer build: $((SECONDS - t0)) s"
cd "$asan_build"
t0=$SECONDS
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export LSAN_OPTIONS=suppressions=$root/tests/lsan.supp:print_suppressions=0
# LeakSanitizer with full unwinding on malloc (Open MPI's dlopen'ed components have no frame
# pointers, and the suppressions match on the libraries in a leak's allocation stack) makes a
# golden run ~5x slower than ASan alone: leaks are checked in every cpu test except the golden
# ones, and in one T5 and one BART fixture's serving runs (greedy/score, beams, encoder outputs);
# the other golden runs check memory errors and undefined behaviour only.
leak_golden='^golden\.(t5_v1_1_gated|bart_small)\.(tp1|beam\.tp1|encoder\.tp1)$'
# The quantized-weight (fp32 and bf16 activations), FP8-KV and encoder-cache golden runs repeat one
# code path per fixture: under the sanitizers they run on t5_v1_1_gated and bart_small
# (embeddings: t5_v1_0_tied and bart_small; the encoder cache: mbart_small too) only; the first
# suite ran them all.
# others "NAMES": the fixtures not named, as a regex alternation.
others() {
  local d n out=()
  for d in "$root"/tests/golden/fixtures/*/; do
    n=$(basename "$d")
    case " $1 " in *" $n "*) ;; *) out+=("$n") ;; esac
  done
  (IFS='|'; echo "${out[*]}")
}
repeats="^golden\.($(others 't5_v1_1_gated bart_small'))\.(int8|fp8|kv_fp8)(\.bf16)?\.tp1\$"
repeats+="|^golden\.($(others 't5_v1_0_tied bart_small'))\.(int8|fp8)_embeddings\.tp1\$"
repeats+="|^golden\.($(others 't5_v1_1_gated bart_small mbart_small'))\.encoder_cache\.tp1\$"
# The tokenizer tests check the first 100 of their 600 local lines here (ENCDEC_TEST_LINES):
# every kind's code paths on a sixth of the lines (all 600 took 3 minutes under LeakSanitizer).
ENCDEC_TEST_LINES=100 ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
  ctest --output-on-failure -j "$(nproc)" -L cpu -E '^golden\.' || status=$?
ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0 \
  ctest --output-on-failure -j "$(nproc)" -L cpu -R "$leak_golden" || status=$?
ASAN_OPTIONS=detect_leaks=0 \
  ctest --output-on-failure -j "$(nproc)" -L cpu -R '^golden\.' -E "$leak_golden|$repeats" || status=$?
echo "run_tests: cpu tests under the sanitizers: $((SECONDS - t0)) s"
t0=$SECONDS
ctest --output-on-failure -j "$(nproc)" -L fuzz || status=$?
echo "run_tests: fuzz tests: $((SECONDS - t0)) s"
exit $status
