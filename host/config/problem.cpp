// Small methods and names of the Problem types (include/synfield/problem.h).
#include <synfield/problem.h>

#include <cmath>

namespace synfield {

const char* to_string(Boundary b) {
  switch (b) {
    case Boundary::periodic: return "periodic";
    case Boundary::open: return "open";
    default: return "dirichlet";
  }
}
const char* to_string(Units u) { return u == Units::continuum ? "continuum" : "network"; }
const char* to_string(Equation e) { return e == Equation::damped ? "damped" : "gradient_flow"; }
const char* to_string(Integrator i) {
  switch (i) {
    case Integrator::leapfrog: return "leapfrog";
    case Integrator::yoshida4: return "yoshida4";
    case Integrator::rk4: return "rk4";
    default: return "euler";
  }
}
const char* to_string(Precision p) { return p == Precision::float32 ? "float32" : "float64"; }

std::int64_t Lattice::sites() const {
  std::int64_t n = 1;
  for (int mu = 0; mu < dim; ++mu) n *= shape[mu];
  return n;
}

double Lattice::mu() const { return units == Units::continuum ? std::pow(spacing, dim) : 1.0; }

int Lattice::field_index(const std::string& name) const {
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i] == name) return static_cast<int>(i);
  return -1;
}

}  // namespace synfield
