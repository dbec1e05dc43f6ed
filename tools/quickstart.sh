#!/usr/bin/env bash
# The README's quick start on a fresh Debian/Ubuntu machine:
#   tools/quickstart.sh example   install, build (CPU; CUDA too when nvcc is found), run the default example
#   tools/quickstart.sh test      install, build the CPU backend, run the test suite (ctest)
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-example}
[ "${SYNFIELD_SKIP_DEPS:-0}" = 1 ] || tools/install-deps.sh
jobs=$(nproc)
case "$what" in
  example)
    cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release
    cmake --build build/release -j"$jobs" --target synfield
    build/release/synfield --version
    build/release/synfield run data/examples/free_field.toml -o build/free_field.h5
    ;;
  test)
    cmake -S . -B build/cpu -DSYNFIELD_CUDA=OFF -DCMAKE_BUILD_TYPE=Release
    cmake --build build/cpu -j"$jobs"
    cd build/cpu && ctest --output-on-failure -j"$jobs"
    ;;
  *)
    echo "usage: tools/quickstart.sh example|test" >&2
    exit 2
    ;;
esac
