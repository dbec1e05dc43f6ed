#!/usr/bin/env bash
# Downloads — does not install — the Debian 12 packages synfield's build needs that a bare CUDA
# image may lack (HDF5, toml++, CLI11, OpenBLAS/LAPACKE, GoogleTest, Google Benchmark), into
# DIR (default .deps), for a machine without network access:
#
#   tools/fetch-gpu-deps.sh .deps          # here (apt-get download: no root needed)
#   echo /.deps/ >> .git/info/exclude      # keep it out of git; carry it to the GPU machine
#   SYNFIELD_DEPS=.deps benchmarks/gpu_check.sh   # there: unpacked into /tmp/synfield-deps
#
# Only the libraries themselves and their direct library dependencies are fetched (libc, libstdc++,
# zlib and the like are assumed present); about 25 MiB. The list was checked against Debian 12's
# archive (apt-cache policy), not yet on the GPU machine's image.
set -euo pipefail
DIR=${1:-.deps}
PKGS=(
  libhdf5-dev libhdf5-103-1 libhdf5-hl-100 libhdf5-cpp-103-1 libhdf5-hl-cpp-100 libsz2 libaec0 libaec-dev
  libtomlplusplus-dev libtomlplusplus3 libcli11-dev
  libopenblas-dev libopenblas-pthread-dev libopenblas0-pthread libopenblas0 liblapacke-dev liblapacke libtmglib3
  libblas3 liblapack3 libgfortran5
  libgtest-dev libbenchmark-dev libbenchmark1debian
)
mkdir -p "$DIR"
cd "$DIR"
apt-get download "${PKGS[@]}"
du -sh .
