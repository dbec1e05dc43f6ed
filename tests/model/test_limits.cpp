// Truth: analytic limits of the model's dynamics.
//
// 1. High viscosity. The damped equation ẅ + γẇ = F with γ = 1/η ([dynamics] eta = η for
//    the damped equation) tends to the gradient flow ẇ = ηF as ηω → 0 (ω² = λ_max of the
//    Hessian in the model's metric). For the linear model, per eigenmode F = −λw, the damped
//    roots are r_slow = −ηλ(1 + η²λ + …) and r_fast = −1/η + ηλ + …, so started from w₀ and
//    π₀ the damped solution is
//        w(t) = w_flow(t) + η π₀ (1 − e^{−t/η}) + O(η²λ w₀)       (t on the flow's scale)
//    — an initial layer of width η. Over a window fixed in the flow's time τ = ηt:
//      * from rest (π₀ = 0) the layer's lag (the flow moves at ηF at once, the damped
//        solution only after ~η) and the slow drift are both O((ηω)² w₀): the maximum
//        error is SECOND order in η;
//      * from a velocity π₀ ≠ 0 fixed as η → 0, the layer shifts w by η π₀: FIRST order.
//    Each case fits the slope of log(max error) against log η over three η and asserts 2 or
//    1 (± 0.1). The damped run is Yoshida-4 with dt = η/4, the flow RK4 with one step per
//    sample (1000 samples); both integration errors are orders below the limit's error.
//    (Measured here: from rest 4.7e-3, 1.23e-3, 3.1e-4 — slope 1.96; with π₀ 2.1e-2,
//    1.07e-2, 5.4e-3 — slope 0.985.)
//
// 2. Fixed point. The gradient flow (and the damped equation) relax to the minimum of C:
//    the least-squares solution (blas::lstsq, LAPACK dgelsd) when P > N + 1; from zero
//    weights and biases, when P < N, the minimum-norm solution — in the model's metric
//    (weights step with 1/μ, biases with μ_b = 1), i.e. u = (√μ w, b) is the minimum-norm
//    solution of [s X/√μ | 1] u = Y.
//
// 3. Orders. Each integrator, with the model's force and biases, converges at its order, and
//    the energy balance E + D = E(0) closes at that order (see IntegratorOrder).
#include <gtest/gtest.h>

#include <synfield/blas.h>
#include <synfield/solver.h>

#include <cmath>
#include <string>
#include <vector>

#include "model_test_util.h"

namespace synfield::test {
namespace {

// ---- 1. the high-viscosity limit ---------------------------------------------------------

class HighViscosity : public BackendTest {
 protected:
  // max over t ∈ [0, T] of |w_damped − w_flow| (weights and biases), T = window/(ηλ).
  double max_error(double eta, double init_velocity) {
    ModelConfig damped;
    damped.data = path_;
    damped.init_std = 0.5;
    damped.init_velocity = init_velocity;
    ModelConfig flow = damped;
    flow.init_velocity = 0.0;
    const int samples = 1000;
    const double T = kWindow / (eta * lambda_), dt = eta / 4.0, dt_sample = T / samples;
    const long per_sample = std::lround(dt_sample / dt);
    damped.dynamics = "equation = \"damped\"\nintegrator = \"yoshida4\"\neta = " + num(eta) +
                      "\ndt = " + num(dt_sample / per_sample) + "\nsteps = " + std::to_string(per_sample * samples) + "\n";
    flow.dynamics = flow_dynamics("rk4", dt_sample, eta, samples);
    const Problem pd = damped.problem(), pf = flow.problem();
    EXPECT_DOUBLE_EQ(pd.dynamics.damping.gamma, 1.0 / eta);
    auto sd = make_solver(pd, backend()), sf = make_solver(pf, backend());
    double err = 0.0;
    for (int k = 0; k < samples; ++k) {
      sd->advance(per_sample);
      sf->advance(1);
      EXPECT_NEAR(sd->time(), sf->time(), 1e-9 * T);
      const State a = state_of(*sd), b = state_of(*sf);
      for (std::size_t i = 0; i < a.w.size(); ++i) err = std::max(err, std::fabs(a.w[i] - b.w[i]));
      for (std::size_t i = 0; i < a.b.size(); ++i) err = std::max(err, std::fabs(a.b[i] - b.b[i]));
    }
    const State end = state_of(*sf);
    std::vector<double> w0, v0;
    make_solver(pf, Backend::cpu)->get_state(w0, v0);
    double moved = 0.0;
    for (std::size_t i = 0; i < w0.size(); ++i) moved = std::max(moved, std::fabs(end.w[i] - w0[i]));
    EXPECT_GT(moved, 0.1) << "the window should hold a visible part of the flow";
    return err;
  }

  // Least-squares slope of log(max error) against log η, for ηω = 0.1, 0.05, 0.025.
  double fitted_slope(double init_velocity) {
    TempDir dir;
    const Dataset data = random_data({4}, 1, 12, 0, 3);
    path_ = dir / "data.h5";
    write_data(path_, data);
    lambda_ = hessian_max(data, 1.0, 1.0, true);
    std::vector<double> x, y;
    for (double eta_omega : {0.1, 0.05, 0.025}) {
      const double eta = eta_omega / std::sqrt(lambda_);
      const double e = max_error(eta, init_velocity);
      std::printf("  eta*omega = %-6g max error %.6e\n", eta_omega, e);
      x.push_back(std::log(eta));
      y.push_back(std::log(e));
    }
    const double mx = (x[0] + x[1] + x[2]) / 3, my = (y[0] + y[1] + y[2]) / 3;
    double sxy = 0.0, sxx = 0.0;
    for (int i = 0; i < 3; ++i) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
    return sxy / sxx;
  }

  static constexpr double kWindow = 2.0;  // ηλ_max·T: the stiffest mode relaxes by e^{−2}
  std::string path_;
  double lambda_ = 0.0;
};

TEST_P(HighViscosity, FromRestTheErrorIsSecondOrderInEta) {
  const double slope = fitted_slope(0.0);
  EXPECT_NEAR(slope, 2.0, 0.1);
}

TEST_P(HighViscosity, FromAnInitialVelocityTheErrorIsFirstOrderInEta) {
  const double slope = fitted_slope(1.0);
  EXPECT_NEAR(slope, 1.0, 0.1);
}

INSTANTIATE_TEST_SUITE_P(Model, HighViscosity, kBackends, BackendName());

// ---- 2. the long-time fixed point -------------------------------------------------------

struct FixedCase {
  std::string name;
  std::vector<int> shape;
  int outputs;
  long P;
  bool bias;
  std::string units;
  double spacing;
  int replicas;
  bool from_zero;        // start from w = 0 (else gaussian weights)
  std::string coupling;  // dense | factored
  std::string dynamics;  // flow_euler | flow_rk4 | damped
};
std::ostream& operator<<(std::ostream& os, const FixedCase& c) { return os << c.name; }

class FixedPoint : public ::testing::TestWithParam<std::tuple<Backend, FixedCase>> {
 protected:
  void SetUp() override { SYNFIELD_REQUIRE_BACKEND(std::get<0>(GetParam())); }
};

TEST_P(FixedPoint, LongTimeLimitIsTheLeastSquaresSolution) {
  const auto& [backend, c] = GetParam();
  TempDir dir;
  const Dataset data = random_data(c.shape, c.outputs, c.P, 0, 21);
  const long N = data.features(), P = c.P, O = c.outputs;
  ModelConfig cfg;
  cfg.data = dir / "data.h5";
  write_data(cfg.data, data);
  cfg.bias = c.bias;
  cfg.units = c.units;
  cfg.spacing = c.spacing;
  cfg.replicas = c.replicas;
  cfg.outputs = O;
  cfg.coupling = c.coupling;
  cfg.init_std = c.from_zero ? 0.0 : 0.3;
  const double mu = c.units == "continuum" ? std::pow(c.spacing, static_cast<double>(c.shape.size())) : 1.0;
  const double s = mu;
  const double lam = hessian_max(data, s, mu, c.bias);
  // ≈ 40·κ steps: the slowest mode relaxes by far more than the 1e-8 asked for
  if (c.dynamics == "flow_euler") cfg.dynamics = flow_dynamics("euler", 1.0, 1.0 / lam, 6000);
  if (c.dynamics == "flow_rk4") cfg.dynamics = flow_dynamics("rk4", 2.0, 1.0 / lam, 3000);
  // heavy friction near the critical damping of the stiffest mode
  if (c.dynamics == "damped") cfg.dynamics = damped_dynamics("leapfrog", 1.0 / std::sqrt(lam), std::sqrt(lam), 6000);
  const Problem p = cfg.problem();
  auto solver = make_solver(p, backend);
  solver->advance(p.dynamics.steps);
  const State st = state_of(*solver);

  // reference: u = (√μ w, b) minimises |Y − A u|² with A = [s X/√μ | 1], minimum norm
  long n = 0;
  const std::vector<double> A = metric_design(data, s, mu, c.bias, &n);
  const std::vector<double> u = blas::lstsq(A, P, n, data.Y, O);  // n × O
  std::vector<double> w_ref, b_ref;
  for (long o = 0; o < O; ++o)
    for (int r = 0; r < c.replicas; ++r)
      for (long x = 0; x < N; ++x) w_ref.push_back(u[x * O + o] / std::sqrt(mu));
  if (c.bias)
    for (int r = 0; r < c.replicas; ++r)
      for (long o = 0; o < O; ++o) b_ref.push_back(u[N * O + o]);
  EXPECT_TRUE(close_rel(st.w, w_ref, 1e-8, "weights"));
  EXPECT_TRUE(close_rel(st.b, b_ref, 1e-8, "biases"));
  EXPECT_EQ(st.b.empty(), !c.bias);

  if (P > n) {
    // overdetermined: the gradient vanishes there, and the fit is not exact
    std::vector<double> F = solver->force();
    EXPECT_LT(max_abs(F), 1e-8 * lam * max_abs(w_ref));
    EXPECT_GT(solver->observe().loss, 1e-3);
  } else {
    // underdetermined: an exact fit; a different metric would give another solution
    EXPECT_LT(solver->observe().loss, 1e-12 * P);
    if (c.bias && mu != 1.0) {
      const std::vector<double> plain = blas::lstsq(metric_design(data, s, 1.0, true, &n), P, n, data.Y, O);
      EXPECT_GT(std::fabs(plain[N * O] - u[N * O]), 1e-3) << "the check of the metric would be vacuous";
    }
  }
}

const std::vector<FixedCase> kFixed = {
    // name                             shape   out  P  bias  units        a    B  zero  coupling    dynamics
    {"over_bias_1d_network_euler", {8}, 2, 40, true, "network", 1.0, 2, false, "dense", "flow_euler"},
    {"over_bias_1d_network_factored_rk4", {8}, 2, 40, true, "network", 1.0, 2, false, "factored", "flow_rk4"},
    {"over_nobias_2d_continuum_euler", {3, 3}, 1, 30, false, "continuum", 0.5, 3, false, "factored", "flow_euler"},
    {"over_bias_2d_continuum_damped", {3, 2}, 2, 25, true, "continuum", 0.8, 2, false, "dense", "damped"},
    {"under_nobias_1d_network_euler", {12}, 2, 5, false, "network", 1.0, 2, true, "dense", "flow_euler"},
    {"under_bias_1d_network_factored_euler", {12}, 1, 6, true, "network", 1.0, 2, true, "factored", "flow_euler"},
    {"under_bias_2d_continuum_euler", {4, 3}, 2, 6, true, "continuum", 0.6, 2, true, "dense", "flow_euler"},
    {"under_bias_2d_continuum_damped", {4, 3}, 1, 7, true, "continuum", 1.5, 2, true, "factored", "damped"},
};

INSTANTIATE_TEST_SUITE_P(Model, FixedPoint, ::testing::Combine(kBackends, ::testing::ValuesIn(kFixed)),
                         [](const ::testing::TestParamInfo<std::tuple<Backend, FixedCase>>& info) {
                           return std::string(backend_name(std::get<0>(info.param))) + "_" +
                                  std::get<1>(info.param).name;
                         });

// ---- 3. integrators with the model: orders and the energy balance ---------------------------

// Every integrator carries the model's force and the biases at its order: the error at a fixed
// time against a fine reference (Yoshida-4 / RK4 with 2048 steps) falls by 2^p when dt halves
// (weights and biases together, ±0.3), and the energy balance E(t) + D(t) = E(0) — K and D
// with the biases' share, V with the loss — closes at least at order p − 0.5.
struct OrderCase {
  std::string name, equation, integrator;
  int order;
};
std::ostream& operator<<(std::ostream& os, const OrderCase& c) { return os << c.name; }

class IntegratorOrder : public ::testing::TestWithParam<std::tuple<Backend, OrderCase>> {
 protected:
  void SetUp() override { SYNFIELD_REQUIRE_BACKEND(std::get<0>(GetParam())); }
};

TEST_P(IntegratorOrder, ErrorAndEnergyBalanceConvergeAtTheIntegratorsOrder) {
  const auto& [backend, c] = GetParam();
  TempDir dir;
  const Dataset data = random_data({2, 3}, 2, 10, 0, 61);
  ModelConfig cfg;
  cfg.data = dir / "data.h5";
  write_data(cfg.data, data);
  cfg.units = "continuum";
  cfg.spacing = 0.9;
  cfg.replicas = 2;
  cfg.outputs = 2;
  cfg.init_std = 0.4;
  const double mu = 0.81, lam = hessian_max(data, mu, mu, true), omega = std::sqrt(lam);
  const bool flow = c.equation == "flow";
  // a window of two periods of the stiffest mode (damped) / two relaxation times (flow)
  const double T = flow ? 2.0 / lam : 2.0 * 2.0 * std::acos(-1.0) / omega;
  auto solve = [&](const std::string& integrator, long steps) {
    ModelConfig k = cfg;
    k.dynamics = flow ? flow_dynamics(integrator, T / steps, 1.0, steps)
                      : damped_dynamics(integrator, T / steps, 0.3 * omega, steps);
    const Problem p = k.problem();
    auto s = make_solver(p, backend);
    const double E0 = s->observe().energy();
    s->advance(steps);
    const Observables o = s->observe();
    State st = state_of(*s);
    st.w.insert(st.w.end(), st.b.begin(), st.b.end());  // weights and biases together
    return std::make_pair(st.w, std::fabs(o.energy() + o.dissipated - E0) / E0);
  };
  const auto ref = solve(flow ? "rk4" : "yoshida4", 2048);
  // (resolutions in the asymptotic range: the RK4 energy balance reaches its order late)
  const long n0 = c.order == 1 ? 128 : c.order == 2 ? 32 : 64;
  std::vector<double> err, bal;
  for (long n : {n0, 2 * n0, 4 * n0}) {
    const auto r = solve(c.integrator, n);
    double e = 0.0;
    for (std::size_t i = 0; i < r.first.size(); ++i) e = std::max(e, std::fabs(r.first[i] - ref.first[i]));
    err.push_back(e);
    bal.push_back(r.second);
  }
  const double p1 = std::log2(err[1] / err[2]);
  EXPECT_NEAR(p1, c.order, 0.3) << "errors " << err[0] << ", " << err[1] << ", " << err[2];
  const double q = std::log2(bal[1] / bal[2]);
  EXPECT_GT(q, c.order - 0.5) << "energy balance errors " << bal[0] << ", " << bal[1] << ", " << bal[2];
}

INSTANTIATE_TEST_SUITE_P(Model, IntegratorOrder,
                         ::testing::Combine(kBackends, ::testing::Values(OrderCase{"flow_euler", "flow", "euler", 1},
                                                                         OrderCase{"flow_rk4", "flow", "rk4", 4},
                                                                         OrderCase{"leapfrog", "damped", "leapfrog", 2},
                                                                         OrderCase{"yoshida4", "damped", "yoshida4", 4},
                                                                         OrderCase{"damped_rk4", "damped", "rk4", 4})),
                         [](const ::testing::TestParamInfo<std::tuple<Backend, OrderCase>>& info) {
                           return std::string(backend_name(std::get<0>(info.param))) + "_" +
                                  std::get<1>(info.param).name;
                         });

}  // namespace
}  // namespace synfield::test
