#!/usr/bin/env bash
# The whole comparison of the field solver against the CPU gradient-descent reference: runs
# `synfield bench` on a few sizes of each path and writes a Markdown table (benchmarks/compare.py)
# with the times per step, the speed-up, the loss agreement, the achieved GB/s and GFLOP/s
# against the STREAM-triad and DGEMM ceilings each run measures, and the fitted width exponent
# p of time/step ∝ N^p per path (≈ 1 for the local and factored paths, ≈ 2 for dense J₂).
#
#   benchmarks/compare.sh [SYNFIELD] [OUT.md]
#
#   SYNFIELD   the binary (default build/release/synfield)
#   OUT.md     the report (default: compare.md next to the binary); the raw rows go to OUT.csv
# Environment:
#   BACKEND=auto|cpu|cuda   the field solver's backend (default auto)
#   QUICK=1                 small sizes only (a minute on two cores: a smoke test of the script)
#   LOCAL_SIZES, FACTORED_SIZES, DENSE_SIZES   space-separated N lists, to override the defaults
#   FACTORED_P              examples of the factored runs (default 256)
#   THREADS                 OpenMP threads (default: OpenMP's own)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
EXE=${1:-$ROOT/build/release/synfield}
OUT=${2:-$(dirname "$EXE")/compare.md}
CSV=${OUT%.md}.csv
BACKEND=${BACKEND:-auto}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
[[ -x $EXE ]] || { echo "compare.sh: $EXE: no synfield binary (build it, or pass its path)" >&2; exit 2; }

if [[ ${QUICK:-0} == 1 ]]; then
  LOCAL_SIZES=${LOCAL_SIZES:-"16384 65536 262144"}
  FACTORED_SIZES=${FACTORED_SIZES:-"2048 8192 32768"}
  DENSE_SIZES=${DENSE_SIZES:-"512 1024"}
  TRIAD=(--triad-elements 2000000 --dgemm-n 256)
else
  LOCAL_SIZES=${LOCAL_SIZES:-"65536 262144 1048576 4194304"}
  FACTORED_SIZES=${FACTORED_SIZES:-"4096 16384 65536 262144"}
  DENSE_SIZES=${DENSE_SIZES:-"1024 2048 4096"}
  TRIAD=()
fi
P=${FACTORED_P:-256}
COMMON=(--backend "$BACKEND" --csv "$CSV" "${TRIAD[@]}")
[[ -n ${THREADS:-} ]] && COMMON+=(--threads "$THREADS")
rm -f "$CSV"

# steps so that each run moves about the same bytes: ~2^27 site-steps (at least 10)
steps_for() { local s=$(( (1 << 27) / $1 )); (( s < 10 )) && s=10; (( s > 2000 )) && s=2000; echo $s; }
# a stable rate for plain gradient descent on the smooth data: η ≈ 0.1 / (P·N) (network units)
eta_for() { "$PY" -c "print(0.1 / ($1 * $2))"; }

run() {
  echo "+ synfield bench $*" >&2
  "$EXE" bench "$@" "${COMMON[@]}" || echo "compare.sh: bench exited $? ($*)" >&2
}

for n in $LOCAL_SIZES; do   # the local path: free field, damped leapfrog (no gd counterpart)
  run "$ROOT/data/examples/free_field.toml" --label "local N=$n" --set "lattice.shape=[$n]" \
    --set "dynamics.steps=$(steps_for "$n")" --set "output.observe_every=$(steps_for "$n")"
done
for n in $FACTORED_SIZES; do   # factored J₂: P examples, X streamed twice a step
  st=$(( $(steps_for "$n") / 8 )); (( st < 10 )) && st=10
  run "$ROOT/data/examples/bench_perceptron.toml" --label "factored N=$n P=$P" --set "lattice.shape=[$n]" \
    --set "data.samples=$P" --set 'model.coupling="factored"' --set "dynamics.eta=$(eta_for "$P" "$n")" \
    --set "dynamics.steps=$st" --set "output.observe_every=$st"
done
for n in $DENSE_SIZES; do   # dense J₂: one N×N product a step (M = 1, and M = 64 replicas)
  for b in 1 64; do
    run "$ROOT/data/examples/bench_perceptron.toml" --label "dense N=$n M=$b" --set "lattice.shape=[$n]" \
      --set "lattice.replicas=$b" --set "data.samples=64" --set 'model.coupling="dense"' \
      --set "dynamics.eta=$(eta_for 64 "$n")" --set "dynamics.steps=20" --set "output.observe_every=20"
  done
done

"$PY" "$ROOT/benchmarks/compare.py" "$CSV" -o "$OUT" \
  --title "synfield bench: field solver ($BACKEND) vs gradient-descent reference, $(hostname), $(date -u +%Y-%m-%d)"
cat "$OUT"
echo "compare.sh: wrote $OUT and $CSV" >&2
