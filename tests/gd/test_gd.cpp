// Truth for the gradient-descent reference (host/gd/gd.h), each written here independently of
// host/gd/gd.cpp with plain loops: the finite-difference gradient of the loss; a five-line
// heavy-ball recurrence; the field solver's integrators (explicit Euler gradient flow, damped
// KDK leapfrog with exact friction, half kicks NOT merged) stepped by hand; the lstsq fixed
// point (overdetermined) and the minimum-norm solution reached from zero (underdetermined).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include <synfield/blas.h>
#include <synfield/data.h>

#include "host/gd/gd.h"
#include "host/io/h5.h"

namespace {

using synfield::Dataset;
using synfield::GdOptions;
using synfield::GdResult;

std::vector<double> randn(std::size_t n, unsigned seed, double sd = 1.0) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> d(0.0, sd);
  std::vector<double> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

long sites(const Dataset& d) {
  long n = 1;
  for (int e : d.shape) n *= e;
  return n;
}

// Random inputs; targets random (not realizable) unless `truth` is given: then
// Y = s Σ_x w*(x) X(x) + b* exactly, for w* [n_out][N], b* [n_out].
Dataset make_data(std::vector<int> shape, int n_out, long P, long P_test, unsigned seed) {
  Dataset d;
  d.shape = shape;
  d.outputs = n_out;
  const long N = sites(d);
  d.X = randn(P * N, seed);
  d.Y = randn(P * n_out, seed + 1);
  d.X_test = randn(P_test * N, seed + 2);
  d.Y_test = randn(P_test * n_out, seed + 3);
  return d;
}

// ---- the model written out with loops (independent of host/gd/gd.cpp) --------------------
struct Model {
  const Dataset& d;
  double s;
  int B;
  bool bias;
  long N() const { return sites(d); }
  // Z^l_{o,r}
  double z(const std::vector<double>& X, long l, int o, int r, const std::vector<double>& W,
           const std::vector<double>& b) const {
    double acc = 0.0;
    for (long x = 0; x < N(); ++x) acc += W[(o * B + r) * N() + x] * X[l * N() + x];
    return s * acc + (bias ? b[r * d.outputs + o] : 0.0);
  }
  double loss(const std::vector<double>& W, const std::vector<double>& b, bool test = false) const {
    const auto& X = test ? d.X_test : d.X;
    const auto& Y = test ? d.Y_test : d.Y;
    const long P = static_cast<long>(Y.size()) / d.outputs;
    double c = 0.0;
    for (long l = 0; l < P; ++l)
      for (int o = 0; o < d.outputs; ++o)
        for (int r = 0; r < B; ++r) {
          const double res = Y[l * d.outputs + o] - z(X, l, o, r, W, b);
          c += res * res;
        }
    return c;
  }
  // ∂C/∂W, ∂C/∂b over the given rows (all when empty)
  void grad(const std::vector<double>& W, const std::vector<double>& b, std::vector<double>& gW,
            std::vector<double>& gb, const std::vector<std::int64_t>& rows = {}) const {
    gW.assign(W.size(), 0.0);
    gb.assign(b.size(), 0.0);
    const long P = static_cast<long>(d.Y.size()) / d.outputs;
    const long n_rows = rows.empty() ? P : static_cast<long>(rows.size());
    for (long i = 0; i < n_rows; ++i) {
      const long l = rows.empty() ? i : rows[i];
      for (int o = 0; o < d.outputs; ++o)
        for (int r = 0; r < B; ++r) {
          const double res = d.Y[l * d.outputs + o] - z(d.X, l, o, r, W, b);
          for (long x = 0; x < N(); ++x) gW[(o * B + r) * N() + x] += -2.0 * s * res * d.X[l * N() + x];
          if (bias) gb[r * d.outputs + o] += -2.0 * res;
        }
    }
  }
};

void expect_close(const std::vector<double>& a, const std::vector<double>& b, double tol, const char* what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (std::size_t i = 0; i < a.size(); ++i)
    ASSERT_NEAR(a[i], b[i], tol * (1.0 + std::fabs(b[i]))) << what << "[" << i << "]";
}

// Frobenius bound on the largest eigenvalue of the cost's Hessian 2 AᵀA, A = [sX | 1]:
// lr = safety / bound is a stable step.
double stable_lr(const Dataset& d, double s, bool bias, double safety) {
  double f = 0.0;
  for (double v : d.X) f += s * s * v * v;
  if (bias) f += static_cast<double>(d.Y.size()) / d.outputs;
  return safety / (2.0 * f);
}

std::string temp_path(const std::string& name) { return ::testing::TempDir() + "synfield_gd_" + name + ".h5"; }

// ---- one step against the finite-difference gradient ----------------------------------

TEST(GdStep, OneStepIsFiniteDifferenceGradientStep) {
  const Dataset d = make_data({3, 2}, 2, 7, 0, 5);
  const int B = 2;
  const double s = 0.5, lr = 0.01, bias_scale = 0.3;
  const Model m{d, s, B, true};
  GdOptions opt;
  opt.lr = lr;
  opt.bias_lr_scale = bias_scale;
  opt.scale = s;
  opt.replicas = B;
  opt.steps = 1;
  opt.W0 = randn(2 * B * m.N(), 6);
  opt.b0 = randn(B * 2, 7);
  const GdResult res = synfield::train_gd(d, opt);

  // central differences of the loss (quadratic: exact up to rounding)
  const double h = 1e-4;
  auto fd = [&](std::vector<double>& p, std::size_t i) {
    const double keep = p[i];
    p[i] = keep + h;
    const double up = m.loss(opt.W0, opt.b0);
    p[i] = keep - h;
    const double down = m.loss(opt.W0, opt.b0);
    p[i] = keep;
    return (up - down) / (2 * h);
  };
  std::vector<double> W1 = opt.W0, b1 = opt.b0;
  for (std::size_t i = 0; i < W1.size(); ++i) W1[i] -= lr * fd(opt.W0, i);
  for (std::size_t i = 0; i < b1.size(); ++i) b1[i] -= bias_scale * lr * fd(opt.b0, i);
  expect_close(res.W, W1, 1e-8, "W");
  expect_close(res.b, b1, 1e-8, "b");
  ASSERT_EQ(res.steps, (std::vector<std::int64_t>{0, 1}));
  EXPECT_NEAR(res.loss[0], m.loss(opt.W0, opt.b0), 1e-10 * res.loss[0]);
  EXPECT_NEAR(res.loss[1], m.loss(res.W, res.b), 1e-10 * res.loss[1]);
}

// ---- heavy ball against a separately written recurrence ----------------------------------

TEST(GdMomentum, HeavyBallMatchesRecurrence) {
  const Dataset d = make_data({5}, 2, 9, 0, 15);
  const int B = 2, steps = 30;
  const double s = 0.7, beta = 0.8, lr = 0.004, lr1 = 0.0017, bias_scale = 0.5;
  const Model m{d, s, B, true};
  GdOptions opt;
  opt.lr = lr;
  opt.first_lr = lr1;
  opt.momentum = beta;
  opt.bias_lr_scale = bias_scale;
  opt.scale = s;
  opt.replicas = B;
  opt.steps = steps;
  opt.W0 = randn(2 * B * m.N(), 16);
  opt.b0 = randn(B * 2, 17);
  const GdResult res = synfield::train_gd(d, opt);

  std::vector<double> W = opt.W0, b = opt.b0, vW(W.size(), 0.0), vb(b.size(), 0.0), gW, gb;
  for (int n = 0; n < steps; ++n) {
    m.grad(W, b, gW, gb);
    const double eta = n == 0 ? lr1 : lr;
    for (std::size_t i = 0; i < W.size(); ++i) W[i] += (vW[i] = beta * vW[i] - eta * gW[i]);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] += (vb[i] = beta * vb[i] - bias_scale * eta * gb[i]);
  }
  expect_close(res.W, W, 1e-11, "W");
  expect_close(res.b, b, 1e-11, "b");
}

// ---- the map to the field solver -------------------------------------------------------

TEST(GdMap, RatesAndTheirSmallFrictionLimits) {
  const double dt = 0.03, mu = 0.125;
  for (double gamma : {0.0, 1e-14, 1e-6, 0.7, 25.0}) {
    GdOptions o;
    synfield::match_damped_leapfrog(o, dt, gamma, mu);
    const double x = gamma * dt;
    EXPECT_DOUBLE_EQ(o.momentum, std::exp(-x));
    EXPECT_DOUBLE_EQ(o.bias_lr_scale, mu);
    ASSERT_TRUE(o.first_lr.has_value());
    if (x > 1e-4) {
      EXPECT_NEAR(o.lr, dt * (1 - std::exp(-x)) / (gamma * mu), 1e-14 * o.lr);
      EXPECT_NEAR(*o.first_lr, dt * (1 - std::exp(-x / 2)) / (gamma * mu), 1e-14 * o.lr);
    } else {  // γ → 0: dt²/μ and dt²/(2μ), to O(γ dt)
      EXPECT_NEAR(o.lr, dt * dt / mu, 1.0 * x * dt * dt / mu + 1e-16);
      EXPECT_NEAR(*o.first_lr, dt * dt / (2 * mu), 1.0 * x * dt * dt / mu + 1e-16);
    }
  }
  GdOptions g;
  g.momentum = 0.5;
  g.first_lr = 1.0;
  synfield::match_gradient_flow(g, dt, 2.0, mu);
  EXPECT_DOUBLE_EQ(g.lr, dt * 2.0 / mu);
  EXPECT_EQ(g.momentum, 0.0);
  EXPECT_FALSE(g.first_lr.has_value());
  EXPECT_DOUBLE_EQ(g.bias_lr_scale, mu);
}

// The damped equation ẇ = π, π̇ = −γπ + F with F = −(1/μ)∂C/∂w (weights, μ = a^d) and
// F_b = −∂C/∂b (bias, μ_b = 1), stepped as kick(dt/2) drift(dt) kick(dt/2) with the exact
// friction kick — every half kick done separately (no merging) — against train_gd with
// match_damped_leapfrog: the weights must agree at every step.
void check_leapfrog(double gamma) {
  const std::vector<int> shape{3, 4};
  const double a = 0.5, mu = a * a;  // continuum units: s = μ = a^d
  const Dataset d = make_data(shape, 2, 10, 0, 25);
  const int B = 2, steps = 40;
  const double dt = 0.05;
  const Model m{d, mu, B, true};
  std::vector<double> W = randn(2 * B * m.N(), 26, 0.3), b = randn(B * 2, 27, 0.3);

  GdOptions opt;
  synfield::match_damped_leapfrog(opt, dt, gamma, mu);
  opt.scale = mu;
  opt.replicas = B;
  opt.W0 = W;
  opt.b0 = b;
  for (int steps_run : {1, 2, steps}) {
    opt.steps = steps_run;
    const GdResult res = synfield::train_gd(d, opt);

    std::vector<double> w = W, bb = b, pw(W.size(), 0.0), pb(b.size(), 0.0), gW, gb;
    auto kick = [&](double h) {
      const double e = std::exp(-gamma * h), phi = gamma == 0.0 ? h : (1.0 - std::exp(-gamma * h)) / gamma;
      m.grad(w, bb, gW, gb);
      for (std::size_t i = 0; i < w.size(); ++i) pw[i] = e * pw[i] + phi * (-gW[i] / mu);
      for (std::size_t i = 0; i < bb.size(); ++i) pb[i] = e * pb[i] + phi * (-gb[i]);
    };
    for (int n = 0; n < steps_run; ++n) {
      kick(dt / 2);
      for (std::size_t i = 0; i < w.size(); ++i) w[i] += dt * pw[i];
      for (std::size_t i = 0; i < bb.size(); ++i) bb[i] += dt * pb[i];
      kick(dt / 2);
    }
    expect_close(res.W, w, 1e-11, "W");
    expect_close(res.b, bb, 1e-11, "b");
  }
}

TEST(GdMap, DampedLeapfrogWithFrictionIsHeavyBall) { check_leapfrog(1.3); }
TEST(GdMap, DampedLeapfrogWithoutFrictionIsHeavyBall) { check_leapfrog(0.0); }
TEST(GdMap, DampedLeapfrogStrongFrictionIsHeavyBall) { check_leapfrog(30.0); }

TEST(GdMap, GradientFlowEulerIsPlainGd) {
  const double a = 0.5, mu = a * a * a, eta = 0.8, dt = 0.02;
  const Dataset d = make_data({2, 3, 2}, 1, 8, 0, 35);
  const Model m{d, mu, 1, true};
  std::vector<double> w = randn(m.N(), 36), b = randn(1, 37);
  GdOptions opt;
  synfield::match_gradient_flow(opt, dt, eta, mu);
  opt.scale = mu;
  opt.W0 = w;
  opt.b0 = b;
  opt.steps = 25;
  const GdResult res = synfield::train_gd(d, opt);
  std::vector<double> gW, gb;
  for (int n = 0; n < opt.steps; ++n) {  // dw/dt = η F, explicit Euler
    m.grad(w, b, gW, gb);
    for (std::size_t i = 0; i < w.size(); ++i) w[i] += dt * eta * (-gW[i] / mu);
    b[0] += dt * eta * (-gb[0]);
  }
  expect_close(res.W, w, 1e-11, "W");
  expect_close(res.b, b, 1e-11, "b");
}

// ---- fixed points ------------------------------------------------------------------------

// [sX | 1] (P × (N+1)) or sX (P × N), and the lstsq solution split into W [n_out][N], b [n_out].
void lstsq_solution(const Dataset& d, double s, bool bias, std::vector<double>& W, std::vector<double>& b) {
  const long N = sites(d), P = static_cast<long>(d.Y.size()) / d.outputs, cols = N + (bias ? 1 : 0);
  std::vector<double> A(P * cols);
  for (long l = 0; l < P; ++l) {
    for (long x = 0; x < N; ++x) A[l * cols + x] = s * d.X[l * N + x];
    if (bias) A[l * cols + N] = 1.0;
  }
  const auto sol = synfield::blas::lstsq(A, P, cols, d.Y, d.outputs);  // cols × n_out
  W.assign(d.outputs * N, 0.0);
  b.assign(bias ? d.outputs : 0, 0.0);
  for (int o = 0; o < d.outputs; ++o) {
    for (long x = 0; x < N; ++x) W[o * N + x] = sol[x * d.outputs + o];
    if (bias) b[o] = sol[N * d.outputs + o];
  }
}

TEST(GdFixedPoint, OverdeterminedConvergesToLstsq) {
  const Dataset d = make_data({6}, 2, 40, 0, 45);
  const double s = 0.5;
  std::vector<double> Wls, bls;
  lstsq_solution(d, s, true, Wls, bls);
  for (double beta : {0.0, 0.6}) {
    GdOptions opt;
    opt.scale = s;
    opt.momentum = beta;
    opt.lr = stable_lr(d, s, true, 0.45) * (1 - beta);
    opt.W0 = randn(2 * 6, 46);  // any start: the minimiser is unique
    opt.steps = 6000;
    opt.observe_every = 1000;
    const GdResult res = synfield::train_gd(d, opt);
    expect_close(res.W, Wls, 1e-9, "W");
    expect_close(res.b, bls, 1e-9, "b");
    const Model m{d, s, 1, true};
    EXPECT_NEAR(res.loss.back(), m.loss(Wls, bls), 1e-10 * res.loss.back());
    for (std::size_t i = 1; i < res.loss.size(); ++i) EXPECT_LE(res.loss[i], res.loss[i - 1] * (1 + 1e-12));
  }
}

TEST(GdFixedPoint, UnderdeterminedFromZeroIsMinimumNorm) {
  const Dataset d = make_data({4, 4}, 2, 5, 0, 55);
  const double s = 1.0 / 16;  // continuum units, a = 1/4, d = 2
  for (bool bias : {false, true}) {
    std::vector<double> Wmn, bmn;
    lstsq_solution(d, s, bias, Wmn, bmn);  // minimum norm over (W, b) jointly when with bias
    GdOptions opt;
    opt.scale = s;
    opt.bias = bias;
    opt.lr = stable_lr(d, s, bias, 0.45);
    opt.steps = 20000;
    opt.observe_every = opt.steps;
    const GdResult res = synfield::train_gd(d, opt);  // from zero: stays in the row space
    expect_close(res.W, Wmn, 1e-8, "W");
    expect_close(res.b, bmn, 1e-8, "b");
    EXPECT_LT(res.loss.back(), 1e-14);  // interpolates
  }
}

// ---- replicas ------------------------------------------------------------------------------

TEST(GdReplicas, IndependentCopies) {
  const Dataset d = make_data({3, 3}, 2, 12, 4, 65);
  const int B = 3;
  const long N = 9;
  GdOptions opt;
  opt.scale = 0.3;
  opt.momentum = 0.5;
  opt.lr = 0.01;
  opt.first_lr = 0.004;
  opt.replicas = B;
  opt.steps = 15;
  opt.observe_every = 5;
  opt.W0 = randn(2 * B * N, 66);
  opt.b0 = randn(B * 2, 67);
  const GdResult all = synfield::train_gd(d, opt);
  ASSERT_EQ(all.replica_loss.size(), all.steps.size() * B);
  for (std::size_t k = 0; k < all.steps.size(); ++k)
    EXPECT_NEAR(all.loss[k], all.replica_loss[k * B] + all.replica_loss[k * B + 1] + all.replica_loss[k * B + 2],
                1e-12 * all.loss[k]);
  for (int r = 0; r < B; ++r) {
    GdOptions one = opt;
    one.replicas = 1;
    one.W0.clear();
    for (int o = 0; o < 2; ++o)
      one.W0.insert(one.W0.end(), opt.W0.begin() + (o * B + r) * N, opt.W0.begin() + (o * B + r + 1) * N);
    one.b0 = {opt.b0[r * 2], opt.b0[r * 2 + 1]};
    const GdResult single = synfield::train_gd(d, one);
    for (int o = 0; o < 2; ++o)
      for (long x = 0; x < N; ++x)
        EXPECT_NEAR(all.W[(o * B + r) * N + x], single.W[o * N + x], 1e-12) << "replica " << r;
    EXPECT_NEAR(all.b[r * 2], single.b[0], 1e-12);
    EXPECT_NEAR(all.b[r * 2 + 1], single.b[1], 1e-12);
    for (std::size_t k = 0; k < all.steps.size(); ++k) {
      EXPECT_NEAR(all.replica_loss[k * B + r], single.loss[k], 1e-11 * single.loss[k]);
      EXPECT_NEAR(single.loss[k], single.replica_loss[k], 0.0);
    }
  }
  // the test loss sums over replicas too
  const Model m{d, opt.scale, B, true};
  EXPECT_NEAR(all.test_loss.back(), m.loss(all.W, all.b, true), 1e-11 * all.test_loss.back());
}

// ---- the HDF5 file -------------------------------------------------------------------------

TEST(GdOutput, PathsShapesAndValues) {
  const Dataset d = make_data({4, 3}, 2, 10, 3, 75);
  const int B = 2;
  GdOptions opt;
  opt.scale = 0.5;
  opt.lr = 0.01;
  opt.replicas = B;
  opt.steps = 10;
  opt.observe_every = 3;   // 0 3 6 9 10
  opt.snapshot_every = 4;  // 0 4 8 10
  opt.W0 = randn(2 * B * 12, 76);
  opt.b0 = randn(B * 2, 77);
  opt.output = temp_path("layout");
  const GdResult res = synfield::train_gd(d, opt);
  EXPECT_EQ(res.steps, (std::vector<std::int64_t>{0, 3, 6, 9, 10}));

  auto f = synfield::h5::File::open_read(opt.output);
  EXPECT_EQ(f.attr_string("format"), "synfield-1");
  EXPECT_EQ(f.attr_string("kind"), "gd");
  EXPECT_EQ(f.attr_string("status"), "complete");
  std::vector<hsize_t> dims;
  EXPECT_EQ(f.read("/observables/step", &dims), (std::vector<double>{0, 3, 6, 9, 10}));
  EXPECT_EQ(dims, (std::vector<hsize_t>{5}));
  EXPECT_EQ(f.read("/observables/loss", &dims), res.loss);
  EXPECT_EQ(f.read("/observables/test_loss", &dims), res.test_loss);
  EXPECT_EQ(dims, (std::vector<hsize_t>{5}));
  EXPECT_EQ(f.read("/snapshots/step", &dims), (std::vector<double>{0, 4, 8, 10}));
  const auto w0 = f.read("/snapshots/fields/w0", &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{4, 2, 4, 3}));
  const auto w1 = f.read("/snapshots/fields/w1", &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{4, 2, 4, 3}));
  const auto bias = f.read("/snapshots/fields/bias", &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{4, 2, 2}));
  EXPECT_FALSE(f.exists("/snapshots/fields/w"));
  // first snapshot = the initial state, last = the result
  const std::size_t block = B * 12;
  for (std::size_t i = 0; i < block; ++i) {
    EXPECT_EQ(w0[i], opt.W0[i]);
    EXPECT_EQ(w1[i], opt.W0[block + i]);
    EXPECT_EQ(w0[3 * block + i], res.W[i]);
    EXPECT_EQ(w1[3 * block + i], res.W[block + i]);
  }
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(bias[i], opt.b0[i]);
    EXPECT_EQ(bias[3 * 4 + i], res.b[i]);
  }
  f.close();
  std::remove(opt.output.c_str());
}

TEST(GdOutput, OneOutputNoBiasNoTestSet) {
  const Dataset d = make_data({7}, 1, 6, 0, 85);
  GdOptions opt;
  opt.bias = false;
  opt.lr = 0.01;
  opt.steps = 5;
  opt.observe_every = 2;  // 0 2 4 5
  opt.output = temp_path("plain");
  const GdResult res = synfield::train_gd(d, opt);
  EXPECT_TRUE(res.b.empty());
  EXPECT_TRUE(res.test_loss.empty());
  auto f = synfield::h5::File::open_read(opt.output);
  std::vector<hsize_t> dims;
  EXPECT_EQ(f.read("/observables/step", &dims), (std::vector<double>{0, 2, 4, 5}));
  EXPECT_FALSE(f.exists("/observables/test_loss"));
  EXPECT_FALSE(f.exists("/snapshots/fields/bias"));
  EXPECT_EQ(f.read("/snapshots/step", &dims), (std::vector<double>{0, 5}));  // snapshot_every = 0
  const auto w = f.read("/snapshots/fields/w", &dims);
  EXPECT_EQ(dims, (std::vector<hsize_t>{2, 1, 7}));
  for (int x = 0; x < 7; ++x) EXPECT_EQ(w[7 + x], res.W[x]);
  f.close();
  std::remove(opt.output.c_str());
}

TEST(GdOutput, BlowUpIsRecorded) {
  const Dataset d = make_data({5}, 1, 8, 0, 95);
  GdOptions opt;
  opt.lr = 50.0;  // far beyond stability
  opt.steps = 2000;
  opt.output = temp_path("blowup");
  EXPECT_THROW(synfield::train_gd(d, opt), std::runtime_error);
  auto f = synfield::h5::File::open_read(opt.output);
  EXPECT_EQ(f.attr_string("status").rfind("failed: ", 0), 0u) << f.attr_string("status");
  f.close();
  std::remove(opt.output.c_str());
}

TEST(GdNames, FieldNames) {
  EXPECT_EQ(synfield::gd_field_names(1), (std::vector<std::string>{"w"}));
  EXPECT_EQ(synfield::gd_field_names(3), (std::vector<std::string>{"w0", "w1", "w2"}));
}

TEST(GdOptions, InvalidInputsThrow) {
  const Dataset d = make_data({4}, 1, 5, 0, 105);
  auto run = [&](auto tweak) {
    GdOptions o;
    o.steps = 1;
    tweak(o);
    return synfield::train_gd(d, o);
  };
  EXPECT_THROW(run([](GdOptions& o) { o.momentum = 1.5; }), std::invalid_argument);
  EXPECT_THROW(run([](GdOptions& o) { o.minibatch = 6; }), std::invalid_argument);
  EXPECT_THROW(run([](GdOptions& o) { o.replicas = 0; }), std::invalid_argument);
  EXPECT_THROW(run([](GdOptions& o) { o.observe_every = 0; }), std::invalid_argument);
  EXPECT_THROW(run([](GdOptions& o) { o.W0 = {1.0, 2.0}; }), std::invalid_argument);
  EXPECT_THROW(run([](GdOptions& o) { o.b0 = {1.0, 2.0}; }), std::invalid_argument);
  EXPECT_THROW(run([](GdOptions& o) {
                 o.bias = false;
                 o.b0 = {1.0};
               }),
               std::invalid_argument);
  Dataset bad = d;
  bad.X.pop_back();
  EXPECT_THROW(synfield::train_gd(bad, GdOptions{}), std::invalid_argument);
  // zero steps: the initial state, observed once
  const GdResult r = run([](GdOptions& o) { o.steps = 0; });
  EXPECT_EQ(r.steps, (std::vector<std::int64_t>{0}));
}

// ---- minibatches ---------------------------------------------------------------------------

TEST(GdSgd, MinibatchMatchesHandLoopWithTheSampler) {
  const Dataset d = make_data({6}, 2, 11, 0, 115);
  const int B = 2, steps = 12;
  const double s = 0.4, beta = 0.3, lr = 0.02;
  const Model m{d, s, B, true};
  GdOptions opt;
  opt.scale = s;
  opt.momentum = beta;
  opt.lr = lr;
  opt.replicas = B;
  opt.steps = steps;
  opt.minibatch = 4;  // 11 = 4 + 4 + 3
  opt.seed = 42;
  opt.W0 = randn(2 * B * 6, 116);
  opt.b0 = randn(B * 2, 117);
  const GdResult res = synfield::train_gd(d, opt);

  synfield::MinibatchSampler sampler(11, 4, 42);
  std::vector<double> W = opt.W0, b = opt.b0, vW(W.size(), 0.0), vb(b.size(), 0.0), gW, gb;
  std::vector<double> losses{m.loss(W, b)};
  for (int n = 0; n < steps; ++n) {
    m.grad(W, b, gW, gb, sampler.batch(n));
    for (std::size_t i = 0; i < W.size(); ++i) W[i] += (vW[i] = beta * vW[i] - lr * gW[i]);
    for (std::size_t i = 0; i < b.size(); ++i) b[i] += (vb[i] = beta * vb[i] - lr * gb[i]);
    losses.push_back(m.loss(W, b));  // the full-data loss
  }
  expect_close(res.W, W, 1e-11, "W");
  expect_close(res.b, b, 1e-11, "b");
  expect_close(res.loss, losses, 1e-11, "loss");

  // and it differs from full-batch descent (the minibatch really is used)
  GdOptions full = opt;
  full.minibatch = 0;
  const GdResult fb = synfield::train_gd(d, full);
  double diff = 0.0;
  for (std::size_t i = 0; i < W.size(); ++i) diff = std::max(diff, std::fabs(fb.W[i] - res.W[i]));
  EXPECT_GT(diff, 1e-6);
}

TEST(GdSgd, InterpolatesRealizableData) {
  // noiseless realizable targets: every example's gradient vanishes at w*, so SGD converges to it
  Dataset d = make_data({5}, 1, 20, 0, 125);
  const std::vector<double> w_true = randn(5, 126);
  const double b_true = 0.7, s = 1.0;
  for (long l = 0; l < 20; ++l) {
    double z = b_true;
    for (int x = 0; x < 5; ++x) z += s * w_true[x] * d.X[l * 5 + x];
    d.Y[l] = z;
  }
  GdOptions opt;
  opt.lr = 0.02;
  opt.minibatch = 3;
  opt.seed = 7;
  opt.steps = 8000;
  opt.observe_every = 8000;
  const GdResult res = synfield::train_gd(d, opt);
  expect_close(res.W, w_true, 1e-8, "W");
  EXPECT_NEAR(res.b[0], b_true, 1e-8);
}

}  // namespace
