// Truth: the integrators' orders. Halving dt must shrink the error by 2^p: p = 2 for
// leapfrog, 4 for yoshida4 and rk4 (damped, constant γ and the expansion law γ = d·p/t),
// 1 for the gradient-flow Euler step and 4 for the gradient-flow rk4. Measured on an
// anharmonic two-field problem by successive differences (Richardson), and on a free mode
// against its analytic solution.
#include <iostream>

#include "engine_test_util.h"

namespace synfield::test {
namespace {

struct OrderCase {
  std::string name;
  std::string integrator;
  std::string law;  // constant, expansion, flow
  double order;
  double dt0;       // the largest step; the others are dt0/2, dt0/4, ...
};

void PrintTo(const OrderCase& c, std::ostream* os) { *os << c.name; }

std::vector<OrderCase> order_cases() {
  return {
      {"leapfrog", "leapfrog", "constant", 2, 0.05},
      {"yoshida4", "yoshida4", "constant", 4, 0.05},
      {"rk4", "rk4", "constant", 4, 0.05},
      {"leapfrog_expansion", "leapfrog", "expansion", 2, 0.05},
      {"yoshida4_expansion", "yoshida4", "expansion", 4, 0.05},
      {"rk4_expansion", "rk4", "expansion", 4, 0.05},
      {"flow_euler", "euler", "flow", 1, 0.02},
      {"flow_rk4", "rk4", "flow", 4, 0.05},
  };
}

std::string dynamics_of(const OrderCase& c, double dt) {
  if (c.law == "flow") return flow(c.integrator, dt, 0.5);
  if (c.law == "expansion") return expanding(c.integrator, dt, 0.75, 1.0);
  return damped(c.integrator, dt, 0.4);
}

// Two coupled anharmonic fields on a periodic 2-D lattice.
Problem anharmonic(const OrderCase& c, double dt) {
  LatticeSpec l;
  l.shape = {5, 3};
  l.boundary = {"periodic", "open"};
  l.spacing = 1.0;
  l.fields = {"w1", "w2"};
  const std::string pot = term("mass", "w1", 1.0) + term("mass", "w2", 0.6) + term("gradient", "w1", 1.0) +
                          term("gradient", "w2", 0.7) + power_term("w1", 4, 0.8) + monomial({"w1^2", "w2^2"}, 0.3) +
                          monomial({"w2", "d0(w1)"}, 0.2);
  return problem(l, dynamics_of(c, dt), pot);
}

// The state (w then π, or w alone for the flow) after time T from a fixed start.
std::vector<double> run(Backend b, const OrderCase& c, double dt, double T) {
  const Problem p = anharmonic(c, dt);
  auto s = make_solver(p, b);
  s->set_state(smooth_random(p.lattice, 3, 0.7), smooth_random(p.lattice, 4, 0.4));
  s->advance(std::llround(T / dt));
  std::vector<double> w, v;
  s->get_state(w, v);
  if (c.law != "flow") w.insert(w.end(), v.begin(), v.end());
  return w;
}

// Least-squares slope of log2(error) against log2(dt), and the local slopes; asserts
// both within `tol` of `order` and that the errors are above the rounding floor.
void expect_order(const std::vector<double>& dts, const std::vector<double>& errors, double order, double tol) {
  std::ostringstream os;
  os.precision(4);
  double sx = 0, sy = 0, sxx = 0, sxy = 0;
  const double n = static_cast<double>(errors.size());
  for (std::size_t i = 0; i < errors.size(); ++i) {
    const double x = std::log2(dts[i]), y = std::log2(errors[i]);
    sx += x, sy += y, sxx += x * x, sxy += x * y;
    os << "\n  dt " << dts[i] << ": error " << errors[i];
    if (i > 0) os << ", local order " << std::log2(errors[i - 1] / errors[i]);
  }
  const double slope = (n * sxy - sx * sy) / (n * sxx - sx * sx);
  std::cout << "measured order " << slope << " (expected " << order << ")" << os.str() << "\n";
  EXPECT_NEAR(slope, order, tol) << "fitted order " << slope << ", expected " << order << os.str();
  for (std::size_t i = 1; i < errors.size(); ++i)
    EXPECT_NEAR(std::log2(errors[i - 1] / errors[i]), order, 1.5 * tol) << os.str();
  for (double e : errors) EXPECT_GT(e, 1e-12) << "errors at the rounding floor: the order is not measurable" << os.str();
}

using OrderParam = std::tuple<Backend, OrderCase>;

class IntegratorOrder : public ::testing::TestWithParam<OrderParam> {
 protected:
  void SetUp() override { SYNFIELD_REQUIRE_BACKEND(std::get<0>(GetParam())); }
  Backend backend() const { return std::get<0>(GetParam()); }
  const OrderCase& order_case() const { return std::get<1>(GetParam()); }
};

// Successive differences d_k = |y(dt_k) − y(dt_{k+1})| ∝ dt_k^p for a nonlinear problem.
TEST_P(IntegratorOrder, AnharmonicSuccessiveDifferences) {
  const OrderCase& c = order_case();
  const double T = 1.0;
  std::vector<std::vector<double>> y;
  std::vector<double> dts;
  for (int k = 0; k < 4; ++k) {
    dts.push_back(c.dt0 / (1 << k));
    y.push_back(run(backend(), c, dts.back(), T));
  }
  std::vector<double> d;
  for (std::size_t k = 0; k + 1 < y.size(); ++k) d.push_back(max_abs_diff(y[k], y[k + 1]));
  dts.pop_back();
  expect_order(dts, d, c.order, 0.2);
}

// Error against the analytic damped oscillator (or exp(−ηω²t)) of one free mode (the
// expansion law has no elementary closed form; the anharmonic test covers it).
class ModeOrder : public IntegratorOrder {};

TEST_P(ModeOrder, FreeModeAgainstAnalytic) {
  const OrderCase& c = order_case();
  const int n = 9, kw = 2;
  const double m2 = 1.0, K = 1.0, a = 1.0, gamma = 0.4, eta = 0.5, A0 = 1.0, T = 1.0;
  const double s = std::sin(kPi * kw / n), w2 = m2 + 4 * K / (a * a) * s * s;
  std::vector<double> dts, errors;
  for (int k = 0; k < 4; ++k) {
    const double dt = c.dt0 / (1 << k);
    LatticeSpec l;
    l.shape = {n};
    const std::string init = "[initial.w]\nkind = \"mode\"\nwavevector = [" + std::to_string(kw) + "]\n";
    const Problem p = problem(l, c.law == "flow" ? flow(c.integrator, dt, eta) : damped(c.integrator, dt, gamma),
                              term("mass", "w", m2) + term("gradient", "w", K), init);
    auto solver = make_solver(p, backend());
    solver->advance(std::llround(T / dt));
    std::vector<double> w, v;
    solver->get_state(w, v);
    double A;
    if (c.law == "flow") {
      A = A0 * std::exp(-eta * w2 * T);
    } else {
      const double W = std::sqrt(w2 - 0.25 * gamma * gamma);
      A = A0 * std::exp(-0.5 * gamma * T) * (std::cos(W * T) + 0.5 * gamma / W * std::sin(W * T));
    }
    double err = 0.0;
    for (int x = 0; x < n; ++x) err = std::max(err, std::fabs(w[x] - A * std::cos(2 * kPi * kw * x / n)));
    dts.push_back(dt);
    errors.push_back(err);
  }
  expect_order(dts, errors, c.order, 0.2);
}

std::string order_name(const ::testing::TestParamInfo<OrderParam>& info) {
  return std::string(backend_name(std::get<0>(info.param))) + "_" + std::get<1>(info.param).name;
}

std::vector<OrderCase> mode_order_cases() {
  std::vector<OrderCase> v;
  for (const OrderCase& c : order_cases())
    if (c.law != "expansion") v.push_back(c);
  return v;
}

INSTANTIATE_TEST_SUITE_P(Engine, IntegratorOrder, ::testing::Combine(kBackends, ::testing::ValuesIn(order_cases())),
                         order_name);
INSTANTIATE_TEST_SUITE_P(Engine, ModeOrder, ::testing::Combine(kBackends, ::testing::ValuesIn(mode_order_cases())),
                         order_name);

}  // namespace
}  // namespace synfield::test
