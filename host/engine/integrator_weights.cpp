// Kick and splitting weights (host/engine/integrator_weights.h).
#include "host/engine/integrator_weights.h"

#include <cmath>

namespace synfield {

KickWeights kick_weights(double gamma, double h) {
  KickWeights k{};
  const double x = gamma * h;
  k.e = std::exp(-x);
  k.phi = gamma == 0.0 ? h : -std::expm1(-x) / gamma;
  k.alpha = -0.5 * std::expm1(-2.0 * x);
  k.beta = 0.5 * gamma * k.phi * k.phi;
  // δ = h² g(x)/x², g(x) = x − 3/2 + 2e^{−x} − ½e^{−2x} = Σ_{n≥3} (−1)^n (2 − 2^{n−1}) xⁿ/n!
  if (std::fabs(x) < 0.1) {
    double term = 1.0, sum = 0.0;  // term = x^(n-2)/n! built up
    for (int n = 1; n <= 24; ++n) {
      term *= (n <= 2 ? 1.0 : x) / n;
      if (n >= 3) sum += ((n % 2) ? -1.0 : 1.0) * (2.0 - std::ldexp(1.0, n - 1)) * term;
    }
    k.delta = h * h * sum;
  } else {
    k.delta = h * h * (x - 1.5 + 2.0 * std::exp(-x) - 0.5 * std::exp(-2.0 * x)) / (x * x);
  }
  return k;
}

std::vector<double> splitting_weights(bool fourth_order) {
  if (!fourth_order) return {1.0};
  const double c = std::cbrt(2.0);
  const double w1 = 1.0 / (2.0 - c);
  const double w0 = -c / (2.0 - c);
  return {w1, w0, w1};
}

}  // namespace synfield
