// The largest stable time step of a run, estimated before it starts.
//
// λ_max: the largest eigenvalue of the force's Jacobian −∂F/∂w at the current state (the
// local and the nonlocal terms together: the Solver's own force()), by Lanczos iteration —
// power iteration's Krylov refinement: the same Jacobian-vector products, a better
// estimate of the top eigenvalue after the same number of them. Each product is a central
// finite difference of Solver::force() around w (exact up to rounding for a quadratic
// potential); the state and the clock are restored exactly afterwards. With minibatches
// each step's Jacobian is its batch's; the estimate uses the full data's (the sum of the
// batch Jacobians of one epoch, less the extra copies of the local terms), which bounds
// every batch's from above. A model's biases enter through their own block of the
// Jacobian, 2P with μ_b = 1 (exact; their coupling to the weights is left out), as
// max(λ_weights, λ_bias).
//
// Minibatch runs of the damped equation switch sources every step, and such switching can
// destabilise the momentum somewhat below the full data's limit (seen at 0.95 of it): keep
// a margin there.
//
// dt limit: the linear test equation of each integrator, w'' + γ w' = −λ w (damped) or
// w' = −ηλ w (gradient flow), stepped with the integrator's own one-step map — the exact
// kicks and drifts of the splittings (host/engine/integrator_weights.h), or the RK4 polynomial —
// and dt_max the largest dt below which its spectral radius stays ≤ 1. At γ = 0 this gives
//   leapfrog  dt < 2/√λ
//   yoshida4  dt < 1.5734/√λ   (the triple jump's half-trace leaves [−1, 1] at ωdt = 1.573402)
//   rk4       dt < 2√2/√λ      (RK4's stability region on the imaginary axis)
// with friction the leapfrog's exact condition is λ dt tanh(γdt/2)/γ < 2 (→ 2γ/λ for
// large γ: the Euler limit of the overdamped flow); for the gradient flow
//   euler     dt·η·λ < 2
//   rk4       dt·η·λ < 2.7853      (RK4's stability region on the negative real axis)
// A time-dependent γ(t) = d·p/t is taken at its smallest value over the run.
#pragma once

#include <limits>
#include <string>

#include <synfield/solver.h>

namespace synfield {

struct StabilityEstimate {
  double lambda = 0.0;          // max(lambda_weights, lambda_bias)
  double lambda_weights = 0.0;  // Lanczos estimate for the fields
  double lambda_bias = 0.0;     // the biases' curvature (0 without biases)
  int iterations = 0;           // Jacobian-vector products
  bool converged = false;
  double dt_max = std::numeric_limits<double>::infinity();  // inf when λ ≤ 0
};

// Estimates λ_max at the solver's current state and the dt limit of p's integrator. The
// solver's state (w, π, biases) and clock are restored exactly.
StabilityEstimate estimate_stability(Solver& s, const Problem& p, int max_iterations = 60);

// The largest dt at which p's integrator is stable for a mode of curvature `lambda` (inf
// when lambda ≤ 0).
double stable_dt(const Problem& p, double lambda);

// The largest eigenvalue of the symmetric tridiagonal matrix with diagonal `a` and
// off-diagonal `b` (b.size() == a.size() − 1), by Sturm-sequence bisection.
double tridiagonal_max_eigenvalue(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace synfield
