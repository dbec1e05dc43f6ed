// The built `synfield` binary, run in a fresh folder. Truth: the command-line contract —
// bad input exits non-zero with a message naming the key and value and leaves no output
// (and an earlier output byte for byte as it was); a good run exits 0 and writes the exact
// HDF5 layout of format "synfield-1":
//   /                      attrs format, version, config, backend, precision, status
//   /observables/step, time, kinetic, potential, energy, dissipated      [S_obs]
//   /snapshots/step, time                                                [S]
//   /snapshots/fields/<field>, /snapshots/velocities/<field>             [S, B, *shape]
#include <gtest/gtest.h>
#include <hdf5.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <synfield/config.h>
#include <synfield/solver.h>

#include "test_util.h"

namespace synfield {
namespace {

namespace fs = std::filesystem;
using test::contains_all;
using test::edit;
using test::read_bytes;
using test::write_text;

// 2-D [6, 4] lattice, two fields, two replicas; 20 steps observed every 5 (5 rows) and
// snapshotted every 10 (steps 0, 10, 20: 3 rows).
const std::string kGood = R"toml([lattice]
shape = [6, 4]
spacing = 0.5
boundary = "periodic"
fields = ["w1", "w2"]
replicas = 2

[dynamics]
gamma = 0.1
dt = 0.01
steps = 20
precision = "float64"

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
kind = "constant"
value = 0.3
velocity = { kind = "constant", value = -0.2 }

[output]
file = "out.h5"
observe_every = 5
snapshot_every = 10
)toml";

using Result = test::CommandResult;

class Cli : public ::testing::Test {
 protected:
  // Runs `synfield ARGS` in the temp folder; ARGS is shell text.
  Result run(const std::string& args) { return test::run_exe(dir_.str(), SYNFIELD_EXE, args, 2); }
  Result run_python(const std::string& script) { return test::run_command(dir_.str(), "python3 '" + script + "'"); }
  std::string path(const std::string& name) const { return dir_ / name; }
  bool exists(const std::string& name) const { return fs::exists(dir_.path() / name); }
  // The names in the folder, sorted, to show that nothing else was written.
  std::vector<std::string> listing() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_.path())) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

  test::TempDir dir_;
};

// --- reading the output with the HDF5 C API ----------------------------------------------

class H5Reader {
 public:
  explicit H5Reader(const std::string& path) : f_(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) {}
  ~H5Reader() {
    if (f_ >= 0) H5Fclose(f_);
  }
  bool ok() const { return f_ >= 0; }

  // A root attribute stored as a variable-length UTF-8 string (what h5py reads as str).
  std::string attr(const std::string& name) const {
    const hid_t a = H5Aopen(f_, name.c_str(), H5P_DEFAULT);
    if (a < 0) {
      ADD_FAILURE() << "no root attribute " << name;
      return "";
    }
    const hid_t ft = H5Aget_type(a);
    EXPECT_EQ(H5Tget_class(ft), H5T_STRING) << name;
    EXPECT_GT(H5Tis_variable_str(ft), 0) << name;
    EXPECT_EQ(H5Tget_cset(ft), H5T_CSET_UTF8) << name;
    const hid_t space = H5Aget_space(a);
    EXPECT_EQ(H5Sget_simple_extent_type(space), H5S_SCALAR) << name;
    H5Sclose(space);
    const hid_t mt = H5Tcopy(H5T_C_S1);
    H5Tset_size(mt, H5T_VARIABLE);
    H5Tset_cset(mt, H5T_CSET_UTF8);
    char* s = nullptr;
    std::string out;
    if (H5Aread(a, mt, &s) >= 0 && s) out = s;
    H5free_memory(s);
    H5Tclose(mt);
    H5Tclose(ft);
    H5Aclose(a);
    return out;
  }

  bool has(const std::string& object) const {
    std::size_t pos = 0;
    while ((pos = object.find('/', pos + 1)) != std::string::npos)
      if (H5Lexists(f_, object.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return false;
    return H5Lexists(f_, object.c_str(), H5P_DEFAULT) > 0;
  }

  std::vector<hsize_t> shape(const std::string& dataset) const {
    const hid_t d = H5Dopen2(f_, dataset.c_str(), H5P_DEFAULT);
    if (d < 0) {
      ADD_FAILURE() << "no dataset " << dataset;
      return {};
    }
    const hid_t space = H5Dget_space(d);
    std::vector<hsize_t> dims(static_cast<std::size_t>(H5Sget_simple_extent_ndims(space)));
    H5Sget_simple_extent_dims(space, dims.data(), nullptr);
    H5Sclose(space);
    H5Dclose(d);
    return dims;
  }

  // The stored element type: 'f' (float32), 'd' (float64), 'l' (int64), '?' otherwise.
  char type(const std::string& dataset) const {
    const hid_t d = H5Dopen2(f_, dataset.c_str(), H5P_DEFAULT);
    if (d < 0) return '?';
    const hid_t t = H5Dget_type(d);
    char c = '?';
    if (H5Tequal(t, H5T_IEEE_F32LE) > 0) c = 'f';
    if (H5Tequal(t, H5T_IEEE_F64LE) > 0) c = 'd';
    if (H5Tequal(t, H5T_STD_I64LE) > 0) c = 'l';
    H5Tclose(t);
    H5Dclose(d);
    return c;
  }

  std::vector<double> read(const std::string& dataset) const {
    std::vector<double> out;
    const hid_t d = H5Dopen2(f_, dataset.c_str(), H5P_DEFAULT);
    if (d < 0) return out;
    std::size_t n = 1;
    for (hsize_t k : shape(dataset)) n *= k;
    out.resize(n);
    if (H5Dread(d, H5T_NATIVE_DOUBLE, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.data()) < 0) out.clear();
    H5Dclose(d);
    return out;
  }

 private:
  hid_t f_;
};

using Shape = std::vector<hsize_t>;

// --- good runs ----------------------------------------------------------------------------

TEST_F(Cli, VersionListsBackends) {
  const Result r = run("--version");
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains_all(r.out, {"synfield " SYNFIELD_VERSION, "backends compiled in", "cpu", "cpu:  usable"}));
  if (cuda_compiled()) EXPECT_TRUE(contains_all(r.out, {"cuda"}));
}

TEST_F(Cli, GoodRunWritesTheExactLayout) {
  write_text(path("run.toml"), kGood);
  const Result r = run("run run.toml --backend cpu");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(contains_all(r.err, {"out.h5"}));
  // the output (and the XDMF side file of this 2-D run) and nothing else: no partial file
  EXPECT_EQ(listing(), (std::vector<std::string>{"out.h5", "out.xmf", "run.toml"}));

  H5Reader h(path("out.h5"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.attr("format"), "synfield-1");
  EXPECT_EQ(h.attr("version"), SYNFIELD_VERSION);
  EXPECT_EQ(h.attr("backend"), "cpu");
  EXPECT_EQ(h.attr("precision"), "float64");
  EXPECT_EQ(h.attr("status"), "complete");
  // config: the resolved TOML, which parses to the run's Problem
  const std::string config = h.attr("config");
  const Problem stored = parse_config(config);
  const Problem original = parse_config(kGood);
  EXPECT_EQ(stored.config_text, original.config_text);
  EXPECT_EQ(stored.dynamics.steps, 20);
  EXPECT_EQ(stored.lattice.replicas, 2);

  const int S_obs = 5, S = 3, B = 2;
  for (const char* name : {"step", "time", "kinetic", "potential", "energy", "dissipated"}) {
    SCOPED_TRACE(name);
    EXPECT_EQ(h.shape(std::string("/observables/") + name), Shape{S_obs});
  }
  EXPECT_EQ(h.type("/observables/step"), 'l');
  EXPECT_EQ(h.type("/observables/energy"), 'd');
  EXPECT_EQ(h.read("/observables/step"), (std::vector<double>{0, 5, 10, 15, 20}));
  const std::vector<double> t = h.read("/observables/time");
  ASSERT_EQ(t.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_NEAR(t[i], 0.05 * i, 1e-12);
  // E = K + V in every row
  const auto K = h.read("/observables/kinetic"), V = h.read("/observables/potential"),
             E = h.read("/observables/energy");
  for (int i = 0; i < S_obs; ++i) EXPECT_DOUBLE_EQ(E[i], K[i] + V[i]);

  EXPECT_EQ(h.shape("/snapshots/step"), Shape{S});
  EXPECT_EQ(h.shape("/snapshots/time"), Shape{S});
  EXPECT_EQ(h.read("/snapshots/step"), (std::vector<double>{0, 10, 20}));
  for (const char* group : {"fields", "velocities"})
    for (const char* f : {"w1", "w2"}) {
      const std::string ds = std::string("/snapshots/") + group + "/" + f;
      SCOPED_TRACE(ds);
      EXPECT_EQ(h.shape(ds), (Shape{static_cast<hsize_t>(S), static_cast<hsize_t>(B), 6, 4}));
      EXPECT_EQ(h.type(ds), 'd');
    }
  // the axis order is [S, B, x0, x1]: w1(x) = 0.5 cos(2π x0 / 6) at step 0, in each replica
  const std::vector<double> w1 = h.read("/snapshots/fields/w1");
  const std::vector<double> v2 = h.read("/snapshots/velocities/w2");
  ASSERT_EQ(w1.size(), static_cast<std::size_t>(S * B * 24));
  for (int b = 0; b < B; ++b)
    for (int x0 = 0; x0 < 6; ++x0)
      for (int x1 = 0; x1 < 4; ++x1) {
        const std::size_t i = static_cast<std::size_t>((b * 6 + x0) * 4 + x1);  // row 0
        EXPECT_NEAR(w1[i], 0.5 * std::cos(2 * std::acos(-1.0) * x0 / 6), 1e-14) << b << " " << x0 << " " << x1;
        EXPECT_EQ(v2[i], -0.2);
      }
  // nothing else at the root but the two groups
  EXPECT_TRUE(h.has("/observables") && h.has("/snapshots"));
  EXPECT_FALSE(h.has("/snapshots/fields/w3"));
}

// The same layout as h5py sees it (skipped where python3 has no h5py).
TEST_F(Cli, ReadableWithH5py) {
  if (std::system("python3 -c 'import h5py' >/dev/null 2>&1") != 0) GTEST_SKIP() << "python3 with h5py not found";
  write_text(path("run.toml"), kGood);
  ASSERT_EQ(run("run run.toml -q").status, 0);
  write_text(path("check.py"), R"py(import h5py
f = h5py.File("out.h5", "r")
a = f.attrs
assert a["format"] == "synfield-1", a["format"]
assert a["status"] == "complete", a["status"]
assert a["backend"] == "cpu" and a["precision"] == "float64"
assert isinstance(a["config"], str) and "[lattice]" in a["config"]
assert isinstance(a["version"], str)
for k in ("step", "time", "kinetic", "potential", "energy", "dissipated"):
    assert f["observables/" + k].shape == (5,), (k, f["observables/" + k].shape)
assert list(f["observables/step"][:]) == [0, 5, 10, 15, 20]
assert f["snapshots/step"].shape == (3,) and f["snapshots/time"].shape == (3,)
for g in ("fields", "velocities"):
    for n in ("w1", "w2"):
        assert f["snapshots/%s/%s" % (g, n)].shape == (3, 2, 6, 4)
print("h5py ok")
)py");
  const Result r = run_python("check.py");
  EXPECT_EQ(r.status, 0) << r.out << r.err;
  EXPECT_TRUE(contains_all(r.out, {"h5py ok"}));
}

TEST_F(Cli, Float32RunStoresFloat32Snapshots) {
  write_text(path("run.toml"), kGood);
  const Result r = run("run run.toml -o f32.h5 --set dynamics.precision=float32 --set output.snapshot_every=0 -q");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err, "");  // -q: nothing but errors
  H5Reader h(path("f32.h5"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.attr("precision"), "float32");
  EXPECT_EQ(h.type("/snapshots/fields/w1"), 'f');
  EXPECT_EQ(h.type("/observables/energy"), 'd');
  // snapshot_every = 0: the first and last state
  EXPECT_EQ(h.shape("/snapshots/velocities/w2"), (Shape{2, 2, 6, 4}));
  EXPECT_FALSE(exists("out.h5"));  // -o wins over [output].file
  // and the stored config says so
  EXPECT_TRUE(contains_all(h.attr("config"), {"file = \"f32.h5\"\n", "precision = \"float32\"\n"}));
}

TEST_F(Cli, OutputNameWithOddCharacters) {
  write_text(path("run.toml"), kGood);
  const std::string name = "odd \"name\" \\ 1.h5";  // odd "name" \ 1.h5
  const Result r = run("run run.toml -q -o 'odd \"name\" \\ 1.h5'");
  ASSERT_EQ(r.status, 0) << r.err;
  ASSERT_TRUE(exists(name));
  H5Reader h(path(name));
  EXPECT_EQ(parse_config(h.attr("config")).output.file, name);
}

TEST_F(Cli, OverridesMayComeBeforeTheConfig) {
  write_text(path("run.toml"), kGood);
  const Result r = run("run --set dynamics.steps=5 --set output.observe_every=1 run.toml -q");
  ASSERT_EQ(r.status, 0) << r.err;
  H5Reader h(path("out.h5"));
  EXPECT_EQ(h.shape("/observables/energy"), Shape{6});
  EXPECT_TRUE(contains_all(h.attr("config"), {"steps = 5\n", "observe_every = 1\n"}));
}

// --- bad input ------------------------------------------------------------------------------

struct BadCase {
  std::string name;
  std::string config;  // the config file's text
  std::string sets;    // extra command-line text
  std::vector<std::string> pieces;
};

std::vector<BadCase> bad_cases() {
  return {
      {"dt_negative", edit(kGood, "dt = 0.01", "dt = -0.1"), "", {"[dynamics].dt = -0.1: must be > 0"}},
      {"dt_zero_set", kGood, "--set dynamics.dt=0", {"[dynamics].dt = 0: must be > 0"}},
      {"steps_negative", kGood, "--set dynamics.steps=-3", {"[dynamics].steps = -3: must be >= 0"}},
      {"unknown_key", edit(kGood, "gamma = 0.1", "gamma = 0.1\ngamm = 0.2"), "", {"[dynamics].gamm = 0.2", "unknown key"}},
      {"wrong_type", edit(kGood, "steps = 20", "steps = \"20\""), "", {"[dynamics].steps = \"20\"", "integer"}},
      {"unknown_field", kGood, "--set potential.0.field=u", {"[potential[0]].field = \"u\"", "unknown field"}},
      {"coefficient_shape", kGood, "--set potential.1.coefficient=coef.h5:/c",
       {"[potential[1]].coefficient = \"coef.h5:/c\"", "shape [4, 6]", "needs [6, 4]"}},
      {"coefficient_missing", kGood, "--set potential.1.coefficient=nope.h5:/c",
       {"[potential[1]].coefficient = \"nope.h5:/c\"", "nope.h5"}},
      {"initial_shape", kGood, "--set initial.w1.kind=file --set initial.w1.path=coef.h5:/c",
       {"[initial.w1].path", "coef.h5:/c", "shape [4, 6]"}},
      {"unknown_initial", kGood + "[initial.w3]\nkind = \"zero\"\n", "", {"[initial].w3", "unknown field \"w3\""}},
      {"bad_set", kGood, "--set dynamics.dt", {"--set dynamics.dt", "key=value"}},
      {"toml_syntax", kGood + "[lattice\n", "", {"TOML syntax error at line"}},
  };
}

TEST_F(Cli, BadConfigsFailWithoutOutput) {
  // a transposed array: [4, 6] on a [6, 4] lattice
  test::write_h5(path("coef.h5"), "/c", std::vector<double>(24, 1.0), {4, 6});
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    write_text(path("bad.toml"), c.config);
    const Result r = run("run bad.toml " + c.sets);
    EXPECT_NE(r.status, 0);
    EXPECT_EQ(r.status, 2) << "config errors exit with status 2";
    EXPECT_TRUE(contains_all(r.err, c.pieces));
    EXPECT_TRUE(contains_all(r.err, {"synfield: config error: bad.toml: "}));
    EXPECT_EQ(listing(), (std::vector<std::string>{"bad.toml", "coef.h5"})) << "no output, no partial file";
  }
}

TEST_F(Cli, BadConfigLeavesAnEarlierOutputIntact) {
  write_text(path("run.toml"), kGood);
  ASSERT_EQ(run("run run.toml -q").status, 0);
  ASSERT_TRUE(exists("out.h5"));
  const std::string before = read_bytes(path("out.h5"));
  const auto mtime = fs::last_write_time(path("out.h5"));
  test::write_h5(path("coef.h5"), "/c", std::vector<double>(24, 1.0), {4, 6});
  for (const BadCase& c : bad_cases()) {
    SCOPED_TRACE(c.name);
    write_text(path("bad.toml"), c.config);
    // through [output].file and through -o
    for (const std::string& extra : {std::string(""), std::string(" -o out.h5")}) {
      const Result r = run("run bad.toml " + c.sets + extra);
      EXPECT_EQ(r.status, 2);
      EXPECT_TRUE(contains_all(r.err, c.pieces));
      EXPECT_EQ(read_bytes(path("out.h5")), before) << "the earlier output changed";
      EXPECT_EQ(fs::last_write_time(path("out.h5")), mtime);
      EXPECT_FALSE(exists("out.h5.partial"));
    }
  }
  H5Reader h(path("out.h5"));
  EXPECT_EQ(h.attr("status"), "complete");
}

TEST_F(Cli, FailedRunKeepsTheEarlierOutputAndMarksItsOwn) {
  write_text(path("run.toml"), kGood);
  ASSERT_EQ(run("run run.toml -q").status, 0);
  const std::string before = read_bytes(path("out.h5"));
  // leapfrog with ω dt = 1000 ≫ 2 grows ~10⁶ per step: the energy overflows within ~60 steps
  const Result r = run("run run.toml -q --set potential.0.coefficient=1e6 --set dynamics.dt=1.0 "
                       "--set dynamics.steps=400 --set output.observe_every=50");
  EXPECT_EQ(r.status, 3);  // a blow-up (host/run/run.h)
  EXPECT_TRUE(contains_all(r.err, {"blow-up", "out.h5.partial", "out.h5 left as it was"}));
  EXPECT_EQ(read_bytes(path("out.h5")), before);
  // the failed run's own file is kept beside it, marked as failed
  ASSERT_TRUE(exists("out.h5.partial"));
  H5Reader h(path("out.h5.partial"));
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h.attr("status").rfind("failed: blow-up", 0), 0u) << h.attr("status");
}

TEST_F(Cli, UnwritableOutputPath) {
  write_text(path("run.toml"), kGood);
  Result r = run("run run.toml -o /nonexistent/dir/out.h5");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains_all(r.err, {"output file /nonexistent/dir/out.h5", "folder /nonexistent/dir does not exist"}));
  EXPECT_EQ(r.err.find("backend"), std::string::npos) << "fails before setting up: " << r.err;
  // a folder where the file should go
  fs::create_directory(path("taken.h5"));
  r = run("run run.toml -o taken.h5");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains_all(r.err, {"output file taken.h5", "folder"}));
  // through [output].file as well
  r = run("run run.toml --set output.file=/nonexistent/out.h5");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains_all(r.err, {"/nonexistent/out.h5", "does not exist"}));
  // a read-only folder (root may write anywhere, so only checked for other users)
  if (geteuid() != 0) {
    fs::create_directory(path("ro"));
    fs::permissions(path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
    r = run("run run.toml -o ro/out.h5");
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains_all(r.err, {"ro/out.h5", "Permission denied"}));
    fs::permissions(path("ro"), fs::perms::owner_all);
  }
  EXPECT_EQ(listing(), (std::vector<std::string>{"run.toml", "taken.h5"}));
}

TEST_F(Cli, OutputMayNotBeTheConfig) {
  write_text(path("run.toml"), kGood);
  const Result r = run("run run.toml -o run.toml");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains_all(r.err, {"run.toml", "config file"}));
  EXPECT_EQ(read_bytes(path("run.toml")), kGood);
}

TEST_F(Cli, MissingConfigAndUsageErrors) {
  Result r = run("run absent.toml");
  EXPECT_NE(r.status, 0);
  EXPECT_TRUE(contains_all(r.err, {"absent.toml", "cannot read"}));
  r = run("run");
  EXPECT_NE(r.status, 0);
  write_text(path("run.toml"), kGood);
  r = run("run run.toml --threads 0");
  EXPECT_NE(r.status, 0);
  r = run("run run.toml --backend gpu");
  EXPECT_NE(r.status, 0);
  if (!cuda_compiled() || cuda_device_count() == 0) {
    r = run("run run.toml --backend cuda");
    EXPECT_NE(r.status, 0);
    EXPECT_TRUE(contains_all(r.err, {"--backend cuda"}));
  }
  EXPECT_EQ(listing(), std::vector<std::string>{"run.toml"});
}

}  // namespace
}  // namespace synfield
