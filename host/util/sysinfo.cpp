// host/util/sysinfo.h
#include "host/util/sysinfo.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cstdint>
#include <fstream>

#if defined(__linux__)
#include <sys/mman.h>
#endif

namespace synfield {
namespace {

// The value of "KEY: n kB" in a /proc file, in bytes.
double proc_bytes(const char* file, const char* key) {
  std::ifstream in(file);
  std::string line;
  const std::size_t n = std::strlen(key);
  while (std::getline(in, line))
    if (line.compare(0, n, key) == 0 && line.size() > n && line[n] == ':')
      return 1024.0 * std::strtod(line.c_str() + n + 1, nullptr);
  return 0.0;
}

constexpr double kGiB = 1024.0 * 1024.0 * 1024.0;

}  // namespace

double host_available_bytes() {
  // a machine whose memory grows on use (a ballooned VM) reports too little: the user says
  if (const char* env = std::getenv("SYNFIELD_HOST_MEMORY_GIB")) {
    const double g = std::strtod(env, nullptr);
    if (g > 0) return g * kGiB;
  }
  return proc_bytes("/proc/meminfo", "MemAvailable");
}

double peak_resident_bytes() { return proc_bytes("/proc/self/status", "VmHWM"); }

std::string gib_text(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g GiB", bytes / kGiB);
  return buf;
}

void advise_huge_pages(void* p, std::size_t bytes) {
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  constexpr std::uintptr_t kHuge = std::uintptr_t(2) << 20, kSmall = 4096;
  if (bytes < 2 * kHuge) return;
  const std::uintptr_t begin = (reinterpret_cast<std::uintptr_t>(p) + kSmall - 1) / kSmall * kSmall;
  const std::uintptr_t end = (reinterpret_cast<std::uintptr_t>(p) + bytes) / kSmall * kSmall;
  (void)madvise(reinterpret_cast<void*>(begin), end - begin, MADV_HUGEPAGE);
#else
  (void)p;
  (void)bytes;
#endif
}

}  // namespace synfield
