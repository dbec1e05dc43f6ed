# Sourced by the mpirun test scripts with their arguments EXE ROOT [MPIRUN]: strict mode,
# exit 77 (skipped) without the launcher, a scratch folder removed on exit (the working
# folder), and Open MPI allowed to run as root and oversubscribed (idle ranks yield the
# core) with one thread per rank.
set -euo pipefail
EXE=$1 ROOT=$2 MPIRUN=${3:-mpirun}
command -v "$MPIRUN" >/dev/null || { echo "no $MPIRUN: skipped"; exit 77; }
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1 \
  OMPI_MCA_mpi_yield_when_idle=1 OMP_NUM_THREADS=1
