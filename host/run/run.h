// host/run: one run from a Problem to its files — the loop (run.*), the stable-dt estimate
// (stability.*), progress (progress.*) and the MPI Comm (mpi_world.*, linked into the
// executable only). It includes include/synfield, host/io (output, checkpoints), host/gd
// (the Problem → gd mapping), host/config (initial data) and host/engine (integrator
// weights).
//
// The run loop of `synfield run`: build the solver, step it, observe and snapshot on
// their cadences, write the output file, checkpoints (host/io/checkpoint.h) and progress.
//
// Chunks. The solver advances in chunks that end at the multiples of observe_every,
// snapshot_every and checkpoint_every (and at the last step): the leapfrog merges the
// half-kicks of consecutive steps inside one advance() call, so these boundaries fix the
// rounding, and an interrupted and resumed run — which stops and restarts only at such a
// boundary — is bit-identical to an uninterrupted one (same backend, precision and
// threads).
//
// Signals. SIGTERM and SIGINT (and SIGHUP, SIGUSR1: what batch schedulers send before a
// kill) set a flag; the loop honours it at the next chunk boundary — at the latest the
// next observation — by writing the pending snapshots, a checkpoint of that state and the
// status "interrupted at step N (signal S); resume with: …", and run() returns with
// RunSummary::signal set (exit status 4). The loop adds no observation or snapshot row the
// uninterrupted run would not have. A second signal kills the process at once (the
// default action is restored by the first).
//
// Blow-up. Every observation is checked (observables finite; for a run whose energy cannot
// grow — γ ≥ 0, see the runaway rule in run.cpp — E − E₀ ≤ 1e6·(K₀ + |V₀|)), and every
// snapshot and checkpoint state for finite values before it is written; a blow-up throws
// BlowUp naming the step and the likely cause (exit status 3): no non-finite row,
// snapshot or checkpoint is written, the file stays at OUT.partial with status
// "failed: blow-up at step N: …" and the last checkpoint stays the last good one.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include <synfield/comm.h>
#include <synfield/solver.h>

#include "host/io/checkpoint.h"
#include "host/gd/gd.h"

namespace synfield {

// Exit statuses of `synfield run` beyond 0 (complete), 1 (error) and 2 (config/usage).
constexpr int kExitBlowUp = 3;
constexpr int kExitSignal = 4;

struct BlowUp : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RunOptions {
  std::string output;  // overrides [output].file when not empty
  Backend backend = Backend::cpu;
  bool quiet = false;
  bool check_dt = true;      // estimate the stable dt before the run and warn above it
  std::string config_file;   // recorded in checkpoints (for messages)
  std::string checkpoint;    // where checkpoints go (default: [output].checkpoint)
  const Checkpoint* resume = nullptr;  // continue from this checkpoint
  // Split the lattice over these ranks (`mpirun -np R synfield run`; null: one process).
  // Every rank runs the loop; rank 0 alone writes the output file, checkpoints and messages.
  const Comm* comm = nullptr;
};

struct RunSummary {
  Observables last;
  double seconds = 0.0;
  std::string output;
  std::string checkpoint;  // the checkpoint path
  int signal = 0;          // the signal that stopped the run (0: ran to the end)
  std::int64_t step = 0;   // the step reached
};

RunSummary run(const Problem& p, const RunOptions& opt);

// `synfield run --resume CKPT [CONFIG]`: reads and verifies CKPT and returns the problem to
// continue: its own config, or CONFIG (with `sets`), which must resolve to the same config
// ("checkpoint from another config" naming both files otherwise). Without CONFIG, `sets`
// must not change the checkpoint's config. The output path is the checkpoint's.
struct Resume {
  Checkpoint checkpoint;
  Problem problem;
};
Resume load_resume(const std::string& checkpoint, const std::string& config, const std::vector<std::string>& sets);

// The gd reference's options that step the field solver's dynamics of `p` (gradient_flow +
// euler, or damped + leapfrog with constant γ, from rest) on the same initial weights and
// minibatch sequence; std::runtime_error naming why when there is no counterpart. The
// observation cadence is the config's; no snapshots and no output file are set.
GdOptions gd_options(const Problem& p);

// `synfield gd`: trains the model of `p` with the CPU gradient-descent reference
// (host/gd/gd.h), its learning rate, momentum and first step mapped from [dynamics] so that
// its weights follow the field solver's (gradient_flow + euler, or damped + leapfrog with
// constant γ), from the same initial weights and minibatch sequence.
void run_gd(const Problem& p, const std::string& output, bool quiet);

// One line describing the lattice and dynamics, printed at start-up.
std::string describe(const Problem& p);

}  // namespace synfield
