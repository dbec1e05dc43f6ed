// Gradient-descent reference for the perceptron (host/gd/gd.h).
#include "host/gd/gd.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <stdexcept>

#include <synfield/blas.h>

#include "host/io/h5.h"

namespace synfield {
namespace {

using blas::Trans;

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument("train_gd: " + what); }

std::int64_t sites_of(const Dataset& d) {
  if (d.shape.empty() || d.shape.size() > 3) bad("the input shape must have 1 to 3 extents");
  std::int64_t n = 1;
  for (int e : d.shape) {
    if (e <= 0) bad("the input shape has an extent " + std::to_string(e) + " (must be positive)");
    n *= e;
  }
  return n;
}

// Shapes of the data: sizes agree with shape and outputs.
struct Dims {
  std::int64_t N, P, P_test;
  int n_out;
};
Dims check_data(const Dataset& d) {
  Dims k{};
  k.N = sites_of(d);
  if (d.outputs < 1) bad("the data must have at least one output");
  k.n_out = d.outputs;
  if (d.Y.size() % k.n_out || d.Y_test.size() % k.n_out) bad("Y or Y_test is not a multiple of the outputs");
  k.P = static_cast<std::int64_t>(d.Y.size()) / k.n_out;
  k.P_test = static_cast<std::int64_t>(d.Y_test.size()) / k.n_out;
  if (k.P < 1) bad("the training set is empty");
  if (static_cast<std::int64_t>(d.X.size()) != k.P * k.N)
    bad("X has " + std::to_string(d.X.size()) + " values, expected P·N = " + std::to_string(k.P * k.N));
  if (static_cast<std::int64_t>(d.X_test.size()) != k.P_test * k.N)
    bad("X_test has " + std::to_string(d.X_test.size()) + " values, expected P_test·N = " +
        std::to_string(k.P_test * k.N));
  return k;
}

// The model's forward pass on P rows X [P][N], Y [P][n_out]:
//   R[l][o·B + r] = Y[l][o] − s Σ_x X[l][x] W[(o·B + r)·N + x] − b[r·n_out + o].
// W [n_out][B][N] is a (n_out·B)×N row-major matrix, so all fields and replicas share one GEMM.
void residual(const double* X, const double* Y, std::int64_t P, const Dims& k, int B, double s,
              const std::vector<double>& W, const std::vector<double>& b, std::vector<double>& R) {
  const long cols = static_cast<long>(k.n_out) * B;
  R.resize(static_cast<std::size_t>(P * cols));
  if (P == 0) return;
  blas::gemm(Trans::no, Trans::yes, P, cols, k.N, -s, X, k.N, W.data(), k.N, 0.0, R.data(), cols);
  for (std::int64_t l = 0; l < P; ++l) {
    double* row = R.data() + l * cols;
    for (int o = 0; o < k.n_out; ++o) {
      const double y = Y[l * k.n_out + o];
      for (int r = 0; r < B; ++r) row[o * B + r] += y - (b.empty() ? 0.0 : b[r * k.n_out + o]);
    }
  }
}

// C_r = Σ_l Σ_o R[l][o·B + r]².
std::vector<double> replica_costs(const std::vector<double>& R, std::int64_t P, const Dims& k, int B) {
  std::vector<double> c(B, 0.0);
  const long cols = static_cast<long>(k.n_out) * B;
  for (std::int64_t l = 0; l < P; ++l)
    for (int o = 0; o < k.n_out; ++o)
      for (int r = 0; r < B; ++r) {
        const double v = R[l * cols + o * B + r];
        c[r] += v * v;
      }
  return c;
}

void check_params(const Dims& k, int B, const std::vector<double>& W, const std::vector<double>& b, bool bias) {
  if (B < 1) bad("replicas must be at least 1");
  const std::int64_t nw = static_cast<std::int64_t>(k.n_out) * B * k.N;
  if (static_cast<std::int64_t>(W.size()) != nw)
    bad("W has " + std::to_string(W.size()) + " values, expected n_out·B·N = " + std::to_string(nw));
  if (bias && static_cast<std::int64_t>(b.size()) != static_cast<std::int64_t>(B) * k.n_out)
    bad("b has " + std::to_string(b.size()) + " values, expected B·n_out = " + std::to_string(B * k.n_out));
  if (!bias && !b.empty()) bad("a bias was given to a model without bias");
}

// The optional HDF5 file of a run.
class GdWriter {
 public:
  GdWriter(const std::string& path, const Dataset& data, const Dims& k, const GdOptions& opt)
      : file_(h5::File::create(path)), k_(k), B_(opt.replicas), bias_(opt.bias) {
    file_.set_attr("format", std::string("synfield-1"));
    file_.set_attr("kind", std::string("gd"));
    file_.set_attr("version", std::string(SYNFIELD_VERSION));
    file_.set_attr("status", std::string("running"));
    file_.set_attr("lr", opt.lr);
    file_.set_attr("momentum", opt.momentum);
    file_.set_attr("first_lr", opt.first_lr.value_or(opt.lr));
    file_.set_attr("bias_lr_scale", opt.bias_lr_scale);
    file_.set_attr("scale", opt.scale);
    file_.set_attr("steps", opt.steps);
    file_.set_attr("minibatch", opt.minibatch);
    file_.set_attr("seed", static_cast<std::int64_t>(opt.seed));
    file_.set_attr("replicas", static_cast<std::int64_t>(opt.replicas));
    file_.set_attr("bias", static_cast<std::int64_t>(opt.bias ? 1 : 0));
    file_.set_attr("outputs", static_cast<std::int64_t>(k.n_out));
    file_.set_attr("samples", k.P);

    const hid_t d = H5T_NATIVE_DOUBLE, i64 = H5T_NATIVE_INT64;
    step_ = h5::Series(file_, "/observables/step", i64, {});
    loss_ = h5::Series(file_, "/observables/loss", d, {});
    if (k.P_test > 0) test_loss_ = std::make_unique<h5::Series>(file_, "/observables/test_loss", d, std::vector<hsize_t>{});
    snap_step_ = h5::Series(file_, "/snapshots/step", i64, {});
    std::vector<hsize_t> inner{static_cast<hsize_t>(B_)};
    for (int e : data.shape) inner.push_back(static_cast<hsize_t>(e));
    const std::vector<std::string> names = opt.field_names.empty() ? gd_field_names(k.n_out) : opt.field_names;
    if (static_cast<int>(names.size()) != k.n_out)
      throw std::invalid_argument("GdOptions::field_names: " + std::to_string(names.size()) + " names for " +
                                  std::to_string(k.n_out) + " outputs");
    for (const auto& name : names) fields_.emplace_back(file_, "/snapshots/fields/" + name, d, inner);
    if (bias_)
      bias_series_ = std::make_unique<h5::Series>(
          file_, "/snapshots/fields/bias", d,
          std::vector<hsize_t>{static_cast<hsize_t>(B_), static_cast<hsize_t>(k.n_out)});
    file_.flush();
  }

  void observe(std::int64_t step, double loss, double test_loss) {
    step_.append(&step);
    loss_.append(&loss);
    if (test_loss_) test_loss_->append(&test_loss);
    file_.flush();
  }

  void snapshot(std::int64_t step, const std::vector<double>& W, const std::vector<double>& b) {
    snap_step_.append(&step);
    const std::size_t block = static_cast<std::size_t>(B_ * k_.N);
    for (std::size_t o = 0; o < fields_.size(); ++o) fields_[o].append(W.data() + o * block);
    if (bias_series_) bias_series_->append(b.data());
    file_.flush();
  }

  void finish(const std::string& status) {
    file_.set_attr("status", status);
    file_.flush();
    file_.close();
  }

 private:
  h5::File file_;
  Dims k_;
  int B_;
  bool bias_;
  h5::Series step_, loss_, snap_step_;
  std::unique_ptr<h5::Series> test_loss_, bias_series_;
  std::vector<h5::Series> fields_;
};

}  // namespace

std::vector<std::string> gd_field_names(int outputs) {
  if (outputs < 1) throw std::invalid_argument("gd_field_names: outputs must be at least 1");
  if (outputs == 1) return {"w"};
  std::vector<std::string> names;
  for (int o = 0; o < outputs; ++o) names.push_back("w" + std::to_string(o));
  return names;
}

void match_gradient_flow(GdOptions& opt, double dt, double eta, double mu) {
  if (!(dt > 0) || !(mu > 0) || !std::isfinite(eta))
    throw std::invalid_argument("match_gradient_flow: needs dt > 0, μ > 0 and a finite η");
  opt.lr = dt * eta / mu;
  opt.first_lr.reset();
  opt.momentum = 0.0;
  opt.bias_lr_scale = mu;
}

void match_damped_leapfrog(GdOptions& opt, double dt, double gamma, double mu) {
  if (!(dt > 0) || !(mu > 0) || !std::isfinite(gamma))
    throw std::invalid_argument("match_damped_leapfrog: needs dt > 0, μ > 0 and a finite γ");
  // φ(h) = (1 − e^{−γh})/γ, written with expm1 so that γh → 0 gives h without cancellation.
  auto phi = [gamma](double h) { return gamma == 0.0 ? h : -std::expm1(-gamma * h) / gamma; };
  opt.momentum = std::exp(-gamma * dt);
  opt.lr = dt * phi(dt) / mu;
  opt.first_lr = dt * phi(0.5 * dt) / mu;
  opt.bias_lr_scale = mu;
}

std::vector<double> gd_loss(const Dataset& data, const std::vector<double>& W, const std::vector<double>& b,
                            double scale, int replicas, bool test) {
  const Dims k = check_data(data);
  check_params(k, replicas, W, b, !b.empty());
  std::vector<double> R;
  const std::int64_t P = test ? k.P_test : k.P;
  residual(test ? data.X_test.data() : data.X.data(), test ? data.Y_test.data() : data.Y.data(), P, k, replicas,
           scale, W, b, R);
  return replica_costs(R, P, k, replicas);
}

GdResult train_gd(const Dataset& data, const GdOptions& opt) {
  const Dims k = check_data(data);
  const int B = opt.replicas;
  if (B < 1) bad("replicas must be at least 1");
  if (!std::isfinite(opt.lr)) bad("lr must be finite");
  if (opt.first_lr && !std::isfinite(*opt.first_lr)) bad("first_lr must be finite");
  if (!(opt.momentum >= 0.0 && opt.momentum <= 1.0)) bad("momentum must lie in [0, 1]");
  if (!std::isfinite(opt.bias_lr_scale)) bad("bias_lr_scale must be finite");
  if (!std::isfinite(opt.scale)) bad("scale must be finite");
  if (opt.steps < 0) bad("steps must not be negative");
  if (opt.minibatch < 0 || opt.minibatch > k.P)
    bad("minibatch = " + std::to_string(opt.minibatch) + " must lie in [0, P = " + std::to_string(k.P) + "]");
  if (opt.observe_every < 1) bad("observe_every must be at least 1");
  if (opt.snapshot_every < 0) bad("snapshot_every must not be negative");

  const std::size_t nw = static_cast<std::size_t>(k.n_out) * B * k.N;
  const std::size_t nb = opt.bias ? static_cast<std::size_t>(B) * k.n_out : 0;
  GdResult res;
  res.W = opt.W0.empty() ? std::vector<double>(nw, 0.0) : opt.W0;
  res.b = opt.b0.empty() ? std::vector<double>(nb, 0.0) : opt.b0;
  check_params(k, B, res.W, res.b, opt.bias);
  std::vector<double>& W = res.W;
  std::vector<double>& b = res.b;

  std::unique_ptr<GdWriter> out;
  if (!opt.output.empty()) out = std::make_unique<GdWriter>(opt.output, data, k, opt);

  std::vector<double> R, Rt;
  auto observe = [&](std::int64_t step) {
    residual(data.X.data(), data.Y.data(), k.P, k, B, opt.scale, W, b, R);
    const std::vector<double> c = replica_costs(R, k.P, k, B);
    double loss = 0.0;
    for (double v : c) loss += v;
    double test_loss = 0.0;
    if (k.P_test > 0) {
      residual(data.X_test.data(), data.Y_test.data(), k.P_test, k, B, opt.scale, W, b, Rt);
      for (double v : replica_costs(Rt, k.P_test, k, B)) test_loss += v;
      res.test_loss.push_back(test_loss);
    }
    res.steps.push_back(step);
    res.loss.push_back(loss);
    res.replica_loss.insert(res.replica_loss.end(), c.begin(), c.end());
    if (out) out->observe(step, loss, test_loss);
    if (!std::isfinite(loss))
      throw std::runtime_error("train_gd: blow-up, the loss is not finite at step " + std::to_string(step) +
                               " (is lr too large?)");
  };
  auto snapshot = [&](std::int64_t step) {
    if (out) out->snapshot(step, W, b);
  };

  try {
    std::unique_ptr<MinibatchSampler> sampler;
    if (opt.minibatch > 0) sampler = std::make_unique<MinibatchSampler>(k.P, opt.minibatch, opt.seed);
    std::vector<double> Xb, Yb, G(nw), gb(nb), vW(nw, 0.0), vb(nb, 0.0), Rb;
    const long cols = static_cast<long>(k.n_out) * B;
    const double beta = opt.momentum;

    observe(0);
    snapshot(0);
    for (std::int64_t n = 0; n < opt.steps; ++n) {
      // the rows of this step's gradient
      const double *X = data.X.data(), *Y = data.Y.data();
      std::int64_t P = k.P;
      if (sampler) {
        const std::vector<std::int64_t>& rows = sampler->batch(n);
        P = static_cast<std::int64_t>(rows.size());
        Xb.resize(static_cast<std::size_t>(P * k.N));
        Yb.resize(static_cast<std::size_t>(P * k.n_out));
        for (std::int64_t i = 0; i < P; ++i) {
          const std::int64_t l = rows[i];
          if (l < 0 || l >= k.P) throw std::runtime_error("train_gd: the sampler returned row " + std::to_string(l));
          std::copy_n(data.X.data() + l * k.N, k.N, Xb.data() + i * k.N);
          std::copy_n(data.Y.data() + l * k.n_out, k.n_out, Yb.data() + i * k.n_out);
        }
        X = Xb.data();
        Y = Yb.data();
      }
      // forward: R = Y − (s X Wᵀ + b); backward: ∂C/∂W = −2 s Rᵀ X, ∂C/∂b = −2 Σ_l R
      residual(X, Y, P, k, B, opt.scale, W, b, Rb);
      blas::gemm(Trans::yes, Trans::no, cols, k.N, P, -2.0 * opt.scale, Rb.data(), cols, X, k.N, 0.0, G.data(), k.N);
      if (opt.bias) {
        std::fill(gb.begin(), gb.end(), 0.0);
        for (std::int64_t l = 0; l < P; ++l)
          for (int o = 0; o < k.n_out; ++o)
            for (int r = 0; r < B; ++r) gb[r * k.n_out + o] += -2.0 * Rb[l * cols + o * B + r];
      }
      // heavy ball: v ← β v − η_n ∇C, w ← w + v
      const double eta = (n == 0 && opt.first_lr) ? *opt.first_lr : opt.lr;
      for (std::size_t i = 0; i < nw; ++i) {
        vW[i] = beta * vW[i] - eta * G[i];
        W[i] += vW[i];
      }
      const double eta_b = eta * opt.bias_lr_scale;
      for (std::size_t i = 0; i < nb; ++i) {
        vb[i] = beta * vb[i] - eta_b * gb[i];
        b[i] += vb[i];
      }

      const std::int64_t step = n + 1;
      if (step % opt.observe_every == 0 || step == opt.steps) observe(step);
      if ((opt.snapshot_every > 0 && step % opt.snapshot_every == 0) || step == opt.steps) snapshot(step);
    }
    if (out) out->finish("complete");
  } catch (const std::exception& e) {
    if (out) out->finish(std::string("failed: ") + e.what());
    throw;
  }
  return res;
}

}  // namespace synfield
