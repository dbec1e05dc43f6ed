// Scalar weights of the integrators, computed on the host in double precision.
#pragma once

#include <vector>

namespace synfield {

// Weights of the exact kick π ← e π + φ F over h at friction γ, and of the energy it
// dissipates, α π₀² + 2β π₀F + δ F² (see kernels::Kick). Stable as γh → 0.
struct KickWeights {
  double e, phi, alpha, beta, delta;
};
KickWeights kick_weights(double gamma, double h);

// Drift weights of one step of a symmetric splitting: {1} for leapfrog, the three
// Yoshida weights {w₁, w₀, w₁} for yoshida4.
std::vector<double> splitting_weights(bool fourth_order);

}  // namespace synfield
