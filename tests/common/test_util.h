// Helpers shared by every test folder: backend parametrization (a backend that cannot run
// here skips with the reason, it never passes), temporary folders and small file writers,
// running a command (the built `synfield` binary) and capturing its exit status and output,
// TOML snippets, and checks on messages.
#pragma once

#include <gtest/gtest.h>
#include <omp.h>
#include <sys/wait.h>

#include <synfield/config.h>
#include <synfield/solver.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <ostream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "host/io/h5.h"

namespace synfield {
// gtest prints backend parameters with this (found by ADL): "cpu", "cuda".
inline void PrintTo(Backend b, std::ostream* os) { *os << backend_name(b); }
}  // namespace synfield

namespace synfield::test {

// ---- backends ---------------------------------------------------------------------------

// Empty when `b` can run here, else why not ("no CUDA device: ...").
inline std::string unusable_reason(Backend b) {
  if (b != Backend::cuda) return "";
  if (!cuda_compiled()) return "no CUDA device: this build has no CUDA backend (configure with -DSYNFIELD_CUDA=ON)";
  if (cuda_device_count() == 0) return "no CUDA device: the CUDA backend is compiled in but no device is usable";
  return "";
}

// Skips the current test (from a test body or SetUp) when backend `b` is unusable.
#define SYNFIELD_REQUIRE_BACKEND(b)                                         \
  do {                                                                      \
    const std::string synfield_why_ = ::synfield::test::unusable_reason(b); \
    if (!synfield_why_.empty()) GTEST_SKIP() << synfield_why_;             \
  } while (0)

inline const auto kBackends = ::testing::Values(Backend::cpu, Backend::cuda);

// Runs the enclosing scope with `n` OpenMP threads.
class ThreadCount {
 public:
  explicit ThreadCount(int n) : saved_(omp_get_max_threads()) { omp_set_num_threads(n); }
  ~ThreadCount() { omp_set_num_threads(saved_); }
  ThreadCount(const ThreadCount&) = delete;
  ThreadCount& operator=(const ThreadCount&) = delete;

 private:
  int saved_;
};

// Test-name suffix for a backend parameter.
struct BackendName {
  std::string operator()(const ::testing::TestParamInfo<Backend>& info) const { return backend_name(info.param); }
};

// A fixture parametrized by backend alone.
class BackendTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { SYNFIELD_REQUIRE_BACKEND(GetParam()); }
  Backend backend() const { return GetParam(); }
};

// ---- temporary files --------------------------------------------------------------------

// A new, empty folder under the system's temp folder, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "synfield-test-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

// The whole file ("" when it cannot be read).
inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// One HDF5 file holding one double dataset.
inline void write_h5(const std::string& path, const std::string& dataset, const std::vector<double>& data,
                     const std::vector<hsize_t>& dims) {
  h5::File f = h5::File::create(path);
  f.write(dataset, data, dims);
  f.close();
}

// ---- commands ---------------------------------------------------------------------------

struct CommandResult {
  int status = -1;  // the exit status, or 128 + the signal that ended the command
  std::string out, err;
};

// The exit status of a std::system() result: 128 + N when signal N ended the shell's child.
inline int exit_status(int raw) {
  if (raw == -1) return -1;
  if (WIFEXITED(raw)) return WEXITSTATUS(raw);
  return WIFSIGNALED(raw) ? 128 + WTERMSIG(raw) : -1;
}

// Runs the shell text `command` in folder `dir` (which must exist), capturing stdout and
// stderr through files in it that are removed again.
inline CommandResult run_command(const std::string& dir, const std::string& command) {
  const std::string out = (std::filesystem::path(dir) / ".cmd_stdout.txt").string();
  const std::string err = (std::filesystem::path(dir) / ".cmd_stderr.txt").string();
  const std::string cmd = "cd '" + dir + "' && { " + command + " ; } >'" + out + "' 2>'" + err + "'";
  CommandResult r;
  r.status = exit_status(std::system(cmd.c_str()));
  r.out = read_bytes(out);
  r.err = read_bytes(err);
  std::error_code ec;
  std::filesystem::remove(out, ec);
  std::filesystem::remove(err, ec);
  return r;
}

// Runs `exe args` (args is shell text) in `dir` on `threads` OpenMP threads.
inline CommandResult run_exe(const std::string& dir, const std::string& exe, const std::string& args,
                             int threads = 1) {
  return run_command(dir, "OMP_NUM_THREADS=" + std::to_string(threads) + " '" + exe + "' " + args);
}

// ---- text -------------------------------------------------------------------------------

// Replaces the first occurrence of `from` (which must occur) by `to`.
inline std::string edit(std::string text, const std::string& from, const std::string& to) {
  const auto pos = text.find(from);
  if (pos == std::string::npos) {
    ADD_FAILURE() << "edit: \"" << from << "\" not in the text";
    return text;
  }
  return text.replace(pos, from.size(), to);
}

inline ::testing::AssertionResult contains_all(const std::string& message,
                                               const std::vector<std::string>& pieces) {
  for (const auto& p : pieces)
    if (message.find(p) == std::string::npos)
      return ::testing::AssertionFailure() << "message lacks \"" << p << "\":\n  " << message;
  return ::testing::AssertionSuccess();
}

// ---- configs ----------------------------------------------------------------------------

// `v` as a TOML float that reads back exactly ("1.0", "0.10000000000000001").
inline std::string num(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  std::string s = os.str();
  if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
  return s;
}

// A TOML array of `v`'s entries, quoted as strings when `quote`.
inline std::string toml_list(const std::vector<std::string>& v, bool quote) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + (quote ? "\"" + v[i] + "\"" : v[i]);
  return s + "]";
}

// parse_config(text) for a config a test built and expects to be good: a rejection is a
// test error that shows the message and the whole config.
inline Problem parse_test_config(const std::string& text) {
  try {
    return parse_config(text);
  } catch (const ConfigError& e) {
    throw std::runtime_error(std::string("test config rejected: ") + e.what() + "\n--- config ---\n" + text);
  }
}

// ---- numbers ----------------------------------------------------------------------------

inline double max_abs(const std::vector<double>& v) {
  double m = 0.0;
  for (double x : v) m = std::max(m, std::fabs(x));
  return m;
}

}  // namespace synfield::test
