// Helpers of the model tests: random data sets written to temporary HDF5 files, [model]
// configs built as TOML text, one OpenMP thread by default, and norm-relative comparisons.
// The backend parametrization, temporary folders and TOML numbers are in test_util.h.
#pragma once

#include <gtest/gtest.h>
#include <omp.h>

#include <synfield/blas.h>
#include <synfield/config.h>
#include <synfield/data.h>
#include <synfield/solver.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/gd/gd.h"
#include "host/io/h5.h"
#include "test_util.h"

namespace synfield::test {

// ---- threads -------------------------------------------------------------------------------

// The model tests' problems have a few dozen sites: OpenMP hand-offs would dominate their
// thousands of tiny steps (and stall on a loaded machine), so every test runs on one thread
// unless it asks for more (ThreadCount below); engine tests cover the threading itself.
class OneThreadEnvironment : public ::testing::Environment {
 public:
  void SetUp() override { omp_set_num_threads(1); }
};
inline const bool kOneThreadRegistered = [] {
  ::testing::AddGlobalTestEnvironment(new OneThreadEnvironment);
  return true;
}();

// ---- data -----------------------------------------------------------------------------

inline std::vector<double> randn(std::size_t n, std::uint64_t seed, double sd = 1.0) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> d(0.0, sd);
  std::vector<double> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

inline long sites(const std::vector<int>& shape) {
  long n = 1;
  for (int e : shape) n *= e;
  return n;
}

// Random inputs and (unrealizable) random targets.
inline Dataset random_data(std::vector<int> shape, int n_out, long P, long P_test, std::uint64_t seed) {
  Dataset d;
  d.shape = std::move(shape);
  d.outputs = n_out;
  const long N = sites(d.shape);
  d.X = randn(P * N, seed);
  d.Y = randn(P * n_out, seed + 1);
  d.X_test = randn(P_test * N, seed + 2);
  d.Y_test = randn(P_test * n_out, seed + 3);
  return d;
}

// Writes `d` as the HDF5 layout load_hdf5 reads (/X [P, *shape], /Y [P, n_out], tests).
inline void write_data(const std::string& path, const Dataset& d) {
  h5::File f = h5::File::create(path);
  auto dims = [&](long P, bool inputs) {
    std::vector<hsize_t> v{static_cast<hsize_t>(P)};
    if (inputs)
      for (int e : d.shape) v.push_back(static_cast<hsize_t>(e));
    else
      v.push_back(static_cast<hsize_t>(d.outputs));
    return v;
  };
  f.write("/X", d.X, dims(d.samples(), true));
  f.write("/Y", d.Y, dims(d.samples(), false));
  if (d.test_samples() > 0) {
    f.write("/X_test", d.X_test, dims(d.test_samples(), true));
    f.write("/Y_test", d.Y_test, dims(d.test_samples(), false));
  }
  f.close();
}

// The rows `rows` of the training set (the test set unchanged).
inline Dataset select_rows(const Dataset& d, const std::vector<std::int64_t>& rows) {
  Dataset r = d;
  const long N = d.features();
  r.X.clear();
  r.Y.clear();
  for (std::int64_t l : rows) {
    r.X.insert(r.X.end(), d.X.begin() + l * N, d.X.begin() + (l + 1) * N);
    r.Y.insert(r.Y.end(), d.Y.begin() + l * d.outputs, d.Y.begin() + (l + 1) * d.outputs);
  }
  return r;
}

// ---- configs ----------------------------------------------------------------------------

// One model run. `dynamics` is the body of the [dynamics] table.
struct ModelConfig {
  std::string data;  // path of the data file
  int replicas = 1;
  std::string units = "network";
  double spacing = 1.0;
  bool bias = true;
  std::string coupling = "auto";
  long minibatch = 0;
  std::uint64_t seed = 1;
  std::string replica_data = "shared";
  std::string dynamics;
  int outputs = 1;             // for the [initial.*] tables
  double init_std = 0.1;       // gaussian initial weights (0: zero)
  double init_velocity = 0.0;  // gaussian initial π (damped only; 0: at rest)
  std::string extra;           // appended verbatim

  std::string toml() const {
    std::ostringstream os;
    os << "[lattice]\nreplicas = " << replicas << "\nunits = \"" << units << "\"\nspacing = " << num(spacing)
       << "\n[model]\nkind = \"perceptron\"\ndata = \"" << data << "\"\nbias = " << (bias ? "true" : "false")
       << "\ncoupling = \"" << coupling << "\"\nminibatch = " << minibatch << "\nseed = " << seed
       << "\nreplica_data = \"" << replica_data << "\"\n[dynamics]\n"
       << dynamics << "\n";
    for (int o = 0; o < outputs; ++o) {
      const std::string name = outputs == 1 ? "w" : "w" + std::to_string(o);
      os << "[initial." << name << "]\n";
      if (init_std > 0)
        os << "kind = \"gaussian\"\nstd = " << num(init_std) << "\nseed = " << 11 + o << "\n";
      else
        os << "kind = \"zero\"\n";
      if (init_velocity > 0)
        os << "[initial." << name << ".velocity]\nkind = \"gaussian\"\nstd = " << num(init_velocity)
           << "\nseed = " << 31 + o << "\n";
    }
    os << extra;
    return os.str();
  }
  Problem problem() const {
    return parse_test_config(toml());
  }
};

inline std::string flow_dynamics(const std::string& integrator, double dt, double eta, long steps) {
  return "equation = \"gradient_flow\"\nintegrator = \"" + integrator + "\"\ndt = " + num(dt) + "\neta = " + num(eta) +
         "\nsteps = " + std::to_string(steps) + "\n";
}
inline std::string damped_dynamics(const std::string& integrator, double dt, double gamma, long steps) {
  return "equation = \"damped\"\nintegrator = \"" + integrator + "\"\ndt = " + num(dt) + "\ngamma = " + num(gamma) +
         "\nsteps = " + std::to_string(steps) + "\n";
}

// ---- the model's metric ----------------------------------------------------------------

// A = [s X/√μ | 1] (P × (N+1)) with bias, [s X/√μ] (P × N) without: the weights step with
// 1/μ and the biases with 1 (μ_b = 1), so in the coordinates u = (√μ w, b) the dynamics is
// the plain gradient of C = |Y − A u|², whose Hessian is 2AᵀA.
inline std::vector<double> metric_design(const Dataset& d, double s, double mu, bool bias, long* cols) {
  const long N = d.features(), P = d.samples(), n = N + (bias ? 1 : 0);
  std::vector<double> A(P * n);
  for (long l = 0; l < P; ++l) {
    for (long x = 0; x < N; ++x) A[l * n + x] = s * d.X[l * N + x] / std::sqrt(mu);
    if (bias) A[l * n + N] = 1.0;
  }
  *cols = n;
  return A;
}

// Largest eigenvalue of AᵀA (power iteration, converged well below the percent level).
inline double lambda_max(const std::vector<double>& A, long m, long n) {
  std::vector<double> v(n, 1.0), Av(m), w(n);
  double lam = 0.0;
  for (int it = 0; it < 2000; ++it) {
    blas::gemm(blas::Trans::no, blas::Trans::no, m, 1, n, 1.0, A.data(), n, v.data(), 1, 0.0, Av.data(), 1);
    blas::gemm(blas::Trans::yes, blas::Trans::no, n, 1, m, 1.0, A.data(), n, Av.data(), 1, 0.0, w.data(), 1);
    double norm = 0.0;
    for (double x : w) norm += x * x;
    norm = std::sqrt(norm);
    const double prev = lam;
    lam = norm;
    for (long i = 0; i < n; ++i) v[i] = w[i] / norm;
    if (it > 20 && std::fabs(lam - prev) < 1e-14 * lam) break;
  }
  return lam;
}

// λ_max of the Hessian 2AᵀA in the model's metric (the stiffest rate of the gradient flow
// per unit η, the squared top frequency of the undamped equation).
inline double hessian_max(const Dataset& d, double s, double mu, bool bias) {
  long n = 0;
  const std::vector<double> A = metric_design(d, s, mu, bias, &n);
  return 2.0 * lambda_max(A, d.samples(), n);
}

// ---- comparisons ------------------------------------------------------------------------

// |got − want| ≤ rtol·max|want| elementwise (relative to the array's scale).
inline ::testing::AssertionResult close_rel(const std::vector<double>& got, const std::vector<double>& want,
                                            double rtol, const std::string& what) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << what << ": size " << got.size() << " != expected " << want.size();
  const double scale = max_abs(want);
  double worst = 0.0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(got[i] - want[i]);
    if (!(e <= worst)) worst = e, at = i;  // NaN counts as worst
  }
  if (worst <= rtol * scale) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(17);
  os << what << ": worst error " << worst << " at element " << at << " (got " << got[at] << ", expected "
     << want[at] << ") exceeds " << rtol << " × max|expected| = " << rtol * scale;
  return ::testing::AssertionFailure() << os.str();
}

inline ::testing::AssertionResult close_rel(double got, double want, double rtol, const std::string& what) {
  return close_rel(std::vector<double>{got}, std::vector<double>{want}, rtol, what);
}

// |got − want| ≤ tol elementwise.
inline ::testing::AssertionResult close_abs(const std::vector<double>& got, const std::vector<double>& want,
                                            double tol, const std::string& what) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure() << what << ": size " << got.size() << " != expected " << want.size();
  double worst = 0.0;
  std::size_t at = 0;
  for (std::size_t i = 0; i < got.size(); ++i) {
    const double e = std::fabs(got[i] - want[i]);
    if (!(e <= worst)) worst = e, at = i;
  }
  if (worst <= tol) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(17);
  os << what << ": worst error " << worst << " at element " << at << " (got " << got[at] << ", expected "
     << want[at] << ") exceeds " << tol;
  return ::testing::AssertionFailure() << os.str();
}

// |got − want| ≤ tol.
inline ::testing::AssertionResult close_to(double got, double want, double tol, const std::string& what) {
  if (std::fabs(got - want) <= tol) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(17);
  os << what << ": got " << got << ", expected " << want << " (error " << std::fabs(got - want) << " > " << tol
     << ")";
  return ::testing::AssertionFailure() << os.str();
}

// The solver's state: weights [field][replica][site] and biases [replica][output].
struct State {
  std::vector<double> w, v, b, vb;
};
inline State state_of(Solver& s) {
  State st;
  s.get_state(st.w, st.v);
  s.get_bias(st.b, st.vb);
  return st;
}

}  // namespace synfield::test
