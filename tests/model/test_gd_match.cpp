// Truth: the independent CPU gradient-descent reference (host/gd/gd.h, plain loops over host
// BLAS, no engine code). The field solver's gradient flow with Euler steps is plain GD and
// its damped leapfrog is heavy-ball GD (the exact map is written at the top of host/gd/gd.h);
// the weights, biases and losses must agree to rounding at every compared step, with and
// without minibatches (the same MinibatchSampler sequence), on every backend.
#include <gtest/gtest.h>

#include <synfield/solver.h>

#include <string>
#include <vector>

#include "host/gd/gd.h"
#include "host/io/h5.h"
#include "host/config/initial.h"
#include "host/run/run.h"
#include "model_test_util.h"

namespace synfield::test {
namespace {

// One problem shape of the comparison.
struct Case {
  std::string name;
  std::vector<int> shape;
  int outputs;
  long P, P_test;
  bool bias;
  std::string coupling;
  std::string units;
  double spacing;
  int replicas;
};

std::ostream& operator<<(std::ostream& os, const Case& c) { return os << c.name; }

// GD options matching the model of `p` (the same W0 as the solver's initial state); each test
// sets the learning rate and momentum itself, independently of run.h's gd_options().
GdOptions gd_base_options(const Problem& p) {
  GdOptions opt;
  opt.minibatch = p.model.minibatch;
  opt.seed = p.model.seed;
  opt.bias = p.model.bias;
  opt.scale = p.model.scale;
  opt.replicas = p.lattice.replicas;
  std::vector<double> pi;
  initial_state(p, opt.W0, pi);
  return opt;
}

// Steps the solver to each checkpoint and compares with train_gd run to that step.
void compare_to_gd(Solver& s, const Problem& p, const GdOptions& base, const std::vector<long>& checkpoints,
                   double rtol) {
  for (long k : checkpoints) {
    s.advance(k - s.step());
    ASSERT_EQ(s.step(), k);
    GdOptions opt = base;
    opt.steps = k;
    opt.observe_every = k;  // observes steps 0 and k
    const GdResult g = train_gd(p.model.data, opt);
    const State st = state_of(s);
    const Observables o = s.observe();
    const std::string at = " after " + std::to_string(k) + " steps";
    EXPECT_TRUE(close_rel(st.w, g.W, rtol, "weights" + at));
    EXPECT_TRUE(close_rel(st.b, g.b, rtol, "biases" + at));
    ASSERT_FALSE(g.loss.empty());
    // losses relative to their larger end value (near an interpolating fit the final loss
    // is itself at the rounding floor)
    auto scale = [](const std::vector<double>& v) { return std::max(std::fabs(v.front()), std::fabs(v.back())); };
    EXPECT_TRUE(close_to(o.loss, g.loss.back(), rtol * scale(g.loss), "loss" + at));
    if (!g.test_loss.empty())
      EXPECT_TRUE(close_to(o.test_loss, g.test_loss.back(), rtol * scale(g.test_loss), "test loss" + at));
  }
}

std::string name_of(const ::testing::TestParamInfo<std::tuple<Backend, Case>>& info) {
  return std::string(backend_name(std::get<0>(info.param))) + "_" + std::get<1>(info.param).name;
}

const std::vector<Case> kCases = {
    // name                      shape   out  P  Pt bias   coupling    units        a    B
    {"dense_bias_1d_network", {12}, 2, 30, 5, true, "dense", "network", 1.0, 2},
    {"factored_bias_1d_network", {12}, 2, 30, 5, true, "factored", "network", 1.0, 2},
    {"dense_nobias_2d_continuum", {3, 4}, 2, 20, 0, false, "dense", "continuum", 0.5, 3},
    {"factored_nobias_2d_continuum", {3, 4}, 2, 20, 0, false, "factored", "continuum", 0.5, 3},
    {"dense_bias_2d_continuum_underdetermined", {4, 3}, 3, 9, 4, true, "dense", "continuum", 0.7, 2},
    {"factored_bias_2d_continuum_underdetermined", {4, 3}, 3, 9, 4, true, "factored", "continuum", 0.7, 2},
    {"dense_nobias_1d_network_single_output", {7}, 1, 16, 3, false, "dense", "network", 1.0, 3},
    {"factored_bias_1d_continuum_single_output", {7}, 1, 16, 3, true, "factored", "continuum", 0.25, 3},
};

// A data set of `c` in a temp folder and the matching config (dynamics to be filled in).
struct Fixture {
  TempDir dir;
  Dataset data;
  ModelConfig cfg;
  double mu = 1.0, s = 1.0;
  explicit Fixture(const Case& c, std::uint64_t seed = 7) {
    data = random_data(c.shape, c.outputs, c.P, c.P_test, seed);
    cfg.data = dir / "data.h5";
    write_data(cfg.data, data);
    cfg.replicas = c.replicas;
    cfg.units = c.units;
    cfg.spacing = c.spacing;
    cfg.bias = c.bias;
    cfg.coupling = c.coupling;
    cfg.outputs = c.outputs;
    if (c.units == "continuum") mu = s = std::pow(c.spacing, static_cast<double>(c.shape.size()));
  }
  // λ_max of the Hessian in the model's metric.
  double lambda() const { return hessian_max(data, s, mu, cfg.bias); }
};

// ---- 1. gradient flow + Euler = plain GD --------------------------------------------------

class FlowVsGd : public ::testing::TestWithParam<std::tuple<Backend, Case>> {
 protected:
  void SetUp() override { SYNFIELD_REQUIRE_BACKEND(std::get<0>(GetParam())); }
};

TEST_P(FlowVsGd, WeightsBiasesAndLossAgreeOver1000Steps) {
  const auto& [backend, c] = GetParam();
  Fixture su(c);
  // dt = 1: the solver's step is one GD step of lr = η/μ; dt·η·λ_max = 1.2 (every mode
  // contracts, the stiffest one with alternating sign)
  const double eta = 1.2 / su.lambda();
  su.cfg.dynamics = flow_dynamics("euler", 1.0, eta, 1000);
  const Problem p = su.cfg.problem();
  ASSERT_EQ(p.model.coupling == Model::Coupling::dense, c.coupling == "dense");
  ASSERT_DOUBLE_EQ(p.model.scale, su.s);
  ASSERT_DOUBLE_EQ(p.lattice.mu(), su.mu);
  GdOptions opt = gd_base_options(p);
  match_gradient_flow(opt, p.dynamics.dt, p.dynamics.eta, p.lattice.mu());
  // replicas start from different weights (else the replica layout would go untested)
  const long N = su.data.features();
  ASSERT_GT(std::fabs(opt.W0[0] - opt.W0[N]), 1e-6);
  auto s = make_solver(p, backend);
  compare_to_gd(*s, p, opt, {1, 2, 10, 100, 1000}, 1e-12);
}

INSTANTIATE_TEST_SUITE_P(Model, FlowVsGd, ::testing::Combine(kBackends, ::testing::ValuesIn(kCases)), name_of);

// ---- 2. damped leapfrog = heavy-ball GD ---------------------------------------------------

class LeapfrogVsHeavyBall : public ::testing::TestWithParam<std::tuple<Backend, Case>> {
 protected:
  void SetUp() override { SYNFIELD_REQUIRE_BACKEND(std::get<0>(GetParam())); }
};

TEST_P(LeapfrogVsHeavyBall, WeightSequencesAgreeForSeveralFrictions) {
  const auto& [backend, c] = GetParam();
  Fixture su(c);
  const double omega = std::sqrt(su.lambda());  // top frequency of the undamped equation
  const double dt = 1.0 / omega;                // leapfrog is stable for ω dt < 2
  // γ = 0 (heavy ball with β = 1), underdamped, critically damped scale, strongly damped
  for (double gamma_dt : {0.0, 0.05, 1.0, 8.0}) {
    SCOPED_TRACE("gamma dt = " + num(gamma_dt));
    su.cfg.dynamics = damped_dynamics("leapfrog", dt, gamma_dt / dt, 400);
    const Problem p = su.cfg.problem();
    GdOptions opt = gd_base_options(p);
    match_damped_leapfrog(opt, p.dynamics.dt, p.dynamics.damping.gamma, p.lattice.mu());
    auto s = make_solver(p, backend);
    // checkpoints cut the run into chunks: the merged half kicks must not matter
    compare_to_gd(*s, p, opt, {1, 2, 3, 50, 137, 400}, 1e-11);
  }
}

INSTANTIATE_TEST_SUITE_P(Model, LeapfrogVsHeavyBall,
                         ::testing::Combine(kBackends, ::testing::Values(kCases[0], kCases[3], kCases[5])), name_of);

// ---- 5. minibatches: the same example sequence -----------------------------------------

class SgdVsGd : public BackendTest {};

TEST_P(SgdVsGd, GradientFlowMinibatchesFollowTheSameSequence) {
  Case c = kCases[1];  // factored (dense is rejected with minibatches), bias, B = 2, P = 30
  c.coupling = "auto";
  Fixture su(c);
  su.cfg.minibatch = 7;  // 30 = 4·7 + 2: the last batch of each epoch holds the remainder
  su.cfg.seed = 5;
  su.cfg.dynamics = flow_dynamics("euler", 1.0, 0.5 / su.lambda(), 300);
  const Problem p = su.cfg.problem();
  ASSERT_EQ(p.model.coupling, Model::Coupling::factored);
  GdOptions opt = gd_base_options(p);
  match_gradient_flow(opt, p.dynamics.dt, p.dynamics.eta, p.lattice.mu());
  auto s = make_solver(p, backend());
  // 5 batches per epoch: 4, 5, 6 straddle the first reshuffle
  compare_to_gd(*s, p, opt, {1, 4, 5, 6, 13, 300}, 1e-12);

  // the minibatches matter: full-batch GD and another seed give other weights
  const State st = state_of(*s);
  for (auto [mb, seed] : {std::pair<long, std::uint64_t>{0, 5}, {7, 6}}) {
    GdOptions other = opt;
    other.minibatch = mb;
    other.seed = seed;
    other.steps = 300;
    const GdResult g = train_gd(p.model.data, other);
    EXPECT_FALSE(close_rel(st.w, g.W, 1e-6, "weights"))
        << "minibatch " << mb << ", seed " << seed << " should give a different trajectory";
  }
}

TEST_P(SgdVsGd, LeapfrogMinibatchesFollowTheSameSequence) {
  Case c = kCases[3];  // no bias, 2-D, continuum, B = 3, P = 20
  c.coupling = "factored";
  Fixture su(c);
  su.cfg.minibatch = 6;
  su.cfg.seed = 3;
  const double dt = 1.0 / std::sqrt(su.lambda());
  su.cfg.dynamics = damped_dynamics("leapfrog", dt, 0.3 / dt, 200);
  const Problem p = su.cfg.problem();
  GdOptions opt = gd_base_options(p);
  match_damped_leapfrog(opt, p.dynamics.dt, p.dynamics.damping.gamma, p.lattice.mu());
  auto s = make_solver(p, backend());
  compare_to_gd(*s, p, opt, {1, 3, 4, 5, 9, 200}, 1e-11);
}

INSTANTIATE_TEST_SUITE_P(Model, SgdVsGd, kBackends, BackendName());

// ---- `synfield run` file vs `synfield gd` file -------------------------------------------

struct FileCase {
  std::string name;
  std::string equation;  // "flow" or "leapfrog"
  long minibatch;        // may exceed P: then every step uses all examples
};
std::ostream& operator<<(std::ostream& os, const FileCase& c) { return os << c.name; }

class RunFileVsGdFile : public ::testing::TestWithParam<std::tuple<Backend, FileCase>> {
 protected:
  void SetUp() override { SYNFIELD_REQUIRE_BACKEND(std::get<0>(GetParam())); }
};

// Every snapshot and observation of the two output files agree.
TEST_P(RunFileVsGdFile, SnapshotsAndLossesAgree) {
  const auto& [backend, fc] = GetParam();
  Fixture su(kCases[1]);  // 1-D, two outputs, bias, B = 2, P = 30, test data
  su.cfg.coupling = "auto";
  su.cfg.minibatch = fc.minibatch;
  su.cfg.seed = 9;
  const double lam = su.lambda();
  su.cfg.dynamics = fc.equation == "flow" ? flow_dynamics("euler", 1.0, 0.8 / lam, 120)
                                          : damped_dynamics("leapfrog", 1.0 / std::sqrt(lam), 0.2 * std::sqrt(lam), 120);
  su.cfg.extra = "[output]\nobserve_every = 10\nsnapshot_every = 40\n";
  const Problem p = su.cfg.problem();
  const std::string run_path = su.dir / "run.h5";
  const std::string gd_path = su.dir / "gd.h5";
  RunOptions ro;
  ro.output = run_path;
  ro.quiet = true;
  ro.backend = backend;
  run(p, ro);
  run_gd(p, gd_path, true);

  const h5::File fr = h5::File::open_read(run_path), fg = h5::File::open_read(gd_path);
  EXPECT_EQ(fr.attr_string("status"), "complete");
  EXPECT_EQ(fg.attr_string("status"), "complete");
  const std::vector<double> steps = fr.read("/snapshots/step");
  EXPECT_EQ(steps, fg.read("/snapshots/step"));
  EXPECT_EQ(steps, (std::vector<double>{0, 40, 80, 120}));
  EXPECT_EQ(fr.read("/observables/step"), fg.read("/observables/step"));
  for (const std::string name : {"w0", "w1", "bias"}) {
    std::vector<hsize_t> dr, dg;
    const std::vector<double> a = fr.read("/snapshots/fields/" + name, &dr), b = fg.read("/snapshots/fields/" + name, &dg);
    EXPECT_EQ(dr, dg) << name;
    EXPECT_TRUE(close_rel(a, b, 1e-11, "snapshots of " + name));
  }
  EXPECT_TRUE(close_rel(fr.read("/observables/loss"), fg.read("/observables/loss"), 1e-11, "loss"));
  EXPECT_TRUE(close_rel(fr.read("/observables/test_loss"), fg.read("/observables/test_loss"), 1e-11, "test loss"));
}

INSTANTIATE_TEST_SUITE_P(Model, RunFileVsGdFile,
                         ::testing::Combine(kBackends, ::testing::Values(FileCase{"flow_full_batch", "flow", 0},
                                                                         FileCase{"flow_minibatch", "flow", 8},
                                                                         FileCase{"flow_minibatch_above_P", "flow", 45},
                                                                         FileCase{"leapfrog_minibatch", "leapfrog", 8})),
                         [](const ::testing::TestParamInfo<std::tuple<Backend, FileCase>>& info) {
                           return std::string(backend_name(std::get<0>(info.param))) + "_" +
                                  std::get<1>(info.param).name;
                         });

// `synfield gd` starts heavy ball from rest: an initial velocity has no counterpart.
TEST(ModelRunGd, RejectsAnInitialVelocity) {
  Fixture su(kCases[0]);
  su.cfg.dynamics = damped_dynamics("leapfrog", 0.1, 1.0, 10);
  su.cfg.init_velocity = 0.5;
  const Problem p = su.cfg.problem();
  try {
    run_gd(p, su.dir / "gd.h5", true);
    FAIL() << "run_gd accepted an initial velocity";
  } catch (const std::runtime_error& e) {
    EXPECT_NE(std::string(e.what()).find("velocity"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace synfield::test
