// Truth: the kernel's own account of the process's memory. An array advised with
// advise_huge_pages before its first touch, and the CPU engine's state arrays, are backed by
// transparent huge pages (AnonHugePages of /proc/self/smaps_rollup grows by them) wherever
// Linux's THP setting allows it (`madvise` or `always`; skipped for `never` or without /proc).
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>

#include "engine_test_util.h"
#include "host/util/sysinfo.h"

namespace synfield::test {
namespace {

// The bracketed mode of /sys/kernel/mm/transparent_hugepage/enabled ("" when unknown).
std::string thp_mode() {
  std::ifstream in("/sys/kernel/mm/transparent_hugepage/enabled");
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto open = all.find('['), close = all.find(']');
  return open == std::string::npos || close == std::string::npos ? "" : all.substr(open + 1, close - open - 1);
}

// Bytes of anonymous memory in huge pages (-1 when /proc/self/smaps_rollup is not readable).
double huge_bytes() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("AnonHugePages:", 0) == 0) return 1024.0 * std::stod(line.substr(14));
  return -1.0;
}

constexpr double kMiB = 1024.0 * 1024.0;

// Skips, saying why, where the kernel's account cannot be checked.
class HugePages : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string mode = thp_mode();
    if (mode != "madvise" && mode != "always")
      GTEST_SKIP() << "transparent huge pages are '" << (mode.empty() ? "unknown" : mode) << "' here";
    if (huge_bytes() < 0) GTEST_SKIP() << "/proc/self/smaps_rollup is not readable here";
  }
};

TEST_F(HugePages, AdvisedArrayIsBackedByThem) {
  const std::size_t n = 32u << 20;  // 32 MiB from new[]: at least 14 whole 2 MiB pages inside
  std::unique_ptr<char[]> a(new char[n]);
  const double before = huge_bytes();
  advise_huge_pages(a.get(), n);
  std::memset(a.get(), 1, n);  // the first touch
  const double grown = huge_bytes() - before;
  EXPECT_GE(grown, 8 * kMiB) << "AnonHugePages grew by " << grown / kMiB << " MiB for a 32 MiB advised array";
  advise_huge_pages(a.get(), 1u << 20);  // under 4 MiB: nothing to advise, and no error
}

TEST_F(HugePages, CpuEngineStateArraysAreBackedByThem) {
  LatticeSpec lat;
  lat.shape = {128, 128, 128};  // 2^21 sites: 16 MiB per fp64 array
  const double before = huge_bytes();
  const auto solver = make_engine(problem(lat, damped("leapfrog", 0.01, 0.5), term("mass", "w", 1.0)),
                                  Backend::cpu, false);
  solver->advance(1);  // every array the step uses is allocated and touched by now
  const double grown = huge_bytes() - before;
  EXPECT_GE(grown, 16 * kMiB) << "AnonHugePages grew by " << grown / kMiB
                              << " MiB for an engine of three 16 MiB arrays";
}

}  // namespace
}  // namespace synfield::test
