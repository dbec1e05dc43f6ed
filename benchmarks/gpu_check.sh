#!/usr/bin/env bash
# One prepared script for a machine with one NVIDIA H200 (sm_90), to run within 8 minutes:
#   1. builds the CUDA backend for sm_90 (Release, tests and benchmarks on) in $BUILD;
#   2. runs the whole test suite (ctest) — the CUDA variants run, not skip, because a device
#      is present; a CUDA test that skips there is reported as a failure of this check;
#   3. runs `synfield bench` at the sizes that matter on a GPU, the field solver on CUDA
#      against the CPU gradient-descent reference where one exists:
#        local step     free field, damped leapfrog, 1-D N = 2^26, fp64 and fp32
#        dense J₂       perceptron, N = 2^15, M = 64 replicas, fp64
#        factored J₂    perceptron, N = 2^20, P = 4096, fp32 (X alone is 16 GiB on the device)
#      plus the CUDA leapfrog benchmark of bench_engine (its own sizes);
#   4. writes $OUT/gpu_check.md: build and test status, the bench table (benchmarks/compare.py)
#      with bytes/s and flop/s against the device STREAM triad and the CPU DGEMM, and the logs.
#
#   benchmarks/gpu_check.sh                     # on the GPU machine, from the repository root
#   SYNFIELD_GPU_CHECK_DRY=1 benchmarks/gpu_check.sh   # here: the CPU-side logic only
#
# Environment:
#   OUT      folder for the report and logs (default $BUILD; the device tool sets $OUT)
#   BUILD    build folder (default build/gpu, build/gpu-dry for a dry run)
#   JOBS     build and test parallelism (default: all cores)
#   BUILD_TARGETS  targets to build (default: all);  TEST_REGEX  ctest -R filter (default: all)
#   SYNFIELD_HOST_MEMORY_GIB   host memory the memory check assumes (default 120 on the GPU
#            machine, whose RAM grows as it is used so that MemAvailable starts low)
#   SYNFIELD_GPU_CHECK_DRY=1   skip everything that needs CUDA: configure with
#            -DSYNFIELD_CUDA=OFF, run the CPU test suite, and the benchmarks at small sizes on the
#            CPU, so that the script's own logic (phases, time limits, report) is exercised
#   SYNFIELD_DEPS  a folder of Debian packages (.deb) to unpack into a private prefix when the
#            machine lacks the build dependencies (HDF5, toml++, CLI11, OpenBLAS/LAPACKE, GTest,
#            Google Benchmark): tools/fetch-gpu-deps.sh fills .deps/ here; carry it along.
# Time budget (seconds; each phase is cut at its limit and the report says so):
#   BUILD_LIMIT (300), TEST_LIMIT (150), BENCH_LIMIT (200) — 650 s at most, ~6–7 min typically.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
DRY=${SYNFIELD_GPU_CHECK_DRY:-0}
if [[ $DRY == 1 ]]; then BUILD=${BUILD:-$ROOT/build/gpu-dry}; else BUILD=${BUILD:-$ROOT/build/gpu}; fi
OUT=${OUT:-$BUILD}
JOBS=${JOBS:-$(nproc)}
BUILD_LIMIT=${BUILD_LIMIT:-300}
TEST_LIMIT=${TEST_LIMIT:-150}
BENCH_LIMIT=${BENCH_LIMIT:-200}
# the H200 machine's RAM grows as it is used (MemAvailable starts low): its 128 GiB, less a margin
[[ $DRY != 1 ]] && export SYNFIELD_HOST_MEMORY_GIB=${SYNFIELD_HOST_MEMORY_GIB:-120}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
mkdir -p "$OUT" "$BUILD"
REPORT=$OUT/gpu_check.md
LOG=$OUT/gpu_check.log
: >"$LOG"
T0=$(date +%s)
status_build="not run" status_test="not run" status_bench="not run"

say() { echo "[gpu_check $(($(date +%s) - T0))s] $*" | tee -a "$LOG" >&2; }
# phase NAME LIMIT CMD...: runs CMD with a time limit, its output appended to the log
phase() {
  local name=$1 limit=$2
  shift 2
  say "$name (limit ${limit}s): $*"
  timeout --signal=TERM --kill-after=10 "$limit" "$@" >>"$LOG" 2>&1
  local rc=$?
  if [[ $rc == 124 || $rc == 137 ]]; then say "$name: cut at ${limit}s"; else say "$name: exit $rc"; fi
  return $rc
}

# --- 0. the machine and the dependencies ------------------------------------------------
if [[ $DRY != 1 ]]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm,clocks.mem --format=csv >>"$LOG" 2>&1 ||
    say "nvidia-smi failed: no device?"
  command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
  nvcc --version >>"$LOG" 2>&1 || say "nvcc not found"
fi
EXTRA_CMAKE=()
if [[ -n ${SYNFIELD_DEPS:-} && -d ${SYNFIELD_DEPS} ]]; then
  # unpack into a private prefix (never into /), and point the compilers and CMake at it
  PREFIX=/tmp/synfield-deps
  mkdir -p "$PREFIX"
  for deb in "$SYNFIELD_DEPS"/*.deb; do dpkg -x "$deb" "$PREFIX"; done
  MULTI=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
  export CPATH=$PREFIX/usr/include:$PREFIX/usr/include/hdf5/serial:$PREFIX/usr/include/$MULTI${CPATH:+:$CPATH}
  export LIBRARY_PATH=$PREFIX/usr/lib/$MULTI:$PREFIX/usr/lib/$MULTI/hdf5/serial${LIBRARY_PATH:+:$LIBRARY_PATH}
  export LD_LIBRARY_PATH=$LIBRARY_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
  export CMAKE_PREFIX_PATH=$PREFIX/usr${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}
  EXTRA_CMAKE+=(-DHDF5_ROOT="$PREFIX/usr" -DHDF5_C_COMPILER_EXECUTABLE=/nonexistent
    -DHDF5_C_INCLUDE_DIR="$PREFIX/usr/include/hdf5/serial"
    -DHDF5_hdf5_LIBRARY_RELEASE="$PREFIX/usr/lib/$MULTI/hdf5/serial/libhdf5.so"
    -DSYNFIELD_CBLAS_INCLUDE="$PREFIX/usr/include/$MULTI/openblas-pthread"
    -DBLAS_LIBRARIES="$PREFIX/usr/lib/$MULTI/openblas-pthread/libblas.so"
    -DLAPACK_LIBRARIES="$PREFIX/usr/lib/$MULTI/openblas-pthread/liblapack.so")
  say "dependencies unpacked from $SYNFIELD_DEPS into $PREFIX"
fi

# --- 1. build ------------------------------------------------------------------------------
if [[ $DRY == 1 ]]; then
  CMAKE_ARGS=(-DSYNFIELD_CUDA=OFF)
else
  CMAKE_ARGS=(-DSYNFIELD_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90)
fi
command -v ccache >/dev/null && CMAKE_ARGS+=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
command -v ninja >/dev/null && GEN=(-G Ninja) || GEN=()
[[ -f $BUILD/CMakeCache.txt ]] && GEN=()  # keep the generator an earlier configure chose
if phase configure 120 cmake -S "$ROOT" -B "$BUILD" "${GEN[@]}" -DCMAKE_BUILD_TYPE=Release -DSYNFIELD_TESTS=ON \
  -DSYNFIELD_BENCHMARKS=ON "${CMAKE_ARGS[@]}" "${EXTRA_CMAKE[@]}" &&
  phase build "$BUILD_LIMIT" cmake --build "$BUILD" -j "$JOBS" ${BUILD_TARGETS:+--target $BUILD_TARGETS}; then
  status_build="ok"
else
  status_build="FAILED (see gpu_check.log)"
fi
EXE=$BUILD/synfield

# --- 2. the whole test suite -----------------------------------------------------------------
TEST_SUMMARY=""
if [[ $status_build == ok ]]; then
  # CUDA tests skip with a message only when no device is usable: with one, a skip is a failure
  phase tests "$TEST_LIMIT" ctest --test-dir "$BUILD" -j "$JOBS" --timeout 120 --output-on-failure \
    ${TEST_REGEX:+-R "$TEST_REGEX"}
  rc=$?
  TEST_SUMMARY=$(grep -E "tests passed|tests failed" "$LOG" | tail -1)
  skipped=$(grep -cE "\*\*\*Skipped|Not Run" "$LOG" || true)
  if [[ $rc == 0 ]]; then status_test="ok: $TEST_SUMMARY"; else status_test="FAILED (exit $rc): $TEST_SUMMARY"; fi
  if [[ $DRY != 1 && $skipped -gt 0 ]]; then
    status_test="$status_test; $skipped test(s) SKIPPED on a machine with a device"
  fi
fi

# --- 3. benchmarks at GPU sizes ----------------------------------------------------------------
CSV=$OUT/gpu_bench.csv
rm -f "$CSV"
bench() {  # bench LABEL LIMIT CONFIG ARGS...
  local label=$1 limit=$2 config=$3
  shift 3
  local left=$((BENCH_END - $(date +%s)))
  ((left < 10)) && { say "bench $label: skipped (bench time used up)"; return; }
  ((limit > left)) && limit=$left
  phase "bench $label" "$limit" "$EXE" bench "$config" --label "$label" --csv "$CSV" --backend "$BACKEND" "$@" \
    "${TRIAD[@]}"
}
if [[ $status_build == ok ]]; then
  BENCH_END=$(($(date +%s) + BENCH_LIMIT))
  if [[ $DRY == 1 ]]; then
    BACKEND=cpu
    L=16 D=10 F=14 FP=256 FM=1 TRIAD=(--triad-elements 1000000 --dgemm-n 256)
  else
    BACKEND=cuda
    L=26 D=15 F=20 FP=4096 FM=64 TRIAD=(--triad-elements 268435456 --dgemm-n 4096)  # 3 × 2 GiB triad
  fi
  N=$((1 << L))
  for prec in float64 float32; do
    bench "local N=2^$L $prec" 60 "$ROOT/data/examples/free_field.toml" --set "lattice.shape=[$N]" \
      --set "dynamics.precision=\"$prec\"" --set dynamics.steps=200 --set output.observe_every=200
  done
  N=$((1 << D))
  bench "dense N=2^$D M=$FM" 60 "$ROOT/data/examples/bench_perceptron.toml" --set "lattice.shape=[$N]" \
    --set "lattice.replicas=$FM" --set data.samples=256 --set data.test_samples=0 --set 'model.coupling="dense"' \
    --set "dynamics.eta=$($PY -c "print(0.1 / (256 * $N))")" --set dynamics.steps=20 --set output.observe_every=20
  N=$((1 << F))
  bench "factored N=2^$F P=$FP" 120 "$ROOT/data/examples/bench_perceptron.toml" --set "lattice.shape=[$N]" \
    --set "data.samples=$FP" --set data.test_samples=0 --set data.correlation=0.25 --set 'model.coupling="factored"' \
    --set 'dynamics.precision="float32"' --set "dynamics.eta=$($PY -c "print(0.1 / ($FP * $N))")" \
    --set dynamics.steps=10 --set output.observe_every=10 --rtol 1e-3
  if [[ $DRY != 1 && -x $BUILD/benchmarks/bench_engine ]]; then
    left=$((BENCH_END - $(date +%s)))
    ((left > 20)) && phase "bench_engine cuda" "$left" "$BUILD/benchmarks/bench_engine" --benchmark_filter=cuda \
      --benchmark_out="$OUT/bench_engine.json" --benchmark_out_format=json
  fi
  if [[ -s $CSV ]]; then status_bench="ok"; else status_bench="FAILED (no results)"; fi
fi

# --- 4. the report -----------------------------------------------------------------------------
{
  echo "# synfield GPU check — $(date -u '+%Y-%m-%d %H:%M UTC'), $(hostname)"
  echo
  [[ $DRY == 1 ]] && echo "**Dry run** (SYNFIELD_GPU_CHECK_DRY=1): CPU build, CPU tests, small CPU benchmarks." && echo
  if [[ $DRY != 1 ]]; then
    echo '```'
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null || echo "no nvidia-smi"
    echo '```'
    echo
  fi
  echo "| phase | result |"
  echo "|---|---|"
  echo "| build (CUDA sm_90: $([[ $DRY == 1 ]] && echo no || echo yes)) | $status_build |"
  echo "| test suite | $status_test |"
  echo "| benchmarks | $status_bench |"
  echo "| total time | $(($(date +%s) - T0)) s |"
  echo
  if [[ -s $CSV ]]; then
    "$PY" "$ROOT/benchmarks/compare.py" "$CSV" --title "Benchmarks ($BACKEND field solver vs CPU gd reference)" |
      sed 's/^# /## /'
  fi
  if [[ $status_test != ok* ]]; then
    echo
    echo "Failed tests:"
    echo '```'
    grep -E "^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Not Run|Skipped)" "$LOG" | head -40
    echo '```'
  fi
} >"$REPORT"
cat "$REPORT"
say "report: $REPORT (log: $LOG)"
[[ $status_build == ok && $status_test == ok* && $status_test != *SKIPPED* && $status_bench == ok ]]
