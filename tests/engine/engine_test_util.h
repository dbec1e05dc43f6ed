// Helpers of the engine tests: TOML problems, smooth random states, temporary HDF5 inputs,
// and an abs+rel comparison that prints site coordinates. The backend parametrization and
// the generic helpers are in test_util.h.
#pragma once

#include <gtest/gtest.h>

#include <synfield/config.h>
#include <synfield/solver.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "host/engine/backends.h"
#include "host/io/h5.h"
#include "test_util.h"

namespace synfield::test {

inline const double kPi = std::acos(-1.0);

// An engine without initial state (the caller sets it); `generic_only` bypasses the
// free-field fast path.
inline std::unique_ptr<Solver> make_engine(const Problem& p, Backend b, bool generic_only) {
  if (b == Backend::cuda) {
#if defined(SYNFIELD_HAVE_CUDA)
    return detail::make_cuda_engine(p, generic_only);
#else
    throw std::runtime_error("make_engine: this build has no CUDA backend");
#endif
  }
  return detail::make_cpu_engine(p, generic_only);
}

// ---- configs ------------------------------------------------------------------------

// The [lattice] table of a test problem.
struct LatticeSpec {
  std::vector<int> shape{9};
  std::vector<std::string> boundary{"periodic"};  // one entry, or one per axis
  double spacing = 1.0;
  std::vector<std::string> fields{"w"};
  int replicas = 1;
  std::string units = "continuum";

  std::string toml() const {
    std::vector<std::string> sh;
    for (int n : shape) sh.push_back(std::to_string(n));
    std::ostringstream os;
    os.precision(17);
    os << "[lattice]\nshape = " << toml_list(sh, false) << "\nboundary = "
       << (boundary.size() == 1 ? "\"" + boundary[0] + "\"" : toml_list(boundary, true)) << "\nspacing = " << spacing
       << "\nfields = " << toml_list(fields, true) << "\nreplicas = " << replicas << "\nunits = \"" << units << "\"\n";
    return os.str();
  }
  std::string name() const {
    std::string s;
    for (std::size_t i = 0; i < shape.size(); ++i) s += (i ? "x" : "") + std::to_string(shape[i]);
    for (const auto& b : boundary) s += "_" + b;
    return s;
  }
};

// [[potential]] snippets.
inline std::string term(const std::string& kind, const std::string& field, double c) {
  return "[[potential]]\nterm = \"" + kind + "\"\nfield = \"" + field + "\"\ncoefficient = " + num(c) + "\n";
}
inline std::string power_term(const std::string& field, int p, double g) {
  return term("power", field, g) + "exponent = " + std::to_string(p) + "\n";
}
inline std::string monomial(const std::vector<std::string>& factors, double c) {
  return "[[potential]]\nterm = \"monomial\"\ncoefficient = " + num(c) + "\nfactors = " + toml_list(factors, true) +
         "\n";
}
// A term whose coefficient is the per-site array `source` ("file.h5:/path").
inline std::string term_file(const std::string& kind, const std::string& field, const std::string& source) {
  return "[[potential]]\nterm = \"" + kind + "\"\nfield = \"" + field + "\"\ncoefficient = \"" + source + "\"\n";
}
inline std::string monomial_file(const std::vector<std::string>& factors, const std::string& source) {
  return "[[potential]]\nterm = \"monomial\"\ncoefficient = \"" + source + "\"\nfactors = " +
         toml_list(factors, true) + "\n";
}

inline std::string damped(const std::string& integrator, double dt, double gamma, const std::string& precision = "float64") {
  return "[dynamics]\nequation = \"damped\"\nintegrator = \"" + integrator + "\"\ndt = " + num(dt) +
         "\nsteps = 1\ngamma = " + num(gamma) + "\nprecision = \"" + precision + "\"\n";
}
inline std::string expanding(const std::string& integrator, double dt, double p, double t0) {
  return "[dynamics]\nequation = \"damped\"\nintegrator = \"" + integrator + "\"\ndt = " + num(dt) +
         "\nsteps = 1\n[dynamics.expansion]\np = " + num(p) + "\nt0 = " + num(t0) + "\n";
}
inline std::string flow(const std::string& integrator, double dt, double eta, const std::string& precision = "float64") {
  return "[dynamics]\nequation = \"gradient_flow\"\nintegrator = \"" + integrator + "\"\ndt = " + num(dt) +
         "\nsteps = 1\neta = " + num(eta) + "\nprecision = \"" + precision + "\"\n";
}

inline Problem problem(const LatticeSpec& lat, const std::string& dynamics, const std::string& potential,
                       const std::string& initial = "") {
  return parse_test_config(lat.toml() + dynamics + potential + initial);
}

// ---- states ---------------------------------------------------------------------------

// Coordinates of flat site x (row-major, last axis fastest).
inline std::vector<int> coords(const Lattice& lat, std::int64_t x) {
  std::vector<int> c(lat.dim);
  for (int mu = lat.dim - 1; mu >= 0; --mu) {
    c[mu] = static_cast<int>(x % lat.shape[mu]);
    x /= lat.shape[mu];
  }
  return c;
}

// A smooth-ish random state [field][replica][site]: a long-wavelength wave per
// (field, replica) with a random offset, plus `noise` times uniform(−1, 1) per site.
inline std::vector<double> smooth_random(const Lattice& lat, std::uint64_t seed, double amplitude = 0.6,
                                         double noise = 0.15, double offset = 0.2) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  const std::int64_t N = lat.sites();
  const std::size_t F = lat.fields.size();
  std::vector<double> out(F * lat.replicas * N);
  for (std::size_t f = 0; f < F; ++f)
    for (int r = 0; r < lat.replicas; ++r) {
      double k[kMaxDim], ph = kPi * u(rng), c0 = offset * u(rng);
      for (int mu = 0; mu < lat.dim; ++mu) k[mu] = 2.0 * kPi * (1.0 + 0.5 * u(rng)) / lat.shape[mu];
      for (std::int64_t x = 0; x < N; ++x) {
        const std::vector<int> c = coords(lat, x);
        double phase = ph;
        for (int mu = 0; mu < lat.dim; ++mu) phase += k[mu] * c[mu];
        out[(f * lat.replicas + r) * N + x] = c0 + amplitude * std::sin(phase) + noise * u(rng);
      }
    }
  return out;
}

inline double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size()) return INFINITY;
  double m = 0.0;
  for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

// ---- comparison ------------------------------------------------------------------------

// |got − want| ≤ atol + rtol·|want| at every element of a [field][replica][site] array;
// on failure names the worst error and the first mismatches by field, replica and site.
inline ::testing::AssertionResult all_close(const std::vector<double>& got, const std::vector<double>& want,
                                            double atol, double rtol, const Lattice& lat,
                                            const std::string& what = "value") {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << what << ": size " << got.size() << " != expected " << want.size();
  const std::int64_t N = lat.sites();
  int bad = 0;
  double worst = 0.0;
  std::size_t worst_i = 0;
  std::ostringstream os;
  os.precision(15);
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double err = std::fabs(got[i] - want[i]);
    const bool ok = err <= atol + rtol * std::fabs(want[i]);  // false for NaN
    if (ok) continue;
    if (!(err <= worst)) {
      worst = err;
      worst_i = i;
    }
    if (bad++ < 6) {
      const std::int64_t row = static_cast<std::int64_t>(i) / N, x = static_cast<std::int64_t>(i) % N;
      const std::vector<int> c = coords(lat, x);
      os << "\n  " << what << "[field " << lat.fields[row / lat.replicas] << ", replica " << row % lat.replicas
         << ", site (";
      for (std::size_t k = 0; k < c.size(); ++k) os << (k ? "," : "") << c[k];
      os << ")] = " << got[i] << ", expected " << want[i] << " (error " << err << ")";
    }
  }
  if (bad == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << bad << " of " << got.size() << " elements of " << what
                                       << " differ by more than " << atol << " + " << rtol
                                       << "·|expected| (worst error " << worst << " at element " << worst_i
                                       << "); first mismatches:" << os.str();
}

// ---- temporary files ---------------------------------------------------------------------

// Temporary HDF5 inputs (one file per dataset), removed when this goes out of scope.
class TempH5 {
 public:
  explicit TempH5(std::string tag) : tag_(std::move(tag)) {}

  // Writes a lattice-shaped dataset /c to a new file and returns its "file.h5:/c" source.
  std::string put(const std::string& name, const std::vector<double>& data, const Lattice& lat) {
    const std::string path = dir_ / (tag_ + "_" + name + ".h5");
    write_h5(path, "/c", data, std::vector<hsize_t>(lat.shape.begin(), lat.shape.begin() + lat.dim));
    used_ = true;
    return path + ":/c";
  }
  bool used() const { return used_; }  // whether any file was written

 private:
  std::string tag_;
  bool used_ = false;
  TempDir dir_;
};

}  // namespace synfield::test
