// Helpers of the config tests: a fresh temporary folder, small file writers and a check
// that an error message holds every expected piece.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <string>
#include <vector>

#include "host/h5.h"

namespace synfield::test {

// A new, empty folder under the system's temp folder, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "synfield-config-XXXXXX").string();
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
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

inline void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

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

}  // namespace synfield::test
