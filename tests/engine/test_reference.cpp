// Truth: an independent plain-loop reference. The force, the potential and one step of
// every integrator for a mixed two-field potential on an odd-sized open 2-D lattice,
// written here with explicit index loops and a hand-derived gradient (scatter form),
// sharing no code with kernels/ or the engine.
//
//   𝒱 = ½m₁w₁² + ½m₂w₂² + ½K₁Σ_μ(∂_μw₁)² + ½K₂Σ_μ(∂_μw₂)² + c₅ w₂ ∂₀w₁ + c₆ (∂∂₁w₂)² w₁
//       + (g/4) w₁⁴ + (q/3) w₂³ + J w₂ + c₁₀ (Δw₁) w₂² + c₁₁(x) w₁ ∂₁w₂
// with c₁₁(x) a per-site coefficient read from an HDF5 file laid out [i][j].
//   V = μ_V Σ_x 𝒱(x),  F = −(1/μ) ∂V/∂w = −∂(Σ𝒱)/∂w in both unit systems.
// Open boundaries: ∂_μ w(x) = (w(x+ê_μ) − w(x))/a exists only when x+ê_μ is on the
// lattice (terms holding it are dropped elsewhere); ∂∂_μ w(x) = Σ_{existing x±ê_μ}
// (w(nb) − w(x))/a²; Δ = ∂∂₀ + ∂∂₁.
#include <functional>

#include "engine_test_util.h"

namespace synfield::test {
namespace {

constexpr int n0 = 7, n1 = 5;
constexpr double a = 0.8;
constexpr double m1 = 1.3, m2 = 0.6, K1 = 0.9, K2 = 1.4, c5 = 0.7, c6 = 0.3, g = 0.5, q = -0.4, J = 0.2, c10 = 0.25;

// The per-site coefficient c₁₁(i, j).
double c11(int i, int j) { return 0.6 + 0.3 * std::sin(1.3 * i + 0.7 * j); }

std::string reference_potential(const Lattice& lat, TempH5& files) {
  std::vector<double> c(n0 * n1);
  for (int i = 0; i < n0; ++i)
    for (int j = 0; j < n1; ++j) c[i * n1 + j] = c11(i, j);
  return monomial_file({"w1", "d1(w2)"}, files.put("c11", c, lat)) + term("mass", "w1", m1) + term("mass", "w2", m2) + term("gradient", "w1", K1) + term("gradient", "w2", K2) +
         monomial({"w2", "d0(w1)"}, c5) + monomial({"dd1(w2)^2", "w1"}, c6) + power_term("w1", 4, g) +
         power_term("w2", 3, q) + term("source", "w2", J) + monomial({"lap(w1)", "w2^2"}, c10);
}

// One field on the 7×5 lattice, [i][j] with j fastest.
struct Grid {
  std::vector<double> v = std::vector<double>(n0 * n1, 0.0);
  double& operator()(int i, int j) { return v[i * n1 + j]; }
  double operator()(int i, int j) const { return v[i * n1 + j]; }
};

// Second difference along one axis with open ends, and its scatter: the operator is the
// graph Laplacian of the chain, L_{x,nb} = 1/a², L_{x,x} = −(number of nbs)/a².
double dd(const Grid& w, int i, int j, int axis) {
  double s = 0.0;
  const int c = axis == 0 ? i : j, n = axis == 0 ? n0 : n1;
  for (int step : {-1, +1}) {
    if (c + step < 0 || c + step >= n) continue;
    s += (axis == 0 ? w(i + step, j) : w(i, j + step)) - w(i, j);
  }
  return s / (a * a);
}
void scatter_dd(Grid& grad, int i, int j, int axis, double cot) {
  const int c = axis == 0 ? i : j, n = axis == 0 ? n0 : n1;
  for (int step : {-1, +1}) {
    if (c + step < 0 || c + step >= n) continue;
    (axis == 0 ? grad(i + step, j) : grad(i, j + step)) += cot / (a * a);
    grad(i, j) -= cot / (a * a);
  }
}

double density_sum(const Grid& w1, const Grid& w2) {
  double V = 0.0;
  for (int i = 0; i < n0; ++i)
    for (int j = 0; j < n1; ++j) {
      const double u = w1(i, j), v = w2(i, j);
      V += 0.5 * m1 * u * u + 0.5 * m2 * v * v + g / 4 * u * u * u * u + q / 3 * v * v * v + J * v;
      if (i + 1 < n0) {
        const double d1 = (w1(i + 1, j) - u) / a, d2 = (w2(i + 1, j) - v) / a;
        V += 0.5 * K1 * d1 * d1 + 0.5 * K2 * d2 * d2 + c5 * v * d1;
      }
      if (j + 1 < n1) {
        const double d1 = (w1(i, j + 1) - u) / a, d2 = (w2(i, j + 1) - v) / a;
        V += 0.5 * K1 * d1 * d1 + 0.5 * K2 * d2 * d2 + c11(i, j) * u * d2;
      }
      const double q6 = dd(w2, i, j, 1);
      V += c6 * q6 * q6 * u;
      V += c10 * (dd(w1, i, j, 0) + dd(w1, i, j, 1)) * v * v;
    }
  return V;
}

// ∂(Σ𝒱)/∂w₁, ∂(Σ𝒱)/∂w₂ by the chain rule, scattering each site's contribution.
void gradient(const Grid& w1, const Grid& w2, Grid& g1, Grid& g2) {
  g1 = Grid{};
  g2 = Grid{};
  for (int i = 0; i < n0; ++i)
    for (int j = 0; j < n1; ++j) {
      const double u = w1(i, j), v = w2(i, j);
      g1(i, j) += m1 * u + g * u * u * u;
      g2(i, j) += m2 * v + q * v * v + J;
      if (i + 1 < n0) {
        const double d1 = (w1(i + 1, j) - u) / a, d2 = (w2(i + 1, j) - v) / a;
        const double cot1 = K1 * d1 + c5 * v;  // ∂𝒱/∂(∂₀w₁)
        g1(i + 1, j) += cot1 / a;
        g1(i, j) -= cot1 / a;
        g2(i + 1, j) += K2 * d2 / a;
        g2(i, j) -= K2 * d2 / a;
        g2(i, j) += c5 * d1;
      }
      if (j + 1 < n1) {
        const double d1 = (w1(i, j + 1) - u) / a, d2 = (w2(i, j + 1) - v) / a;
        g1(i, j + 1) += K1 * d1 / a;
        g1(i, j) -= K1 * d1 / a;
        const double cot2 = K2 * d2 + c11(i, j) * u;  // ∂𝒱/∂(∂₁w₂)
        g2(i, j + 1) += cot2 / a;
        g2(i, j) -= cot2 / a;
        g1(i, j) += c11(i, j) * d2;
      }
      const double q6 = dd(w2, i, j, 1);
      g1(i, j) += c6 * q6 * q6;
      scatter_dd(g2, i, j, 1, 2.0 * c6 * q6 * u);
      const double lap = dd(w1, i, j, 0) + dd(w1, i, j, 1);
      g2(i, j) += 2.0 * c10 * lap * v;
      scatter_dd(g1, i, j, 0, c10 * v * v);
      scatter_dd(g1, i, j, 1, c10 * v * v);
    }
}

// The state as the engine's [field][site] array (one replica) and back.
struct State {
  Grid w1, w2;
  std::vector<double> flat() const {
    std::vector<double> out(w1.v);
    out.insert(out.end(), w2.v.begin(), w2.v.end());
    return out;
  }
  static State from(const std::vector<double>& f) {
    State s;
    std::copy(f.begin(), f.begin() + n0 * n1, s.w1.v.begin());
    std::copy(f.begin() + n0 * n1, f.end(), s.w2.v.begin());
    return s;
  }
  State plus(const State& d, double h) const {
    State r = *this;
    for (int x = 0; x < n0 * n1; ++x) {
      r.w1.v[x] += h * d.w1.v[x];
      r.w2.v[x] += h * d.w2.v[x];
    }
    return r;
  }
  double sum_sq() const {
    double s = 0.0;
    for (int x = 0; x < n0 * n1; ++x) s += w1.v[x] * w1.v[x] + w2.v[x] * w2.v[x];
    return s;
  }
};

State force(const State& w) {
  State f;
  gradient(w.w1, w.w2, f.w1, f.w2);
  for (int x = 0; x < n0 * n1; ++x) {
    f.w1.v[x] = -f.w1.v[x];
    f.w2.v[x] = -f.w2.v[x];
  }
  return f;
}

// ∫₀^τ γ Σ π(s)² ds for the exact kick π(s) = e^{−γs}π₀ + (1 − e^{−γs})/γ F, by composite
// Simpson's rule (independent of the closed-form weights the engine uses).
double kick_dissipation(const State& p0, const State& F, double gamma, double tau) {
  if (gamma == 0.0 || tau == 0.0) return 0.0;
  const int n = 1024;  // Simpson error ~ τ (τ/n)⁴ (2γ)⁴ γ π² / 180: negligible
  const double hs = tau / n;
  double sum = 0.0;
  for (int k = 0; k <= n; ++k) {
    const double s = k * hs, e = std::exp(-gamma * s), phi = (1.0 - e) / gamma;
    const double wgt = (k == 0 || k == n) ? 1.0 : (k % 2 ? 4.0 : 2.0);
    State ps = p0;
    for (int x = 0; x < n0 * n1; ++x) {
      ps.w1.v[x] = e * p0.w1.v[x] + phi * F.w1.v[x];
      ps.w2.v[x] = e * p0.w2.v[x] + phi * F.w2.v[x];
    }
    sum += wgt * gamma * ps.sum_sq();
  }
  return sum * hs / 3.0;
}

struct Result {
  State w, pi;
  double dissipated;  // per unit μ
};

// Damped splitting: kick τ₀ = c₀/2, drift c₀, kick (c₀ + c₁)/2, …, drift c_last, kick c_last/2.
Result splitting_step(State w, State pi, double gamma, double h, const std::vector<double>& c) {
  double D = 0.0;
  auto kick = [&](double tau) {
    const State F = force(w);
    D += kick_dissipation(pi, F, gamma, tau);
    const double e = std::exp(-gamma * tau), phi = gamma == 0.0 ? tau : (1.0 - e) / gamma;
    for (int x = 0; x < n0 * n1; ++x) {
      pi.w1.v[x] = e * pi.w1.v[x] + phi * F.w1.v[x];
      pi.w2.v[x] = e * pi.w2.v[x] + phi * F.w2.v[x];
    }
  };
  for (std::size_t k = 0; k < c.size(); ++k) {
    kick(0.5 * (c[k] + (k == 0 ? 0.0 : c[k - 1])) * h);
    w = w.plus(pi, c[k] * h);
  }
  kick(0.5 * c.back() * h);
  return {w, pi, D};
}

// Classical RK4 on (w, π)' = (π, −γπ + F(w)), with D' = γ Σπ² integrated alongside.
Result damped_rk4_step(const State& w, const State& pi, double gamma, double h) {
  auto accel = [&](const State& ws, const State& ps) {
    State k = force(ws);
    return k.plus(ps, -gamma);
  };
  const State kw1 = pi, kp1 = accel(w, pi);
  const State w2 = w.plus(kw1, h / 2), p2 = pi.plus(kp1, h / 2);
  const State kw2 = p2, kp2 = accel(w2, p2);
  const State w3 = w.plus(kw2, h / 2), p3 = pi.plus(kp2, h / 2);
  const State kw3 = p3, kp3 = accel(w3, p3);
  const State w4 = w.plus(kw3, h), p4 = pi.plus(kp3, h);
  const State kw4 = p4, kp4 = accel(w4, p4);
  Result r{w, pi, 0.0};
  r.w = r.w.plus(kw1, h / 6).plus(kw2, h / 3).plus(kw3, h / 3).plus(kw4, h / 6);
  r.pi = r.pi.plus(kp1, h / 6).plus(kp2, h / 3).plus(kp3, h / 3).plus(kp4, h / 6);
  r.dissipated = gamma * h * (pi.sum_sq() / 6 + p2.sum_sq() / 3 + p3.sum_sq() / 3 + p4.sum_sq() / 6);
  return r;
}

// Gradient flow w' = ηF(w), D' = η ΣF².
Result flow_euler_step(const State& w, double eta, double h) {
  const State F = force(w);
  return {w.plus(F, h * eta), State{}, h * eta * F.sum_sq()};
}
Result flow_rk4_step(const State& w, double eta, double h) {
  const State F1 = force(w), F2 = force(w.plus(F1, eta * h / 2)), F3 = force(w.plus(F2, eta * h / 2)),
              F4 = force(w.plus(F3, eta * h));
  const State wn = w.plus(F1, eta * h / 6).plus(F2, eta * h / 3).plus(F3, eta * h / 3).plus(F4, eta * h / 6);
  return {wn, State{}, eta * h * (F1.sum_sq() / 6 + F2.sum_sq() / 3 + F3.sum_sq() / 3 + F4.sum_sq() / 6)};
}

LatticeSpec reference_lattice(const std::string& units) {
  LatticeSpec l;
  l.shape = {n0, n1};
  l.boundary = {"open"};
  l.spacing = a;
  l.fields = {"w1", "w2"};
  l.units = units;
  return l;
}

Lattice reference_geometry() { return problem(reference_lattice("continuum"), damped("leapfrog", 0.1, 0.0), "").lattice; }

// |got − want| ≤ 1e-13 (max|want| + |want|): agreement to rounding.
::testing::AssertionResult agree(const std::vector<double>& got, const std::vector<double>& want, const Lattice& lat,
                                 const std::string& what) {
  return all_close(got, want, 1e-13 * max_abs(want), 1e-13, lat, what);
}

class PlainLoopReference : public BackendTest {};

TEST_P(PlainLoopReference, ForceAndPotential) {
  for (const std::string units : {"continuum", "network"}) {
    SCOPED_TRACE("units " + units);
    TempH5 files("reference_force");
    const Problem p = problem(reference_lattice(units), damped("leapfrog", 0.05, 0.4),
                              reference_potential(reference_geometry(), files));
    auto s = make_solver(p, backend());
    const std::vector<double> w0 = smooth_random(p.lattice, 21, 0.8);
    s->set_state(w0, std::vector<double>(w0.size(), 0.0));
    const State w = State::from(w0);
    EXPECT_TRUE(agree(s->force(), force(w).flat(), p.lattice, "force"));
    const double V = p.lattice.mu() * density_sum(w.w1, w.w2);
    EXPECT_NEAR(s->potential(), V, 1e-13 * std::fabs(V));
  }
}

struct StepCase {
  std::string integrator;
  bool flow;
  double gamma;
};

TEST_P(PlainLoopReference, OneStepOfEachIntegrator) {
  const double h = 0.05, eta = 0.7;
  // light (γh = 0.02) and heavy (γh = 0.3) friction: both regimes of the exact kick's weights
  const std::vector<StepCase> cases{{"leapfrog", false, 0.4}, {"leapfrog", false, 6.0}, {"yoshida4", false, 0.4},
                                    {"yoshida4", false, 6.0}, {"rk4", false, 0.4},      {"rk4", false, 6.0},
                                    {"euler", true, 0.0},     {"rk4", true, 0.0}};
  const double x1 = 1.0 / (2.0 - std::cbrt(2.0));
  for (const std::string units : {"continuum", "network"})
    for (const StepCase& c : cases) {
      const double gamma = c.gamma;
      SCOPED_TRACE("units " + units + ", " + (c.flow ? "gradient flow " : "damped ") + c.integrator +
                   (c.flow ? "" : ", γ = " + num(gamma)));
      TempH5 files("reference_step");
      const Problem p =
          problem(reference_lattice(units), c.flow ? flow(c.integrator, h, eta) : damped(c.integrator, h, gamma),
                  reference_potential(reference_geometry(), files));
      auto s = make_solver(p, backend());
      const std::vector<double> w0 = smooth_random(p.lattice, 31, 0.8), pi0 = smooth_random(p.lattice, 32, 0.5);
      s->set_state(w0, pi0);
      s->advance(1);
      std::vector<double> w, v;
      s->get_state(w, v);
      const State sw = State::from(w0), sp = State::from(pi0);
      Result r;
      if (c.flow)
        r = c.integrator == "euler" ? flow_euler_step(sw, eta, h) : flow_rk4_step(sw, eta, h);
      else if (c.integrator == "rk4")
        r = damped_rk4_step(sw, sp, gamma, h);
      else
        r = splitting_step(sw, sp, gamma, h, c.integrator == "leapfrog" ? std::vector<double>{1.0}
                                                                        : std::vector<double>{x1, 1 - 2 * x1, x1});
      EXPECT_TRUE(agree(w, r.w.flat(), p.lattice, "w"));
      if (c.flow) {
        EXPECT_TRUE(agree(v, State{}.plus(force(r.w), eta).flat(), p.lattice, "velocity ηF"));
      } else {
        EXPECT_TRUE(agree(v, r.pi.flat(), p.lattice, "pi"));
      }
      const Observables o = s->observe();
      const double mu = p.lattice.mu();
      const double D = mu * r.dissipated;
      EXPECT_NEAR(o.dissipated, D, 1e-12 * D) << "dissipated energy";
      EXPECT_NEAR(o.potential, mu * density_sum(r.w.w1, r.w.w2), 1e-13 * std::fabs(o.potential));
      EXPECT_NEAR(o.kinetic, c.flow ? 0.0 : 0.5 * mu * r.pi.sum_sq(), 1e-13 * o.kinetic);
      EXPECT_NEAR(o.time, h, 1e-15);
    }
}

INSTANTIATE_TEST_SUITE_P(Engine, PlainLoopReference, kBackends, BackendName());

}  // namespace
}  // namespace synfield::test
