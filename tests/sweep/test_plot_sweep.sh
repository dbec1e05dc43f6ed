#!/usr/bin/env bash
# tools/plot.py on a sweep summary (B.sweep.h5): the continuum and throughput PNGs appear.
# Exit 77 (skipped) when /usr/bin/python3 lacks numpy, h5py or matplotlib.
set -euo pipefail
EXE=$1 ROOT=$2
/usr/bin/python3 -c 'import numpy, h5py, matplotlib' 2>/dev/null || { echo "no numpy/h5py/matplotlib: skipped"; exit 77; }
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"
OMP_NUM_THREADS=1 "$EXE" sweep "$ROOT/data/examples/smooth_sweep.toml" -o sm.h5 -q
/usr/bin/python3 "$ROOT/tools/plot.py" sm.sweep.h5 -o png
for f in png/sm.sweep_continuum.png png/sm.sweep_throughput.png; do
  [[ -s $f ]] || { echo "missing $f"; exit 1; }
done
echo ok
