// `synfield sources`: the perceptron's sources J₀, J₁, J₂ (or J₂'s factor) for inspection.
#pragma once

#include <string>

#include <synfield/problem.h>

namespace synfield {

// Writes, for the model's training data (s = the model's scale, Y per output o):
//   /J0 [n_out]            Σ_l (Y_o^l)²
//   /J1 [n_out, *shape]    −2 s Σ_l Y_o^l X^l(x)
//   /J2 [N, N]             s² Σ_l X^l(x) X^l(y)          (dense coupling)
//   /J2_factor [P, *shape] s X^l(x), with J₂ = factorᵀ·factor (factored coupling)
// plus root attributes format = "synfield-sources-1", coupling, scale.
void write_sources(const Problem& p, const std::string& path);

}  // namespace synfield
