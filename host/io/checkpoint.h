// Checkpoints of `synfield run` (format "synfield-checkpoint-1"): everything a run needs to
// continue bit for bit — w and π in the run's precision, the biases and their momenta, the
// clock (step, t, dissipated D), the seeds of the initial data and of the minibatch sampler
// (a pure function of seed and step, include/synfield/data.h), the resolved config, and the
// backend, precision, thread count and output file of the run that wrote it.
//
//   /                      attrs format, version, config, config_file, output, backend,
//                                precision, threads, step, steps, time, dissipated,
//                                energy_ref, scale_ref, model_seed, checksum
//   /state/w, /state/pi    [F, B, *shape] float32 or float64 (the gradient flow: π = 0)
//   /state/bias, /state/bias_velocity   [B, n_out] float64 (models with biases only)
//   /seeds/initial         [F, 2] uint64: the value and velocity seed of each field
//
// Written to PATH.tmp, flushed to disk (fsync) and renamed over PATH, so PATH is always
// either the previous checkpoint or the new one, never a torn file. `checksum` (FNV-1a over
// the state and the clock) makes a corrupt file an error rather than a wrong resume.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include <synfield/problem.h>

namespace synfield {

struct CheckpointError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Checkpoint {
  std::string config;       // the resolved config (Problem::config_text)
  std::string config_file;  // the config file the run was started from ("" when unknown)
  std::string output;       // the run's output file, absolute
  std::string backend;      // "cpu" or "cuda"
  Precision precision = Precision::float64;
  int threads = 0;          // OpenMP threads of the CPU backend
  std::int64_t step = 0, steps = 0;
  double time = 0.0, dissipated = 0.0;
  // The blow-up check's reference (host/run/run.cpp): the first observed E and K + |V| (NaN: none yet).
  double energy_ref = 0.0, scale_ref = 0.0;
  std::uint64_t model_seed = 0;
  std::vector<std::uint64_t> initial_seeds;  // [field][value, velocity]
  std::vector<std::uint64_t> shape;          // [F, B, *lattice shape]
  // The state in the run's precision: w32/pi32 for float32, w64/pi64 for float64.
  std::vector<float> w32, pi32;
  std::vector<double> w64, pi64;
  std::vector<double> bias, bias_velocity;   // [replica][output]
  std::vector<std::uint64_t> bias_shape;     // [B, n_out]
};

// The seeds a run depends on, in Checkpoint::initial_seeds order.
std::vector<std::uint64_t> initial_seeds(const Problem& p);

// Writes `c` to path.tmp and renames it to `path` (CheckpointError naming the path).
void write_checkpoint(const std::string& path, const Checkpoint& c);

// Reads and verifies a checkpoint: a missing, non-HDF5, truncated or corrupt file (bad
// checksum, missing or ill-shaped datasets) is a CheckpointError naming it and the reason.
Checkpoint read_checkpoint(const std::string& path);

}  // namespace synfield
