// The solver interface the run loop, tools and tests drive: one implementation per
// backend and precision (host/engine/engine.h), chosen at run time by make_solver().
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <synfield/comm.h>
#include <synfield/portability.h>
#include <synfield/problem.h>

namespace synfield {

struct Observables {
  std::int64_t step = 0;
  double time = 0.0;
  double kinetic = 0.0;     // K = Σ μ ½ π² (0 for the gradient flow)
  double potential = 0.0;   // V
  double dissipated = 0.0;  // D = ∫ γ Σ μ π² dt (gradient flow: ∫ η Σ μ F² dt)
  std::vector<double> mean, rms;  // per field, over replicas and sites
  // Models only: the training cost C (part of V), the test cost and the test predictions
  // ([replica][example][output]); NaN / empty otherwise.
  double loss = std::numeric_limits<double>::quiet_NaN();
  double test_loss = std::numeric_limits<double>::quiet_NaN();
  std::vector<double> test_predictions;
  double energy() const { return kinetic + potential; }
};

class Solver {
 public:
  virtual ~Solver() = default;
  virtual Backend backend() const = 0;
  virtual Precision precision() const = 0;
  // The ranks the lattice is split over (null: not split).
  virtual const Comm* comm() const = 0;

  // Advance by `steps` integrator steps.
  virtual void advance(std::int64_t steps) = 0;
  virtual Observables observe() = 0;
  virtual std::int64_t step() const = 0;
  virtual double time() const = 0;
  // The dissipated energy D so far (as Observables::dissipated, without observing).
  virtual double dissipated() const = 0;

  // State as [field][replica][site] (F·B·N values each). The velocity is π for the damped
  // equation and η F(w) for the gradient flow. Split over ranks the call is collective and
  // `to` says where the values land:
  //   everywhere  the whole lattice on every rank;
  //   root        the whole lattice on rank 0 alone, empty arrays elsewhere (a run's
  //               snapshots and checkpoints);
  //   slab        each rank its own sites (slab_sites()), [field][replica][site of the slab].
  // Not split, all three are the whole lattice.
  enum class Gather { everywhere, root, slab };
  virtual void get_state(std::vector<double>& w, std::vector<double>& v, Gather to = Gather::everywhere) = 0;
  virtual void get_state(std::vector<float>& w, std::vector<float>& v, Gather to = Gather::everywhere) = 0;
  // Sets w and π (π ignored by the gradient flow) from the whole lattice on every rank
  // (`from` everywhere) or from each rank's own sites (slab); resets the dissipated energy.
  virtual void set_state(const std::vector<double>& w, const std::vector<double>& pi,
                         Gather from = Gather::everywhere) = 0;
  // This rank's sites: the flat index of the first in the lattice, and their number (0 and
  // all of them when not split).
  virtual std::pair<std::int64_t, std::int64_t> slab_sites() const = 0;
  // Sets w and π from the problem's [initial] specs (host/config/initial.h), each rank building
  // its own slab only; resets the dissipated energy. make_solver() calls it.
  virtual void set_initial_state() = 0;

  // Restores the integrator's clock after set_state(): the step count, the time and the
  // dissipated energy D (a checkpoint's resume).
  virtual void set_clock(std::int64_t step, double time, double dissipated) = 0;

  // A model's biases and their velocities, [replica][output] (empty without biases).
  virtual void get_bias(std::vector<double>& b, std::vector<double>& v) = 0;
  virtual void set_bias(const std::vector<double>& b, const std::vector<double>& v) = 0;

  // F = −(1/μ) ∂V/∂w at the current w (landing as get_state's), and V, for checks and tools.
  virtual std::vector<double> force(Gather to = Gather::everywhere) = 0;
  virtual double potential() = 0;
};

// Builds the solver and sets the initial state of `problem` (host/config/initial.cpp). With `comm`
// (more than one rank), each rank's solver evolves its slab of the lattice and every call
// is collective: all ranks make it, in the same order, and see the whole lattice's values.
std::unique_ptr<Solver> make_solver(const Problem& problem, Backend backend, const Comm* comm = nullptr);

// Number of usable CUDA devices (0 when the CUDA backend is not compiled in).
int cuda_device_count();
// "auto" → cuda when usable, else cpu; "cpu"; "cuda" (error when unusable).
Backend resolve_backend(const std::string& request);

}  // namespace synfield
