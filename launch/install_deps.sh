#!/bin/bash
# Installs the Debian 12 packages encdec_tp builds and tests with (as root, or through sudo).
set -euo pipefail
pkgs=(build-essential cmake pkg-config libopenmpi-dev openmpi-bin libhdf5-dev libyaml-dev
      libopenblas-dev libcjson-dev libmicrohttpd-dev time
      # the two-host tests (tests/mpi/netns_*.sh): ip netns, veth
      iproute2
      # tokenizers (models/tokenizer.h): SentencePiece, protobuf (its model's normalizer_spec),
      # PCRE2 (byte-level BPE's regex, grapheme clusters), zlib (tests)
      libsentencepiece-dev libprotobuf-dev libpcre2-dev zlib1g-dev
      # the HTTP tests (tests/http): curl and jq, Node.js and npm for the OpenAI client, libcurl
      # for launch/encdec_loadgen
      curl jq nodejs npm libcurl4-openssl-dev
      # the sanitizer and fuzz build (launch/run_tests.sh): clang, its sanitizer and libFuzzer
      # runtimes, and LLVM's OpenMP runtime for clang's -fopenmp
      clang libclang-rt-14-dev libomp-dev)
missing=()
# Node.js and npm may come from elsewhere (NodeSource's nodejs carries its own npm and conflicts
# with Debian's npm package): a working command is enough.
have() {
  case $1 in
    nodejs) command -v node >/dev/null ;;
    npm) command -v npm >/dev/null ;;
    *) dpkg -s "$1" >/dev/null 2>&1 ;;
  esac
}
for p in "${pkgs[@]}"; do have "$p" || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}"
