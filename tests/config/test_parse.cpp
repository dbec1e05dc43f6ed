// parse_config / load_config against the config format (include/synfield/config.h).
// Truth: the documented contract. A bad input is a ConfigError whose message names the key
// as "[section].key" and shows the offending value ("[dynamics].dt = -0.1: must be > 0");
// the resolved config text (Problem::config_text) parses back to the same Problem.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include <synfield/config.h>

#include "test_util.h"
#include "kernels/potential.h"

namespace synfield {
namespace {

using test::contains_all;
using test::edit;
using test::TempDir;

// A 2-D, two-field, two-replica config touching most keys.
const std::string kBase = R"toml([lattice]
shape = [8, 6]
spacing = 0.5
boundary = "periodic"
fields = ["w1", "w2"]
replicas = 2
units = "continuum"

[dynamics]
equation = "damped"
gamma = 0.25
integrator = "leapfrog"
dt = 0.01
steps = 20
precision = "float64"

[[potential]]
term = "mass"
field = "w1"
coefficient = 1.5

[[potential]]
term = "gradient"
field = "w2"
coefficient = 1.0

[[potential]]
term = "monomial"
factors = ["w2", "d0(w1)"]
coefficient = 0.1

[initial.w1]
kind = "mode"
wavevector = [1, 2]
amplitude = 0.5

[initial.w2]
kind = "gaussian"
std = 0.1
seed = 7
velocity = { kind = "constant", value = 0.2 }

[output]
file = "out.h5"
observe_every = 5
snapshot_every = 10
)toml";

// The smallest valid config: every other key takes its default.
const std::string kMinimal = R"toml([lattice]
shape = [16]
[dynamics]
dt = 0.1
steps = 3
)toml";

// The ConfigError message of parsing `text` (a failure when it parses).
std::string error_of(const std::string& text, const std::vector<std::string>& sets = {},
                     const std::string& base_dir = ".") {
  try {
    parse_config(text, sets, base_dir);
  } catch (const ConfigError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "not a ConfigError: " << e.what();
    return "";
  }
  ADD_FAILURE() << "parsed without error";
  return "";
}

void expect_error(const std::string& text, const std::vector<std::string>& sets,
                  const std::vector<std::string>& pieces) {
  EXPECT_TRUE(contains_all(error_of(text, sets), pieces)) << "sets: " << ::testing::PrintToString(sets);
}
// (text, {overrides...}, {pieces the message must hold...}); the trace gives the caller's line
#define EXPECT_CONFIG_ERROR(...) \
  do {                           \
    SCOPED_TRACE("");            \
    expect_error(__VA_ARGS__);   \
  } while (0)

// --- field-by-field comparison of two Problems -------------------------------------------

void expect_same(const InitialSpec& a, const InitialSpec& b, const std::string& what) {
  SCOPED_TRACE(what);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.value, b.value);
  EXPECT_EQ(a.amplitude, b.amplitude);
  EXPECT_EQ(a.phase, b.phase);
  EXPECT_EQ(a.wavevector, b.wavevector);
  EXPECT_EQ(a.std, b.std);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_EQ(a.path, b.path);
}

void expect_same(const Problem& a, const Problem& b) {
  const Lattice &la = a.lattice, &lb = b.lattice;
  EXPECT_EQ(la.dim, lb.dim);
  EXPECT_EQ(la.shape, lb.shape);
  EXPECT_EQ(la.spacing, lb.spacing);
  EXPECT_EQ(la.boundary, lb.boundary);
  EXPECT_EQ(la.fields, lb.fields);
  EXPECT_EQ(la.replicas, lb.replicas);
  EXPECT_EQ(la.units, lb.units);

  const Dynamics &da = a.dynamics, &db = b.dynamics;
  EXPECT_EQ(da.equation, db.equation);
  EXPECT_EQ(da.integrator, db.integrator);
  EXPECT_EQ(da.damping.kind, db.damping.kind);
  EXPECT_EQ(da.damping.gamma, db.damping.gamma);
  EXPECT_EQ(da.damping.p, db.damping.p);
  EXPECT_EQ(da.damping.dim, db.damping.dim);
  EXPECT_EQ(da.eta, db.eta);
  EXPECT_EQ(da.dt, db.dt);
  EXPECT_EQ(da.steps, db.steps);
  EXPECT_EQ(da.t0, db.t0);
  EXPECT_EQ(da.precision, db.precision);

  ASSERT_EQ(a.terms.size(), b.terms.size());
  for (std::size_t i = 0; i < a.terms.size(); ++i) {
    SCOPED_TRACE("term " + std::to_string(i));
    const Term &ta = a.terms[i], &tb = b.terms[i];
    EXPECT_EQ(ta.kind, tb.kind);
    EXPECT_EQ(ta.label, tb.label);
    EXPECT_EQ(ta.coefficient, tb.coefficient);
    EXPECT_EQ(ta.coefficient_field, tb.coefficient_field);
    ASSERT_EQ(ta.factors.size(), tb.factors.size());
    for (std::size_t k = 0; k < ta.factors.size(); ++k) {
      EXPECT_EQ(ta.factors[k].field, tb.factors[k].field);
      EXPECT_EQ(ta.factors[k].op, tb.factors[k].op);
      EXPECT_EQ(ta.factors[k].axis, tb.factors[k].axis);
      EXPECT_EQ(ta.factors[k].power, tb.factors[k].power);
    }
  }
  ASSERT_EQ(a.initial.size(), b.initial.size());
  for (std::size_t f = 0; f < a.initial.size(); ++f) {
    expect_same(a.initial[f].value, b.initial[f].value, "initial value " + std::to_string(f));
    expect_same(a.initial[f].velocity, b.initial[f].velocity, "initial velocity " + std::to_string(f));
  }
  EXPECT_EQ(a.output.file, b.output.file);
  EXPECT_EQ(a.output.observe_every, b.output.observe_every);
  EXPECT_EQ(a.output.snapshot_every, b.output.snapshot_every);
  EXPECT_EQ(a.output.mpi_io, b.output.mpi_io);
}

// parse → config_text → parse gives the same Problem and the same text again.
void expect_round_trip(const Problem& p, const std::string& base_dir = ".") {
  SCOPED_TRACE("config_text:\n" + p.config_text);
  Problem q;
  try {
    q = parse_config(p.config_text, {}, base_dir);
  } catch (const std::exception& e) {
    FAIL() << "the resolved config does not parse: " << e.what();
  }
  expect_same(p, q);
  EXPECT_EQ(p.config_text, q.config_text);
}

// --- valid configs -----------------------------------------------------------------------

TEST(ConfigParse, BaseConfigValues) {
  const Problem p = parse_config(kBase);
  EXPECT_EQ(p.lattice.dim, 2);
  EXPECT_EQ(p.lattice.shape[0], 8);
  EXPECT_EQ(p.lattice.shape[1], 6);
  EXPECT_EQ(p.lattice.spacing, 0.5);
  EXPECT_EQ(p.lattice.fields, (std::vector<std::string>{"w1", "w2"}));
  EXPECT_EQ(p.lattice.replicas, 2);
  EXPECT_EQ(p.dynamics.damping.gamma, 0.25);
  EXPECT_EQ(p.dynamics.dt, 0.01);
  EXPECT_EQ(p.dynamics.steps, 20);
  // mass ½m², gradient ½K per axis (2 terms), monomial as given
  ASSERT_EQ(p.terms.size(), 4u);
  EXPECT_EQ(p.terms[0].coefficient, 0.75);
  EXPECT_EQ(p.terms[1].coefficient, 0.5);
  EXPECT_EQ(p.terms[1].factors[0].axis, 0);
  EXPECT_EQ(p.terms[2].factors[0].axis, 1);
  EXPECT_EQ(p.terms[3].coefficient, 0.1);
  ASSERT_EQ(p.terms[3].factors.size(), 2u);
  EXPECT_EQ(p.terms[3].factors[0].field, 1);
  EXPECT_EQ(p.terms[3].factors[0].op, Op::id);
  EXPECT_EQ(p.terms[3].factors[1].field, 0);
  EXPECT_EQ(p.terms[3].factors[1].op, Op::d);
  EXPECT_EQ(p.terms[3].factors[1].axis, 0);
  ASSERT_EQ(p.initial.size(), 2u);
  EXPECT_EQ(p.initial[0].value.kind, "mode");
  EXPECT_EQ(p.initial[0].value.wavevector, (std::array<int, 3>{1, 2, 0}));
  EXPECT_EQ(p.initial[1].value.seed, 7u);
  EXPECT_EQ(p.initial[1].velocity.kind, "constant");
  EXPECT_EQ(p.initial[1].velocity.value, 0.2);
  EXPECT_EQ(p.output.file, "out.h5");
  EXPECT_EQ(p.output.snapshot_every, 10);
}

TEST(ConfigParse, ExampleConfigLoads) {
  const Problem p = load_config(std::string(SYNFIELD_EXAMPLES_DIR) + "/free_field.toml");
  EXPECT_EQ(p.lattice.shape[0], 256);
  EXPECT_EQ(p.dynamics.steps, 1000);
  expect_round_trip(p);
}

TEST(ConfigParse, PerAxisBoundaryAndFactorSyntax) {
  std::string t = edit(kBase, R"x(boundary = "periodic")x", R"x(boundary = ["open", "dirichlet"])x");
  t = edit(t, R"x(factors = ["w2", "d0(w1)"])x", R"x(factors = ["w2^3", "dd1(w1)", "lap(w2)^2", "d1(w1)"])x");
  const Problem p = parse_config(t);
  EXPECT_EQ(p.lattice.boundary[0], Boundary::open);
  EXPECT_EQ(p.lattice.boundary[1], Boundary::dirichlet);
  const auto& f = p.terms[3].factors;
  ASSERT_EQ(f.size(), 4u);
  EXPECT_EQ(f[0].power, 3);
  EXPECT_EQ(f[1].op, Op::dd);
  EXPECT_EQ(f[1].axis, 1);
  EXPECT_EQ(f[2].op, Op::lap);
  EXPECT_EQ(f[2].power, 2);
  EXPECT_EQ(f[3].op, Op::d);
  EXPECT_EQ(f[3].axis, 1);
}

TEST(ConfigParse, DampingLaws) {
  // hubble H: γ = d H; eta: γ = 1/η; expansion: γ = d p / t from t0
  std::string t = edit(kBase, "gamma = 0.25", "hubble = 0.5");
  EXPECT_EQ(parse_config(t).dynamics.damping.gamma, 1.0);
  t = edit(kBase, "gamma = 0.25", "eta = 4.0");
  EXPECT_EQ(parse_config(t).dynamics.damping.gamma, 0.25);
  t = edit(kBase, "gamma = 0.25", "expansion = { p = 0.5, t0 = 2.0 }");
  const Problem p = parse_config(t);
  EXPECT_EQ(p.dynamics.damping.kind, Damping::Kind::expansion);
  EXPECT_EQ(p.dynamics.damping.p, 0.5);
  EXPECT_EQ(p.dynamics.t0, 2.0);
  // gradient flow: eta is the rate, gamma its inverse
  t = edit(edit(kBase, "\"damped\"", "\"gradient_flow\""), "\"leapfrog\"", "\"rk4\"");
  t = edit(t, "velocity = { kind = \"constant\", value = 0.2 }\n", "");
  const Problem g = parse_config(t);
  EXPECT_EQ(g.dynamics.equation, Equation::gradient_flow);
  EXPECT_EQ(g.dynamics.integrator, Integrator::rk4);
  EXPECT_EQ(g.dynamics.eta, 4.0);
}

TEST(ConfigParse, MinimalConfigGetsDefaults) {
  const Problem p = parse_config(kMinimal);
  EXPECT_EQ(p.lattice.fields, std::vector<std::string>{"w"});
  EXPECT_EQ(p.lattice.replicas, 1);
  EXPECT_EQ(p.dynamics.damping.gamma, 0.0);
  EXPECT_EQ(p.output.file, "synfield.h5");
  EXPECT_EQ(p.output.observe_every, 10);
  EXPECT_EQ(p.output.snapshot_every, 0);
  EXPECT_TRUE(p.output.mpi_io);
  ASSERT_EQ(p.initial.size(), 1u);
  EXPECT_EQ(p.initial[0].value.kind, "zero");
  // the stored config is the resolved one: every default is written out
  EXPECT_TRUE(contains_all(p.config_text,
                           {"[lattice]", "spacing = 1.0", "boundary = \"periodic\"", "fields = [\"w\"]",
                            "replicas = 1", "units = \"continuum\"", "[dynamics]", "equation = \"damped\"",
                            "gamma = 0.0", "integrator = \"leapfrog\"", "precision = \"float64\"", "[initial.w]",
                            "kind = \"zero\"", "[output]", "file = \"synfield.h5\"", "observe_every = 10",
                            "snapshot_every = 0", "mpi_io = true"}));
}

// --- the resolved config round-trips -----------------------------------------------------

TEST(ConfigRoundTrip, BaseConfig) { expect_round_trip(parse_config(kBase)); }

TEST(ConfigRoundTrip, MinimalConfig) { expect_round_trip(parse_config(kMinimal)); }

TEST(ConfigRoundTrip, ShortestFloatsAndExactValues) {
  // values with no short binary form must come back bit for bit, and print short
  std::string t = edit(kBase, "dt = 0.01", "dt = 0.1");
  t = edit(t, "gamma = 0.25", "gamma = 1e-7");
  t = edit(t, "coefficient = 1.5", "coefficient = 0.30000000000000004");
  t = edit(t, "std = 0.1", "std = 1e20");
  const Problem p = parse_config(t);
  EXPECT_TRUE(contains_all(p.config_text, {"dt = 0.1\n", "gamma = 1e-07\n", "coefficient = 0.30000000000000004\n",
                                           "std = 1e+20\n"}));
  EXPECT_EQ(p.config_text.find("0.10000000000000001"), std::string::npos);
  expect_round_trip(p);
}

TEST(ConfigRoundTrip, RandomFloatsComeBackBitForBit) {
  std::mt19937_64 rng(12345);
  std::uniform_real_distribution<double> mantissa(1.0, 10.0);
  std::uniform_int_distribution<int> exponent(-300, 300);
  for (int i = 0; i < 300; ++i) {
    // any magnitude, and short decimals that have no exact binary form
    const double g = i % 2 ? mantissa(rng) * std::pow(10.0, exponent(rng)) : std::round(mantissa(rng) * 1000) / 1000;
    char text[40];
    std::snprintf(text, sizeof text, "%.17g", g);
    const Problem p = parse_config(kBase, {std::string("dynamics.gamma=") + text});
    ASSERT_EQ(p.dynamics.damping.gamma, g) << text;
    const Problem q = parse_config(p.config_text);
    ASSERT_EQ(q.dynamics.damping.gamma, g) << text << "\n" << p.config_text;
  }
}

TEST(ConfigRoundTrip, EveryVariant) {
  const std::vector<std::vector<std::string>> variants{
      {"dynamics.equation=\"gradient_flow\"", "dynamics.integrator=\"euler\"", "dynamics.gamma=2.0",
       "initial.w2.velocity={kind=\"zero\"}"},
      {"dynamics.precision=\"float32\"", "dynamics.integrator=\"yoshida4\"", "lattice.units=\"network\""},
      {"lattice.boundary=[\"open\", \"dirichlet\"]", "output.file=\"odd \\\"name\\\" \\\\ ü.h5\""},
      {"initial.w1={kind=\"constant\", value=-3.5}", "initial.w2={kind=\"zero\"}"},
      {"potential.0.term=\"power\"", "potential.0.exponent=4", "potential.1.term=\"source\""},
  };
  for (const auto& sets : variants) {
    SCOPED_TRACE(::testing::PrintToString(sets));
    expect_round_trip(parse_config(kBase, sets));
  }
  std::string t = edit(kBase, "gamma = 0.25", "expansion = { p = 0.5, t0 = 2.0 }");
  expect_round_trip(parse_config(t));
  t = edit(kBase, "gamma = 0.25", "hubble = 0.125");
  expect_round_trip(parse_config(t));
}

TEST(ConfigRoundTrip, DataFilesStoredWithResolvedPaths) {
  TempDir dir;
  std::vector<double> c(48), w(96);
  for (std::size_t i = 0; i < c.size(); ++i) c[i] = 1.0 + 0.01 * static_cast<double>(i);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = std::sin(0.1 * static_cast<double>(i));
  test::write_h5(dir / "coef.h5", "/c", c, {8, 6});
  test::write_h5(dir / "init.h5", "/group/w", w, {2, 8, 6});
  std::string t = edit(kBase, "coefficient = 1.5", "coefficient = \"coef.h5:/c\"");
  t = edit(t, "kind = \"mode\"\nwavevector = [1, 2]\namplitude = 0.5", "kind = \"file\"\npath = \"init.h5:/group/w\"");
  // relative paths are read from the config's folder
  const Problem p = parse_config(t, {}, dir.path().string());
  ASSERT_TRUE(p.terms[0].per_site());
  ASSERT_EQ(p.terms[0].coefficient_field.size(), 48u);
  for (std::size_t i = 0; i < c.size(); ++i) EXPECT_EQ(p.terms[0].coefficient_field[i], 0.5 * c[i]);
  EXPECT_EQ(p.initial[0].value.path, (dir.path() / "init.h5").string() + ":/group/w");
  // the stored config names them by absolute path, so it reads the same data from anywhere
  EXPECT_TRUE(contains_all(p.config_text, {"\"" + (dir.path() / "coef.h5").string() + ":/c\"",
                                           "\"" + (dir.path() / "init.h5").string() + ":/group/w\""}));
  expect_round_trip(p, "/");
}

TEST(ConfigRoundTrip, LoadConfigResolvesAgainstTheConfigFolder) {
  TempDir dir;
  std::filesystem::create_directory(dir.path() / "sub");
  test::write_h5(dir / "sub/coef.h5", "/c", std::vector<double>(16, 2.0), {16});
  test::write_text(dir / "sub/run.toml", kMinimal + "[[potential]]\nterm = \"mass\"\nfield = \"w\"\n"
                                                    "coefficient = \"coef.h5:/c\"\n");
  const Problem p = load_config(dir / "sub/run.toml");
  ASSERT_EQ(p.terms.size(), 1u);
  EXPECT_EQ(p.terms[0].coefficient_field, std::vector<double>(16, 1.0));
  expect_round_trip(p);
}

TEST(ConfigRoundTrip, OverridesAreInTheStoredConfig) {
  const Problem p = parse_config(kBase, {"dynamics.dt=0.005", "output.snapshot_every=4", "potential.0.coefficient=3"});
  EXPECT_TRUE(contains_all(p.config_text, {"dt = 0.005\n", "snapshot_every = 4\n", "coefficient = 3\n"}));
  expect_round_trip(p);
}

// --- bad input: each class names the key and the value ----------------------------------

TEST(ConfigErrors, UnknownKeys) {
  EXPECT_CONFIG_ERROR(edit(kBase, "spacing = 0.5", "spacing = 0.5\nspacin = 2"), {},
                      {"[lattice].spacin = 2", "unknown key"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.gama=0.1"}, {"[dynamics].gama = 0.1", "unknown key"});
  EXPECT_CONFIG_ERROR(kBase, {"output.snapshot_evry=3"},
                      {"[output].snapshot_evry = 3", "unknown key", "did you mean snapshot_every?"});
  EXPECT_CONFIG_ERROR(kBase, {"potential.1.coef=3"}, {"[potential[1]].coef = 3", "unknown key"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w1.amplitdue=3"},
                      {"[initial.w1].amplitdue = 3", "unknown key", "did you mean amplitude?"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w2.velocity.sed=3"}, {"[initial.w2.velocity].sed = 3", "unknown key"});
  EXPECT_CONFIG_ERROR(edit(kBase, "gamma = 0.25", "expansion = { p = 1.0, t0 = 1.0, q = 2 }"), {},
                      {"[dynamics.expansion].q = 2", "unknown key"});
  EXPECT_CONFIG_ERROR("title = \"run 1\"\n" + kBase, {}, {"title = \"run 1\"", "unknown key"});
  // a required key's typo is pointed out
  EXPECT_CONFIG_ERROR(edit(kBase, "dt = 0.01", "td = 0.01"), {}, {"[dynamics].dt: required", "td = 0.01", "typo"});
}

TEST(ConfigErrors, UnknownTable) {
  EXPECT_CONFIG_ERROR(kBase + "[solver]\nthreads = 4\n", {}, {"[solver]", "unknown table"});
  EXPECT_CONFIG_ERROR(kBase + "[[potentials]]\nterm = \"mass\"\n", {}, {"potentials", "unknown key"});
}

TEST(ConfigErrors, KeysNotUsedByTheChoice) {
  EXPECT_CONFIG_ERROR(kBase, {"initial.w1.kind=\"zero\""},
                      {"[initial.w1].amplitude = 0.5", "not used by kind = \"zero\""});
  EXPECT_CONFIG_ERROR(kBase, {"potential.0.exponent=4"}, {"[potential[0]].exponent = 4", "not used by term = \"mass\""});
  EXPECT_CONFIG_ERROR(kBase, {"potential.2.field=\"w1\""},
                      {"[potential[2]].field = \"w1\"", "not used by term = \"monomial\""});
  EXPECT_CONFIG_ERROR(kBase, {"potential.0.factors=[\"w1\"]"},
                      {"[potential[0]].factors = [\"w1\"]", "not used by term = \"mass\""});
}

TEST(ConfigErrors, WrongTypeInEachSection) {
  EXPECT_CONFIG_ERROR(kBase, {"lattice.shape=\"8x6\""}, {"[lattice].shape = \"8x6\"", "expected an array"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.shape=[8, 6.0]"}, {"[lattice].shape = [8, 6.0]", "integers"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.spacing=true"}, {"[lattice].spacing = true", "expected a number"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.replicas=2.0"}, {"[lattice].replicas = 2.0", "expected an integer"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.fields=\"w1\""}, {"[lattice].fields = \"w1\"", "expected an array"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.units=1"}, {"[lattice].units = 1", "continuum, network"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dt=\"0.1\""}, {"[dynamics].dt = \"0.1\"", "expected a number"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.steps=1.5"}, {"[dynamics].steps = 1.5", "expected an integer"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.steps=1e3"}, {"[dynamics].steps = 1000.0", "expected an integer"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.equation=[\"damped\"]"},
                      {"[dynamics].equation = [\"damped\"]", "damped, gradient_flow"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.gamma=\"0.1\""}, {"[dynamics].gamma = \"0.1\"", "expected a number"});
  EXPECT_CONFIG_ERROR(edit(kBase, "gamma = 0.25", "expansion = 1.0"), {},
                      {"[dynamics].expansion = 1.0", "expected a table"});
  EXPECT_CONFIG_ERROR(kBase, {"potential.0.coefficient=[1, 2]"},
                      {"[potential[0]].coefficient = [1, 2]", "a number or \"file.h5:/dataset\""});
  EXPECT_CONFIG_ERROR(kBase, {"potential.0.field=1"}, {"[potential[0]].field = 1", "expected a string"});
  EXPECT_CONFIG_ERROR(kBase, {"potential.2.factors=\"w1\""}, {"[potential[2]].factors = \"w1\"", "expected an array"});
  EXPECT_CONFIG_ERROR(kBase, {"potential.2.factors=[1]"}, {"[potential[2]].factors = [1]", "strings"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w1.amplitude=\"big\""}, {"[initial.w1].amplitude = \"big\"", "number"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w1.wavevector=[1, 0.5]"}, {"[initial.w1].wavevector = [1, 0.5]", "integers"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w2.seed=\"7\""}, {"[initial.w2].seed = \"7\"", "expected an integer"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w2.velocity=3"}, {"[initial.w2].velocity = 3", "expected a table"});
  EXPECT_CONFIG_ERROR(kBase, {"output.file=3"}, {"[output].file = 3", "expected a string"});
  EXPECT_CONFIG_ERROR(kBase, {"output.observe_every=2.5"}, {"[output].observe_every = 2.5", "expected an integer"});
  EXPECT_CONFIG_ERROR(kBase, {"output.mpi_io=1"}, {"[output].mpi_io = 1", "expected true or false"});
}

TEST(ConfigErrors, SectionOfTheWrongType) {
  const std::string body = kMinimal.substr(kMinimal.find("[dynamics]"));
  EXPECT_CONFIG_ERROR("lattice = 5\n" + body, {}, {"lattice = 5", "expected a table"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics=[1]"}, {"dynamics = [1]", "expected a table"});
  EXPECT_CONFIG_ERROR(kBase, {"output=\"out.h5\""}, {"output = \"out.h5\"", "expected a table"});
  EXPECT_CONFIG_ERROR(kBase, {"initial=3"}, {"initial = 3", "expected a table"});
  EXPECT_CONFIG_ERROR("potential = 5\n" + kMinimal, {}, {"potential = 5", "[[potential]]"});
  EXPECT_CONFIG_ERROR("potential = [1, 2]\n" + kMinimal, {}, {"[potential[0]] = 1", "[[potential]]"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w1=3"}, {"[initial].w1 = 3", "expected a table"});
}

TEST(ConfigErrors, UnknownFieldInATerm) {
  EXPECT_CONFIG_ERROR(kBase, {"potential.0.field=\"u\""},
                      {"[potential[0]].field = \"u\"", "unknown field", "fields are w1, w2"});
  EXPECT_CONFIG_ERROR(kBase, {"potential.2.factors=[\"w2\", \"d0(u)\"]"},
                      {"[potential[2]].factors = [\"w2\", \"d0(u)\"]", "unknown field \"u\""});
}

TEST(ConfigErrors, BadFactorSyntax) {
  const std::vector<std::pair<std::string, std::string>> cases{
      {"d0(w1", "bad factor \"d0(w1\""},
      {"d0w1)", "bad factor \"d0w1)\""},
      {"d0((w1))", "bad factor"},
      {"x0(w1)", "unknown operator \"x0\""},
      {"d(w1)", "unknown operator \"d\""},
      {"dx(w1)", "unknown operator \"dx\""},
      {"ddd0(w1)", "unknown operator \"ddd0\""},
      {"w1^0", "bad exponent"},
      {"w1^17", "bad exponent"},
      {"w1^x", "bad exponent"},
      {"w1^", "bad exponent"},
      {"d2(w1)", "axis 2 is beyond the lattice's 2 axes"},
      {"dd5(w2)", "axis 5 is beyond"},
      {"", "unknown field \"\""},
  };
  for (const auto& [factor, why] : cases) {
    SCOPED_TRACE(factor);
    const std::string value = "[\"" + factor + "\"]";
    EXPECT_CONFIG_ERROR(kBase, {"potential.2.factors=" + value}, {"[potential[2]].factors = " + value, why});
  }
  EXPECT_CONFIG_ERROR(kBase, {"potential.2.factors=[]"}, {"[potential[2]].factors = []", "1 to 4 factors"});
  EXPECT_CONFIG_ERROR(kBase, {"potential.2.factors=[\"w1\",\"w1\",\"w1\",\"w1\",\"w1\"]"}, {"1 to 4 factors"});
}

TEST(ConfigErrors, NonPositiveDtAndNegativeSteps) {
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dt=-0.1"}, {"[dynamics].dt = -0.1: must be > 0"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dt=0"}, {"[dynamics].dt = 0: must be > 0"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dt=0.0"}, {"[dynamics].dt = 0.0: must be > 0"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dt=nan"}, {"[dynamics].dt = nan", "finite"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dt=-inf"}, {"[dynamics].dt = -inf", "finite"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.steps=-1"}, {"[dynamics].steps = -1: must be >= 0"});
  // the same through the text, not an override
  EXPECT_CONFIG_ERROR(edit(kBase, "dt = 0.01", "dt = -0.1"), {}, {"[dynamics].dt = -0.1: must be > 0"});
  EXPECT_CONFIG_ERROR(edit(kBase, "steps = 20", "steps = -5"), {}, {"[dynamics].steps = -5: must be >= 0"});
  // steps = 0 is valid: the initial state only
  EXPECT_EQ(parse_config(kBase, {"dynamics.steps=0"}).dynamics.steps, 0);
}

TEST(ConfigErrors, OtherOutOfRangeValues) {
  EXPECT_CONFIG_ERROR(kBase, {"lattice.shape=[8, 0]"}, {"[lattice].shape = [8, 0]", ">= 1"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.shape=[]"}, {"[lattice].shape = []", "1 to 3 entries"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.shape=[2, 2, 2, 2]"}, {"[lattice].shape = [2, 2, 2, 2]", "1 to 3 entries"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.spacing=0"}, {"[lattice].spacing = 0", "must be > 0"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.replicas=0"}, {"[lattice].replicas = 0", "must be from 1"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.units=\"si\""}, {"[lattice].units = \"si\"", "continuum, network"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.gamma=-1.5"}, {"[dynamics].gamma = -1.5", ">= 0"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.integrator=\"verlet\""},
                      {"[dynamics].integrator = \"verlet\"", "leapfrog, yoshida4, rk4"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.integrator=\"euler\""}, {"[dynamics].integrator = \"euler\""});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.precision=\"float16\""}, {"[dynamics].precision = \"float16\"", "float32"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.equation=\"wave\""}, {"[dynamics].equation = \"wave\""});
  EXPECT_CONFIG_ERROR(edit(kBase, "gamma = 0.25", "expansion = { p = 1.0, t0 = 0.0 }"), {},
                      {"[dynamics.expansion].t0 = 0.0", "> 0"});
  EXPECT_CONFIG_ERROR(edit(kBase, "gamma = 0.25", "expansion = { p = -1.0, t0 = 1.0 }"), {},
                      {"[dynamics.expansion].p = -1.0", ">= 0"});
  EXPECT_CONFIG_ERROR(edit(kBase, "gamma = 0.25", "eta = 0.0"), {}, {"[dynamics].eta = 0.0", "> 0"});
  EXPECT_CONFIG_ERROR(edit(kBase, "gamma = 0.25", "hubble = -0.5"), {}, {"[dynamics].hubble = -0.5", ">= 0"});
  EXPECT_CONFIG_ERROR(kBase, {"potential.0.term=\"quartic\""}, {"[potential[0]].term = \"quartic\"", "mass, gradient"});
  EXPECT_CONFIG_ERROR(kBase, {"potential.0.term=\"power\"", "potential.0.exponent=0"},
                      {"[potential[0]].exponent = 0", "1 to 16"});
  EXPECT_CONFIG_ERROR(kBase, {"potential.0.coefficient=inf"}, {"[potential[0]].coefficient = inf", "finite"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w1.kind=\"random\""}, {"[initial.w1].kind = \"random\"", "gaussian"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w1.wavevector=[1]"}, {"[initial.w1].wavevector = [1]", "one integer per axis"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w2.std=-0.1"}, {"[initial.w2].std = -0.1", ">= 0"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w2.seed=-1"}, {"[initial.w2].seed = -1", ">= 0"});
  EXPECT_CONFIG_ERROR(kBase, {"output.observe_every=0"}, {"[output].observe_every = 0", ">= 1"});
  EXPECT_CONFIG_ERROR(kBase, {"output.snapshot_every=-1"}, {"[output].snapshot_every = -1", ">= 0"});
  EXPECT_CONFIG_ERROR(kBase, {"output.file=\"\""}, {"[output].file = \"\"", "empty"});
}

TEST(ConfigErrors, UnknownInitialField) {
  EXPECT_CONFIG_ERROR(kBase + "[initial.u]\nkind = \"zero\"\n", {},
                      {"[initial].u = { kind = \"zero\" }", "unknown field \"u\"", "fields are w1, w2"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.W1.kind=\"zero\""}, {"[initial].W1", "unknown field \"W1\""});
}

TEST(ConfigErrors, Boundaries) {
  EXPECT_CONFIG_ERROR(kBase, {"lattice.boundary=\"wrap\""},
                      {"[lattice].boundary = \"wrap\"", "unknown boundary \"wrap\"", "periodic, open, dirichlet"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.boundary=[\"periodic\", \"wrap\"]"},
                      {"[lattice].boundary = [\"periodic\", \"wrap\"]", "unknown boundary \"wrap\""});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.boundary=[\"open\"]"},
                      {"[lattice].boundary = [\"open\"]", "one entry per axis (2), got 1"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.boundary=[\"open\", \"open\", \"open\"]"}, {"(2), got 3"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.boundary=[\"open\", 1]"}, {"[lattice].boundary = [\"open\", 1]", "strings"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.boundary=5"}, {"[lattice].boundary = 5", "expected a string"});
}

TEST(ConfigErrors, FieldNames) {
  EXPECT_CONFIG_ERROR(kBase, {"lattice.fields=[\"w1\", \"w2\", \"w1\"]"},
                      {"[lattice].fields = [\"w1\", \"w2\", \"w1\"]", "duplicate field \"w1\""});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.fields=[]"}, {"[lattice].fields = []", "at least one field"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.fields=[\"w1\", \"2w\"]"}, {"[lattice].fields = [\"w1\", \"2w\"]", "names"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.fields=[\"w1\", \"a/b\"]"}, {"[lattice].fields = [\"w1\", \"a/b\"]", "names"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.fields=[\"w1\", 2]"}, {"[lattice].fields = [\"w1\", 2]", "names"});
}

TEST(ConfigErrors, MissingRequiredKeys) {
  EXPECT_CONFIG_ERROR(edit(kBase, "shape = [8, 6]\n", ""), {}, {"[lattice].shape: required"});
  EXPECT_CONFIG_ERROR(kBase.substr(kBase.find("[dynamics]")), {}, {"[lattice].shape: required"});
  EXPECT_CONFIG_ERROR("", {}, {"[lattice].shape: required"});
  EXPECT_CONFIG_ERROR(edit(kBase, "dt = 0.01\n", ""), {}, {"[dynamics].dt: required"});
  EXPECT_CONFIG_ERROR(edit(kBase, "steps = 20\n", ""), {}, {"[dynamics].steps: required"});
  EXPECT_CONFIG_ERROR(edit(kBase, "term = \"mass\"\n", ""), {}, {"[potential[0]].term: required"});
  EXPECT_CONFIG_ERROR(edit(kBase, "coefficient = 1.5\n", ""), {}, {"[potential[0]].coefficient: required"});
  EXPECT_CONFIG_ERROR(edit(kBase, "field = \"w1\"\n", ""), {}, {"[potential[0]].field: required"});
  EXPECT_CONFIG_ERROR(edit(kBase, "factors = [\"w2\", \"d0(w1)\"]\n", ""), {}, {"[potential[2]].factors", "1 to 4"});
  EXPECT_CONFIG_ERROR(kBase, {"potential.0.term=\"power\""}, {"[potential[0]].exponent: required"});
  EXPECT_CONFIG_ERROR(edit(kBase, "wavevector = [1, 2]\n", ""), {}, {"[initial.w1].wavevector: required"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w1={kind=\"constant\"}"}, {"[initial.w1].value: required"});
  EXPECT_CONFIG_ERROR(kBase, {"initial.w1={kind=\"file\"}"}, {"[initial.w1].path: required"});
  EXPECT_CONFIG_ERROR(edit(kBase, "gamma = 0.25", "expansion = { p = 1.0 }"), {}, {"[dynamics.expansion].t0: required"});
}

TEST(ConfigErrors, ConflictingDampingLaws) {
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.eta=2.0"}, {"[dynamics].eta = 2.0", "give only one of gamma, eta"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.hubble=0.1"}, {"[dynamics].hubble = 0.1", "give only one of gamma, hubble"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.expansion={p=1.0, t0=1.0}"},
                      {"[dynamics].expansion = { p = 1.0, t0 = 1.0 }", "give only one of gamma, expansion"});
}

TEST(ConfigErrors, GradientFlowRejectsInertialKeys) {
  std::string flow = edit(edit(kBase, "\"damped\"", "\"gradient_flow\""), "\"leapfrog\"", "\"euler\"");
  flow = edit(flow, "velocity = { kind = \"constant\", value = 0.2 }\n", "");
  ASSERT_NO_THROW(parse_config(flow));
  EXPECT_CONFIG_ERROR(edit(flow, "gamma = 0.25", "hubble = 0.1"), {},
                      {"[dynamics].hubble = 0.1", "not used by the gradient flow"});
  EXPECT_CONFIG_ERROR(edit(flow, "gamma = 0.25", "expansion = { p = 1.0, t0 = 1.0 }"), {},
                      {"[dynamics].expansion", "not used by the gradient flow"});
  EXPECT_CONFIG_ERROR(flow, {"dynamics.gamma=0"}, {"[dynamics].gamma = 0", "> 0"});
  EXPECT_CONFIG_ERROR(flow, {"dynamics.integrator=\"leapfrog\""},
                      {"[dynamics].integrator = \"leapfrog\"", "euler, rk4"});
  EXPECT_CONFIG_ERROR(flow, {"initial.w2.velocity={kind=\"constant\", value=1.0}"},
                      {"[initial.w2].velocity = { kind = \"constant\", value = 1.0 }", "gradient flow has no velocity"});
}

TEST(ConfigErrors, CoefficientFiles) {
  TempDir dir;
  const std::string base = dir.path().string();
  test::write_h5(dir / "good.h5", "/c", std::vector<double>(48, 1.0), {8, 6});
  test::write_h5(dir / "transposed.h5", "/c", std::vector<double>(48, 1.0), {6, 8});
  test::write_h5(dir / "flat.h5", "/c", std::vector<double>(48, 1.0), {48});
  test::write_h5(dir / "replicas.h5", "/c", std::vector<double>(96, 1.0), {2, 8, 6});
  std::vector<double> nan(48, 1.0);
  nan[13] = std::numeric_limits<double>::quiet_NaN();
  test::write_h5(dir / "nan.h5", "/c", nan, {8, 6});
  test::write_text(dir / "text.h5", "not hdf5\n");
  auto coef = [&](const std::string& spec) {
    return error_of(kBase, {"potential.0.coefficient=\"" + spec + "\""}, base);
  };
  EXPECT_NO_THROW(parse_config(kBase, {"potential.0.coefficient=\"good.h5:/c\""}, base));
  EXPECT_TRUE(contains_all(coef("transposed.h5:/c"), {"[potential[0]].coefficient = \"transposed.h5:/c\"",
                                                      "dataset has shape [6, 8]", "the lattice needs [8, 6]"}));
  EXPECT_TRUE(contains_all(coef("flat.h5:/c"), {"[potential[0]].coefficient = \"flat.h5:/c\"", "shape [48]"}));
  EXPECT_TRUE(contains_all(coef("replicas.h5:/c"), {"[potential[0]].coefficient = \"replicas.h5:/c\"", "[2, 8, 6]"}));
  EXPECT_TRUE(contains_all(coef("missing.h5:/c"), {"[potential[0]].coefficient = \"missing.h5:/c\"", "missing.h5",
                                                   "not a readable HDF5 file"}));
  EXPECT_TRUE(contains_all(coef("text.h5:/c"), {"[potential[0]].coefficient = \"text.h5:/c\"", "not a readable"}));
  EXPECT_TRUE(contains_all(coef("good.h5:/nope"), {"[potential[0]].coefficient = \"good.h5:/nope\"", "no dataset /nope"}));
  EXPECT_TRUE(contains_all(coef("good.h5:/c/deeper"), {"[potential[0]].coefficient", "no dataset /c/deeper"}));
  EXPECT_TRUE(contains_all(coef("nan.h5:/c"), {"[potential[0]].coefficient = \"nan.h5:/c\"", "nan", "index 13"}));
  // a malformed spec is a config error too, not an HDF5 one
  EXPECT_TRUE(contains_all(coef("good.h5"), {"[potential[0]].coefficient = \"good.h5\"", "file.h5:/dataset"}));
  EXPECT_TRUE(contains_all(coef("good.h5:c"), {"[potential[0]].coefficient = \"good.h5:c\"", "file.h5:/dataset"}));
}

TEST(ConfigErrors, InitialFiles) {
  TempDir dir;
  const std::string base = dir.path().string();
  test::write_h5(dir / "w.h5", "/shared", std::vector<double>(48, 0.5), {8, 6});
  test::write_h5(dir / "per_replica.h5", "/w", std::vector<double>(96, 0.5), {2, 8, 6});
  test::write_h5(dir / "wrong.h5", "/w", std::vector<double>(3, 0.5), {3});
  test::write_h5(dir / "three.h5", "/w", std::vector<double>(144, 0.5), {3, 8, 6});
  std::vector<double> inf(48, 0.0);
  inf[0] = std::numeric_limits<double>::infinity();
  test::write_h5(dir / "inf.h5", "/w", inf, {8, 6});
  auto path = [&](const std::string& spec) {
    return error_of(kBase, {"initial.w1={kind=\"file\", path=\"" + spec + "\"}"}, base);
  };
  EXPECT_NO_THROW(parse_config(kBase, {"initial.w1={kind=\"file\", path=\"w.h5:/shared\"}"}, base));
  EXPECT_NO_THROW(parse_config(kBase, {"initial.w1={kind=\"file\", path=\"per_replica.h5:/w\"}"}, base));
  EXPECT_TRUE(contains_all(path("wrong.h5:/w"), {"[initial.w1].path = \"wrong.h5:/w\"", "dataset has shape [3]",
                                                 "needs [8, 6] or [2, 8, 6]"}));
  EXPECT_TRUE(contains_all(path("three.h5:/w"), {"[initial.w1].path = \"three.h5:/w\"", "[3, 8, 6]"}));
  EXPECT_TRUE(contains_all(path("gone.h5:/w"), {"[initial.w1].path = \"gone.h5:/w\"", "not a readable"}));
  EXPECT_TRUE(contains_all(path("w.h5:/none"), {"[initial.w1].path = \"w.h5:/none\"", "no dataset /none"}));
  EXPECT_TRUE(contains_all(path("inf.h5:/w"), {"[initial.w1].path = \"inf.h5:/w\"", "inf"}));
  EXPECT_TRUE(contains_all(path("w.h5"), {"[initial.w1].path = \"w.h5\"", "file.h5:/dataset"}));
  // a velocity read from a file is checked the same way
  EXPECT_TRUE(contains_all(error_of(kBase, {"initial.w2.velocity={kind=\"file\", path=\"wrong.h5:/w\"}"}, base),
                           {"[initial.w2.velocity].path = \"wrong.h5:/w\"", "shape [3]"}));
}

TEST(ConfigErrors, TooManyTermsAfterExpansion) {
  std::string t = kMinimal;
  t = edit(t, "shape = [16]", "shape = [4, 4, 4]");
  const int n = kernels::kMaxTerms / 3 + 1;  // a 3-D gradient is three terms
  for (int i = 0; i < n; ++i) t += "[[potential]]\nterm = \"gradient\"\nfield = \"w\"\ncoefficient = 1.0\n";
  EXPECT_CONFIG_ERROR(t, {}, {"[[potential]]", std::to_string(3 * n) + " terms", std::to_string(kernels::kMaxTerms)});
}

TEST(ConfigErrors, TomlSyntax) {
  EXPECT_CONFIG_ERROR(edit(kBase, "dt = 0.01", "dt = = 0.01"), {}, {"TOML syntax error at line 13"});
  EXPECT_CONFIG_ERROR(kBase + "[lattice]\nspacing = 1.0\n", {}, {"TOML syntax error"});
}

// --- --set overrides ---------------------------------------------------------------------

TEST(ConfigOverrides, ReplaceAndCreateKeys) {
  const Problem p = parse_config(kMinimal, {
                                               "dynamics.dt=0.005",                      // replace
                                               "output.snapshot_every=3",                // create in a new table
                                               "output.file=run.h5",                     // bare word: a string
                                               "lattice.fields=[\"a\", \"b\"]",          // an array
                                               "initial.b.kind=gaussian",                // a whole new table path
                                               "initial.b.velocity.kind=\"constant\"",   // nested table
                                               "initial.b.velocity.value=1.5",
                                               "dynamics.expansion={p=0.5, t0=1.0}",     // inline table
                                               " lattice.spacing = 0.25 ",               // spaces trimmed
                                           });
  EXPECT_EQ(p.dynamics.dt, 0.005);
  EXPECT_EQ(p.output.snapshot_every, 3);
  EXPECT_EQ(p.output.file, "run.h5");
  EXPECT_EQ(p.lattice.fields, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(p.initial[1].value.kind, "gaussian");
  EXPECT_EQ(p.initial[1].velocity.kind, "constant");
  EXPECT_EQ(p.initial[1].velocity.value, 1.5);
  EXPECT_EQ(p.dynamics.damping.kind, Damping::Kind::expansion);
  EXPECT_EQ(p.lattice.spacing, 0.25);
}

TEST(ConfigOverrides, ArrayElements) {
  const Problem p = parse_config(kBase, {"potential.0.coefficient=3", "lattice.shape.1=4", "potential.2.factors.1=\"d1(w1)\""});
  EXPECT_EQ(p.terms[0].coefficient, 1.5);  // ½ · 3
  EXPECT_EQ(p.lattice.shape[1], 4);
  EXPECT_EQ(p.terms[3].factors[1].axis, 1);
  // later overrides win
  EXPECT_EQ(parse_config(kBase, {"dynamics.steps=5", "dynamics.steps=7"}).dynamics.steps, 7);
}

TEST(ConfigOverrides, BadValuesGetTheUsualMessage) {
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.steps=abc"}, {"[dynamics].steps = \"abc\"", "expected an integer"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dt=-1e-3"}, {"[dynamics].dt = -0.001", "must be > 0"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.shape.1=0"}, {"[lattice].shape = [8, 0]"});
}

TEST(ConfigOverrides, BadSyntax) {
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dt"}, {"--set dynamics.dt", "expected key=value"});
  EXPECT_CONFIG_ERROR(kBase, {"=0.1"}, {"--set =0.1", "dotted key"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics..dt=0.1"}, {"--set dynamics..dt=0.1", "dotted key"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dt.=0.1"}, {"--set dynamics.dt.=0.1", "dotted key"});
  EXPECT_CONFIG_ERROR(kBase, {".dt=0.1"}, {"--set .dt=0.1"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dt="}, {"--set dynamics.dt=", "no value"});
  EXPECT_CONFIG_ERROR(kBase, {"potential.9.coefficient=1"}, {"--set potential.9.coefficient=1", "no element 9",
                                                              "it has 3"});
  EXPECT_CONFIG_ERROR(kBase, {"potential.first.coefficient=1"}, {"--set potential.first.coefficient=1", "no element first"});
  EXPECT_CONFIG_ERROR(kBase, {"lattice.shape.5=1"}, {"--set lattice.shape.5=1", "no element 5"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dt.x=1"}, {"--set dynamics.dt.x=1", "dt is not a table"});
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dt.x.y=1"}, {"--set dynamics.dt.x.y=1", "dt is not a table"});
  // an unknown key made by an override is caught like one in the file
  EXPECT_CONFIG_ERROR(kBase, {"dynamics.dtt=0.1"}, {"[dynamics].dtt = 0.1", "unknown key"});
  EXPECT_CONFIG_ERROR(kBase, {"solver.threads=4"}, {"[solver]", "unknown table"});
}

TEST(ConfigLoad, MissingOrUnreadableFile) {
  TempDir dir;
  try {
    load_config(dir / "absent.toml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains_all(e.what(), {dir / "absent.toml", "cannot read"}));
  }
  try {
    load_config(dir.path().string());
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains_all(e.what(), {dir.path().string(), "folder"}));
  }
  // errors from a file name the file before the key
  test::write_text(dir / "bad.toml", edit(kBase, "dt = 0.01", "dt = -0.1"));
  try {
    load_config(dir / "bad.toml");
    FAIL() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_TRUE(contains_all(e.what(), {dir / "bad.toml" + ": [dynamics].dt = -0.1: must be > 0"}));
  }
}

}  // namespace
}  // namespace synfield
