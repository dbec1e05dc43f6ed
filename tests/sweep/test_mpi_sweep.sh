#!/usr/bin/env bash
# `mpirun -np 2 synfield sweep`: the points are spread over the ranks (rank r runs i mod 2 = r)
# and rank 0 writes the whole summary, every point complete. Exit 77 (skipped) without mpirun.
source "$(dirname "${BASH_SOURCE[0]}")/../common/mpi_test.sh" "$@"
"$MPIRUN" -np 2 "$EXE" sweep "$ROOT/data/examples/smooth_sweep.toml" -o m.h5 --over 'dynamics.eta=1.0,0.5' >out.txt 2>err.txt ||
  { cat out.txt err.txt; exit 1; }
grep -q "8 point(s) of .* on 2 MPI ranks" err.txt || { echo "no '2 MPI ranks' line"; cat err.txt; exit 1; }
[[ $(grep -c ",complete," m.sweep.csv) == 8 ]] || { echo "not 8 complete points"; cat m.sweep.csv; exit 1; }
[[ $(grep -c "Richardson" out.txt) == 2 ]] || { echo "no continuum limit per eta"; cat out.txt; exit 1; }
echo ok
