#!/usr/bin/env bash
# `mpirun -np R synfield run`: one lattice split into slabs of axis 0 over R ranks (2 and 4,
# oversubscribed). Truth: the same run on one process. Rank 0 alone writes one output file;
# the fields and velocities of every snapshot equal the single-process run's bit for bit
# (the per-site arithmetic is the same; only sums over sites add per-rank parts, to
# rounding) for the free field, generic terms with open and Dirichlet ends and a 3-D
# lattice; a model's split products agree to rounding; SIGTERM on 2 ranks writes one
# checkpoint, resumed on 4 ranks to the uninterrupted result; too many ranks for the
# lattice is an error naming lattice.shape[0]; an error of rank 0 alone ends every rank.
# With parallel HDF5 (`synfield --version`: "HDF5: parallel") every rank writes its slab
# through MPI-IO (root attribute io = "mpi-io", also with compressed snapshots, and across a
# stop on 2 ranks and resumes on 4 and on 1 process), output.mpi_io = false goes back to
# rank 0 writing (io = "swmr"), and a blow-up closes the file on every rank with status
# "failed". Exit 77 (skipped) without mpirun.
source "$(dirname "${BASH_SOURCE[0]}")/../common/mpi_test.sh" "$@"
fail() { echo "FAIL: $*"; exit 1; }

cat >generic.toml <<'TOML'
[lattice]
shape = [12, 6]
spacing = 0.5
boundary = ["open", "dirichlet"]
fields = ["u", "v"]
replicas = 2
[dynamics]
equation = "damped"
gamma = 0.3
integrator = "yoshida4"
dt = 0.01
steps = 200
[[potential]]
term = "mass"
field = "u"
coefficient = 1.0
[[potential]]
term = "gradient"
field = "v"
coefficient = 1.0
[[potential]]
term = "monomial"
coefficient = 0.1
factors = ["u^2", "d0(v)"]
[[potential]]
term = "monomial"
coefficient = 0.05
factors = ["lap(u)^2"]
[initial.u]
kind = "gaussian"
std = 0.3
[initial.v]
kind = "mode"
wavevector = [1, 2]
[output]
observe_every = 10
snapshot_every = 50
TOML

# same_fields A B: every /snapshots dataset equal bit for bit, every dataset within 1e-12
same_fields() {
  "$EXE" compare "$1" "$2" --rtol 1e-12 --atol 1e-14 >cmp.txt || { cat cmp.txt; fail "$1 differs from $2"; }
  "$EXE" compare "$1" "$2" --rtol 0 >exact.txt || true
  if grep "^/snapshots" exact.txt | grep -q DIFFERS; then cat exact.txt; fail "$1: snapshots not bit-identical to $2"; fi
}
# io_is FILE IO: the root attribute io of FILE is IO
io_is() {
  "$EXE" info "$1" | grep -Eq "^io: +$2$" || { "$EXE" info "$1" | head; fail "$1: root attribute io is not $2"; }
}
SPLIT_IO=swmr
if "$EXE" --version | grep -q "^HDF5: parallel"; then SPLIT_IO=mpi-io; fi
# split NAME R ARGS...: the run on R ranks into NAME_R.h5 (and nothing else written)
split() {
  local name=$1 r=$2
  shift 2
  "$MPIRUN" -np "$r" "$EXE" run "$@" -o "${name}_$r.h5" -q >out.txt 2>&1 || { cat out.txt; fail "$name on $r ranks"; }
  [[ -f ${name}_$r.h5 && ! -e ${name}_$r.h5.partial ]] || fail "$name on $r ranks: no complete output"
}

"$EXE" run "$ROOT/data/examples/free_field.toml" -o free_1.h5 -q
"$EXE" run generic.toml -o gen_1.h5 -q
"$EXE" run generic.toml --set 'lattice.shape=[8,5,4]' --set 'lattice.boundary=["dirichlet","open","periodic"]' \
  --set 'initial.v.wavevector=[1,1,1]' --set 'dynamics.integrator="rk4"' -o gen3_1.h5 -q
MODEL=(--set 'lattice.shape=[64]' --set dynamics.steps=30)
"$EXE" run "$ROOT/data/examples/bench_perceptron.toml" "${MODEL[@]}" --set model.minibatch=32 -o model_1.h5 -q
"$EXE" run "$ROOT/data/examples/bench_perceptron.toml" "${MODEL[@]}" --set 'model.coupling="dense"' -o dense_1.h5 -q
for r in 2 4; do
  split free "$r" "$ROOT/data/examples/free_field.toml"
  same_fields "free_$r.h5" free_1.h5
  io_is "free_$r.h5" "$SPLIT_IO"
  split gen "$r" generic.toml
  same_fields "gen_$r.h5" gen_1.h5
  # compressed snapshots (MPI-IO writes deflated chunks collectively)
  split gen3 "$r" generic.toml --set 'lattice.shape=[8,5,4]' --set 'lattice.boundary=["dirichlet","open","periodic"]' \
    --set 'initial.v.wavevector=[1,1,1]' --set 'dynamics.integrator="rk4"' --set output.compression=4
  same_fields "gen3_$r.h5" gen3_1.h5
  split model "$r" "$ROOT/data/examples/bench_perceptron.toml" "${MODEL[@]}" --set model.minibatch=32
  "$EXE" compare "model_$r.h5" model_1.h5 --rtol 1e-10 --atol 1e-14 >cmp.txt || { cat cmp.txt; fail "model on $r ranks"; }
  split dense "$r" "$ROOT/data/examples/bench_perceptron.toml" "${MODEL[@]}" --set 'model.coupling="dense"'
  "$EXE" compare "dense_$r.h5" dense_1.h5 --rtol 1e-10 --atol 1e-14 >cmp.txt || { cat cmp.txt; fail "dense on $r ranks"; }
done
[[ $(ls ./*.h5 | wc -l) == 15 ]] || { ls; fail "stray files besides one output per run"; }
io_is free_1.h5 swmr
# rank 0 gathers and writes when asked to
split swmr 2 generic.toml --set output.mpi_io=false
same_fields swmr_2.h5 gen_1.h5
io_is swmr_2.h5 swmr
# a blow-up on 2 ranks: exit 3, the file closed by every rank and marked failed
st=0
"$MPIRUN" -np 2 "$EXE" run generic.toml --set dynamics.dt=2.0 --no-dt-check -o blow.h5 -q >out.txt 2>&1 || st=$?
[[ $st == 3 ]] || { cat out.txt; fail "blow-up on 2 ranks: exit status $st, expected 3"; }
grep -q "blow-up at step" out.txt || { cat out.txt; fail "no blow-up message"; }
"$EXE" info blow.h5.partial | grep -q "^status: *failed: blow-up at step" ||
  { "$EXE" info blow.h5.partial | head; fail "the blown-up file is not marked failed"; }
rm blow.h5.partial

# SIGTERM on 2 ranks: every rank stops at the same boundary, rank 0 writes one checkpoint;
# resumed on 4 ranks, the file equals the uninterrupted single-process run
# (few steps of a larger lattice: oversubscribed ranks pay for every exchange in context switches)
LONG=(--set 'lattice.shape=[48,48]' --set dynamics.steps=2000 --set output.snapshot_every=500 \
  --set 'dynamics.integrator="leapfrog"')
"$EXE" run generic.toml "${LONG[@]}" -o long_1.h5 -q
# stop_on_2: the long run on 2 ranks into long.h5, SIGTERM once its first checkpoint exists
stop_on_2() {
  "$MPIRUN" -np 2 "$EXE" run generic.toml "${LONG[@]}" --set output.checkpoint_every=100 -o long.h5 -q >out.txt 2>&1 &
  local pid=$! st=0
  for _ in $(seq 1500); do [[ -f long.ckpt.h5 ]] && break; sleep 0.02; done
  pkill -TERM -P "$pid"  # the ranks themselves, as a batch system signals a job (mpirun forwards late)
  wait "$pid" || st=$?
  [[ $st == 4 ]] || { cat out.txt; fail "mpirun exit status $st after SIGTERM, expected 4"; }
  "$EXE" info long.h5.partial >info.txt || { cat out.txt; fail "no partial output after SIGTERM"; }
  grep -q "interrupted at step" info.txt || { cat info.txt out.txt; fail "the 2-rank run was not interrupted"; }
}
stop_on_2
"$MPIRUN" -np 4 "$EXE" run --resume long.ckpt.h5 -q >out.txt 2>&1 || { cat out.txt; fail "resume on 4 ranks"; }
same_fields long.h5 long_1.h5
"$EXE" info long.h5 | grep -Eq "^ranks: +4$" || { "$EXE" info long.h5 | head; fail "root attribute ranks is not 4"; }
"$EXE" info long_1.h5 | grep -Eq "^ranks: +1$" || fail "root attribute ranks is not 1 for one process"
io_is long.h5 "$SPLIT_IO"
# stopped on 2 ranks again, resumed by one process (which writes the same file with SWMR)
rm long.h5
stop_on_2
"$EXE" run --resume long.ckpt.h5 -q >out.txt 2>&1 || { cat out.txt; fail "resume on one process"; }
same_fields long.h5 long_1.h5
io_is long.h5 swmr

# too many ranks for 12 rows with a two-row stencil
if "$MPIRUN" -np 8 "$EXE" run generic.toml -o big.h5 -q >out.txt 2>&1; then fail "8 ranks for 12 rows accepted"; fi
grep -q "lattice.shape\[0\] = 12 cannot be split over 8 MPI ranks" out.txt || { cat out.txt; fail "no message naming lattice.shape[0]"; }
[[ ! -e big.h5.partial && ! -e big.h5 ]] || fail "the refused run left an output file"

# an error rank 0 meets alone (its output folder) ends every rank, not a hang
if timeout 60 "$MPIRUN" -np 2 "$EXE" run generic.toml -o missing/x.h5 -q >out.txt 2>&1; then fail "missing folder accepted"; fi
grep -q "output file missing/x.h5: folder missing does not exist" out.txt || { cat out.txt; fail "no message naming the output"; }
echo ok
