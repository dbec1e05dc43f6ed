// The stable-dt estimate (host/run/stability.h).
#include "host/run/stability.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <memory>
#include <vector>

#include "host/engine/integrator_weights.h"

namespace synfield {
namespace {

using Mat = std::array<double, 4>;  // [[m0, m1], [m2, m3]] acting on (w, π)

Mat mul(const Mat& a, const Mat& b) {
  return {a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
          a[2] * b[1] + a[3] * b[3]};
}

double spectral_radius(const Mat& m) {
  const double tr = 0.5 * (m[0] + m[3]), det = m[0] * m[3] - m[1] * m[2];
  const double disc = tr * tr - det;
  if (disc < 0) return std::sqrt(det);
  const double r = std::sqrt(disc);
  return std::max(std::fabs(tr + r), std::fabs(tr - r));
}

// One step of the integrator on w'' + γw' = −λw (damped) or w' = −ηλw (flow), as a
// matrix on (w, π); for the flow only m0 is used.
Mat step_matrix(const Dynamics& d, double gamma, double lambda, double h) {
  if (d.equation == Equation::gradient_flow) {
    const double z = -h * d.eta * lambda;
    const double g = d.integrator == Integrator::rk4 ? 1 + z + z * z / 2 + z * z * z / 6 + z * z * z * z / 24 : 1 + z;
    return {g, 0, 0, 0};
  }
  if (d.integrator == Integrator::rk4) {
    const Mat a{0, h, -lambda * h, -gamma * h};  // h·A, A = [[0, 1], [−λ, −γ]]
    Mat term{1, 0, 0, 1}, sum{1, 0, 0, 1};
    for (int k = 1; k <= 4; ++k) {
      term = mul(a, term);
      for (double& x : term) x /= k;
      for (int i = 0; i < 4; ++i) sum[i] += term[i];
    }
    return sum;
  }
  // K(c₀/2) D(c₀) K((c₀+c₁)/2) … D(c_last) K(c_last/2), as the engine's splitting_steps
  const std::vector<double> c = splitting_weights(d.integrator == Integrator::yoshida4);
  auto kick = [&](double hk) {
    const KickWeights k = kick_weights(gamma, hk);
    return Mat{1, 0, -k.phi * lambda, k.e};
  };
  Mat m = kick(0.5 * c[0] * h);
  for (std::size_t j = 0; j < c.size(); ++j) {
    m = mul(Mat{1, c[j] * h, 0, 1}, m);
    const double next = j + 1 < c.size() ? 0.5 * (c[j] + c[j + 1]) : 0.5 * c[j];
    m = mul(kick(next * h), m);
  }
  return m;
}

double rho(const Dynamics& d, double gamma, double lambda, double h) {
  const Mat m = step_matrix(d, gamma, lambda, h);
  return d.equation == Equation::gradient_flow ? std::fabs(m[0]) : spectral_radius(m);
}

// splitmix64: the deterministic start vector of the Lanczos iteration
std::uint64_t mix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

}  // namespace

double tridiagonal_max_eigenvalue(const std::vector<double>& a, const std::vector<double>& b) {
  const std::size_t n = a.size();
  if (n == 0) return 0.0;
  double lo = a[0], hi = a[0];  // Gershgorin
  for (std::size_t i = 0; i < n; ++i) {
    const double r = (i > 0 ? std::fabs(b[i - 1]) : 0.0) + (i + 1 < n ? std::fabs(b[i]) : 0.0);
    lo = std::min(lo, a[i] - r);
    hi = std::max(hi, a[i] + r);
  }
  // count of eigenvalues < x: the negative pivots of T − x I
  auto below = [&](double x) {
    int count = 0;
    double q = 1.0;
    for (std::size_t i = 0; i < n; ++i) {
      const double off = i > 0 ? b[i - 1] * b[i - 1] : 0.0;
      q = a[i] - x - (i > 0 ? off / q : 0.0);
      if (q == 0.0) q = -1e-300;
      if (q < 0) ++count;
    }
    return count;
  };
  for (int it = 0; it < 200 && hi - lo > 1e-15 * std::max(std::fabs(lo), std::fabs(hi)); ++it) {
    const double mid = 0.5 * (lo + hi);
    if (below(mid) == static_cast<int>(n))
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

double stable_dt(const Problem& p, double lambda) {
  const Dynamics& d = p.dynamics;
  if (!(lambda > 0)) return std::numeric_limits<double>::infinity();
  double gamma = 0.0;
  if (d.equation == Equation::damped) {
    if (d.damping.kind == Damping::Kind::constant) {
      gamma = d.damping.gamma;
    } else {  // γ = d p / t decreases (p > 0) as t grows: its smallest value is at the end
      const double t_end = d.t0 + static_cast<double>(d.steps) * d.dt;
      gamma = std::min(d.damping.gamma_at(d.t0), d.damping.gamma_at(std::max(t_end, d.t0)));
    }
    gamma = std::max(gamma, 0.0);
  }
  const double scale = d.equation == Equation::damped ? 1.0 / std::sqrt(lambda) : 1.0 / (d.eta * lambda);
  double h = 1e-3 * scale, stable = 0.0;
  const double tol = 1e-9;
  for (int it = 0; it < 20000; ++it, h *= 1.01) {
    if (rho(d, gamma, lambda, h) > 1 + tol) break;
    stable = h;
  }
  if (stable == 0.0) return 0.0;
  double lo = stable, hi = stable * 1.01;
  for (int it = 0; it < 80; ++it) {
    const double mid = 0.5 * (lo + hi);
    (rho(d, gamma, lambda, mid) > 1 + tol ? hi : lo) = mid;
  }
  return lo;
}

StabilityEstimate estimate_stability(Solver& s, const Problem& p, int max_iterations) {
  StabilityEstimate est;
  // the state and clock, to restore exactly (float → double → float is exact)
  const std::int64_t step0 = s.step();
  const double time0 = s.time();
  const double d0 = s.dissipated();
  // Split over ranks, each rank works on its own sites (Gather::slab) and the dot products
  // add over the ranks; element i of a rank's vectors is site first + i mod count of row
  // i / count, so the start vector and the arithmetic are those of the unsplit lattice.
  using Gather = Solver::Gather;
  const Comm* comm = s.comm();
  const auto [first, count] = s.slab_sites();
  const std::int64_t sites = p.lattice.sites();
  auto gdot = [&](const std::vector<double>& a, const std::vector<double>& b) {
    double d = dot(a, b);
    if (comm) comm->sum(&d, 1);
    return d;
  };
  std::vector<double> w0, v0, b0, vb0;
  if (s.precision() == Precision::float32) {
    std::vector<float> wf, vf;
    s.get_state(wf, vf, Gather::slab);
    w0.assign(wf.begin(), wf.end());
    v0.assign(vf.begin(), vf.end());
  } else {
    s.get_state(w0, v0, Gather::slab);
  }
  s.get_bias(b0, vb0);
  std::vector<double> pi0 = v0;
  if (p.dynamics.equation == Equation::gradient_flow) std::fill(pi0.begin(), pi0.end(), 0.0);
  std::vector<double> vb_restore = vb0;
  if (p.dynamics.equation == Equation::gradient_flow) std::fill(vb_restore.begin(), vb_restore.end(), 0.0);

  const std::size_t n = w0.size();                                          // this rank's
  const std::int64_t rows = count > 0 ? static_cast<std::int64_t>(n) / count : 0, n_all = rows * sites;  // all
  const double rms = n_all ? std::sqrt(gdot(w0, w0) / static_cast<double>(n_all)) : 0.0;
  // per-site perturbation: rounding of F (relative ε_machine) over δ against the
  // truncation error δ² of a non-quadratic potential
  const double rel = s.precision() == Precision::float32 ? 3e-3 : 1e-6;
  const double delta = rel * std::max(rms, 1.0);
  const double eps = delta * std::sqrt(static_cast<double>(n_all));  // ‖ε v‖ for unit v

  // With minibatches the Jacobian of one step's batch underestimates the others': use the
  // full data's, Σ over the batches of epoch 0 (each example once) of the batch Jacobians
  // minus (batches − 1) times the local terms' (a solver without the model).
  const std::int64_t P = p.model.enabled ? p.model.data.samples() : 0;
  const bool sgd = p.model.enabled && p.model.minibatch > 0 && p.model.minibatch < P;
  const std::int64_t batches = sgd ? (P + p.model.minibatch - 1) / p.model.minibatch : 1;
  std::unique_ptr<Solver> local;
  if (sgd) {
    Problem q = p;
    q.model = Model{};
    local = make_solver(q, s.backend(), s.comm());  // split like s: its calls are collective too
  }
  auto jv = [&](Solver& solver, const std::vector<double>& v, std::vector<double>& out, double weight) {
    std::vector<double> w(n);
    for (std::size_t i = 0; i < n; ++i) w[i] = w0[i] + eps * v[i];
    solver.set_state(w, pi0, Gather::slab);
    const std::vector<double> fp = solver.force(Gather::slab);
    for (std::size_t i = 0; i < n; ++i) w[i] = w0[i] - eps * v[i];
    solver.set_state(w, pi0, Gather::slab);
    const std::vector<double> fm = solver.force(Gather::slab);
    for (std::size_t i = 0; i < n; ++i) out[i] -= weight * (fp[i] - fm[i]) / (2 * eps);  // −∂F/∂w · v
  };
  auto apply = [&](const std::vector<double>& v, std::vector<double>& out) {
    out.assign(n, 0.0);
    for (std::int64_t k = 0; k < batches; ++k) {
      if (sgd) s.set_clock(k, time0, d0);  // the sampler's batch k of epoch 0
      jv(s, v, out, 1.0);
    }
    if (sgd && batches > 1) jv(*local, v, out, -static_cast<double>(batches - 1));
  };

  if (n_all > 0) {
    std::vector<double> v(n), v_prev(n, 0.0), u;
    for (std::size_t i = 0; i < n; ++i) {
      const std::int64_t k = static_cast<std::int64_t>(i);
      v[i] = static_cast<double>(mix(static_cast<std::uint64_t>((k / count) * sites + first + k % count)) >> 11) *
                 0x1.0p-53 - 0.5;
    }
    const double norm = std::sqrt(gdot(v, v));
    for (double& x : v) x /= norm;
    std::vector<double> alpha, beta;
    double theta = 0.0, beta_prev = 0.0;
    int stable_count = 0;
    for (int k = 0; k < max_iterations && k < n_all; ++k) {
      apply(v, u);
      ++est.iterations;
      for (std::size_t i = 0; i < n; ++i) u[i] -= beta_prev * v_prev[i];
      const double a = gdot(v, u);
      for (std::size_t i = 0; i < n; ++i) u[i] -= a * v[i];
      alpha.push_back(a);
      const double th = tridiagonal_max_eigenvalue(alpha, beta);
      if (k > 0 && std::fabs(th - theta) <= 1e-5 * std::fabs(th))
        ++stable_count;
      else
        stable_count = 0;
      theta = th;
      const double b = std::sqrt(gdot(u, u));
      if (stable_count >= 3 || b <= 1e-12 * std::max(std::fabs(th), 1e-300)) {
        est.converged = true;
        break;
      }
      beta.push_back(b);
      beta_prev = b;
      v_prev.swap(v);
      for (std::size_t i = 0; i < n; ++i) v[i] = u[i] / b;
    }
    est.lambda_weights = theta;
  }
  // restore exactly
  s.set_state(w0, pi0, Gather::slab);
  s.set_bias(b0, vb_restore);
  s.set_clock(step0, time0, d0);

  if (p.model.enabled && p.model.bias) est.lambda_bias = 2.0 * static_cast<double>(P);
  est.lambda = std::max(est.lambda_weights, est.lambda_bias);
  est.dt_max = stable_dt(p, est.lambda);
  return est;
}

}  // namespace synfield
