#!/usr/bin/env bash
# tools/run.sbatch with stand-ins for srun (runs the command) and scontrol (logs it): a job
# stopped by SIGTERM exits 4 and requeues itself; its next start resumes from the checkpoint,
# and the finished file equals an uninterrupted run's bit for bit.
set -euo pipefail
EXE=$1 ROOT=$2
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
cd "$DIR"
fail() { echo "FAIL: $*"; exit 1; }
mkdir bin
printf '#!/bin/bash\nexec "$@"\n' >bin/srun
printf '#!/bin/bash\necho "$*" >>"%s/scontrol.log"\n' "$DIR" >bin/scontrol
chmod +x bin/srun bin/scontrol
export PATH=$DIR/bin:$PATH SYNFIELD=$EXE SLURM_JOB_ID=42 SLURM_CPUS_PER_TASK=1
ARGS=(--set 'lattice.shape=[32768]' --set dynamics.steps=40000 --set output.snapshot_every=10000 -q)
"$EXE" run "$ROOT/data/examples/free_field.toml" -o ref.h5 --threads 1 "${ARGS[@]}"

bash "$ROOT/tools/run.sbatch" "$ROOT/data/examples/free_field.toml" out.h5 "${ARGS[@]}" >job1.txt 2>&1 &
job=$!
for _ in $(seq 500); do [[ -f out.h5.partial ]] && break; sleep 0.02; done
sleep 0.5
pkill -TERM -P "$job" || fail "no synfield process under the job"
st=0
wait "$job" || st=$?
[[ $st == 4 ]] || { cat job1.txt; fail "job exit status $st, expected 4"; }
[[ -f out.ckpt.h5 ]] || fail "no checkpoint"
grep -qx "requeue 42" scontrol.log || fail "the job did not requeue itself"

bash "$ROOT/tools/run.sbatch" "$ROOT/data/examples/free_field.toml" out.h5 "${ARGS[@]}" >job2.txt 2>&1 ||
  { cat job2.txt; fail "the requeued job failed"; }
grep -q "resuming from out.ckpt.h5" job2.txt || fail "the requeued job did not resume"
[[ ! -e out.ckpt.h5 ]] || fail "a finished run left its checkpoint"
"$EXE" compare out.h5 ref.h5 --rtol 0 --atol 0 >cmp.txt || { cat cmp.txt; fail "resumed file differs"; }
echo ok
