// The config fuzz target's seed corpus replayed through parse_config with the normal
// compiler: every input is accepted or rejected with a ConfigError (the fuzz contract,
// tests/fuzz/config_target.h), and every seed not named bad_* is a good config, so the
// corpus keeps reaching past the syntax checks as the format changes.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <synfield/config.h>

#include "config_target.h"
#include "test_util.h"

namespace synfield {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> corpus_files() {
  std::vector<fs::path> files;
  std::istringstream dirs(SYNFIELD_CORPUS_DIRS);
  for (std::string dir; std::getline(dirs, dir, ':');)
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_regular_file()) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

class ConfigCorpus : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { base_dir_ = new std::string(fuzz::make_data_dir()); }
  static void TearDownTestSuite() { delete base_dir_; }
  static std::string* base_dir_;
};
std::string* ConfigCorpus::base_dir_ = nullptr;

TEST_F(ConfigCorpus, EveryRejectionIsAConfigError) {
  const std::vector<fs::path> files = corpus_files();
  ASSERT_GE(files.size(), 10u);
  for (const auto& f : files) {
    const std::string text = test::read_bytes(f.string());
    const auto* data = reinterpret_cast<const std::uint8_t*>(text.data());
    EXPECT_EQ(fuzz::check_config(data, text.size(), *base_dir_), "") << f;
    if (f.filename().string().rfind("bad_", 0) == 0) {
      EXPECT_THROW(fuzz::parse_input(data, text.size(), *base_dir_), ConfigError) << f;
    } else {
      try {
        fuzz::parse_input(data, text.size(), *base_dir_);
      } catch (const ConfigError& e) {
        ADD_FAILURE() << f << ": a good seed is rejected: " << e.what();
      }
    }
  }
}

// Each prefix of each seed (cut at every line): the truncated configs a fuzzer starts from.
TEST_F(ConfigCorpus, TruncatedSeedsAreConfigErrorsOrGood) {
  for (const auto& f : corpus_files()) {
    const std::string text = test::read_bytes(f.string());
    std::vector<std::size_t> cuts{0};
    for (std::size_t i = 0; i < text.size(); ++i)
      if (text[i] == '\n') cuts.push_back(i + 1);
    for (std::size_t cut : cuts)
      EXPECT_EQ(fuzz::check_config(reinterpret_cast<const std::uint8_t*>(text.data()), cut, *base_dir_), "")
          << f << " cut after " << cut << " bytes";
  }
}

}  // namespace
}  // namespace synfield
