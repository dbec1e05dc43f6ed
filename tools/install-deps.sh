#!/usr/bin/env bash
# Installs the Debian/Ubuntu packages synfield builds and tests with (apt-get, by name).
# The CUDA toolkit is optional and not installed here: CMake detects nvcc when present.
# clang and libclang-rt-dev (libFuzzer, the sanitizers) build the config fuzzer (tests/fuzz);
# Open MPI spreads `synfield sweep` over ranks and splits `synfield run` (optional at build time,
# tested when present); with libhdf5-openmpi-dev a split run writes its file through MPI-IO.
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  build-essential cmake pkg-config \
  libthrust-dev libcub-dev libhdf5-dev libopenblas-dev liblapacke-dev \
  libtomlplusplus-dev libcli11-dev libspdlog-dev libgtest-dev libgmock-dev libbenchmark-dev \
  python3 python3-numpy python3-h5py python3-matplotlib \
  clang libclang-rt-dev libopenmpi-dev openmpi-bin libhdf5-openmpi-dev >/dev/null
