// The config parser's fuzz contract (config_target.h).
#include "config_target.h"

#include <synfield/config.h>

#include <cmath>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <typeinfo>
#include <vector>

#include "host/io/h5.h"

namespace synfield::fuzz {
namespace {

void write_text(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + path);
}

std::vector<double> ramp(std::size_t n, double scale) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = scale * (static_cast<double>(i % 7) - 3.0);
  return v;
}

std::string g_made;  // the folder make_data_dir made, removed at exit

void remove_made() {
  std::error_code ec;
  std::filesystem::remove_all(g_made, ec);
}

}  // namespace

std::string make_data_dir() {
  namespace fs = std::filesystem;
  std::string tmpl = (fs::temp_directory_path() / "synfield-fuzz-XXXXXX").string();
  if (!mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
  g_made = tmpl;
  std::atexit(remove_made);
  const fs::path root = tmpl, dir = root / "cfg";
  fs::create_directories(dir);
  h5::quiet_this_thread();
  {  // per-site coefficients for shapes [16] and [4, 3]
    h5::File f = h5::File::create((dir / "coef.h5").string());
    f.write("/c", ramp(16, 0.5), {16});
    f.write("/c2", ramp(12, 0.25), {4, 3});
    f.write("/bad", std::vector<double>{1.0, std::nan(""), 2.0}, {3});  // a NaN: rejected
    f.close();
  }
  {  // initial states: one array [16], one per replica [2, 16], and [4, 3]
    h5::File f = h5::File::create((dir / "init.h5").string());
    f.write("/w", ramp(16, 0.1), {16});
    f.write("/wb", ramp(32, 0.1), {2, 16});
    f.write("/w2", ramp(12, 0.1), {4, 3});
    f.close();
  }
  {  // a model data set: inputs of shape [4], two outputs, a test set
    h5::File f = h5::File::create((dir / "train.h5").string());
    f.write("/X", ramp(24, 1.0), {6, 4});
    f.write("/Y", ramp(12, 0.3), {6, 2});
    f.write("/X_test", ramp(8, 1.0), {2, 4});
    f.write("/Y_test", ramp(4, 0.3), {2, 2});
    f.close();
  }
  write_text((dir / "train.csv").string(), "a,b,c,y\n1,2,3,4\n2,3,4,5\n0,1,0,1\n5,5,5,3\n");
  write_text((dir / "not_hdf5.h5").string(), "plain text, no HDF5 signature\n");
  write_text((root / "addition.csv").string(), "a,b,sum\n7,2,9\n5,3,8\n4,2,6\n3,1,4\n5,4,9\n");
  return dir.string();
}

Problem parse_input(const std::uint8_t* data, std::size_t size, const std::string& base_dir) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> overrides;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (line.rfind("#set ", 0) == 0) overrides.push_back(line.substr(5));
  return parse_config(text, overrides, base_dir);
}

std::string check_config(const std::uint8_t* data, std::size_t size, const std::string& base_dir) {
  try {
    (void)parse_input(data, size, base_dir);
  } catch (const ConfigError&) {
    return "";
  } catch (const std::exception& e) {
    return std::string("parse_config threw ") + typeid(e).name() + " (not a ConfigError): " + e.what();
  } catch (...) {
    return "parse_config threw a non-standard exception";
  }
  return "";
}

}  // namespace synfield::fuzz
