// Signals, checkpoints, resume and the blow-up check of the built `synfield run` (host/run/run.h).
// Truth: an uninterrupted run of the same config, backend, precision and thread count —
// the interrupted and resumed run's file must hold the same datasets byte for byte; the
// exit statuses and messages of the documented contract; and the files left behind.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "common/test_util.h"
#include "host/io/checkpoint.h"
#include "host/run/stability.h"

namespace synfield {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// ---- processes ------------------------------------------------------------------------

// `synfield ARGS...` started in `dir` on one OpenMP thread, stdout and stderr to `log`.
pid_t spawn(const std::string& dir, const std::vector<std::string>& args, const std::string& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(126);
    setenv("OMP_NUM_THREADS", "1", 1);
    const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
    }
    std::vector<char*> argv{const_cast<char*>(SYNFIELD_EXE)};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(SYNFIELD_EXE, argv.data());
    _exit(127);
  }
  return pid;
}

int wait_status(pid_t pid) {
  int st = 0;
  if (waitpid(pid, &st, 0) != pid) return -1;
  return test::exit_status(st);
}

// ---- files ----------------------------------------------------------------------------

// Every dataset of an HDF5 file: its name → its type's class and size, shape and raw bytes.
struct Dataset {
  std::vector<hsize_t> shape;
  std::size_t type_size = 0;
  std::string bytes;
};

herr_t collect(hid_t obj, const char* name, const H5O_info_t* info, void* data) {
  if (info->type != H5O_TYPE_DATASET) return 0;
  auto& out = *static_cast<std::map<std::string, Dataset>*>(data);
  const hid_t ds = H5Dopen2(obj, name, H5P_DEFAULT);
  const hid_t ft = H5Dget_type(ds);
  const hid_t mt = H5Tget_native_type(ft, H5T_DIR_ASCEND);
  const hid_t sp = H5Dget_space(ds);
  Dataset d;
  d.shape.resize(H5Sget_simple_extent_ndims(sp));
  H5Sget_simple_extent_dims(sp, d.shape.data(), nullptr);
  d.type_size = H5Tget_size(mt);
  std::size_t n = 1;
  for (hsize_t x : d.shape) n *= x;
  d.bytes.resize(n * d.type_size);
  if (n > 0) H5Dread(ds, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, d.bytes.data());
  out[name] = std::move(d);
  H5Sclose(sp);
  H5Tclose(mt);
  H5Tclose(ft);
  H5Dclose(ds);
  return 0;
}

std::map<std::string, Dataset> datasets(const std::string& path) {
  std::map<std::string, Dataset> out;
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) {
    ADD_FAILURE() << "cannot open " << path;
    return out;
  }
#if H5_VERSION_GE(1, 12, 0)
  H5Ovisit(f, H5_INDEX_NAME, H5_ITER_NATIVE, collect, &out, H5O_INFO_BASIC);
#else
  H5Ovisit(f, H5_INDEX_NAME, H5_ITER_NATIVE, collect, &out);
#endif
  H5Fclose(f);
  return out;
}

// Every dataset of `a` and `b` is present in both with the same shape and the same bytes.
::testing::AssertionResult identical_files(const std::string& a, const std::string& b) {
  const auto da = datasets(a), db = datasets(b);
  if (da.empty()) return ::testing::AssertionFailure() << a << " holds no datasets";
  for (const auto& [name, x] : da) {
    const auto it = db.find(name);
    if (it == db.end()) return ::testing::AssertionFailure() << name << " only in " << a;
    if (x.shape != it->second.shape) {
      auto s = [](const std::vector<hsize_t>& v) {
        std::string t;
        for (hsize_t e : v) t += std::to_string(e) + " ";
        return t;
      };
      return ::testing::AssertionFailure() << name << ": shape [" << s(x.shape) << "] vs [" << s(it->second.shape)
                                           << "]";
    }
    if (x.bytes != it->second.bytes) {
      std::size_t i = 0;
      while (x.bytes[i] == it->second.bytes[i]) ++i;
      return ::testing::AssertionFailure() << name << ": bytes differ (first at element " << i / x.type_size << ")";
    }
  }
  for (const auto& [name, x] : db)
    if (!da.count(name)) return ::testing::AssertionFailure() << name << " only in " << b;
  return ::testing::AssertionSuccess() << da.size() << " datasets identical";
}

std::string status_of(const std::string& path) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (f < 0) return "(cannot open " + path + ")";
  std::string s;
  const hid_t a = H5Aopen(f, "status", H5P_DEFAULT);
  if (a >= 0) {
    const hid_t t = H5Aget_type(a);
    if (H5Tis_variable_str(t) > 0) {
      char* p = nullptr;
      const hid_t mt = H5Tget_native_type(t, H5T_DIR_ASCEND);
      if (H5Aread(a, mt, &p) >= 0 && p) s = p;
      H5free_memory(p);
      H5Tclose(mt);
    } else {
      s.resize(H5Tget_size(t));
      H5Aread(a, t, s.data());
      s.resize(std::strlen(s.c_str()));
    }
    H5Tclose(t);
    H5Aclose(a);
  }
  H5Fclose(f);
  return s;
}

// The last row of a dataset [S, ...] as doubles.
std::vector<double> last_row(const std::string& path, const std::string& name) {
  const hid_t f = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const hid_t ds = H5Dopen2(f, name.c_str(), H5P_DEFAULT);
  const hid_t sp = H5Dget_space(ds);
  std::vector<hsize_t> dims(H5Sget_simple_extent_ndims(sp));
  H5Sget_simple_extent_dims(sp, dims.data(), nullptr);
  std::vector<hsize_t> start(dims.size(), 0), count = dims;
  start[0] = dims[0] - 1;
  count[0] = 1;
  H5Sselect_hyperslab(sp, H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
  hsize_t n = 1;
  for (std::size_t i = 1; i < dims.size(); ++i) n *= dims[i];
  const hid_t mem = H5Screate_simple(1, &n, nullptr);
  std::vector<double> v(n);
  H5Dread(ds, H5T_NATIVE_DOUBLE, mem, sp, H5P_DEFAULT, v.data());
  H5Sclose(mem);
  H5Sclose(sp);
  H5Dclose(ds);
  H5Fclose(f);
  return v;
}

// ---- configs --------------------------------------------------------------------------

// Damped, nonlinear (quartic), two replicas, odd cadences so chunks are irregular.
std::string damped_config(const std::string& file, std::int64_t steps) {
  return R"toml([lattice]
shape = [256]
spacing = 0.1
replicas = 2
[dynamics]
gamma = 0.05
integrator = "leapfrog"
dt = 0.01
steps = )toml" + std::to_string(steps) +
         R"toml(
precision = "float64"
[[potential]]
term = "mass"
field = "w"
coefficient = 1.0
[[potential]]
term = "gradient"
field = "w"
coefficient = 1.0
[[potential]]
term = "power"
field = "w"
exponent = 4
coefficient = 0.5
[initial.w]
kind = "gaussian"
std = 0.5
seed = 3
velocity = { kind = "gaussian", std = 0.2, seed = 4 }
[output]
file = ")toml" + file + R"toml("
observe_every = 7
snapshot_every = 45
checkpoint_every = 100
)toml";
}

// A perceptron with biases, minibatches per replica stream and test data, in fp32, its dt
// at half the estimated limit.
std::string model_config(const std::string& file, std::int64_t steps, const std::string& equation,
                         const std::string& integrator, const std::string& precision, double dt) {
  return R"toml([lattice]
shape = [48]
replicas = 2
units = "network"
[model]
kind = "perceptron"
bias = true
minibatch = 7
seed = 11
replica_data = "streams"
[data]
generator = "smooth"
samples = 40
test_samples = 6
correlation = 0.2
noise = 0.01
seed = 2
[[potential]]
term = "gradient"
field = "w"
coefficient = 0.5
[dynamics]
equation = ")toml" + equation + R"toml("
)toml" + (equation == "damped" ? "gamma = 2.0\n" : "eta = 1.0\n") +
         "integrator = \"" + integrator + "\"\ndt = " + test::num(dt) + "\nsteps = " + std::to_string(steps) +
         "\nprecision = \"" + precision + R"toml("
[initial.w]
kind = "gaussian"
std = 0.1
seed = 9
[output]
file = ")toml" + file + R"toml("
observe_every = 5
snapshot_every = 40
checkpoint_every = 60
)toml";
}

// Half the estimated stable dt of a model config (whose dt is a placeholder).
double half_stable_dt(const std::string& text) {
  const Problem p = test::parse_test_config(text);
  auto s = make_solver(p, Backend::cpu);
  return 0.5 * estimate_stability(*s, p).dt_max;
}

class Resume : public ::testing::Test {
 protected:
  test::CommandResult run(const std::string& args) { return test::run_exe(dir_.str(), SYNFIELD_EXE, args, 1); }
  std::string path(const std::string& name) const { return dir_ / name; }
  bool exists(const std::string& name) const { return fs::exists(dir_.path() / name); }

  // The interrupt of OUT's run; returns the exit status, the log in `log`.
  int interrupt(const std::string& toml, const std::string& ckpt, int sig, std::chrono::milliseconds after,
                std::string& log) {
    const std::string log_path = path(toml + ".log");
    const pid_t pid = spawn(dir_.str(), {"run", toml}, log_path);
    const auto t0 = std::chrono::steady_clock::now();
    while (!exists(ckpt) && std::chrono::steady_clock::now() - t0 < 60s) {
      int st = 0;
      if (waitpid(pid, &st, WNOHANG) == pid) {  // ended before its first checkpoint
        log = test::read_bytes(log_path);
        return -2;
      }
      std::this_thread::sleep_for(2ms);
    }
    std::this_thread::sleep_for(after);
    kill(pid, sig);
    const int status = wait_status(pid);
    log = test::read_bytes(log_path);
    return status;
  }

  test::TempDir dir_;
};

// The interrupted run's own steps: it must have stopped strictly inside the run.
std::int64_t interrupted_step(const std::string& status) {
  const auto pos = status.find("interrupted at step ");
  return pos == std::string::npos ? -1 : std::stoll(status.substr(pos + 20));
}

TEST_F(Resume, SigtermThenResumeIsBitIdenticalDampedFp64) {
  const std::int64_t steps = 25000;
  test::write_text(path("ref.toml"), damped_config("ref.h5", steps));
  test::write_text(path("int.toml"), damped_config("int.h5", steps));
  ASSERT_EQ(run("run ref.toml -q").status, 0);
  ASSERT_TRUE(exists("ref.h5"));
  EXPECT_FALSE(exists("ref.ckpt.h5")) << "a complete run removes its checkpoint";

  std::string log;
  const int status = interrupt("int.toml", "int.ckpt.h5", SIGTERM, 20ms, log);
  ASSERT_EQ(status, 4) << log;
  EXPECT_TRUE(test::contains_all(log, {"SIGTERM", "stopped at step", "int.ckpt.h5", "resume with"})) << log;
  ASSERT_TRUE(exists("int.h5.partial"));
  EXPECT_FALSE(exists("int.h5"));
  EXPECT_FALSE(exists("int.ckpt.h5.tmp"));
  const std::string st = status_of(path("int.h5.partial"));
  const std::int64_t stop = interrupted_step(st);
  EXPECT_GT(stop, 0) << st;
  EXPECT_LT(stop, steps) << "the run ended before the signal: make it longer";
  const Checkpoint c = read_checkpoint(path("int.ckpt.h5"));
  EXPECT_EQ(c.step, stop);
  EXPECT_EQ(c.threads, 1);
  EXPECT_EQ(c.precision, Precision::float64);

  const test::CommandResult r = run("run --resume int.ckpt.h5");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(test::contains_all(r.err, {"resuming from int.ckpt.h5 at step " + std::to_string(stop)}));
  ASSERT_TRUE(exists("int.h5"));
  EXPECT_FALSE(exists("int.h5.partial"));
  EXPECT_FALSE(exists("int.ckpt.h5"));
  EXPECT_EQ(status_of(path("int.h5")), "complete");
  EXPECT_TRUE(identical_files(path("int.h5"), path("ref.h5")));
}

// SGD: the minibatch sampler restarts from (seed, step); the biases and their momenta, fp32.
TEST_F(Resume, SigtermThenResumeIsBitIdenticalModelSgdFp32) {
  const std::int64_t steps = 6000;
  const double dt = half_stable_dt(model_config("x.h5", 1, "damped", "leapfrog", "float32", 0.01));
  ASSERT_GT(dt, 0.0);
  test::write_text(path("ref.toml"), model_config("ref.h5", steps, "damped", "leapfrog", "float32", dt));
  test::write_text(path("int.toml"), model_config("int.h5", steps, "damped", "leapfrog", "float32", dt));
  const test::CommandResult ref = run("run ref.toml");
  ASSERT_EQ(ref.status, 0) << ref.err;
  EXPECT_EQ(ref.err.find("warning"), std::string::npos) << ref.err;

  std::string log;
  ASSERT_EQ(interrupt("int.toml", "int.ckpt.h5", SIGINT, 50ms, log), 4) << log;
  const std::int64_t stop = interrupted_step(status_of(path("int.h5.partial")));
  EXPECT_GT(stop, 0);
  EXPECT_LT(stop, steps) << "the run ended before the signal: make it longer";
  const Checkpoint c = read_checkpoint(path("int.ckpt.h5"));
  EXPECT_EQ(c.precision, Precision::float32);
  EXPECT_EQ(c.w32.size(), 2u * 48);
  EXPECT_EQ(c.bias.size(), 2u);
  EXPECT_EQ(c.model_seed, 11u);

  const test::CommandResult r = run("run --resume int.ckpt.h5");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(identical_files(path("int.h5"), path("ref.h5")));
}

// A crash (SIGKILL: no checkpoint at the stop, rows written past the last checkpoint):
// resuming from the last periodic checkpoint drops those rows and redoes them, bit for
// bit. Resumed here with the CONFIG given (it must resolve to the checkpoint's config).
TEST_F(Resume, SigkillThenResumeFromPeriodicCheckpointGradientFlow) {
  const std::int64_t steps = 8000;
  const double dt = half_stable_dt(model_config("x.h5", 1, "gradient_flow", "rk4", "float64", 0.01));
  test::write_text(path("ref.toml"), model_config("ref.h5", steps, "gradient_flow", "rk4", "float64", dt));
  test::write_text(path("int.toml"), model_config("int.h5", steps, "gradient_flow", "rk4", "float64", dt));
  ASSERT_EQ(run("run ref.toml -q").status, 0);
  std::string log;
  ASSERT_EQ(interrupt("int.toml", "int.ckpt.h5", SIGKILL, 150ms, log), 128 + SIGKILL) << log;
  ASSERT_TRUE(exists("int.h5.partial"));
  const Checkpoint c = read_checkpoint(path("int.ckpt.h5"));
  EXPECT_EQ(c.step % 60, 0);
  EXPECT_LT(c.step, steps) << "the run ended before the kill: make it longer";

  const test::CommandResult r = run("run --resume int.ckpt.h5 int.toml");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(identical_files(path("int.h5"), path("ref.h5")));
}

// A checkpoint resumed with another config is refused before anything is written.
TEST_F(Resume, CheckpointFromAnotherConfigIsAClearError) {
  test::write_text(path("a.toml"), damped_config("a.h5", 30000));
  std::string other = damped_config("b.h5", 300);
  test::write_text(path("b.toml"), other);
  ASSERT_EQ(run("run b.toml -q").status, 0);
  std::string log;
  ASSERT_EQ(interrupt("a.toml", "a.ckpt.h5", SIGTERM, 0ms, log), 4) << log;
  const std::string a_before = test::read_bytes(path("a.h5.partial")), b_before = test::read_bytes(path("b.h5"));
  const std::string ck_before = test::read_bytes(path("a.ckpt.h5"));

  test::CommandResult r = run("run --resume a.ckpt.h5 b.toml");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(test::contains_all(r.err, {"checkpoint from another config", "a.ckpt.h5", "b.toml", "a.toml"}));
  // the same config with a changed key, and -o without a config
  test::write_text(path("a2.toml"), test::edit(damped_config("a.h5", 30000), "gamma = 0.05", "gamma = 0.06"));
  r = run("run --resume a.ckpt.h5 a2.toml");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(test::contains_all(r.err, {"checkpoint from another config", "a2.toml", "gamma"}));
  r = run("run --resume a.ckpt.h5 -o elsewhere.h5");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(test::contains_all(r.err, {"a.ckpt.h5", "would change the checkpoint's config"}));
  EXPECT_FALSE(exists("elsewhere.h5.partial"));

  EXPECT_EQ(test::read_bytes(path("a.h5.partial")), a_before);
  EXPECT_EQ(test::read_bytes(path("b.h5")), b_before);
  EXPECT_EQ(test::read_bytes(path("a.ckpt.h5")), ck_before);
  EXPECT_EQ(run("info a.h5.partial").status, 0);
  EXPECT_EQ(run("info b.h5").status, 0);

  // its own config with another thread count: a warning that it will not be bit-identical
  // (its output moved away, so the resume stops right after the warning)
  fs::rename(path("a.h5.partial"), path("a.h5.partial.kept"));
  r = run("run --resume a.ckpt.h5 --threads 2 -q");
  EXPECT_EQ(r.status, 1) << r.err;
  EXPECT_TRUE(test::contains_all(r.err, {"warning", "1 threads", "resuming with 2", "not bit-identical",
                                         "a.h5.partial", "no such file"}))
      << r.err;
  EXPECT_EQ(test::read_bytes(path("a.ckpt.h5")), ck_before);
}

// The fourth-order splitting merges half-kicks too; a stop and a resume between its chunks
// changes nothing. No checkpoint_every: the checkpoint is written at the signal only.
TEST_F(Resume, SigtermThenResumeIsBitIdenticalYoshida4) {
  const std::int64_t steps = 20000;
  auto cfg = [&](const std::string& file) {
    std::string t = test::edit(damped_config(file, steps), "integrator = \"leapfrog\"", "integrator = \"yoshida4\"");
    return test::edit(t, "checkpoint_every = 100\n", "");
  };
  test::write_text(path("ref.toml"), cfg("ref.h5"));
  test::write_text(path("int.toml"), cfg("int.h5"));
  ASSERT_EQ(run("run ref.toml -q").status, 0);
  std::string log;
  ASSERT_EQ(interrupt("int.toml", "int.h5.partial", SIGTERM, 100ms, log), 4) << log;
  const std::int64_t stop = interrupted_step(status_of(path("int.h5.partial")));
  EXPECT_GT(stop, 0);
  EXPECT_LT(stop, steps) << "the run ended before the signal: make it longer";
  EXPECT_EQ(read_checkpoint(path("int.ckpt.h5")).step, stop);
  const test::CommandResult r = run("run --resume int.ckpt.h5");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(identical_files(path("int.h5"), path("ref.h5")));
}

TEST_F(Resume, CheckpointFolderMustExist) {
  test::write_text(path("c.toml"), damped_config("c.h5", 50) + "checkpoint = \"no/such/dir/c.ckpt.h5\"\n");
  const test::CommandResult r = run("run c.toml -q");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(test::contains_all(r.err, {"no/such/dir/c.ckpt.h5", "does not exist"})) << r.err;
  EXPECT_FALSE(exists("c.h5.partial"));
}

TEST_F(Resume, CorruptOrMissingCheckpointIsAClearError) {
  test::write_text(path("a.toml"), damped_config("a.h5", 30000));
  std::string log;
  ASSERT_EQ(interrupt("a.toml", "a.ckpt.h5", SIGTERM, 0ms, log), 4) << log;
  const std::string partial = test::read_bytes(path("a.h5.partial"));
  const std::string bytes = test::read_bytes(path("a.ckpt.h5"));
  test::write_text(path("cut.ckpt.h5"), bytes.substr(0, bytes.size() / 2));
  test::CommandResult r = run("run --resume cut.ckpt.h5");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(test::contains_all(r.err, {"cut.ckpt.h5"})) << r.err;
  r = run("run --resume nothing.ckpt.h5");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(test::contains_all(r.err, {"nothing.ckpt.h5", "no such file"})) << r.err;
  r = run("run --resume a.toml");
  EXPECT_EQ(r.status, 2);
  EXPECT_TRUE(test::contains_all(r.err, {"a.toml", "not an HDF5 file"})) << r.err;
  r = run("run");
  EXPECT_EQ(r.status, 2);
  EXPECT_EQ(test::read_bytes(path("a.h5.partial")), partial);
}

// dt above the limit: warned before the run, detected as a runaway energy at an
// observation (exit 3), the step named; the last snapshot in the file is finite and the
// checkpoint is the last one before the blow-up.
TEST_F(Resume, UnstableDtIsDetectedNamedAndTheLastGoodStateKept) {
  // λ_max = 1 + 400: leapfrog limit 0.0999; 0.1005 grows slowly (runaway), 0.3 at once (NaN)
  for (const std::string dt : {"0.1005", "0.3"}) {
    SCOPED_TRACE("dt = " + dt);
    // the free field (no quartic term): λ_max is exactly 1 + 400
    std::string cfg = test::edit(damped_config("bu.h5", 20000), "dt = 0.01", "dt = " + dt);
    cfg = test::edit(cfg, "[[potential]]\nterm = \"power\"\nfield = \"w\"\nexponent = 4\ncoefficient = 0.5\n", "");
    cfg = test::edit(cfg, "observe_every = 7", dt == "0.3" ? "observe_every = 400" : "observe_every = 10");
    cfg = test::edit(cfg, "checkpoint_every = 100", "checkpoint_every = 20");
    test::write_text(path("bu.toml"), cfg);
    fs::remove(path("bu.ckpt.h5"));
    const test::CommandResult r = run("run bu.toml");
    ASSERT_EQ(r.status, 3) << r.err;
    EXPECT_TRUE(test::contains_all(r.err, {"warning: dt = " + dt, "stability limit", "blow-up at step",
                                           "likely cause", "reduce dt", "bu.h5.partial"}))
        << r.err;
    const auto pos = r.err.find("blow-up at step ");
    const std::int64_t step = std::stoll(r.err.substr(pos + 16));
    EXPECT_TRUE(test::contains_all(r.err, {dt == "0.3" ? "not finite" : "runaway energy"})) << r.err;
    EXPECT_FALSE(exists("bu.h5"));
    const std::string st = status_of(path("bu.h5.partial"));
    EXPECT_TRUE(test::contains_all(st, {"failed: blow-up at step " + std::to_string(step)})) << st;
    for (const std::string ds : {"/snapshots/fields/w", "/snapshots/velocities/w", "/observables/energy"})
      for (double x : last_row(path("bu.h5.partial"), ds)) ASSERT_TRUE(std::isfinite(x)) << ds;
    ASSERT_GT(step, 20);
    {
      const Checkpoint c = read_checkpoint(path("bu.ckpt.h5"));
      EXPECT_EQ(c.step, (step - 1) / 20 * 20);
      for (double x : c.w64) ASSERT_TRUE(std::isfinite(x));
      EXPECT_TRUE(test::contains_all(r.err, {"last good checkpoint bu.ckpt.h5 at step " + std::to_string(c.step)}));
    }
  }
}

TEST_F(Resume, QuietPrintsNothing) {
  test::write_text(path("q.toml"), damped_config("q.h5", 50));
  const test::CommandResult r = run("run q.toml -q");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.err, "");
  const test::CommandResult v = run("run q.toml");
  EXPECT_TRUE(test::contains_all(v.err, {"dt check", "stable for dt <"})) << v.err;
}

}  // namespace
}  // namespace synfield
