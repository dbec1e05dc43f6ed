// Truth: analytic solutions. One Fourier mode of a free massive field on a periodic
// lattice is an eigenvector of the lattice Laplacian, so its amplitude obeys the damped
// oscillator A'' + γA' + ω²A = 0 with the lattice dispersion
//   ω² = m² + Σ_μ (4K/a²) sin²(k_μ a/2),   k_μ = 2π n_μ/L_μ,
// (Bessel's equation under the expansion law γ = d·p/t), and under the gradient flow it
// decays as exp(−η ω² t). Checked against the continuum-time solution (small dt, fourth
// order), leapfrog against its O(dt²) bound, and every integrator against its own exact
// discrete map.
#include <array>
#include <cmath>
#include <utility>

#include "engine_test_util.h"

namespace synfield::test {
namespace {

struct ModeCase {
  std::string name;
  std::vector<int> shape;
  std::vector<int> k;  // wave numbers n_μ
  double spacing, m2, K;
  std::string units = "continuum";
};

void PrintTo(const ModeCase& c, std::ostream* os) { *os << c.name; }

std::vector<ModeCase> mode_cases() {
  return {
      {"1d", {15}, {2}, 0.5, 1.0, 1.3},
      {"1d_network", {15}, {4}, 1.0, 0.7, 0.8, "network"},
      {"2d", {5, 7}, {1, 2}, 1.0, 0.5, 1.0},
      {"3d", {3, 5, 7}, {1, 1, 3}, 0.8, 0.3, 0.6},
  };
}

double omega2(const ModeCase& c) {
  double w2 = c.m2;
  for (std::size_t mu = 0; mu < c.shape.size(); ++mu) {
    const double s = std::sin(kPi * c.k[mu] / c.shape[mu]);  // sin(k_μ a / 2)
    w2 += 4.0 * c.K / (c.spacing * c.spacing) * s * s;
  }
  return w2;
}

// The problem of `c` with the mode as initial displacement (amplitude A0, π = 0).
Problem mode_problem(const ModeCase& c, const std::string& dynamics, double A0) {
  LatticeSpec l;
  l.shape = c.shape;
  l.boundary = {"periodic"};
  l.spacing = c.spacing;
  l.units = c.units;
  std::vector<std::string> k;
  for (int n : c.k) k.push_back(std::to_string(n));
  const std::string init = "[initial.w]\nkind = \"mode\"\nwavevector = " + toml_list(k, false) +
                           "\namplitude = " + num(A0) + "\n";
  return problem(l, dynamics, term("mass", "w", c.m2) + term("gradient", "w", c.K), init);
}

// cos(2π Σ_μ n_μ c_μ / N_μ) at every site.
std::vector<double> mode_profile(const ModeCase& c, const Lattice& lat) {
  std::vector<double> out(lat.sites());
  for (std::int64_t x = 0; x < lat.sites(); ++x) {
    const std::vector<int> co = coords(lat, x);
    double ph = 0.0;
    for (int mu = 0; mu < lat.dim; ++mu) ph += 2.0 * kPi * c.k[mu] * co[mu] / c.shape[mu];
    out[x] = std::cos(ph);
  }
  return out;
}

// Damped oscillator from A(0) = A0, A'(0) = 0 (underdamped).
struct Oscillator {
  double w2, gamma, A0;
  double Omega() const { return std::sqrt(w2 - 0.25 * gamma * gamma); }
  double A(double t) const {
    const double W = Omega();
    return A0 * std::exp(-0.5 * gamma * t) * (std::cos(W * t) + 0.5 * gamma / W * std::sin(W * t));
  }
  double Adot(double t) const {
    const double W = Omega();
    return -A0 * std::exp(-0.5 * gamma * t) * (w2 / W) * std::sin(W * t);
  }
};

std::vector<double> scaled(const std::vector<double>& v, double s) {
  std::vector<double> r(v);
  for (double& x : r) x *= s;
  return r;
}

using ModeParam = std::tuple<Backend, ModeCase>;

class FreeMode : public ::testing::TestWithParam<ModeParam> {
 protected:
  void SetUp() override { SYNFIELD_REQUIRE_BACKEND(std::get<0>(GetParam())); }
  Backend backend() const { return std::get<0>(GetParam()); }
  const ModeCase& mode() const { return std::get<1>(GetParam()); }
};

// Fourth-order integrators at small dt reproduce the continuum-time solution to 1e-9,
// in w, π and in the analytic K(t) = μ A'² N/4, V(t) = μ ω² A² N/4 (odd extents, so
// Σ_x cos² = N/2).
TEST_P(FreeMode, FourthOrderMatchesDampedOscillator) {
  const ModeCase& c = mode();
  const double A0 = 0.8, gamma = 0.3, dt = 0.002, T = 1.0;
  const std::int64_t steps = static_cast<std::int64_t>(std::llround(T / dt));
  const Oscillator osc{omega2(c), gamma, A0};
  for (const std::string integrator : {"rk4", "yoshida4"}) {
    SCOPED_TRACE(integrator + ", ω² = " + num(osc.w2));
    const Problem p = mode_problem(c, damped(integrator, dt, gamma), A0);
    auto s = make_solver(p, backend());
    s->advance(steps / 2);  // two calls: the splitting closes and reopens its kicks
    s->advance(steps - steps / 2);
    EXPECT_NEAR(s->time(), T, 1e-12);
    std::vector<double> w, pi;
    s->get_state(w, pi);
    const std::vector<double> prof = mode_profile(c, p.lattice);
    const double W = std::sqrt(osc.w2);
    EXPECT_TRUE(all_close(w, scaled(prof, osc.A(T)), 1e-9 * A0, 0.0, p.lattice, "w"));
    EXPECT_TRUE(all_close(pi, scaled(prof, osc.Adot(T)), 1e-9 * A0 * W, 0.0, p.lattice, "pi"));
    const Observables o = s->observe();
    const double N = static_cast<double>(p.lattice.sites()), mu = p.lattice.mu();
    const double V = mu * osc.w2 * osc.A(T) * osc.A(T) * N / 4, K = mu * osc.Adot(T) * osc.Adot(T) * N / 4;
    const double E0 = mu * osc.w2 * A0 * A0 * N / 4;
    EXPECT_NEAR(o.potential, V, 1e-9 * E0);
    EXPECT_NEAR(o.kinetic, K, 1e-9 * E0);
  }
}

// The expansion law γ = α/t (α = d·p) has the Bessel solution A(t) = t^−ν [c₁J_ν(ωt) +
// c₂Y_ν(ωt)], ν = (α − 1)/2, with A'(t) = −ω t^−ν [c₁J_{ν+1}(ωt) + c₂Y_{ν+1}(ωt)];
// c₁, c₂ from A(t₀) = A0, A'(t₀) = 0.
struct BesselMode {
  double w, alpha, t0, A0;
  double nu() const { return 0.5 * (alpha - 1.0); }
  std::pair<double, double> c() const {
    const double x = w * t0, J = std::cyl_bessel_j(nu(), x), Y = std::cyl_neumann(nu(), x),
                 J1 = std::cyl_bessel_j(nu() + 1, x), Y1 = std::cyl_neumann(nu() + 1, x);
    const double det = J * Y1 - Y * J1, s = A0 * std::pow(t0, nu());
    return {s * Y1 / det, -s * J1 / det};
  }
  double A(double t) const {
    const auto [c1, c2] = c();
    return std::pow(t, -nu()) * (c1 * std::cyl_bessel_j(nu(), w * t) + c2 * std::cyl_neumann(nu(), w * t));
  }
  double Adot(double t) const {
    const auto [c1, c2] = c();
    return -w * std::pow(t, -nu()) *
           (c1 * std::cyl_bessel_j(nu() + 1, w * t) + c2 * std::cyl_neumann(nu() + 1, w * t));
  }
};

TEST_P(FreeMode, FourthOrderMatchesExpansionBesselSolution) {
  const ModeCase& c = mode();
  const double A0 = 0.8, dt = 0.002, T = 1.0, t0 = 1.0, alpha = 1.5;
  const int d = static_cast<int>(c.shape.size());
  const BesselMode exact{std::sqrt(omega2(c)), alpha, t0, A0};
  ASSERT_NEAR(exact.A(t0), A0, 1e-12 * A0);
  ASSERT_NEAR(exact.Adot(t0), 0.0, 1e-12 * A0);
  for (const std::string integrator : {"rk4", "yoshida4"}) {
    SCOPED_TRACE(integrator + ", γ = " + num(alpha) + "/t, ν = " + num(exact.nu()));
    const Problem p = mode_problem(c, expanding(integrator, dt, alpha / d, t0), A0);
    auto s = make_solver(p, backend());
    s->advance(std::llround(T / dt));
    EXPECT_NEAR(s->time(), t0 + T, 1e-12);
    std::vector<double> w, pi;
    s->get_state(w, pi);
    const std::vector<double> prof = mode_profile(c, p.lattice);
    EXPECT_TRUE(all_close(w, scaled(prof, exact.A(t0 + T)), 1e-9 * A0, 0.0, p.lattice, "w"));
    EXPECT_TRUE(all_close(pi, scaled(prof, exact.Adot(t0 + T)), 1e-9 * A0 * exact.w, 0.0, p.lattice, "pi"));
  }
}

// Leapfrog against the continuum solution within its own second-order bound: the phase
// error ωT(ωh)²/24 plus the O((ωh)²) amplitude error of π, with a factor 2 to spare.
TEST_P(FreeMode, LeapfrogWithinSecondOrderBound) {
  const ModeCase& c = mode();
  const double A0 = 0.8, gamma = 0.3, dt = 0.01, T = 2.0;
  const Oscillator osc{omega2(c), gamma, A0};
  const Problem p = mode_problem(c, damped("leapfrog", dt, gamma), A0);
  auto s = make_solver(p, backend());
  s->advance(std::llround(T / dt));
  std::vector<double> w, pi;
  s->get_state(w, pi);
  const std::vector<double> prof = mode_profile(c, p.lattice);
  const double W = std::sqrt(osc.w2), x = W * dt;
  const double bound = 2.0 * x * x * (W * T / 24 + 1.0 / 8 + gamma * T);
  EXPECT_TRUE(all_close(w, scaled(prof, osc.A(T)), bound * A0, 0.0, p.lattice, "w"));
  EXPECT_TRUE(all_close(pi, scaled(prof, osc.Adot(T)), bound * A0 * W, 0.0, p.lattice, "pi"));
}

// Each integrator applied to one mode is a fixed linear map of (A, A'); built here from
// its definition (2×2 matrices, not the engine's kernels), its n-th power must match the
// engine to rounding, across several advance() calls.
using Mat = std::array<double, 4>;  // row-major 2×2 acting on (A, Π)
Mat mul(const Mat& a, const Mat& b) {
  return {a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
          a[2] * b[1] + a[3] * b[3]};
}
Mat kick(double w2, double gamma, double h) {  // Π ← e Π + φ(−ω² A)
  const double e = std::exp(-gamma * h), phi = gamma == 0 ? h : (1 - e) / gamma;
  return {1, 0, -phi * w2, e};
}
Mat drift(double h) { return {1, h, 0, 1}; }
Mat step_map(const std::string& integrator, double w2, double gamma, double h) {
  if (integrator == "rk4") {  // Σ_{j≤4} (hA)^j / j!,  A = [[0, 1], [−ω², −γ]]
    const Mat A{0, h, -w2 * h, -gamma * h};
    Mat sum{1, 0, 0, 1}, term{1, 0, 0, 1};
    for (int j = 1; j <= 4; ++j) {
      term = mul(term, A);
      for (double& v : term) v /= j;
      for (int i = 0; i < 4; ++i) sum[i] += term[i];
    }
    return sum;
  }
  std::vector<double> c{1.0};
  if (integrator == "yoshida4") {
    const double x1 = 1.0 / (2.0 - std::cbrt(2.0)), x0 = 1.0 - 2.0 * x1;
    c = {x1, x0, x1};
  }
  Mat m = kick(w2, gamma, 0.5 * c[0] * h);  // operators compose right to left
  for (std::size_t j = 0; j < c.size(); ++j) {
    m = mul(drift(c[j] * h), m);
    const double next = j + 1 < c.size() ? 0.5 * (c[j] + c[j + 1]) : 0.5 * c[j];
    m = mul(kick(w2, gamma, next * h), m);
  }
  return m;
}

TEST_P(FreeMode, DampedIntegratorsEqualTheirExactDiscreteMap) {
  const ModeCase& c = mode();
  const double A0 = 0.8, dt = 0.07;
  const std::int64_t chunks[] = {1, 6, 13};
  for (const double gamma : {0.45, 4.0})
  for (const std::string integrator : {"leapfrog", "yoshida4", "rk4"}) {
    SCOPED_TRACE(integrator + ", γ = " + num(gamma));
    const Problem p = mode_problem(c, damped(integrator, dt, gamma), A0);
    auto s = make_solver(p, backend());
    const Mat M = step_map(integrator, omega2(c), gamma, dt);
    double a = A0, pa = 0.0;
    for (std::int64_t n : chunks) {
      s->advance(n);
      for (std::int64_t i = 0; i < n; ++i) {
        const double a2 = M[0] * a + M[1] * pa, p2 = M[2] * a + M[3] * pa;
        a = a2;
        pa = p2;
      }
    }
    std::vector<double> w, pi;
    s->get_state(w, pi);
    const std::vector<double> prof = mode_profile(c, p.lattice);
    EXPECT_TRUE(all_close(w, scaled(prof, a), 1e-12 * A0, 0.0, p.lattice, "w"));
    EXPECT_TRUE(all_close(pi, scaled(prof, pa), 1e-12 * A0 * std::sqrt(omega2(c)), 0.0, p.lattice, "pi"));
  }
}

// Gradient flow: w(t) = w0 exp(−η ω² t); rk4 at small dt to 1e-9, and Euler and rk4 as
// their exact discrete maps (1 + z) and 1 + z + z²/2 + z³/6 + z⁴/24, z = −η ω² h.
TEST_P(FreeMode, GradientFlowDecaysExponentially) {
  const ModeCase& c = mode();
  const double A0 = 0.8, eta = 0.5, w2 = omega2(c);
  const std::vector<double> prof = [&] {
    const Problem p = mode_problem(c, flow("euler", 0.1, eta), A0);
    return mode_profile(c, p.lattice);
  }();
  {
    const double dt = 0.002, T = 1.0;
    const Problem p = mode_problem(c, flow("rk4", dt, eta), A0);
    auto s = make_solver(p, backend());
    s->advance(std::llround(T / dt));
    std::vector<double> w, v;
    s->get_state(w, v);
    const double A = A0 * std::exp(-eta * w2 * T);
    EXPECT_TRUE(all_close(w, scaled(prof, A), 1e-9 * A0, 1e-9, p.lattice, "w (rk4 vs exp)"));
    // the reported velocity is η F = −η ω² w
    EXPECT_TRUE(all_close(v, scaled(prof, -eta * w2 * A), 1e-9 * A0 * w2, 1e-9, p.lattice, "v (rk4 vs exp)"));
  }
  for (const std::string integrator : {"euler", "rk4"}) {
    SCOPED_TRACE(integrator + " discrete map");
    const double dt = 0.03;
    const std::int64_t n = 20;
    const Problem p = mode_problem(c, flow(integrator, dt, eta), A0);
    auto s = make_solver(p, backend());
    s->advance(7);
    s->advance(n - 7);
    const double z = -eta * w2 * dt;
    const double r = integrator == "euler" ? 1 + z : 1 + z + z * z / 2 + z * z * z / 6 + z * z * z * z / 24;
    std::vector<double> w, v;
    s->get_state(w, v);
    EXPECT_TRUE(all_close(w, scaled(prof, A0 * std::pow(r, n)), 1e-13 * A0, 1e-12, p.lattice, "w"));
  }
}

std::string mode_name(const ::testing::TestParamInfo<ModeParam>& info) {
  return std::string(backend_name(std::get<0>(info.param))) + "_" + std::get<1>(info.param).name;
}

INSTANTIATE_TEST_SUITE_P(Engine, FreeMode, ::testing::Combine(kBackends, ::testing::ValuesIn(mode_cases())),
                         mode_name);

}  // namespace
}  // namespace synfield::test
