// The stable-dt estimate (host/run/stability.h). Truth: the free field's largest curvature is
// the top of the lattice dispersion, λ_max = m² + Σ_μ 4K/a² (periodic, even extents, so the
// mode k = π/a exists), in both units; the dt limits of the linear test equation in closed
// form; and the real engine, which stays bounded just below the limit and blows up just
// above it.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "common/test_util.h"
#include "host/run/stability.h"

namespace synfield {
namespace {

std::string free_field(const std::string& shape, double a, double m2, double K, const std::string& units,
                       const std::string& precision, const std::string& dynamics) {
  const bool flow = dynamics.find("gradient_flow") != std::string::npos;
  return "[lattice]\nshape = " + shape + "\nspacing = " + test::num(a) + "\nunits = \"" + units +
         "\"\nreplicas = 2\n[dynamics]\n" + dynamics + "\nprecision = \"" + precision +
         "\"\n[[potential]]\nterm = \"mass\"\nfield = \"w\"\ncoefficient = " + test::num(m2) +
         "\n[[potential]]\nterm = \"gradient\"\nfield = \"w\"\ncoefficient = " + test::num(K) +
         "\n[initial.w]\nkind = \"gaussian\"\nstd = 0.3\nseed = 5\n" +
         (flow ? "" : "velocity = { kind = \"gaussian\", std = 0.2, seed = 6 }\n") + "[output]\nfile = \"x.h5\"\n";
}

struct LambdaCase {
  std::string shape;
  int dim;
  std::string units, precision;
};

class FreeFieldLambda : public ::testing::TestWithParam<LambdaCase> {};

TEST_P(FreeFieldLambda, MatchesTheTopOfTheDispersion) {
  const LambdaCase& c = GetParam();
  const double a = 0.5, m2 = 0.7, K = 1.3;
  const Problem p = test::parse_test_config(
      free_field(c.shape, a, m2, K, c.units, c.precision, "gamma = 0.3\ndt = 0.01\nsteps = 10"));
  auto s = make_solver(p, Backend::cpu);
  const StabilityEstimate e = estimate_stability(*s, p);
  const double exact = m2 + 4.0 * c.dim * K / (a * a);
  const double tol = c.precision == "float32" ? 1e-3 : 1e-7;
  EXPECT_NEAR(e.lambda, exact, tol * exact) << "iterations " << e.iterations;
  EXPECT_TRUE(e.converged);
  EXPECT_EQ(e.lambda_bias, 0.0);
  // the limit of the leapfrog with friction γ: λ dt tanh(γdt/2)/γ = 2 (≈ 2/√λ for small γ)
  const double g = 0.3, h = e.dt_max;
  EXPECT_NEAR(e.lambda * h * std::tanh(g * h / 2) / g, 2.0, 1e-6);
}

INSTANTIATE_TEST_SUITE_P(Lattices, FreeFieldLambda,
                         ::testing::Values(LambdaCase{"[16]", 1, "continuum", "float64"},
                                           LambdaCase{"[16]", 1, "network", "float64"},
                                           LambdaCase{"[8, 6]", 2, "continuum", "float64"},
                                           LambdaCase{"[4, 6, 4]", 3, "network", "float64"},
                                           LambdaCase{"[16]", 1, "continuum", "float32"},
                                           LambdaCase{"[8, 6]", 2, "network", "float32"}),
                         [](const auto& info) {
                           std::string n = std::to_string(info.param.dim) + "d_" + info.param.units + "_" +
                                           info.param.precision;
                           return n;
                         });

// The estimate must leave no trace: the state, biases and clock are restored bit for bit,
// so a run that estimated is identical to one that did not.
TEST(Stability, RestoresTheStateExactly) {
  for (const std::string prec : {"float64", "float32"}) {
    const Problem p = test::parse_test_config(
        free_field("[12]", 0.5, 0.7, 1.3, "continuum", prec, "gamma = 0.3\ndt = 0.05\nsteps = 10"));
    auto s1 = make_solver(p, Backend::cpu), s2 = make_solver(p, Backend::cpu);
    s1->advance(3);
    s2->advance(3);
    estimate_stability(*s1, p);
    EXPECT_EQ(s1->step(), 3);
    s1->advance(7);
    s2->advance(7);
    std::vector<double> w1, v1, w2, v2;
    s1->get_state(w1, v1);
    s2->get_state(w2, v2);
    EXPECT_EQ(w1, w2) << prec;
    EXPECT_EQ(v1, v2) << prec;
    const Observables o1 = s1->observe(), o2 = s2->observe();
    EXPECT_EQ(o1.time, o2.time);
    EXPECT_EQ(o1.dissipated, o2.dissipated);
    EXPECT_EQ(o1.energy(), o2.energy());
  }
}

// The closed forms of the limits (γ = 0; the gradient flow's η scales them).
TEST(Stability, LimitsOfTheIntegrators) {
  const double lambda = 7.3;
  struct Case {
    std::string dynamics;
    double expected;
  };
  const std::vector<Case> cases{
      {"gamma = 0\nintegrator = \"leapfrog\"", 2.0 / std::sqrt(lambda)},
      {"gamma = 0\nintegrator = \"yoshida4\"", 1.5734019474345 / std::sqrt(lambda)},
      {"gamma = 0\nintegrator = \"rk4\"", 2.0 * std::sqrt(2.0) / std::sqrt(lambda)},
      {"equation = \"gradient_flow\"\neta = 0.4\nintegrator = \"euler\"", 2.0 / (0.4 * lambda)},
      {"equation = \"gradient_flow\"\neta = 0.4\nintegrator = \"rk4\"", 2.785293563405 / (0.4 * lambda)},
      // overdamped leapfrog: the Euler limit of the flow with η = 1/γ, 2γ/λ, approached
      {"gamma = 200\nintegrator = \"leapfrog\"", 2.0 * 200 / lambda},
  };
  for (const Case& c : cases) {
    const Problem p = test::parse_test_config(free_field("[4]", 1, 1, 1, "network", "float64",
                                                         c.dynamics + "\ndt = 0.01\nsteps = 1"));
    const double tol = c.dynamics.find("200") != std::string::npos ? 2e-2 : 1e-8;
    EXPECT_NEAR(stable_dt(p, lambda), c.expected, tol * c.expected) << c.dynamics;
  }
  const Problem p = test::parse_test_config(free_field("[4]", 1, 1, 1, "network", "float64", "dt = 0.1\nsteps = 1"));
  EXPECT_TRUE(std::isinf(stable_dt(p, 0.0)));
  EXPECT_TRUE(std::isinf(stable_dt(p, -1.0)));
}

TEST(Stability, TridiagonalEigenvalue) {
  // the path graph Laplacian of n sites: 2 − 2cos(π k/(n+1)), largest k = n
  const int n = 9;
  const std::vector<double> a(n, 2.0), b(n - 1, -1.0);
  EXPECT_NEAR(tridiagonal_max_eigenvalue(a, b), 2.0 - 2.0 * std::cos(M_PI * n / (n + 1)), 1e-13);
  EXPECT_DOUBLE_EQ(tridiagonal_max_eigenvalue({3.5}, {}), 3.5);
}

// The real engine against the estimate: 1.03 × dt_max blows up (E grows by 1e6), 0.97 ×
// dt_max stays bounded, for every integrator.
class EngineLimit : public ::testing::TestWithParam<std::string> {};

TEST_P(EngineLimit, BlowsUpJustAboveTheLimitOnly) {
  const std::string dyn = GetParam();
  const std::string base = free_field("[16]", 1.0, 0.5, 1.0, "network", "float64", dyn + "\ndt = 0.1\nsteps = 1");
  const Problem p0 = test::parse_test_config(base);
  auto s0 = make_solver(p0, Backend::cpu);
  const StabilityEstimate e = estimate_stability(*s0, p0);
  ASSERT_NEAR(e.lambda, 0.5 + 4.0, 1e-6);
  for (const double f : {0.97, 1.03}) {
    const std::string text = test::edit(base, "dt = 0.1", "dt = " + test::num(f * e.dt_max));
    const Problem p = test::parse_test_config(text);
    auto s = make_solver(p, Backend::cpu);
    const double e0 = s->observe().energy();
    s->advance(3000);
    const double e1 = s->observe().energy();
    if (f < 1)
      EXPECT_LT(std::fabs(e1), 100 * std::fabs(e0)) << dyn << " at " << f << " x dt_max";
    else
      EXPECT_TRUE(!std::isfinite(e1) || std::fabs(e1) > 1e6 * std::fabs(e0)) << dyn << " at " << f << " x dt_max: E "
                                                                            << e0 << " -> " << e1;
  }
}

INSTANTIATE_TEST_SUITE_P(Integrators, EngineLimit,
                         ::testing::Values("gamma = 0\nintegrator = \"leapfrog\"",
                                           "gamma = 0.2\nintegrator = \"leapfrog\"",
                                           "gamma = 0\nintegrator = \"yoshida4\"", "gamma = 0\nintegrator = \"rk4\"",
                                           "equation = \"gradient_flow\"\neta = 0.7\nintegrator = \"euler\"",
                                           "equation = \"gradient_flow\"\neta = 0.7\nintegrator = \"rk4\""),
                         [](const auto& info) { return "case" + std::to_string(info.index); });

// A model: the weights' curvature (local prior + data term) and the biases' 2·m.
TEST(Stability, ModelIncludesTheBiases) {
  const std::string text =
      "[model]\nkind = \"perceptron\"\nbias = true\nminibatch = 5\n[data]\ngenerator = \"smooth\"\nsamples = 12\n"
      "test_samples = 0\ncorrelation = 0.2\nseed = 2\n[lattice]\nshape = [10]\nunits = \"network\"\n"
      "[dynamics]\nequation = \"gradient_flow\"\ndt = 0.001\nsteps = 5\n[output]\nfile = \"x.h5\"\n";
  const Problem p = test::parse_test_config(text);
  auto s = make_solver(p, Backend::cpu);
  const StabilityEstimate e = estimate_stability(*s, p);
  EXPECT_DOUBLE_EQ(e.lambda_bias, 2.0 * 12);  // the full data's, 2P
  EXPECT_GT(e.lambda_weights, 0.0);
  EXPECT_EQ(e.lambda, std::max(e.lambda_weights, e.lambda_bias));
  EXPECT_NEAR(e.dt_max, 2.0 / e.lambda, 1e-9 * e.dt_max);
  // the full data's Jacobian: the same as the run without minibatches, which bounds every
  // batch's (also for per-replica streams, whose epochs hold every example once)
  const Problem full = test::parse_test_config(test::edit(text, "minibatch = 5\n", ""));
  auto sf = make_solver(full, Backend::cpu);
  const StabilityEstimate ef = estimate_stability(*sf, full);
  EXPECT_NEAR(e.lambda_weights, ef.lambda_weights, 1e-7 * ef.lambda_weights);
  const Problem streams = test::parse_test_config(
      test::edit(test::edit(text, "minibatch = 5\n", "minibatch = 5\nreplica_data = \"streams\"\n"),
                 "shape = [10]", "shape = [10]\nreplicas = 3"));
  auto ss = make_solver(streams, Backend::cpu);
  EXPECT_NEAR(estimate_stability(*ss, streams).lambda_weights, ef.lambda_weights, 1e-7 * ef.lambda_weights);
}

}  // namespace
}  // namespace synfield
