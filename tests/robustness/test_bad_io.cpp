// The built `synfield` binary against bad files and a full disk. Truth: the command-line
// contract — a failure exits non-zero (2 for a bad input, which is a config error) with a
// message naming the file, is never ended by a signal (SIGXFSZ, SIGSEGV, an abort), and an
// earlier output at the same path stays byte for byte as it was and readable.
#include <gtest/gtest.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include "host/io/h5.h"
#include "test_util.h"

namespace synfield {
namespace {

namespace fs = std::filesystem;
using namespace test;

// A 1-D run whose per-site coefficient (coef.h5:/c) and initial state (init.h5:/w) are
// files; 16 sites, so the files are small.
const std::string kFiles = R"toml([lattice]
shape = [16]

[dynamics]
gamma = 0.1
dt = 0.01
steps = 10

[[potential]]
term = "mass"
field = "w"
coefficient = "coef.h5:/c"

[initial.w]
kind = "file"
path = "init.h5:/w"

[output]
file = "out.h5"
observe_every = 5
)toml";

// A perceptron on the data set train.h5 (/X [6, 4], /Y [6]).
const std::string kModel = R"toml([model]
data = "train.h5"

[dynamics]
equation = "gradient_flow"
dt = 0.01
steps = 10

[output]
file = "out.h5"
observe_every = 5
)toml";

std::vector<double> ramp(std::size_t n) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = 0.1 * static_cast<double>(i % 5) - 0.2;
  return v;
}

bool readable_output(const std::string& path) {
  try {
    h5::File f = h5::File::open_read(path);
    return !f.read("/observables/energy").empty();
  } catch (const std::exception&) {
    return false;
  }
}

// Ways to spoil an HDF5 file, each a function of its bytes.
struct Damage {
  std::string name;
  std::string (*apply)(const std::string& bytes);
};
const std::vector<Damage> kDamages = {
    {"empty", [](const std::string&) { return std::string(); }},
    {"signature only", [](const std::string& b) { return b.substr(0, 8); }},
    {"cut after the superblock", [](const std::string& b) { return b.substr(0, 96); }},
    {"cut in half", [](const std::string& b) { return b.substr(0, b.size() / 2); }},
    {"last byte missing", [](const std::string& b) { return b.substr(0, b.size() - 1); }},
    {"garbage after the signature",
     [](const std::string& b) { return b.substr(0, 8) + std::string(b.size() - 8, '\xa5'); }},
    {"metadata zeroed",
     [](const std::string& b) { return b.substr(0, 8) + std::string(std::min<std::size_t>(b.size(), 2048) - 8, '\0') +
                                       b.substr(std::min<std::size_t>(b.size(), 2048)); }},
    {"text", [](const std::string&) { return std::string("x,y\n1,2\n"); }},
};

class BadIo : public ::testing::Test {
 protected:
  CommandResult run(const std::string& args) { return run_exe(dir_.str(), SYNFIELD_EXE, args); }
  std::string path(const std::string& name) const { return dir_ / name; }

  // Checks a failed run: exit `status` (any non-zero when 0), not by a signal, `pieces` in
  // stderr, and out.h5 as `before`.
  void expect_failure(const CommandResult& r, int status, const std::vector<std::string>& pieces,
                      const std::string& before, const std::string& what) {
    SCOPED_TRACE(what);
    if (status != 0)
      EXPECT_EQ(r.status, status) << r.err;
    else
      EXPECT_NE(r.status, 0) << r.err;
    EXPECT_LT(r.status, 128) << "ended by signal " << r.status - 128 << " (" << strsignal(r.status - 128)
                             << "); stderr:\n" << r.err;
    EXPECT_TRUE(contains_all(r.err, pieces));
    if (!before.empty()) {
      EXPECT_EQ(read_bytes(path("out.h5")), before) << "the earlier output changed";
      EXPECT_TRUE(readable_output(path("out.h5")));
    }
  }

  // Runs `config` with good inputs (out.h5 appears), then with `file` spoiled each way:
  // each run fails naming the file, and out.h5 stays as it was.
  void check_damaged_input(const std::string& config, const std::string& file) {
    write_text(path("run.toml"), config);
    const CommandResult good = run("run run.toml -q");
    ASSERT_EQ(good.status, 0) << good.err;
    const std::string before = read_bytes(path("out.h5"));
    ASSERT_FALSE(before.empty());
    ASSERT_TRUE(readable_output(path("out.h5")));
    const std::string original = read_bytes(path(file));
    for (const Damage& d : kDamages) {
      write_text(path(file), d.apply(original));
      expect_failure(run("run run.toml -q"), 2, {"synfield: config error", path(file)}, before,
                     file + " " + d.name);
      EXPECT_FALSE(fs::exists(path("out.h5.partial"))) << file << " " << d.name;
    }
    write_text(path(file), original);
  }

  void write_inputs() {
    write_h5(path("coef.h5"), "/c", ramp(16), {16});
    write_h5(path("init.h5"), "/w", ramp(16), {16});
    h5::File f = h5::File::create(path("train.h5"));
    f.write("/X", ramp(24), {6, 4});
    f.write("/Y", ramp(6), {6});
    f.close();
  }

  TempDir dir_;
};

TEST_F(BadIo, DamagedCoefficientFile) {
  write_inputs();
  check_damaged_input(kFiles, "coef.h5");
}

TEST_F(BadIo, DamagedInitialFile) {
  write_inputs();
  check_damaged_input(kFiles, "init.h5");
}

TEST_F(BadIo, DamagedModelData) {
  write_inputs();
  check_damaged_input(kModel, "train.h5");
}

TEST_F(BadIo, OutputPathCannotBeCreated) {
  write_inputs();
  write_text(path("run.toml"), kFiles);
  write_text(path("plain"), "a regular file, not a folder\n");
  // a folder that does not exist; a "folder" that is a regular file (fails for root too);
  // a system file's path as a folder
  for (const std::string out : {path("absent/dir/x.h5"), path("plain/x.h5"), std::string("/etc/passwd/x.h5")}) {
    const CommandResult r = run("run run.toml -q -o '" + out + "'");
    expect_failure(r, 0, {out}, "", out);
    EXPECT_FALSE(fs::exists(out + ".partial"));
  }
  // a folder whose permissions forbid writing (root ignores them: checked for other users)
  if (geteuid() != 0) {
    fs::create_directory(path("ro"));
    fs::permissions(path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
    const CommandResult r = run("run run.toml -q -o ro/x.h5");
    fs::permissions(path("ro"), fs::perms::owner_all);
    expect_failure(r, 0, {"ro/x.h5"}, "", "read-only folder");
  }
  EXPECT_EQ(read_bytes(path("plain")), "a regular file, not a folder\n");
}

// A run whose output outgrows the file size limit (ulimit -f, as on a full disk): a clear
// error naming the output file, not death by SIGXFSZ (main() must ignore it so that the
// write fails with EFBIG instead) nor a crash afterwards; the earlier out.h5 is untouched.
TEST_F(BadIo, DiskFull) {
  write_inputs();
  // 64 × 64 sites: each snapshot of w and π is 64 KiB, 300 of them ≈ 19 MiB ≫ the limit
  const std::string big = R"toml([lattice]
shape = [64, 64]

[dynamics]
gamma = 0.1
dt = 0.01
steps = 300

[[potential]]
term = "mass"
field = "w"
coefficient = 1.0

[initial.w]
kind = "gaussian"
std = 0.5

[output]
file = "out.h5"
observe_every = 1
snapshot_every = 1
)toml";
  write_text(path("run.toml"), big);
  CommandResult r = run("run run.toml -q --set dynamics.steps=2");
  ASSERT_EQ(r.status, 0) << r.err;
  const std::string before = read_bytes(path("out.h5"));
  ASSERT_TRUE(readable_output(path("out.h5")));
  // `synfield ARGS` under a 2 MiB file size limit (bash's ulimit -f counts KiB)
  const auto limited = [](const std::string& args) {
    return "bash -c \"ulimit -f 2048 && OMP_NUM_THREADS=1 exec '" SYNFIELD_EXE "' " + args + "\"";
  };
  r = run_command(dir_.str(), limited("run run.toml -q"));
  expect_failure(r, 0, {"out.h5"}, before, "ulimit -f 2048");
  // the same through -o to another name: that name is the one reported
  r = run_command(dir_.str(), limited("run run.toml -q -o other.h5"));
  expect_failure(r, 0, {"other.h5"}, before, "ulimit -f 2048, -o other.h5");
  EXPECT_FALSE(fs::exists(path("other.h5"))) << "an incomplete output took the final name";
}

}  // namespace
}  // namespace synfield
