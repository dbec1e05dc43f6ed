// `synfield info` and `synfield compare` (host/io/inspect.h). Truth: files written here with
// known contents (so every difference is known exactly: the reported max |a−b| and
// relative difference must be the numbers computed from them), and real runs of the built
// binary whose physics is the same (identical runs, different observe_every) or not
// (different dt), including the gradient-descent reference against the field solver.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "host/io/h5.h"
#include "host/io/inspect.h"
#include "test_util.h"

namespace synfield {
namespace {

namespace fs = std::filesystem;
using inspect::Comparison;
using inspect::DatasetDiff;
using Kind = DatasetDiff::Kind;

using test::TempDir;

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

// The content of a synfield file written by hand.
struct Content {
  std::vector<std::int64_t> obs_step;
  std::map<std::string, std::vector<double>> obs;  // name under /observables → [S_obs]
  std::vector<std::int64_t> snap_step;
  std::map<std::string, std::vector<double>> snap;  // name under /snapshots → values
  std::vector<hsize_t> inner{1, 3};                 // [B, *shape] of every snapshot dataset
  std::string format = "synfield-1";
};

void write_file(const std::string& path, const Content& c) {
  h5::File f = h5::File::create(path);
  if (!c.format.empty()) f.set_attr("format", c.format);
  f.set_attr("status", std::string("complete"));
  f.set_attr("backend", std::string("cpu"));
  if (!c.obs_step.empty()) f.write("/observables/step", c.obs_step, {c.obs_step.size()});
  for (const auto& [name, v] : c.obs) f.write("/observables/" + name, v, {v.size()});
  if (!c.snap_step.empty()) f.write("/snapshots/step", c.snap_step, {c.snap_step.size()});
  for (const auto& [name, v] : c.snap) {
    std::vector<hsize_t> dims{0};
    hsize_t row = 1;
    for (hsize_t n : c.inner) {
      dims.push_back(n);
      row *= n;
    }
    dims[0] = v.size() / row;
    f.write("/snapshots/" + name, v, dims);
  }
  f.close();
}

// Steps 0, 10, 20, 30; snapshots at 0 and 30 of a field [B = 1, 3].
Content base() {
  Content c;
  c.obs_step = {0, 10, 20, 30};
  c.obs["energy"] = {8, 4, 2, 1};
  c.obs["loss"] = {3, 1.5, 0.75, 0.5};
  c.snap_step = {0, 30};
  c.snap["fields/w"] = {1.5, -2.25, 3.0, 0.7, -1.1, 2.6};
  return c;
}

const DatasetDiff& find(const Comparison& c, const std::string& name) {
  for (const auto& d : c.datasets)
    if (d.name == name) return d;
  throw std::runtime_error("no dataset " + name + " in the comparison");
}

class Tools : public ::testing::Test {
 protected:
  using Result = test::CommandResult;
  // Runs `synfield ARGS` in the temp folder.
  Result cli(const std::string& args) { return test::run_exe(dir_.str(), SYNFIELD_EXE, args, 1); }
  std::string info(const std::string& path, int expect_status = 0) {
    std::ostringstream out, err;
    EXPECT_EQ(inspect::info(path, out, err), expect_status) << err.str();
    return expect_status == 0 ? out.str() : err.str();
  }
  std::string p(const std::string& name) const { return dir_ / name; }

  TempDir dir_;
};

// A 2-D [6, 4] lattice, two fields, two replicas; 20 steps observed every 5, snapshots every 10.
const std::string kConfig = R"toml([lattice]
shape = [6, 4]
spacing = 0.5
fields = ["w1", "w2"]
replicas = 2

[dynamics]
gamma = 0.1
dt = 0.01
steps = 20

[[potential]]
term = "mass"
field = "w1"
coefficient = 1.0

[[potential]]
term = "gradient"
field = "w2"
coefficient = 1.0

[initial.w1]
kind = "mode"
wavevector = [1, 0]
amplitude = 0.5

[initial.w2]
kind = "gaussian"
std = 0.3
seed = 7

[output]
file = "out.h5"
observe_every = 5
snapshot_every = 10
)toml";

// ---- compare ---------------------------------------------------------------------------------

TEST_F(Tools, CompareIdenticalFilesIsZero) {
  write_file(p("a.h5"), base());
  write_file(p("b.h5"), base());
  const Comparison c = inspect::compare_files(p("a.h5"), p("b.h5"), 1e-12, 0);
  ASSERT_EQ(c.datasets.size(), 5u);  // energy, loss, step; snapshots fields/w, step
  for (const auto& d : c.datasets) {
    EXPECT_EQ(d.kind, Kind::compared) << d.name;
    EXPECT_EQ(d.max_abs, 0.0) << d.name;
    EXPECT_EQ(d.max_rel, 0.0) << d.name;
    EXPECT_EQ(d.outside, 0u) << d.name;
    EXPECT_TRUE(d.step_matched) << d.name;
  }
  EXPECT_TRUE(c.observables.identical);
  EXPECT_EQ(c.status(true), 0);
  std::ostringstream out, err;
  EXPECT_EQ(inspect::compare(p("a.h5"), p("b.h5"), 1e-12, 0, out, err), 0);
  EXPECT_NE(out.str().find("result: equal within tolerance"), std::string::npos) << out.str();
  EXPECT_EQ(out.str().find("DIFFERS"), std::string::npos) << out.str();
  EXPECT_EQ(cli("compare a.h5 b.h5").status, 0);
  EXPECT_EQ(cli("compare a.h5 a.h5").status, 0);
}

TEST_F(Tools, ComparePerturbationReportedExactly) {
  Content a = base();
  const Content b = base();
  a.obs["energy"][2] += 1e-7;       // step 20
  a.snap["fields/w"][5] -= 3e-9;    // snapshot 1 (step 30), element [1, 0, 2]
  write_file(p("a.h5"), a);
  write_file(p("b.h5"), b);

  const double e_abs = std::abs(a.obs["energy"][2] - b.obs.at("energy")[2]);
  const double e_rel = e_abs / std::max(std::abs(a.obs["energy"][2]), std::abs(b.obs.at("energy")[2]));
  const double w_abs = std::abs(a.snap["fields/w"][5] - b.snap.at("fields/w")[5]);
  const double w_rel = w_abs / std::max(std::abs(a.snap["fields/w"][5]), std::abs(b.snap.at("fields/w")[5]));

  const Comparison c = inspect::compare_files(p("a.h5"), p("b.h5"), 1e-12, 0);
  const DatasetDiff& e = find(c, "/observables/energy");
  EXPECT_EQ(e.kind, Kind::compared);
  EXPECT_EQ(e.max_abs, e_abs);
  EXPECT_EQ(e.max_rel, e_rel);
  EXPECT_EQ(e.outside, 1u);
  EXPECT_EQ(e.worst, (std::vector<std::uint64_t>{2}));
  EXPECT_TRUE(e.worst_has_step);
  EXPECT_EQ(e.worst_step, 20);
  const DatasetDiff& w = find(c, "/snapshots/fields/w");
  EXPECT_EQ(w.max_abs, w_abs);
  EXPECT_EQ(w.max_rel, w_rel);
  EXPECT_EQ(w.outside, 1u);
  EXPECT_EQ(w.compared, (std::vector<std::uint64_t>{2, 1, 3}));
  EXPECT_EQ(w.worst, (std::vector<std::uint64_t>{1, 0, 2}));
  EXPECT_EQ(w.worst_step, 30);
  EXPECT_EQ(find(c, "/observables/loss").max_abs, 0.0);
  EXPECT_EQ(c.status(false), 1);

  // the printed table carries the same numbers
  std::ostringstream out, err;
  EXPECT_EQ(inspect::compare(p("a.h5"), p("b.h5"), 1e-12, 0, out, err), 1);
  for (const std::string& piece : {fmt("%.6e", e_abs), fmt("%.6e", e_rel), fmt("%.6e", w_abs),
                                   fmt("%.6e", w_rel), std::string("DIFFERS, max at [2] (step 20)"),
                                   std::string("DIFFERS, max at [1, 0, 2] (step 30)"),
                                   std::string("result: DIFFERENT")})
    EXPECT_NE(out.str().find(piece), std::string::npos) << piece << "\n" << out.str();

  // tolerances: |a−b| ≤ atol + rtol·|b|
  EXPECT_EQ(inspect::compare_files(p("a.h5"), p("b.h5"), 1e-7, 0).status(false), 0);
  EXPECT_EQ(inspect::compare_files(p("a.h5"), p("b.h5"), 1e-8, 0).status(false), 1);
  EXPECT_EQ(inspect::compare_files(p("a.h5"), p("b.h5"), 0, e_abs).status(false), 0);  // equality passes
  EXPECT_EQ(find(inspect::compare_files(p("a.h5"), p("b.h5"), 0, std::nextafter(e_abs, 0.0)),
                 "/observables/energy").outside, 1u);
  EXPECT_EQ(cli("compare a.h5 b.h5").status, 1);
  EXPECT_EQ(cli("compare a.h5 b.h5 --rtol 1e-7").status, 0);
  EXPECT_EQ(cli("compare a.h5 b.h5 --rtol 0 --atol 2e-7").status, 0);
  EXPECT_EQ(cli("compare a.h5 b.h5 --rtol 1e-8").status, 1);
}

TEST_F(Tools, CompareTinyValuesLeftOutOfRelative) {
  // |b| ≤ 1e-8·max|b| is "tiny": its relative difference (here 1) is not reported
  Content a = base(), b = base();
  b.obs["energy"] = {8, 4, 1e-12, 1};
  a.obs["energy"] = {8, 4, 2e-12, 1};
  write_file(p("a.h5"), a);
  write_file(p("b.h5"), b);
  const DatasetDiff& e = find(inspect::compare_files(p("a.h5"), p("b.h5"), 1e-12, 0), "/observables/energy");
  EXPECT_EQ(e.max_abs, std::abs(2e-12 - 1e-12));
  EXPECT_TRUE(e.has_rel);
  EXPECT_EQ(e.max_rel, 0.0);
  EXPECT_EQ(e.outside, 1u);
}

TEST_F(Tools, CompareMissingDatasetsAndShapeMismatch) {
  Content a = base(), b = base();
  b.obs.erase("loss");
  b.obs["test_loss"] = {1, 1, 1, 1};
  write_file(p("a.h5"), a);
  write_file(p("b.h5"), b);
  Comparison c = inspect::compare_files(p("a.h5"), p("b.h5"), 1e-12, 0);
  EXPECT_EQ(find(c, "/observables/loss").kind, Kind::only_a);
  EXPECT_EQ(find(c, "/observables/loss").shape_a, (std::vector<std::uint64_t>{4}));
  EXPECT_EQ(find(c, "/observables/test_loss").kind, Kind::only_b);
  EXPECT_EQ(c.status(false), 0);  // the common datasets agree
  EXPECT_EQ(c.status(true), 1);   // --strict counts the missing ones
  std::ostringstream out, err;
  EXPECT_EQ(inspect::compare(p("a.h5"), p("b.h5"), 1e-12, 0, out, err), 0);
  EXPECT_NE(out.str().find("ONLY IN A"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("ONLY IN B"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("2 only in one file"), std::string::npos) << out.str();
  EXPECT_EQ(cli("compare a.h5 b.h5 --strict").status, 1);

  // a field of another shape: a difference, whatever the tolerance
  b = base();
  b.inner = {1, 2};
  b.snap["fields/w"] = {1, 2, 3, 4};
  write_file(p("b.h5"), b);
  c = inspect::compare_files(p("a.h5"), p("b.h5"), 1, 1);
  const DatasetDiff& w = find(c, "/snapshots/fields/w");
  EXPECT_EQ(w.kind, Kind::shape_mismatch);
  EXPECT_EQ(w.shape_a, (std::vector<std::uint64_t>{2, 1, 3}));
  EXPECT_EQ(w.shape_b, (std::vector<std::uint64_t>{2, 1, 2}));
  EXPECT_EQ(c.status(false), 1);
  const Result r = cli("compare a.h5 b.h5 --rtol 1 --atol 1");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("SHAPE MISMATCH"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("[2, 1, 3] vs [2, 1, 2]"), std::string::npos) << r.out;
}

TEST_F(Tools, CompareMatchesRowsByStep) {
  // A observed every 10 steps, B every 20; snapshots at 0, 50, 100 in A and 0, 100 in B.
  // Values are functions of the step, so the common steps agree exactly.
  auto make = [](int every, std::vector<std::int64_t> snaps) {
    Content c;
    for (int s = 0; s <= 100; s += every) {
      c.obs_step.push_back(s);
      c.obs["energy"].push_back(std::exp(-s / 50.0));
    }
    c.snap_step = snaps;
    for (std::int64_t s : snaps)
      for (int i = 0; i < 3; ++i) c.snap["fields/w"].push_back(std::cos(0.1 * s + i));
    return c;
  };
  Content a = make(10, {0, 50, 100});
  const Content b = make(20, {0, 100});
  write_file(p("a.h5"), a);
  write_file(p("b.h5"), b);
  Comparison c = inspect::compare_files(p("a.h5"), p("b.h5"), 1e-12, 0);
  EXPECT_EQ(c.observables.rows_a, 11u);
  EXPECT_EQ(c.observables.rows_b, 6u);
  EXPECT_EQ(c.observables.common, 6u);
  EXPECT_FALSE(c.observables.identical);
  EXPECT_EQ(c.snapshots.common, 2u);
  const DatasetDiff& e = find(c, "/observables/energy");
  EXPECT_TRUE(e.step_matched);
  EXPECT_EQ(e.compared, (std::vector<std::uint64_t>{6}));
  EXPECT_EQ(e.max_abs, 0.0);
  EXPECT_EQ(find(c, "/snapshots/fields/w").compared, (std::vector<std::uint64_t>{2, 1, 3}));
  EXPECT_EQ(c.status(false), 0);
  Result r = cli("compare a.h5 b.h5");
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("11 in A, 6 in B, 6 common steps"), std::string::npos) << r.out;

  // a change at a step B does not hold is not seen; one at a common step is
  a.obs["energy"][3] = 7;  // step 30
  a.snap["fields/w"][4] = 7;  // step 50
  write_file(p("a.h5"), a);
  EXPECT_EQ(inspect::compare_files(p("a.h5"), p("b.h5"), 1e-12, 0).status(false), 0);
  a.obs["energy"][4] += 0.5;  // step 40
  write_file(p("a.h5"), a);
  c = inspect::compare_files(p("a.h5"), p("b.h5"), 1e-12, 0);
  EXPECT_EQ(find(c, "/observables/energy").max_abs, 0.5);
  EXPECT_EQ(find(c, "/observables/energy").worst_step, 40);
  EXPECT_EQ(find(c, "/observables/energy").worst, (std::vector<std::uint64_t>{4}));  // A's row
  EXPECT_EQ(c.status(false), 1);

  // no common step at all: a difference
  Content odd = make(20, {0, 100});
  odd.obs_step = {5, 25, 45, 65, 85, 105};
  write_file(p("b.h5"), odd);
  c = inspect::compare_files(p("a.h5"), p("b.h5"), 1e-12, 0);
  EXPECT_EQ(find(c, "/observables/energy").kind, Kind::no_common_rows);
  EXPECT_EQ(c.status(false), 1);
}

TEST_F(Tools, CompareRealRuns) {
  std::ofstream(p("run.toml")) << kConfig;
  ASSERT_EQ(cli("run run.toml -q -o a.h5").status, 0);
  ASSERT_EQ(cli("run run.toml -q -o b.h5").status, 0);
  ASSERT_EQ(cli("run run.toml -q -o c.h5 --set output.observe_every=10 --set output.snapshot_every=20").status, 0);
  ASSERT_EQ(cli("run run.toml -q -o d.h5 --set dynamics.dt=0.011").status, 0);
  Result r = cli("compare a.h5 b.h5");
  EXPECT_EQ(r.status, 0) << r.out;
  const Comparison same = inspect::compare_files(p("a.h5"), p("b.h5"), 0, 0);
  EXPECT_EQ(same.datasets.size(), 16u);  // 6 + 2·2 observables, 2 + 2·2 snapshots
  for (const auto& d : same.datasets) EXPECT_EQ(d.max_abs, 0.0) << d.name;
  // observing less often does not change the dynamics beyond rounding (the integrator
  // merges the half kicks between observations): equal at the common steps, given an atol
  // for the means of zero-mean fields (~1e-17, whose relative rounding is large)
  r = cli("compare a.h5 c.h5 --atol 1e-14");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("5 in A, 3 in B, 3 common steps"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("3 in A, 2 in B, 2 common steps"), std::string::npos) << r.out;
  // another dt: different
  r = cli("compare a.h5 d.h5");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("/snapshots/fields/w1"), std::string::npos) << r.out;
}

TEST_F(Tools, CompareFieldSolverWithGradientDescent) {
  // addition.toml: gradient flow + Euler, which the reference maps to plain GD exactly
  const std::string cfg = SYNFIELD_EXAMPLES_DIR "/addition.toml";
  ASSERT_EQ(cli("run '" + cfg + "' -q -o field.h5 --set dynamics.steps=300").status, 0);
  ASSERT_EQ(cli("gd '" + cfg + "' -q -o gd.h5 --set dynamics.steps=300").status, 0);
  const Comparison c = inspect::compare_files(p("field.h5"), p("gd.h5"), 1e-9, 1e-12);
  EXPECT_EQ(find(c, "/observables/loss").kind, Kind::compared);
  EXPECT_EQ(find(c, "/snapshots/fields/w").kind, Kind::compared);
  EXPECT_EQ(find(c, "/observables/energy").kind, Kind::only_a);
  EXPECT_EQ(c.status(false), 0);
  EXPECT_EQ(c.status(true), 1);
  const Result r = cli("compare field.h5 gd.h5 --rtol 1e-9 --atol 1e-12");
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("(synfield-1, gd, complete)"), std::string::npos) << r.out;
  // fields named in [lattice].fields: the gd file names its weight fields the same way
  const std::string named = " -q --set dynamics.steps=50 --set 'lattice.fields=[\"sum\"]'";
  ASSERT_EQ(cli("run '" + cfg + "' -o field_n.h5" + named).status, 0);
  ASSERT_EQ(cli("gd '" + cfg + "' -o gd_n.h5" + named).status, 0);
  const Comparison n = inspect::compare_files(p("field_n.h5"), p("gd_n.h5"), 1e-9, 1e-12);
  EXPECT_EQ(find(n, "/snapshots/fields/sum").kind, Kind::compared);
  EXPECT_EQ(n.status(false), 0);
}

TEST_F(Tools, CompareErrors) {
  write_file(p("a.h5"), base());
  std::ofstream(p("text.h5")) << "not hdf5\n";
  std::ostringstream out, err;
  EXPECT_EQ(inspect::compare(p("a.h5"), p("missing.h5"), 1e-12, 0, out, err), 2);
  EXPECT_NE(err.str().find(p("missing.h5") + ": no such file"), std::string::npos) << err.str();
  Result r = cli("compare missing.h5 a.h5");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("missing.h5: no such file"), std::string::npos) << r.err;
  r = cli("compare a.h5 text.h5");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("text.h5: not an HDF5 file"), std::string::npos) << r.err;
  EXPECT_NE(cli("compare a.h5 a.h5 --rtol -1").status, 0);
}

// ---- info ------------------------------------------------------------------------------------

TEST_F(Tools, InfoOnRunOutput) {
  std::ofstream(p("run.toml")) << kConfig;
  ASSERT_EQ(cli("run run.toml -q -o out.h5").status, 0);
  const std::string text = info(p("out.h5"));
  h5::File f = h5::File::open_read(p("out.h5"));
  const std::vector<double> energy = f.read("/observables/energy"), rms = f.read("/observables/rms/w2");
  const std::string config = f.attr_string("config");
  f.close();
  const std::vector<std::string> pieces{
      "file:        " + p("out.h5") + "  (",
      "opened:      read-only\n",
      "format:      synfield-1\n",
      "version:     " SYNFIELD_VERSION "\n",
      "backend:     cpu\n",
      "precision:   float64\n",
      "status:      complete\n",
      "steps done:  20 of 20  (5 observations, t = 0.2)\n",
      "snapshots:   3  (steps 0 to 20)\n",
      "final observables (step 20):\n",
      "  energy      " + fmt("%.12g", energy.back()) + "\n",
      "  rms/w2      " + fmt("%.12g", rms.back()) + "\n",
      "  dissipated  ",
      "  mean/w1     ",
      "  time        0.2\n",
      "/snapshots/fields/w1      float64  [3, 2, 6, 4]  1.1 KiB\n",
      "/observables/step         int64    [5]           40 B\n",
      "datasets (16, ",
      "config:\n  [lattice]\n",
      "  shape = [6, 4]\n",
      "  steps = 20\n",
  };
  for (const auto& piece : pieces) EXPECT_NE(text.find(piece), std::string::npos) << piece << "\n" << text;
  EXPECT_EQ(text.find("test_predictions"), std::string::npos);  // not a model run
  EXPECT_EQ(text.find("\n  step "), std::string::npos);  // step is "steps done", not a final value
  // the whole stored config, each line indented
  std::istringstream lines(config);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) EXPECT_NE(text.find("\n  " + line + "\n"), std::string::npos) << line;
  // the command prints the same
  const Result r = cli("info out.h5");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("steps done:  20 of 20"), std::string::npos) << r.out;
}

TEST_F(Tools, InfoOnGradientDescentOutput) {
  ASSERT_EQ(cli("gd '" SYNFIELD_EXAMPLES_DIR "/addition.toml' -q -o gd.h5 --set dynamics.steps=200").status, 0);
  const std::string text = info(p("gd.h5"));
  EXPECT_EQ(text.find("backend:"), std::string::npos) << text;  // absent attributes are not listed
  for (const std::string piece : {"kind:        gd\n", "steps done:  200 of 200  (3 observations)\n",
                                  "\n  loss ", "\n  test_loss ", "\nlr:          0.005\n",
                                  "\nbias_lr_scale: 1\n"})
    EXPECT_NE(text.find(piece), std::string::npos) << piece << "\n" << text;
}

// A file still being written: the writer keeps it open (in this process, and seen from
// another process through the command, which must get past the writer's file lock).
TEST_F(Tools, InfoOnFileOpenForWriting) {
  const std::string path = p("run.h5.partial");
  h5::File f = h5::File::create(path);
  f.set_attr("format", std::string("synfield-1"));
  f.set_attr("status", std::string("running"));
  f.set_attr("backend", std::string("cpu"));
  f.set_attr("precision", std::string("float64"));
  f.set_attr("config", std::string("[dynamics]\nsteps = 40\n"));
  h5::Series step(f, "/observables/step", H5T_NATIVE_INT64, {});
  h5::Series energy(f, "/observables/energy", H5T_NATIVE_DOUBLE, {});
  h5::Series snap_step(f, "/snapshots/step", H5T_NATIVE_INT64, {});
  h5::Series w(f, "/snapshots/fields/w", H5T_NATIVE_DOUBLE, {1, 4});
  auto observe = [&](std::int64_t s, double e) {
    step.append(&s);
    energy.append(&e);
    f.flush();
  };
  observe(0, 1.5);
  observe(10, 0.75);
  const std::int64_t s0 = 0;
  const double w0[4] = {1, 2, 3, 4};
  snap_step.append(&s0);
  w.append(w0);
  f.flush();

  std::string text = info(path);
  for (const std::string piece :
       {"status:      running  (still being written", "steps done:  10 of 40  (2 observations)", "  energy  0.75\n",
        "snapshots:   1  (step 0)", "/snapshots/fields/w  float64  [1, 1, 4]"})
    EXPECT_NE(text.find(piece), std::string::npos) << piece << "\n" << text;
  Result r = cli("info run.h5.partial");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("steps done:  10 of 40"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("opened:      read-only"), std::string::npos) << r.out;

  observe(20, 0.25);  // the next row is seen by both
  text = info(path);
  EXPECT_NE(text.find("steps done:  20 of 40  (3 observations)"), std::string::npos) << text;
  EXPECT_NE(text.find("  energy  0.25\n"), std::string::npos) << text;
  r = cli("info run.h5.partial");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("steps done:  20 of 40"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  energy  0.25\n"), std::string::npos) << r.out;
  // and compare reads it too, while it is open
  write_file(p("other.h5"), base());
  r = cli("compare run.h5.partial other.h5");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_NE(r.out.find("/observables/energy"), std::string::npos) << r.out;
}

// A writer in SWMR mode (HDF5's single-writer/multiple-reader): read in SWMR mode by the
// command (another process), and each appended row is seen.
TEST_F(Tools, InfoOnSwmrWriter) {
  const std::string path = p("swmr.h5");
  auto check = [](hid_t id) {
    EXPECT_GE(id, 0);
    return id;
  };
  h5::Handle fapl(check(H5Pcreate(H5P_FILE_ACCESS)), H5Pclose);
  H5Pset_libver_bounds(fapl.get(), H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  h5::Handle file(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.get())), H5Fclose);
  using Attr = std::pair<std::string, std::string>;
  for (const auto& [name, value] : {Attr{"format", "synfield-1"}, Attr{"status", "running"}}) {
    h5::Handle type(check(H5Tcopy(H5T_C_S1)), H5Tclose);
    H5Tset_size(type.get(), H5T_VARIABLE);
    h5::Handle space(check(H5Screate(H5S_SCALAR)), H5Sclose);
    h5::Handle a(check(H5Acreate2(file.get(), name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT)),
                 H5Aclose);
    const char* s = value.c_str();
    EXPECT_GE(H5Awrite(a.get(), type.get(), &s), 0);
  }
  h5::Handle lcpl(check(H5Pcreate(H5P_LINK_CREATE)), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  h5::Handle dcpl(check(H5Pcreate(H5P_DATASET_CREATE)), H5Pclose);
  const hsize_t chunk = 16, zero = 0, unlimited = H5S_UNLIMITED;
  H5Pset_chunk(dcpl.get(), 1, &chunk);
  h5::Handle space(check(H5Screate_simple(1, &zero, &unlimited)), H5Sclose);
  std::vector<h5::Handle> ds;
  for (const auto& [name, type] : {std::pair<const char*, hid_t>{"/observables/step", H5T_NATIVE_INT64},
                                   {"/observables/energy", H5T_NATIVE_DOUBLE}})
    ds.emplace_back(check(H5Dcreate2(file.get(), name, type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT)),
                    H5Dclose);
  ASSERT_GE(H5Fstart_swmr_write(file.get()), 0);
  hsize_t rows = 0;
  auto observe = [&](std::int64_t step, double energy) {
    const hsize_t n = rows + 1, one = 1;
    const void* values[2] = {&step, &energy};
    const hid_t types[2] = {H5T_NATIVE_INT64, H5T_NATIVE_DOUBLE};
    for (int k = 0; k < 2; ++k) {
      EXPECT_GE(H5Dset_extent(ds[k].get(), &n), 0);
      h5::Handle fs(check(H5Dget_space(ds[k].get())), H5Sclose);
      H5Sselect_hyperslab(fs.get(), H5S_SELECT_SET, &rows, nullptr, &one, nullptr);
      h5::Handle ms(check(H5Screate_simple(1, &one, nullptr)), H5Sclose);
      EXPECT_GE(H5Dwrite(ds[k].get(), types[k], ms.get(), fs.get(), H5P_DEFAULT, values[k]), 0);
      EXPECT_GE(H5Dflush(ds[k].get()), 0);
    }
    ++rows;
  };
  observe(0, 2.5);
  observe(5, 1.25);
  Result r = cli("info swmr.h5");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("opened:      read-only, SWMR"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("steps done:  5  (2 observations)"), std::string::npos) << r.out;
  observe(10, 0.625);
  r = cli("info swmr.h5");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("steps done:  10  (3 observations)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("  energy  0.625\n"), std::string::npos) << r.out;
}

TEST_F(Tools, InfoErrors) {
  // missing, with and without a .partial beside it
  std::string err = info(p("none.h5"), 2);
  EXPECT_NE(err.find(p("none.h5") + ": no such file"), std::string::npos) << err;
  write_file(p("run.h5.partial"), base());
  err = info(p("run.h5"), 2);
  EXPECT_NE(err.find(p("run.h5") + ": no such file (" + p("run.h5") + ".partial exists"), std::string::npos) << err;
  // not HDF5
  std::ofstream(p("text.h5")) << "just text, no HDF5 signature\n";
  err = info(p("text.h5"), 2);
  EXPECT_NE(err.find(p("text.h5") + ": not an HDF5 file"), std::string::npos) << err;
  // HDF5 but not synfield
  Content c = base();
  c.format = "";
  write_file(p("plain.h5"), c);
  err = info(p("plain.h5"), 2);
  EXPECT_NE(err.find(p("plain.h5") + ": not a synfield file"), std::string::npos) << err;
  c.format = "other-2";
  write_file(p("other.h5"), c);
  err = info(p("other.h5"), 2);
  EXPECT_NE(err.find(p("other.h5") + ": format \"other-2\", expected \"synfield-1\""), std::string::npos) << err;
  // a folder
  fs::create_directory(p("folder.h5"));
  err = info(p("folder.h5"), 2);
  EXPECT_NE(err.find("folder.h5: is a folder"), std::string::npos) << err;
  // the command: exit 2 and the message on stderr
  const Result r = cli("info text.h5");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(r.out.empty()) << r.out;
  EXPECT_NE(r.err.find("text.h5: not an HDF5 file"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace synfield
