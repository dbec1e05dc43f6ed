#!/usr/bin/env bash
# Builds the config parser's libFuzzer target (tests/fuzz/CMakeLists.txt) with clang and
# fuzzes it for SECONDS (default 60) from the seed corpus (tests/fuzz/corpus, data/examples).
# Exits non-zero on a crash, a non-ConfigError exception, a sanitizer report, a slow input
# (-timeout) or running out of memory; the reproducer is left in build/fuzz/artifacts/
# (replay it with: build/fuzz/fuzz_config FILE). Compiler: $SYNFIELD_FUZZ_CXX, else clang++.
# Usage: tests/fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds="${1:-60}"
cxx="${SYNFIELD_FUZZ_CXX:-$(command -v clang++ || command -v clang++-14 || true)}"
if [ -z "$cxx" ]; then
  echo "tests/fuzz/run.sh: no clang++ found (tools/install-deps.sh installs clang and libclang-rt-dev)" >&2
  exit 1
fi
cc="${cxx/clang++/clang}"
launcher=()
command -v ccache >/dev/null 2>&1 && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S tests/fuzz -B build/fuzz -DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" "${launcher[@]}" >/dev/null
cmake --build build/fuzz -j"$(nproc)"
mkdir -p build/fuzz/corpus build/fuzz/artifacts
# new inputs go to build/fuzz/corpus (the first folder); the seeds are only read
build/fuzz/fuzz_config -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
  -dict=tests/fuzz/config.dict -artifact_prefix=build/fuzz/artifacts/ -print_final_stats=1 \
  build/fuzz/corpus tests/fuzz/corpus data/examples
