// Truth: a conservation law. The energy E = K + V lost equals the energy dissipated,
// D = ∫ γ Σ μ π² dt (gradient flow: ∫ η Σ μ F² dt), so E(t) + D(t) − E(0) vanishes up to
// the integrator's error, which must shrink at the integrator's order; D never decreases.
// Anharmonic two-field potential, constant γ, γ = 0, the expansion law and the flow.
#include <iostream>

#include "engine_test_util.h"

namespace synfield::test {
namespace {

struct BalanceCase {
  std::string name;
  std::string integrator;
  std::string law;  // constant, none (γ = 0), expansion, flow
  double order;
  double dt0;
  double bound;  // max |E + D − E(0)| / E(0) allowed at dt0
};

void PrintTo(const BalanceCase& c, std::ostream* os) { *os << c.name; }

std::vector<BalanceCase> balance_cases() {
  return {
      {"leapfrog", "leapfrog", "constant", 2, 0.04, 5e-3},
      {"leapfrog_undamped", "leapfrog", "none", 2, 0.04, 5e-3},
      {"yoshida4", "yoshida4", "constant", 4, 0.04, 1e-5},
      {"rk4", "rk4", "constant", 4, 0.01, 1e-8},  // RK4's residual is pre-asymptotic above 0.01
      {"leapfrog_expansion", "leapfrog", "expansion", 2, 0.04, 5e-3},
      {"yoshida4_expansion", "yoshida4", "expansion", 4, 0.04, 1e-5},
      {"rk4_expansion", "rk4", "expansion", 4, 0.02, 1e-6},
      {"flow_euler", "euler", "flow", 1, 0.01, 5e-2},
      {"flow_rk4", "rk4", "flow", 4, 0.04, 1e-4},
  };
}

Problem balance_problem(const BalanceCase& c, double dt) {
  LatticeSpec l;
  l.shape = {5, 7};
  l.boundary = {"periodic", "open"};
  l.spacing = 0.9;
  l.fields = {"w1", "w2"};
  const std::string pot = term("mass", "w1", 1.0) + term("mass", "w2", 0.5) + term("gradient", "w1", 1.0) +
                          term("gradient", "w2", 0.8) + power_term("w1", 4, 1.5) + monomial({"w1^2", "w2^2"}, 0.5) +
                          term("source", "w2", 0.1);
  std::string dyn;
  if (c.law == "flow") dyn = flow(c.integrator, dt, 0.5);
  else if (c.law == "expansion") dyn = expanding(c.integrator, dt, 2.0 / 3.0, 1.0);  // γ(t) = (4/3)/t
  else dyn = damped(c.integrator, dt, c.law == "none" ? 0.0 : 0.4);
  return problem(l, dyn, pot);
}

using BalanceParam = std::tuple<Backend, BalanceCase>;

class EnergyBalance : public ::testing::TestWithParam<BalanceParam> {
 protected:
  void SetUp() override { SYNFIELD_REQUIRE_BACKEND(std::get<0>(GetParam())); }
  Backend backend() const { return std::get<0>(GetParam()); }
  const BalanceCase& balance_case() const { return std::get<1>(GetParam()); }
};

TEST_P(EnergyBalance, ResidualShrinksAtIntegratorOrder) {
  const BalanceCase& c = balance_case();
  const double T = 2.0;
  const int checkpoints = 10;  // the same times t = jT/10 at every dt
  std::vector<double> residual;  // max over checkpoints of |E + D − E0| / E0, per dt
  std::ostringstream log;
  log.precision(4);
  for (int k = 0; k < 3; ++k) {
    const double dt = c.dt0 / (1 << k);
    const Problem p = balance_problem(c, dt);
    auto s = make_solver(p, backend());
    s->set_state(smooth_random(p.lattice, 5, 1.0), smooth_random(p.lattice, 6, 0.8));
    const Observables o0 = s->observe();
    const double E0 = o0.energy();
    ASSERT_EQ(o0.dissipated, 0.0);
    ASSERT_GT(E0, 0.0);
    const std::int64_t per = std::llround(T / dt) / checkpoints;
    ASSERT_NEAR(per * checkpoints * dt, T, 1e-12) << "dt must divide T/" << checkpoints;
    double worst = 0.0, D_prev = 0.0;
    for (int j = 0; j < checkpoints; ++j) {
      s->advance(per);
      const Observables o = s->observe();
      worst = std::max(worst, std::fabs(o.energy() + o.dissipated - E0) / E0);
      EXPECT_GE(o.dissipated, D_prev) << "dissipated energy decreased at t = " << o.time;
      D_prev = o.dissipated;
      if (c.law == "none") {
        EXPECT_EQ(o.dissipated, 0.0) << "γ = 0 dissipates nothing";
      }
      if (c.law == "flow") {
        EXPECT_EQ(o.kinetic, 0.0);
      }
    }
    if (c.law != "none") {
      EXPECT_GT(D_prev, 0.05 * E0) << "too little dissipation for a meaningful balance";
    }
    residual.push_back(worst);
    log << "\n  dt " << dt << ": max |E + D − E0|/E0 = " << worst << " (D(T)/E0 = " << D_prev / E0 << ")";
  }
  std::cout << c.name << log.str() << "\n";
  EXPECT_LT(residual[0], c.bound) << log.str();
  for (std::size_t k = 1; k < residual.size(); ++k)
    EXPECT_NEAR(std::log2(residual[k - 1] / residual[k]), c.order, 0.3) << "order of the residual" << log.str();
}

std::string balance_name(const ::testing::TestParamInfo<BalanceParam>& info) {
  return std::string(backend_name(std::get<0>(info.param))) + "_" + std::get<1>(info.param).name;
}

INSTANTIATE_TEST_SUITE_P(Engine, EnergyBalance, ::testing::Combine(kBackends, ::testing::ValuesIn(balance_cases())),
                         balance_name);

}  // namespace
}  // namespace synfield::test
