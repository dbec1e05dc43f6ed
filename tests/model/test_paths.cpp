// Truth: identities between the three representations of the model's nonlocal force
// (host/model/perceptron.h) and a plain-loop evaluation of it.
//   * force() = −(1/μ)∂C/∂w = (2s/μ) Σ_l R_l X_l, the bias velocity η F_b = 2η Σ_l R_l and
//     potential() = C, written out with loops here, for dense and factored coupling;
//   * dense (J₂ = s² XᵀX stored) and factored (two GEMMs) give the same forces and the
//     same trajectories to rounding;
//   * replica_data = "bootstrap": B replicas = B single-replica runs, each on its own
//     resampled rows (training_rows) — the strided-batched GEMM path; with a minibatch, each
//     replica's stream is MinibatchSampler(P, m, seed + 1 + r) over its own rows;
//   * replica_data = "streams": B replicas = B single-replica runs on all rows with
//     minibatch seeds seed + 1 + r.
#include <gtest/gtest.h>

#include <synfield/solver.h>

#include <random>
#include <string>
#include <vector>

#include "host/model/perceptron_rows.h"
#include "model_test_util.h"

namespace synfield::test {
namespace {

// ---- the force written out ----------------------------------------------------------------

struct Loops {
  const Dataset& d;
  double s, mu;
  int B;
  bool bias;
  long N() const { return d.features(); }
  // R^l_{o,r} = Y^l_o − s Σ_x w_{o,r}(x) X^l(x) − b_{r,o}
  double residual(long l, int o, int r, const std::vector<double>& w, const std::vector<double>& b) const {
    double z = 0.0;
    for (long x = 0; x < N(); ++x) z += w[(o * B + r) * N() + x] * d.X[l * N() + x];
    return d.Y[l * d.outputs + o] - s * z - (bias ? b[r * d.outputs + o] : 0.0);
  }
  void eval(const std::vector<double>& w, const std::vector<double>& b, std::vector<double>& F,
            std::vector<double>& Fb, double& C) const {
    const int O = d.outputs;
    F.assign(w.size(), 0.0);
    Fb.assign(bias ? B * O : 0, 0.0);
    C = 0.0;
    for (long l = 0; l < d.samples(); ++l)
      for (int o = 0; o < O; ++o)
        for (int r = 0; r < B; ++r) {
          const double R = residual(l, o, r, w, b);
          C += R * R;
          for (long x = 0; x < N(); ++x) F[(o * B + r) * N() + x] += 2.0 * s / mu * R * d.X[l * N() + x];
          if (bias) Fb[r * O + o] += 2.0 * R;
        }
  }
};

struct Coupled {
  TempDir dir;
  Dataset data;
  ModelConfig cfg;
  double s = 0.0, mu = 0.0;
  Coupled() {
    data = random_data({3, 4}, 2, 17, 4, 41);
    cfg.data = dir / "data.h5";
    write_data(cfg.data, data);
    cfg.replicas = 3;
    cfg.units = "continuum";
    cfg.spacing = 0.8;
    cfg.outputs = 2;
    s = mu = 0.8 * 0.8;
  }
};

class DenseVsFactored : public BackendTest {};

TEST_P(DenseVsFactored, ForcesAndPotentialMatchLoops) {
  Coupled c;
  const double eta = 0.7;
  c.cfg.dynamics = flow_dynamics("euler", 1.0, eta, 1);
  std::vector<double> w = randn(2 * 3 * 12, 5, 0.4), b = randn(3 * 2, 6, 0.3), zero_b(6, 0.0);
  for (const std::string coupling : {"dense", "factored"}) {
    SCOPED_TRACE(coupling);
    c.cfg.coupling = coupling;
    const Problem p = c.cfg.problem();
    ASSERT_EQ(p.model.coupling == Model::Coupling::dense, coupling == "dense");
    auto solver = make_solver(p, backend());
    solver->set_state(w, std::vector<double>(w.size(), 0.0));
    solver->set_bias(b, zero_b);
    std::vector<double> F, Fb;
    double C = 0.0;
    Loops{c.data, c.s, c.mu, 3, true}.eval(w, b, F, Fb, C);
    EXPECT_TRUE(close_rel(solver->force(), F, 1e-12, "force"));
    EXPECT_TRUE(close_rel(solver->potential(), C, 1e-12, "potential"));
    const State st = state_of(*solver);
    std::vector<double> vb_expected;
    for (double f : Fb) vb_expected.push_back(eta * f);
    EXPECT_TRUE(close_rel(st.vb, vb_expected, 1e-12, "bias velocity η F_b"));
    std::vector<double> v_expected;
    for (double f : F) v_expected.push_back(eta * f);
    EXPECT_TRUE(close_rel(st.v, v_expected, 1e-12, "weight velocity η F"));
    // the test predictions: Z = s X_test w + b
    const Observables o = solver->observe();
    ASSERT_EQ(o.test_predictions.size(), 3u * 4u * 2u);
    for (int r = 0; r < 3; ++r)
      for (long l = 0; l < 4; ++l)
        for (int k = 0; k < 2; ++k) {
          double z = b[r * 2 + k];
          for (long x = 0; x < 12; ++x) z += c.s * w[(k * 3 + r) * 12 + x] * c.data.X_test[l * 12 + x];
          EXPECT_NEAR(o.test_predictions[(r * 4 + l) * 2 + k], z, 1e-12 * (1.0 + std::fabs(z)));
        }
  }
}

TEST_P(DenseVsFactored, TrajectoriesAgree) {
  Coupled c;
  const double lam = hessian_max(c.data, c.s, c.mu, true);
  for (const std::string dyn : {"flow", "damped"}) {
    SCOPED_TRACE(dyn);
    c.cfg.dynamics = dyn == "flow" ? flow_dynamics("rk4", 1.0, 1.0 / lam, 300)
                                   : damped_dynamics("yoshida4", 0.5 / std::sqrt(lam), 0.1 * std::sqrt(lam), 300);
    c.cfg.coupling = "dense";
    auto dense = make_solver(c.cfg.problem(), backend());
    c.cfg.coupling = "factored";
    auto factored = make_solver(c.cfg.problem(), backend());
    const double v_scale = std::max(max_abs(state_of(*dense).v), 1.0);    for (long k : {1L, 10L, 300L}) {
      dense->advance(k - dense->step());
      factored->advance(k - factored->step());
      const State a = state_of(*dense), b = state_of(*factored);
      const std::string at = " after " + std::to_string(k) + " steps";
      EXPECT_TRUE(close_rel(a.w, b.w, 1e-12, "weights" + at));
      // (velocities relative to their initial scale: they vanish at the fixed point)
      EXPECT_TRUE(close_abs(a.v, b.v, 1e-12 * v_scale, "velocities" + at));
      EXPECT_TRUE(close_rel(a.b, b.b, 1e-12, "biases" + at));
      const Observables oa = dense->observe(), ob = factored->observe();
      EXPECT_TRUE(close_rel(oa.loss, ob.loss, 1e-12, "loss" + at));
      EXPECT_TRUE(close_rel(oa.test_predictions, ob.test_predictions, 1e-12, "test predictions" + at));
    }
  }
}

// The CPU backend's reductions split over threads: 1 and 2 threads agree to rounding.
TEST_P(DenseVsFactored, ThreadCountDoesNotMatter) {
  Coupled c;
  const double lam = hessian_max(c.data, c.s, c.mu, true);
  c.cfg.dynamics = damped_dynamics("leapfrog", 0.5 / std::sqrt(lam), 0.2 * std::sqrt(lam), 20);
  for (const std::string coupling : {"dense", "factored"}) {
    c.cfg.coupling = coupling;
    const Problem p = c.cfg.problem();
    State one, two;
    Observables o1, o2;
    {
      ThreadCount t(1);
      auto s = make_solver(p, backend());
      s->advance(20);
      one = state_of(*s);
      o1 = s->observe();
    }
    {
      ThreadCount t(2);
      auto s = make_solver(p, backend());
      s->advance(20);
      two = state_of(*s);
      o2 = s->observe();
    }
    EXPECT_TRUE(close_rel(one.w, two.w, 1e-12, coupling + " weights"));
    EXPECT_TRUE(close_rel(one.b, two.b, 1e-12, coupling + " biases"));
    EXPECT_TRUE(close_rel(o1.loss, o2.loss, 1e-12, coupling + " loss"));
    EXPECT_TRUE(close_rel(o1.kinetic, o2.kinetic, 1e-12, coupling + " kinetic energy"));
  }
}

INSTANTIATE_TEST_SUITE_P(Model, DenseVsFactored, kBackends, BackendName());

// ---- per-replica data ------------------------------------------------------------------------

struct ReplicaCase {
  std::string name;
  std::string replica_data;  // bootstrap | streams
  long minibatch;
  std::string dynamics;      // flow | damped
  bool bias;
};
std::ostream& operator<<(std::ostream& os, const ReplicaCase& c) { return os << c.name; }

class PerReplicaData : public ::testing::TestWithParam<std::tuple<Backend, ReplicaCase>> {
 protected:
  void SetUp() override { SYNFIELD_REQUIRE_BACKEND(std::get<0>(GetParam())); }
};

// Slice of replica r out of a [field][replica][site] array.
std::vector<double> replica_slice(const std::vector<double>& a, int F, int B, long N, int r) {
  std::vector<double> out;
  for (int f = 0; f < F; ++f) out.insert(out.end(), a.begin() + (f * B + r) * N, a.begin() + (f * B + r + 1) * N);
  return out;
}

TEST_P(PerReplicaData, BReplicasEqualBSingleRuns) {
  const auto& [backend, c] = GetParam();
  const int B = 3, O = 2;
  const long P = 19, Pt = 3;
  TempDir dir;
  const Dataset data = random_data({5}, O, P, Pt, 77);
  const long N = data.features();
  ModelConfig cfg;
  cfg.data = dir / "data.h5";
  write_data(cfg.data, data);
  cfg.replicas = B;
  cfg.outputs = O;
  cfg.bias = c.bias;
  cfg.replica_data = c.replica_data;
  cfg.minibatch = c.minibatch;
  cfg.seed = 4;
  const double lam = hessian_max(data, 1.0, 1.0, c.bias);
  // resampled rows repeat examples: a margin for their stiffer Hessians
  cfg.dynamics = c.dynamics == "flow" ? flow_dynamics("euler", 1.0, 0.3 / lam, 200)
                                      : damped_dynamics("leapfrog", 0.4 / std::sqrt(lam), 0.5 * std::sqrt(lam), 200);
  cfg.init_velocity = c.dynamics == "damped" ? 0.2 : 0.0;
  const Problem p = cfg.problem();
  ASSERT_EQ(p.model.coupling, Model::Coupling::factored);
  auto multi = make_solver(p, backend);
  const State start = state_of(*multi);
  const double v_scale = max_abs(start.v);

  const std::vector<std::vector<std::int64_t>> rows = training_rows(p.model, B);
  ASSERT_EQ(rows.size(), static_cast<std::size_t>(B));
  if (c.replica_data == "bootstrap") {
    // the resamples differ from the data and from each other (else the check is vacuous)
    std::vector<std::int64_t> identity(P);
    for (long l = 0; l < P; ++l) identity[l] = l;
    for (int r = 0; r < B; ++r) EXPECT_NE(rows[r], identity) << "replica " << r;
    EXPECT_NE(rows[0], rows[1]);
  }

  // replica r alone: its own rows, shared data, the seed of its stream, its initial state
  std::vector<std::unique_ptr<Solver>> singles;
  for (int r = 0; r < B; ++r) {
    ModelConfig one = cfg;
    one.replicas = 1;
    one.replica_data = "shared";
    one.seed = cfg.seed + 1 + r;
    one.data = dir / ("replica" + std::to_string(r) + ".h5");
    write_data(one.data, select_rows(data, rows[r]));
    singles.push_back(make_solver(one.problem(), backend));
    singles.back()->set_state(replica_slice(start.w, O, B, N, r), replica_slice(start.v, O, B, N, r));
  }
  // (the biases start at zero in both)

  for (long k : {1L, 2L, 7L, 8L, 60L, 200L}) {
    multi->advance(k - multi->step());
    const State m = state_of(*multi);
    const Observables om = multi->observe();
    double loss = 0.0;
    for (int r = 0; r < B; ++r) {
      const std::string at = "replica " + std::to_string(r) + " after " + std::to_string(k) + " steps";
      singles[r]->advance(k - singles[r]->step());
      const State st = state_of(*singles[r]);
      const Observables os = singles[r]->observe();
      EXPECT_TRUE(close_rel(replica_slice(m.w, O, B, N, r), st.w, 1e-12, "weights of " + at));
      if (c.dynamics == "damped")
        EXPECT_TRUE(close_abs(replica_slice(m.v, O, B, N, r), st.v, 1e-12 * v_scale, "velocities of " + at));
      if (c.bias) {
        EXPECT_TRUE(close_rel(std::vector<double>(m.b.begin() + r * O, m.b.begin() + (r + 1) * O), st.b, 1e-12,
                              "biases of " + at));
      }
      EXPECT_TRUE(close_rel(std::vector<double>(om.test_predictions.begin() + r * Pt * O,
                                                om.test_predictions.begin() + (r + 1) * Pt * O),
                            os.test_predictions, 1e-12, "test predictions of " + at));
      loss += os.loss;
    }
    EXPECT_TRUE(close_rel(om.loss, loss, 1e-12, "loss after " + std::to_string(k) + " steps"));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Model, PerReplicaData,
    ::testing::Combine(kBackends,
                       ::testing::Values(ReplicaCase{"bootstrap_full_batch_flow", "bootstrap", 0, "flow", true},
                                         ReplicaCase{"bootstrap_full_batch_damped", "bootstrap", 0, "damped", false},
                                         ReplicaCase{"bootstrap_minibatch_flow", "bootstrap", 5, "flow", true},
                                         ReplicaCase{"streams_flow", "streams", 4, "flow", true},
                                         ReplicaCase{"streams_damped_nobias", "streams", 6, "damped", false})),
    [](const ::testing::TestParamInfo<std::tuple<Backend, ReplicaCase>>& info) {
      return std::string(backend_name(std::get<0>(info.param))) + "_" + std::get<1>(info.param).name;
    });

}  // namespace
}  // namespace synfield::test
