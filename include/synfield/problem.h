// The validated, backend-free description of one run: lattice, fields, potential,
// damping, integrator, initial conditions and output. Built from a config in one place
// (config.h), so every error names its key; consumed by the solvers and the run loop.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include <synfield/data.h>

namespace synfield {

enum class Boundary { periodic, open, dirichlet };
enum class Units { continuum, network };
enum class Equation { damped, gradient_flow };
enum class Integrator { leapfrog, yoshida4, rk4, euler };
enum class Precision { float32, float64 };

// Difference operators a potential factor may apply to a field (see kernels/lattice.h).
enum class Op { id, d, dd, lap };

const char* to_string(Boundary);
const char* to_string(Units);
const char* to_string(Equation);
const char* to_string(Integrator);
const char* to_string(Precision);

constexpr int kMaxDim = 3;

struct Lattice {
  int dim = 1;
  std::array<int, kMaxDim> shape{1, 1, 1};
  double spacing = 1.0;
  std::array<Boundary, kMaxDim> boundary{Boundary::periodic, Boundary::periodic, Boundary::periodic};
  std::vector<std::string> fields{"w"};
  int replicas = 1;
  Units units = Units::continuum;

  std::int64_t sites() const;
  // μ: the kinetic weight, a^d in continuum units, 1 in network units.
  double mu() const;
  // Extent L_μ = n_μ a.
  double extent(int axis) const { return shape[axis] * spacing; }
  int field_index(const std::string& name) const;  // -1 when absent
};

// One factor (D w_f)^power of a potential term.
struct Factor {
  int field = 0;
  Op op = Op::id;
  int axis = 0;   // for d and dd
  int power = 1;  // >= 1
};

// V gains Σ_x μ c(x) Π_k (D_k w_{f_k})(x)^{p_k}, μ = a^d (continuum) or 1 (network).
// `kind` records the shorthand it came from (a gradient expands to one term per axis).
struct Term {
  std::string kind;   // mass, gradient, source, power, monomial
  std::string label;  // e.g. "potential[2] (mass on w)" for messages
  double coefficient = 0.0;
  std::vector<double> coefficient_field;  // per-site values (lattice shape), empty if scalar
  std::vector<Factor> factors;
  bool per_site() const { return !coefficient_field.empty(); }
};

// Friction law γ(t).
struct Damping {
  enum class Kind { constant, expansion } kind = Kind::constant;
  double gamma = 0.0;   // constant γ (from gamma, d·hubble or 1/eta)
  double p = 0.0;       // expansion a ∝ t^p: γ(t) = d p / t
  int dim = 1;
  double gamma_at(double t) const { return kind == Kind::constant ? gamma : dim * p / t; }
};

struct Dynamics {
  Equation equation = Equation::damped;
  Integrator integrator = Integrator::leapfrog;
  Damping damping;
  double eta = 1.0;  // gradient-flow rate: dw/dt = η F
  double dt = 0.01;
  std::int64_t steps = 0;
  double t0 = 0.0;   // initial time (the expansion's t0, else 0)
  Precision precision = Precision::float64;
};

// Initial data for one field's displacement or velocity.
struct InitialSpec {
  std::string kind = "zero";  // zero, constant, mode, gaussian, file
  double value = 0.0;
  double amplitude = 1.0;
  double phase = 0.0;
  std::array<int, kMaxDim> wavevector{0, 0, 0};
  double std = 1.0;
  std::uint64_t seed = 1;
  std::string path;  // file.h5:/dataset
};

struct InitialField {
  InitialSpec value;
  InitialSpec velocity;
};

struct Output {
  std::string file = "synfield.h5";
  std::int64_t observe_every = 10;
  std::int64_t snapshot_every = 0;  // 0: only the first and last state
  int compression = 0;               // deflate level 0..9 of the snapshot datasets (0: none)
  std::int64_t checkpoint_every = 0;  // 0: a checkpoint only when stopped by a signal
  std::string checkpoint;            // default: file with .ckpt.h5 in place of .h5
  // A run split over MPI ranks writes through MPI-IO (parallel HDF5, each rank its slab) when
  // the build has it; false: rank 0 gathers the state and writes (SWMR: readable while it runs).
  bool mpi_io = true;
};

// A network whose training cost is (part of) the potential: `[model]`.
// Linear perceptron: one field w_o per output on the input's lattice, optional biases b_o
// (global degrees of freedom, μ_b = 1), cost C = Σ_l Σ_o (Y_o^l − s Σ_x w_o(x) X^l(x) − b_o)²,
// s = a^d in continuum units and 1 in network units.
struct Model {
  enum class Coupling { dense, factored };
  // Which examples each replica trains on: all the same; its own bootstrap resample (and
  // its own minibatch stream); or all examples with its own minibatch stream.
  enum class ReplicaData { shared, bootstrap, streams };
  bool enabled = false;
  Dataset data;
  bool bias = true;
  Coupling coupling = Coupling::factored;
  std::int64_t minibatch = 0;   // 0: every example every step
  std::uint64_t seed = 1;       // minibatch sampler and bootstrap seed
  ReplicaData replica_data = ReplicaData::shared;
  double scale = 1.0;           // s
};

struct Problem {
  Lattice lattice;
  Model model;
  Dynamics dynamics;
  std::vector<Term> terms;
  std::vector<InitialField> initial;  // one per field
  Output output;
  std::string config_text;  // the resolved config, as TOML
};

}  // namespace synfield
