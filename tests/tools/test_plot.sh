#!/usr/bin/env bash
# tools/plot.py on tiny run outputs of the built binary: 1-D, 2-D and 3-D lattices and a
# model run (loss), plus a file still being written. Truth: the expected PNGs appear and
# are PNGs; the power spectrum of a single mode A cos(k·x) is A²/4 at |k| (and the rest
# rounding noise); a missing or non-synfield file exits 2 naming it.
# Usage: test_plot.sh SYNFIELD_EXE SOURCE_DIR. Exit 77 (skipped) without numpy/h5py/matplotlib.
set -euo pipefail
exe=$1
src=$2
py=${SYNFIELD_PYTHON:-/usr/bin/python3}  # the interpreter plot.py is documented for
plot="$src/tools/plot.py"

if ! "$py" -c "import numpy, h5py, matplotlib" 2>/dev/null; then
  echo "SKIP: $py cannot import numpy, h5py and matplotlib (Debian: python3-numpy python3-h5py python3-matplotlib)"
  exit 77
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/synfield-plot-XXXXXX")
trap 'rm -rf "$dir"' EXIT
cd "$dir"
fail=0
check_png() {  # FILE...: each exists and starts with the PNG signature
  for f in "$@"; do
    if [ ! -s "$f" ] || [ "$(head -c 8 "$f" | od -An -tx1 | tr -d ' \n')" != "89504e470d0a1a0a" ]; then
      echo "FAIL: $f is missing or not a PNG"
      fail=1
    else
      echo "ok: $f ($(stat -c %s "$f") bytes)"
    fi
  done
}

cat > d2.toml <<'EOF'
[lattice]
shape = [12, 8]
spacing = 0.5
fields = ["w1", "w2"]
replicas = 2

[dynamics]
gamma = 0.1
dt = 0.01
steps = 20

[[potential]]
term = "mass"
field = "w1"
coefficient = 1.0

[[potential]]
term = "gradient"
field = "w2"
coefficient = 1.0

[initial.w1]
kind = "mode"
wavevector = [1, 2]
amplitude = 0.5

[initial.w2]
kind = "gaussian"
std = 0.1
seed = 3

[output]
file = "d2.h5"
observe_every = 5
snapshot_every = 10
EOF
sed -e 's/^shape = .*/shape = [32]/' -e 's/^wavevector = .*/wavevector = [2]/' d2.toml > d1.toml
sed -e 's/^shape = .*/shape = [6, 8, 4]/' -e 's/^wavevector = .*/wavevector = [1, 2, 1]/' d2.toml > d3.toml

for d in d1 d2 d3; do
  "$exe" run $d.toml -q -o $d.h5
  "$py" "$plot" $d.h5 -o out > $d.list
done
"$exe" run "$src/data/examples/addition.toml" -q -o model.h5 --set dynamics.steps=500
"$py" "$plot" model.h5 -o out --prefix add > model.list

check_png out/d1_energy.png out/d1_field_w1.png out/d1_field_w2.png out/d1_spectrum.png
check_png out/d2_energy.png out/d2_field_w1.png out/d2_field_w2.png out/d2_spectrum.png
check_png out/d3_energy.png out/d3_field_w1.png out/d3_field_w2.png out/d3_spectrum.png
check_png out/add_energy.png out/add_loss.png out/add_field_w.png out/add_spectrum.png
if [ -e out/d1_loss.png ]; then echo "FAIL: a loss plot for a run without loss"; fail=1; fi
if [ "$(cat d2.list)" != "$(printf 'out/d2_energy.png\nout/d2_field_w1.png\nout/d2_field_w2.png\nout/d2_spectrum.png')" ]; then
  echo "FAIL: plot.py listed:"; cat d2.list; fail=1
fi

# a file still being written (the .partial of a run, open in the writer)
"$exe" run d2.toml -q -o long.h5 --set 'lattice.shape=[256,256]' --set dynamics.steps=200000 \
  --set output.observe_every=100 --set output.snapshot_every=100000 &
writer=$!
for _ in $(seq 1 100); do
  [ -e long.h5.partial ] && "$py" -c "import sys; sys.path.insert(0, '$src/tools'); import plot; f = plot.open_run_file('long.h5.partial'); sys.exit(0 if f['observables/step'].shape[0] > 1 else 1)" 2>/dev/null && break
  sleep 0.2
done
if "$py" "$plot" long.h5.partial -o out > long.list 2> long.err; then
  check_png out/long_energy.png out/long_field_w1.png
else
  echo "FAIL: plot.py on a file being written:"; cat long.err; fail=1
fi
kill "$writer" 2>/dev/null || true
wait "$writer" 2>/dev/null || true

# the spectrum's normalisation: a mode A cos(k·x) is A²/4 at |k|
"$py" - "$src/tools" <<'EOF' || fail=1
import sys
import numpy as np
sys.path.insert(0, sys.argv[1])
import plot

ok = True
def check(name, cond):
    global ok
    print(("ok: " if cond else "FAIL: ") + name)
    ok = ok and cond

# 1-D: L = 64·0.25, mode n = 5, amplitude 0.8, two replicas
n, a, A, m = 64, 0.25, 0.8, 5
x = np.arange(n) * a
w = np.stack([A * np.cos(2 * np.pi * m * x / (n * a) + ph) for ph in (0.0, 1.0)])
k, p = plot.power_spectrum(w, a)
i = int(np.argmax(p))
check("1-D peak at 2 pi m / L", abs(k[i] - 2 * np.pi * m / (n * a)) < 1e-12)
check("1-D peak is A^2/4", abs(p[i] - A * A / 4) < 1e-12)
check("1-D rest is rounding noise", np.all(np.delete(p, i) < 1e-28))
check("1-D shells are the 0..n/2 modes", len(k) == n // 2 + 1)
# 2-D: shape [16, 16], wavevector (3, 4): |n| = 5
n = 16
i0, i1 = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
w = (A * np.cos(2 * np.pi * (3 * i0 + 4 * i1) / n))[None]
k, p = plot.power_spectrum(w, 1.0)
i = int(np.argmax(p))
check("2-D peak in shell |n| = 5", abs(k[i] - 2 * np.pi * 5 / n) < 1e-12)
# the shell |n| in [4.5, 5.5) holds `count` modes, two of them (±(3, 4)) excited with A^2/4 each
count = sum(1 for a0 in range(-8, 8) for a1 in range(-8, 8) if 4.5 <= np.hypot(a0, a1) < 5.5)
check("2-D shell holds 28 modes", count == 28)
check("2-D shell mean is 2 (A^2/4) / count", abs(p[i] - 2 * A * A / 4 / count) < 1e-12)
# constant field: all power at k = 0
k, p = plot.power_spectrum(np.full((1, 4, 4, 4), 0.5), 1.0)
check("3-D constant: k = 0 holds c^2", k[0] == 0 and abs(p[0] - 0.25) < 1e-15 and np.all(p[1:] < 1e-30))
# log y only over more than two decades of non-negative values
check("wants_log", plot.wants_log([[1, 1e3]]) and not plot.wants_log([[1, 10]]) and not plot.wants_log([[-1, 1e3]]))
sys.exit(0 if ok else 1)
EOF

# errors: exit 2, the file named
echo "not hdf5" > text.h5
for f in missing.h5 text.h5; do
  if "$py" "$plot" $f -o out 2> err.txt; then
    echo "FAIL: plot.py $f exited 0"; fail=1
  elif ! grep -q "$f" err.txt; then
    echo "FAIL: plot.py $f: message does not name the file:"; cat err.txt; fail=1
  else
    echo "ok: plot.py $f: $(cat err.txt)"
  fi
done

if [ $fail -ne 0 ]; then echo "tools_plot: FAILED"; exit 1; fi
echo "tools_plot: all checks passed"
