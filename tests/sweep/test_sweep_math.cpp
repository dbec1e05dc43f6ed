// Sweep building blocks against their documented contract (host/sweep/sweep.h): value lists, the
// point product and names, the memory estimate, and the continuum-limit arithmetic on
// synthetic data whose order and limit are known.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include <synfield/config.h>

#include "host/sweep/sweep.h"
#include "host/util/sysinfo.h"
#include "test_util.h"

namespace synfield {
namespace {

using sweep::Axis;

// The ConfigError's message for `fn`, or "" when it does not throw one.
template <class Fn>
std::string config_error(Fn fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(SweepValues, SplitsAtTopLevelCommasOnly) {
  EXPECT_EQ(sweep::split_values("[1024],[2048],[4096]", "k"), (std::vector<std::string>{"[1024]", "[2048]", "[4096]"}));
  EXPECT_EQ(sweep::split_values("[64,64], [128, 128]", "k"), (std::vector<std::string>{"[64,64]", "[128, 128]"}));
  EXPECT_EQ(sweep::split_values("0.1,0.05", "k"), (std::vector<std::string>{"0.1", "0.05"}));
  EXPECT_EQ(sweep::split_values("\"a,b\",'c]',x", "k"), (std::vector<std::string>{"\"a,b\"", "'c]'", "x"}));
  EXPECT_EQ(sweep::split_values("{p = 1, t0 = 2},{p = 2, t0 = 1}", "k"),
            (std::vector<std::string>{"{p = 1, t0 = 2}", "{p = 2, t0 = 1}"}));
  EXPECT_EQ(sweep::split_values("[[1,2],[3]],[4]", "k"), (std::vector<std::string>{"[[1,2],[3]]", "[4]"}));
}

TEST(SweepValues, ErrorsNameTheKeyAndTheValue) {
  auto msg = [](const std::string& spec) { return config_error([&] { sweep::parse_over(spec); }); };
  EXPECT_NE(msg("lattice.shape=[1],[2").find("--over lattice.shape=[1],[2: missing ']'"), std::string::npos) << msg("lattice.shape=[1],[2");
  EXPECT_NE(msg("lattice.shape=[1]],[2]").find("lattice.shape=[1]],[2]: unbalanced ']'"), std::string::npos);
  EXPECT_NE(msg("dynamics.eta=0.1,,0.2").find("dynamics.eta=0.1,,0.2: empty value"), std::string::npos);
  EXPECT_NE(msg("dynamics.eta=0.1,0.1").find("value 0.1 is listed twice"), std::string::npos);
  EXPECT_NE(msg("dynamics.eta=").find("dynamics.eta=: empty value"), std::string::npos);
  EXPECT_NE(msg("dynamics.eta").find("--over dynamics.eta: expected key=v1,v2"), std::string::npos);
  EXPECT_NE(msg("=1,2").find("expected a dotted key"), std::string::npos);
  EXPECT_NE(msg("output.file=\"a.h5").find("unterminated \" quote"), std::string::npos);
  const Axis a = sweep::parse_over(" dynamics.eta = 0.1, 0.05 ");
  EXPECT_EQ(a.key, "dynamics.eta");
  EXPECT_EQ(a.values, (std::vector<std::string>{"0.1", "0.05"}));
}

constexpr const char* kConfig = R"toml(
[lattice]
shape = [8]
[dynamics]
steps = 1
[output]
file = "base.h5"
[sweep]
extent = 2.0
over = [{ key = "lattice.shape", values = [[16], [32]] }]
)toml";

TEST(SweepPlan, ProductOrderNamesAndOverrides) {
  test::TempDir dir;
  const std::string cfg = dir / "c.toml";
  test::write_text(cfg, kConfig);
  const sweep::Plan plan = sweep::make_plan(cfg, {"dynamics.dt=0.001"}, {"dynamics.gamma=0.5,1,2"}, "", std::nullopt);
  ASSERT_EQ(plan.axes.size(), 2u);
  EXPECT_EQ(plan.axes[0].values, (std::vector<std::string>{"[16]", "[32]"}));  // from [sweep]
  ASSERT_EQ(plan.size(), 6u);
  EXPECT_EQ(plan.output, "base.h5");
  // the last axis runs fastest
  EXPECT_EQ(plan.values(0), (std::vector<std::string>{"[16]", "0.5"}));
  EXPECT_EQ(plan.values(2), (std::vector<std::string>{"[16]", "2"}));
  EXPECT_EQ(plan.values(3), (std::vector<std::string>{"[32]", "0.5"}));
  EXPECT_THROW(plan.values(6), std::out_of_range);
  EXPECT_EQ(plan.point_output(4), "base.p4_shape-32_gamma-1.h5");
  EXPECT_EQ(plan.row_file(4), "base.p4.row.csv");
  // sets first, then the axes, then the spacing of the fixed extent: L / n = 2 / 32
  EXPECT_EQ(plan.overrides(5), (std::vector<std::string>{"dynamics.dt=0.001", "lattice.shape=[32]", "dynamics.gamma=2",
                                                          "lattice.spacing=0.0625"}));
  // a point is load_config with those overrides: [sweep] itself is not part of a run's config
  const Problem p = load_config(cfg, plan.overrides(5));
  EXPECT_EQ(p.lattice.shape[0], 32);
  EXPECT_DOUBLE_EQ(p.lattice.spacing, 0.0625);
  EXPECT_DOUBLE_EQ(p.dynamics.damping.gamma, 2.0);
  EXPECT_EQ(p.config_text.find("sweep"), std::string::npos);
  // --over replaces a [sweep] axis of the same key; -o sets the base
  const sweep::Plan q = sweep::make_plan(cfg, {}, {"lattice.shape=[64,1],[128,1]"}, "out/x.h5", std::nullopt);
  ASSERT_EQ(q.axes.size(), 1u);
  EXPECT_EQ(q.point_output(1), "out/x.p1_shape-128x1.h5");
  EXPECT_EQ(q.stem(), "out/x");
}

TEST(SweepPlan, BadSweepTableNamesTheKey) {
  test::TempDir dir;
  const std::string cfg = dir / "c.toml";
  test::write_text(cfg, test::edit(kConfig, "extent = 2.0", "extent = -1"));
  EXPECT_NE(config_error([&] { sweep::make_plan(cfg, {}, {}, "", std::nullopt); }).find("[sweep].extent = -1"),
            std::string::npos);
  test::write_text(cfg, test::edit(kConfig, "extent = 2.0", "extnt = 2"));
  EXPECT_NE(config_error([&] { sweep::make_plan(cfg, {}, {}, "", std::nullopt); }).find("[sweep].extnt = 2: unknown key"),
            std::string::npos);
  test::write_text(cfg, test::edit(kConfig, "values = [[16], [32]]", "values = []"));
  EXPECT_NE(config_error([&] { sweep::make_plan(cfg, {}, {}, "", std::nullopt); }).find("non-empty values"),
            std::string::npos);
}

TEST(SweepMemory, EstimateCountsTheDocumentedArrays) {
  sweep::Footprint f;
  f.sites = 1000;
  f.fields = 2;
  f.replicas = 3;
  f.real_bytes = 4;
  const double MiB64 = 64.0 * 1024 * 1024;
  // local: 8 device arrays of F·B·N reals + 4 host arrays of doubles + 64 MiB
  EXPECT_DOUBLE_EQ(sweep::estimate(f, Backend::cpu).total(), 8 * 6000 * 4 + 4 * 6000 * 8 + MiB64);
  f.model = true;
  f.samples = 100;
  f.test_samples = 10;
  f.dense = true;
  const double dev = 8 * 6000 * 4 + 110 * 1000 * 4 + 1000.0 * 1000 * 4;
  const double host = 4 * 6000 * 8 + MiB64 + 2 * 8 * 110 * (1000 + 2) + 110 * 1000 * 4;
  EXPECT_DOUBLE_EQ(sweep::estimate(f, Backend::cpu).total(), dev + host);
  const sweep::Estimate cuda = sweep::estimate(f, Backend::cuda);
  EXPECT_DOUBLE_EQ(cuda.host_bytes, host);
  EXPECT_DOUBLE_EQ(cuda.device_bytes, dev + 256.0 * 1024 * 1024);
  // the raw estimate (before the data set is built) sees what the Problem sees
  test::TempDir dir;
  const std::string cfg = dir / "m.toml";
  test::write_text(cfg, "[lattice]\nshape = [64]\nreplicas = 2\n[model]\nkind = \"perceptron\"\n"
                        "[data]\ngenerator = \"smooth\"\nsamples = 60\ntest_samples = 3\n"
                        "[dynamics]\nequation = \"gradient_flow\"\nintegrator = \"euler\"\ndt = 0.1\nsteps = 1\n");
  const sweep::Footprint raw = sweep::raw_footprint(cfg, {"lattice.shape=[100]"});
  const sweep::Footprint exact = sweep::footprint(load_config(cfg, {"lattice.shape=[100]"}));
  EXPECT_EQ(raw.sites, 100);
  EXPECT_EQ(raw.sites, exact.sites);
  EXPECT_EQ(raw.replicas, exact.replicas);
  EXPECT_EQ(raw.samples, exact.samples);
  EXPECT_EQ(raw.test_samples, exact.test_samples);
  EXPECT_EQ(raw.dense, exact.dense);  // auto: 2P ≥ N → dense
  EXPECT_TRUE(raw.dense);
  EXPECT_GT(host_available_bytes(), 0.0);  // /proc/meminfo is readable here
}

// u(h) = u* + C h^p exactly: the observed order is p and Richardson returns u*.
TEST(SweepContinuum, OrderAndRichardsonOnAKnownOrder) {
  const double ustar = 1.25, C = -3.0;
  for (double p : {1.0, 2.0, 4.0}) {
    auto u = [&](double h) { return ustar + C * std::pow(h, p); };
    const double h0 = 0.1, h1 = 0.05, h2 = 0.025;
    EXPECT_NEAR(sweep::observed_order(h0, h1, h2, u(h1) - u(h0), u(h2) - u(h1)), p, 1e-10) << p;
    EXPECT_NEAR(sweep::richardson(h1, h2, u(h1), u(h2), p), ustar, 1e-13) << p;
  }
  // unequal ratios (1/10, 1/16, 1/40) and a fractional order: the bisection branch
  const double p = 1.5;
  auto u = [&](double h) { return ustar + C * std::pow(h, p); };
  const double h0 = 0.1, h1 = 1.0 / 16, h2 = 1.0 / 40;
  EXPECT_NEAR(sweep::observed_order(h0, h1, h2, u(h1) - u(h0), u(h2) - u(h1)), p, 1e-9);
  EXPECT_NEAR(sweep::richardson(h0, h1, u(h0), u(h1), p), ustar, 1e-12);
  // no order: differences of opposite sign, or not decreasing spacings
  EXPECT_TRUE(std::isnan(sweep::observed_order(h0, h1, h2, 1.0, -1.0)));
  EXPECT_TRUE(std::isnan(sweep::observed_order(h2, h1, h0, 1.0, 0.5)));
  EXPECT_TRUE(std::isnan(sweep::richardson(h0, h1, 1.0, 2.0, std::nan(""))));
}

// Fields w_h(x) = sin(2πx) + h² cos(2πx) on lattices n = 16, 32, 64 (x = i/n): the RMS of
// the differences between successive widths (fine injected onto coarse) falls as h², so the
// order from the three is 2.
TEST(SweepContinuum, FieldDifferencesOfAKnownOrder) {
  auto field = [](int n) {
    std::vector<double> w(n);
    const double h = 1.0 / n;
    for (int i = 0; i < n; ++i) w[i] = std::sin(2 * M_PI * i * h) + h * h * std::cos(2 * M_PI * i * h);
    return w;
  };
  auto diff = [&](int fine, int coarse) {
    const std::vector<double> c = sweep::to_coarse(field(fine), {fine}, {coarse}, true), ref = field(coarse);
    double s = 0;
    for (int i = 0; i < coarse; ++i) s += (c[i] - ref[i]) * (c[i] - ref[i]);
    return std::sqrt(s / coarse);
  };
  const double d1 = diff(32, 16), d2 = diff(64, 32);
  EXPECT_NEAR(sweep::observed_order(1.0 / 16, 1.0 / 32, 1.0 / 64, d1, d2), 2.0, 0.02);
}

TEST(SweepContinuum, InterpolationIsInjectionOnNestedLatticesAndExactForLinearData) {
  // 2-D, fine 8×6 onto coarse 4×3: coarse site (i, j) is fine site (2i, 2j)
  std::vector<double> fine(48);
  for (int i = 0; i < 48; ++i) fine[i] = i * 1.5 - 7;
  const std::vector<double> c = sweep::to_coarse(fine, {8, 6}, {4, 3}, true);
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 3; ++j) EXPECT_EQ(c[i * 3 + j], fine[(2 * i) * 6 + 2 * j]) << i << "," << j;
  // non-nested 1-D (10 onto 4): positions 0, 2.5, 5, 7.5 of a linear function
  std::vector<double> lin(10);
  for (int i = 0; i < 10; ++i) lin[i] = 3.0 * i + 1;
  const std::vector<double> l = sweep::to_coarse(lin, {10}, {4}, false);
  EXPECT_DOUBLE_EQ(l[1], 3.0 * 2.5 + 1);
  EXPECT_DOUBLE_EQ(l[3], 3.0 * 7.5 + 1);
}

TEST(SweepScaling, FittedExponentOfSyntheticTimings) {
  std::vector<sweep::Row> rows;
  for (std::int64_t n : {1000, 4000, 16000}) {
    sweep::Row r;
    r.status = "complete";
    r.sites = n;
    r.steps_per_second = 1e9 / std::pow(static_cast<double>(n), 1.25);
    rows.push_back(r);
  }
  rows.push_back(sweep::Row{});  // not complete: left out
  rows.back().status = "refused: too large";
  EXPECT_NEAR(sweep::scaling_exponent(rows), 1.25, 1e-12);
}

}  // namespace
}  // namespace synfield
