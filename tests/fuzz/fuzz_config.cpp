// libFuzzer target for the config parser (config_target.h): an input whose rejection is
// not a ConfigError aborts with the exception's type and message, so the fuzzer keeps it.
#include <cstdio>
#include <cstdlib>
#include <string>

#include "config_target.h"

namespace {
std::string g_base_dir;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_base_dir = synfield::fuzz::make_data_dir();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string bug = synfield::fuzz::check_config(data, size, g_base_dir);
  if (!bug.empty()) {
    std::fprintf(stderr, "synfield fuzz: %s\n", bug.c_str());
    std::abort();
  }
  return 0;
}
