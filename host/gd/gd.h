// host/gd: the independent gradient-descent reference (`synfield gd`). So that agreement
// with the field solver is evidence, it shares no code with it: it includes only
// include/synfield (blas.h, data.h) and host/io (its output file).
//
// The independent CPU reference for the field solver: the textbook gradient-descent loop of
// the linear perceptron, on the host BLAS (synfield/blas.h). It shares nothing with the field
// engine (no kernels/, no host/engine/engine.h) so that agreement between the two is evidence.
//
// Model and cost. Outputs o = 0…n_out−1, input sites x = 0…N−1 (the lattice shape of the
// data, row-major), examples l = 0…P−1, replicas r = 0…B−1 (independent copies):
//   Z^l_{o,r} = s Σ_x w_{o,r}(x) X^l(x) + b_{r,o},     R = Y − Z,
//   C_r = Σ_l Σ_o (R^l_{o,r})²,                        C = Σ_r C_r   (the observable "loss")
//   ∂C/∂w_{o,r}(x) = −2 s Σ_l R^l_{o,r} X^l(x),         ∂C/∂b_{r,o} = −2 Σ_l R^l_{o,r}
// s = 1 in network units, s = a^d in continuum units (a = spacing, d = input dimensions).
// With a minibatch, the gradient of step n sums over the rows MinibatchSampler(P, m, seed)
// .batch(n) only (the same rows for every replica); the observed loss always sums over all P.
//
// The update (heavy ball; β = 0 is plain gradient descent), per parameter, from v₋₁ = 0:
//   v_n = β v_{n−1} − η_n ∇C(w_n),   w_{n+1} = w_n + v_n,
//   η_0 = first_lr (when set, else lr),  η_n = lr for n ≥ 1,
// and the bias uses bias_lr_scale·η_n (same β).
//
// Map to the field solver (μ = a^d in continuum units, 1 in network units; the bias has
// μ_b = 1; F = −(1/μ) ∂C/∂w is the force on the weight field, F_b = −∂C/∂b):
//
// * Gradient flow dw/dt = η F, explicit Euler with step dt:
//     w_{n+1} = w_n + dt η F(w_n) = w_n − (dt η/μ) ∇C
//   ⇒ lr = dt·η/μ, momentum β = 0, no first_lr, bias_lr_scale = μ (the bias steps by dt·η).
//   match_gradient_flow() sets exactly this.
//
// * Damped equation ẇ = π, π̇ = −γπ + F, leapfrog KDK with exact friction:
//     kick(h): π ← e^{−γh} π + φ(h) F(w),  φ(h) = (1 − e^{−γh})/γ  (γ → 0: φ = h),
//     drift(h): w ← w + h π,  step = kick(dt/2) drift(dt) kick(dt/2).
//   Two half kicks at the same w merge exactly into one kick(dt), since
//   e^{−γdt/2}φ(dt/2) + φ(dt/2) = (1 + e^{−γdt/2})(1 − e^{−γdt/2})/γ = φ(dt). From π₀ = 0:
//     π_{1/2} = φ(dt/2) F(w_0),  π_{n+1/2} = e^{−γdt} π_{n−1/2} + φ(dt) F(w_n)  (n ≥ 1),
//     w_{n+1} = w_n + dt π_{n+1/2}.
//   With v_n = w_{n+1} − w_n = dt π_{n+1/2} and F = −∇C/μ this is the heavy ball above with
//     β   = e^{−γ dt},
//     η   = dt φ(dt)/μ   = dt (1 − e^{−γ dt})/(γ μ)     (γ → 0: dt²/μ),
//     η_1 = dt φ(dt/2)/μ = dt (1 − e^{−γ dt/2})/(γ μ)   (γ → 0: dt²/(2μ))  — the first step,
//   and bias_lr_scale = μ (μ_b = 1). The weights agree at every whole step n; the closing
//   half kick only changes π. Constant γ only (an expansion's γ(t) changes β per step).
//   match_damped_leapfrog() sets exactly this (stable as γ dt → 0).
//
// Output file (the field solver's layout, format "synfield-1"), when `output` is not empty:
//   /                          attrs format="synfield-1", kind="gd", version, status, and the
//                              options (lr, momentum, first_lr, bias_lr_scale, scale, steps,
//                              minibatch, seed, replicas, bias, outputs, samples)
//   /observables/step          int64  [S_obs]     steps 0, observe_every, 2·observe_every, …, steps
//   /observables/loss          double [S_obs]     full-data C at that step, Σ over replicas
//   /observables/test_loss     double [S_obs]     the same on the test set (only with test data)
//   /snapshots/step            int64  [S]         steps 0, snapshot_every, …, steps (0: first and last)
//   /snapshots/fields/<name>   double [S, B, *shape]   name = gd_field_names(n_out)[o]
//   /snapshots/fields/bias     double [S, B, n_out]    (only with bias)
// `status` is "running" while writing, then "complete" or "failed: <reason>".
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <synfield/data.h>

namespace synfield {

struct GdOptions {
  // --- update rule ---
  double lr = 1e-2;                 // η (for steps n ≥ 1, and step 0 unless first_lr is set)
  double momentum = 0.0;            // β ∈ [0, 1]; 0 = plain gradient descent
  std::optional<double> first_lr;   // η₀ of the very first step (leapfrog start: see above)
  double bias_lr_scale = 1.0;       // the bias steps with bias_lr_scale·η_n (μ for the solver map)
  std::int64_t steps = 0;
  // --- data ---
  std::int64_t minibatch = 0;       // m: 0 = full batch, else 1 ≤ m ≤ P rows per step
  std::uint64_t seed = 1;           // MinibatchSampler seed
  // --- model ---
  bool bias = true;                 // false: Z = s X W, no bias parameters at all
  double scale = 1.0;               // s: 1 (network units) or a^d (continuum units)
  int replicas = 1;                 // B independent copies
  std::vector<double> W0;           // initial W [n_out][B][N]; empty = zeros
  std::vector<double> b0;           // initial b [B][n_out]; empty = zeros (must be empty without bias)
  // --- output ---
  std::int64_t observe_every = 1;   // ≥ 1
  std::int64_t snapshot_every = 0;  // 0 = only the first and last state
  std::string output;               // HDF5 path; empty = no file
  std::vector<std::string> field_names;  // the weight fields' dataset names; empty = gd_field_names
};

struct GdResult {
  std::vector<double> W;                // final W [n_out][B][N]
  std::vector<double> b;                // final b [B][n_out]; empty without bias
  std::vector<std::int64_t> steps;      // the observed steps
  std::vector<double> loss;             // full-data C at those steps, Σ over replicas
  std::vector<double> replica_loss;     // [S_obs][B]: C_r at those steps
  std::vector<double> test_loss;        // test-set C at those steps (empty without test data)
};

// Runs `opt.steps` steps; throws std::invalid_argument for inconsistent data or options and
// std::runtime_error when the loss stops being finite (the file, if any, records the failure).
GdResult train_gd(const Dataset& data, const GdOptions& opt);

// Per-replica cost C_r (size B) of parameters W [n_out][B][N], b [B][n_out] (empty = no bias)
// on the training set, or on the test set when `test`.
std::vector<double> gd_loss(const Dataset& data, const std::vector<double>& W, const std::vector<double>& b,
                            double scale, int replicas, bool test = false);

// Field names of the weight fields: {"w"} for one output, else {"w0", "w1", …}.
std::vector<std::string> gd_field_names(int outputs);

// Set lr, first_lr, momentum and bias_lr_scale to step the field solver's dynamics (above).
// mu = a^d in continuum units, 1 in network units.
void match_gradient_flow(GdOptions& opt, double dt, double eta, double mu);
void match_damped_leapfrog(GdOptions& opt, double dt, double gamma, double mu);

}  // namespace synfield
