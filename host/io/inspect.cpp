// `synfield info` and `synfield compare` (host/io/inspect.h).
#include "host/io/inspect.h"

#include <toml++/toml.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <ostream>
#include <set>
#include <sstream>
#include <thread>

#include "host/io/h5.h"

// H5Pset_file_locking: HDF5 1.10.7+ and 1.12.1+; older versions read HDF5_USE_FILE_LOCKING.
#if (H5_VERS_MAJOR == 1 && H5_VERS_MINOR == 10 && H5_VERS_RELEASE >= 7) || H5_VERSION_GE(1, 12, 1)
#define SYNFIELD_H5_SET_FILE_LOCKING 1
#endif

namespace synfield::inspect {
namespace {

namespace fs = std::filesystem;
using h5::Error;
using h5::Handle;

constexpr std::uint64_t kCacheElements = std::uint64_t(1) << 22;  // read a dataset whole up to 32 MiB
constexpr double kTiny = 1e-8;  // |b| ≤ kTiny·max|b| is left out of the relative difference

// ---- HDF5 helpers ------------------------------------------------------------------------


enum class OpenMode { plain, swmr, no_locking };

const char* mode_text(OpenMode m) {
  switch (m) {
    case OpenMode::plain: return "read-only";
    case OpenMode::swmr: return "read-only, SWMR (a SWMR writer has it open)";
    case OpenMode::no_locking:
      return "read-only without file locking (another process has it open for writing; "
             "values as of its last flush)";
  }
  return "";
}

struct OpenFile {
  std::string path;
  Handle h;
  OpenMode mode = OpenMode::plain;
  hid_t id() const { return h.get(); }
};

hid_t open_no_locking(const std::string& path) {
  Handle fapl(H5Pcreate(H5P_FILE_ACCESS), H5Pclose);
#ifdef SYNFIELD_H5_SET_FILE_LOCKING
  H5Pset_file_locking(fapl.get(), 0, 1);
  return H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
#else
  const char* old = std::getenv("HDF5_USE_FILE_LOCKING");
  const std::string saved = old ? old : "";
  setenv("HDF5_USE_FILE_LOCKING", "FALSE", 1);
  const hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl.get());
  if (old)
    setenv("HDF5_USE_FILE_LOCKING", saved.c_str(), 1);
  else
    unsetenv("HDF5_USE_FILE_LOCKING");
  return id;
#endif
}

// Opens `path` read-only (plain, then SWMR, then without locking) and checks that it is a
// synfield file. Throws Error naming the file.
OpenFile open_run_file(const std::string& path) {
  std::error_code ec;
  if (!fs::exists(path, ec)) {
    std::string msg = path + ": no such file";
    if (fs::exists(path + ".partial", ec))
      msg += " (" + path + ".partial exists: a run still writing, or a failed one; inspect that)";
    throw Error(msg);
  }
  if (fs::is_directory(path, ec)) throw Error(path + ": is a folder, not an HDF5 file");
  OpenFile f;
  f.path = path;
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  const std::string first_reason = id < 0 ? h5::hdf5_reason() : "";
  if (id < 0) {
    id = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    f.mode = OpenMode::swmr;
  }
  if (id < 0) {
    id = open_no_locking(path);
    f.mode = OpenMode::no_locking;
  }
  if (id < 0) {
    if (H5Fis_hdf5(path.c_str()) <= 0) throw Error(path + ": not an HDF5 file (truncated or corrupt?)");
    throw Error(path + ": cannot open as HDF5" + (first_reason.empty() ? "" : " (" + first_reason + ")"));
  }
  f.h = Handle(id, H5Fclose);
  return f;
}

bool has_link(hid_t file, const std::string& object) {
  if (object == "/") return true;
  std::size_t pos = 0;
  while ((pos = object.find('/', pos + 1)) != std::string::npos)
    if (H5Lexists(file, object.substr(0, pos).c_str(), H5P_DEFAULT) <= 0) return false;
  return H5Lexists(file, object.c_str(), H5P_DEFAULT) > 0;
}

// Every dataset below `group` (full paths, sorted).
void collect_datasets(hid_t file, const std::string& group, std::vector<std::string>& out) {
  if (!has_link(file, group)) return;
  Handle g(H5Gopen2(file, group.c_str(), H5P_DEFAULT), H5Gclose);
  if (!g) return;
  H5G_info_t gi;
  if (H5Gget_info(g.get(), &gi) < 0) return;
  for (hsize_t i = 0; i < gi.nlinks; ++i) {
    const ssize_t n = H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, nullptr, 0, H5P_DEFAULT);
    if (n <= 0) continue;
    std::string name(static_cast<std::size_t>(n) + 1, '\0');
    H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, name.data(), name.size(), H5P_DEFAULT);
    name.resize(static_cast<std::size_t>(n));
    const std::string child = (group == "/" ? "" : group) + "/" + name;
    Handle obj(H5Oopen(g.get(), name.c_str(), H5P_DEFAULT), H5Oclose);
    if (!obj) continue;
    const H5I_type_t t = H5Iget_type(obj.get());
    if (t == H5I_GROUP)
      collect_datasets(file, child, out);
    else if (t == H5I_DATASET)
      out.push_back(child);
  }
}

std::vector<std::string> datasets_under(hid_t file, const std::vector<std::string>& groups) {
  std::vector<std::string> out;
  for (const auto& g : groups) collect_datasets(file, g, out);
  std::sort(out.begin(), out.end());
  return out;
}

struct Dataset {
  std::string where;  // "file.h5:/observables/energy" for messages
  Handle ds;
  std::vector<hsize_t> dims;
  H5T_class_t cls = H5T_NO_CLASS;
  std::size_t type_size = 0;
  bool is_signed = true;
  bool numeric() const { return cls == H5T_FLOAT || cls == H5T_INTEGER; }
  std::uint64_t elements() const {
    return std::accumulate(dims.begin(), dims.end(), std::uint64_t(1), std::multiplies<std::uint64_t>());
  }
  std::string type_name() const {
    if (cls == H5T_FLOAT) return "float" + std::to_string(8 * type_size);
    if (cls == H5T_INTEGER) return std::string(is_signed ? "int" : "uint") + std::to_string(8 * type_size);
    if (cls == H5T_STRING) return "string";
    return "other";
  }
};

Dataset open_dataset(const OpenFile& f, const std::string& name) {
  Dataset d;
  d.where = f.path + ":" + name;
  d.ds = Handle(H5Dopen2(f.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!d.ds) throw Error(d.where + ": cannot open dataset");
  Handle type(H5Dget_type(d.ds.get()), H5Tclose);
  Handle space(H5Dget_space(d.ds.get()), H5Sclose);
  if (!type || !space) throw Error(d.where + ": cannot read the dataset's type or shape");
  d.cls = H5Tget_class(type.get());
  d.type_size = H5Tget_size(type.get());
  if (d.cls == H5T_INTEGER) d.is_signed = H5Tget_sign(type.get()) != H5T_SGN_NONE;
  const int rank = H5Sget_simple_extent_ndims(space.get());
  if (rank < 0) throw Error(d.where + ": cannot read the dataset's shape");
  d.dims.resize(static_cast<std::size_t>(rank));
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), d.dims.data(), nullptr);
  return d;
}

// Rows [start, start + count) of a numeric dataset (all of a scalar one) as `memtype`.
void read_rows_raw(const Dataset& d, hsize_t start, hsize_t count, hid_t memtype, void* out) {
  if (d.dims.empty()) {
    if (H5Dread(d.ds.get(), memtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) < 0)
      throw Error(d.where + ": read failed (truncated or corrupt file?)");
    return;
  }
  if (count == 0) return;
  std::vector<hsize_t> off(d.dims.size(), 0), cnt = d.dims;
  off[0] = start;
  cnt[0] = count;
  Handle fspace(H5Dget_space(d.ds.get()), H5Sclose);
  Handle mspace(H5Screate_simple(static_cast<int>(cnt.size()), cnt.data(), nullptr), H5Sclose);
  if (!fspace || !mspace ||
      H5Sselect_hyperslab(fspace.get(), H5S_SELECT_SET, off.data(), nullptr, cnt.data(), nullptr) < 0 ||
      H5Dread(d.ds.get(), memtype, mspace.get(), fspace.get(), H5P_DEFAULT, out) < 0)
    throw Error(d.where + ": read failed (truncated or corrupt file?)");
}

std::uint64_t row_size(const Dataset& d) {
  return std::accumulate(d.dims.begin() + (d.dims.empty() ? 0 : 1), d.dims.end(), std::uint64_t(1),
                         std::multiplies<std::uint64_t>());
}

std::vector<double> read_doubles(const Dataset& d, hsize_t start, hsize_t count) {
  std::vector<double> out(d.dims.empty() ? 1 : count * row_size(d));
  read_rows_raw(d, start, count, H5T_NATIVE_DOUBLE, out.data());
  return out;
}

std::vector<std::int64_t> read_steps(const OpenFile& f, const std::string& name) {
  const Dataset d = open_dataset(f, name);
  if (d.dims.size() != 1 || !d.numeric()) throw Error(d.where + ": not a 1-D number array");
  std::vector<std::int64_t> out(d.dims[0]);
  read_rows_raw(d, 0, d.dims[0], H5T_NATIVE_INT64, out.data());
  return out;
}

// A root attribute as text ("" when absent): strings as they are, numbers exactly.
std::string attr_text(hid_t file, const std::string& name) {
  if (H5Aexists_by_name(file, "/", name.c_str(), H5P_DEFAULT) <= 0) return "";
  Handle a(H5Aopen_by_name(file, "/", name.c_str(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  Handle t(H5Aget_type(a.get()), H5Tclose);
  Handle s(H5Aget_space(a.get()), H5Sclose);
  if (!a || !t || !s) return "?";
  const H5T_class_t cls = H5Tget_class(t.get());
  const hssize_t n = H5Sget_simple_extent_npoints(s.get());
  if (cls == H5T_STRING) {
    if (n != 1) return "(string array)";
    if (H5Tis_variable_str(t.get()) > 0) {
      Handle mt(H5Tcopy(H5T_C_S1), H5Tclose);
      H5Tset_size(mt.get(), H5T_VARIABLE);
      H5Tset_cset(mt.get(), H5Tget_cset(t.get()));
      char* str = nullptr;
      if (H5Aread(a.get(), mt.get(), &str) < 0) return "?";
      std::string out = str ? str : "";
      H5free_memory(str);
      return out;
    }
    const std::size_t size = H5Tget_size(t.get());
    std::string out(size, '\0');
    Handle mt(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(mt.get(), size);
    if (H5Aread(a.get(), mt.get(), out.data()) < 0) return "?";
    return out.substr(0, out.find('\0'));
  }
  if ((cls != H5T_INTEGER && cls != H5T_FLOAT) || n < 1) return "(not shown)";
  std::string out;
  char buf[64];
  if (cls == H5T_INTEGER) {
    std::vector<long long> v(static_cast<std::size_t>(n));
    if (H5Aread(a.get(), H5T_NATIVE_LLONG, v.data()) < 0) return "?";
    for (std::size_t i = 0; i < v.size(); ++i) {
      std::snprintf(buf, sizeof buf, "%s%lld", i ? ", " : "", v[i]);
      out += buf;
    }
  } else {
    std::vector<double> v(static_cast<std::size_t>(n));
    if (H5Aread(a.get(), H5T_NATIVE_DOUBLE, v.data()) < 0) return "?";
    for (std::size_t i = 0; i < v.size(); ++i) {
      // the shortest of %.15g, %.16g, %.17g that reads back as the same double
      for (int digits = 15; digits <= 17; ++digits) {
        std::snprintf(buf, sizeof buf, "%.*g", digits, v[i]);
        if (std::strtod(buf, nullptr) == v[i]) break;
      }
      out += (i ? ", " : "") + std::string(buf);
    }
  }
  return n > 1 ? "[" + out + "]" : out;
}

std::vector<std::string> root_attribute_names(hid_t file) {
  std::vector<std::string> names;
  Handle root(H5Oopen(file, "/", H5P_DEFAULT), H5Oclose);
  if (!root) return names;
  hsize_t idx = 0;
  H5Aiterate2(
      root.get(), H5_INDEX_NAME, H5_ITER_INC, &idx,
      [](hid_t, const char* name, const H5A_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->push_back(name);
        return 0;
      },
      &names);
  return names;
}

// Checks the root attribute format = "synfield-1".
void require_synfield(const OpenFile& f) {
  const std::string format = attr_text(f.id(), "format");
  if (format.empty())
    throw Error(f.path + ": not a synfield file (no root attribute format = \"synfield-1\")");
  if (format != "synfield-1")
    throw Error(f.path + ": format \"" + format + "\", expected \"synfield-1\" (not a synfield file, or a newer one)");
}

// Retries `fn` when a read fails on a file opened without locking (a writer's flush raced it).
template <class F>
auto with_retry(F fn) {
  for (int attempt = 0;; ++attempt) {
    bool racy = false;
    try {
      return fn(racy);
    } catch (const Error&) {
      if (!racy || attempt >= 3) throw;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

// ---- formatting --------------------------------------------------------------------------

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

std::string shape_text(const std::vector<hsize_t>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}
std::string shape_text(const std::vector<std::uint64_t>& dims) {
  return shape_text(std::vector<hsize_t>(dims.begin(), dims.end()));
}

std::string bytes_text(std::uint64_t n) {
  if (n < 1024) return std::to_string(n) + " B";
  const char* unit[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n) / 1024;
  int u = 0;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  return fmt("%.1f ", v) + unit[u];
}

std::string pad(const std::string& s, std::size_t w) { return s.size() >= w ? s : s + std::string(w - s.size(), ' '); }

void print_key(std::ostream& out, const std::string& key, const std::string& value) {
  out << pad(key + ": ", 13) << value << '\n';
}

// ---- info ----------------------------------------------------------------------------------

std::string info_text(const std::string& path, bool& racy) {
  const OpenFile f = open_run_file(path);
  racy = f.mode == OpenMode::no_locking;
  require_synfield(f);
  std::ostringstream out;
  std::error_code ec;
  const auto size = fs::file_size(path, ec);

  print_key(out, "file", path + (ec ? "" : "  (" + bytes_text(size) + ")"));
  print_key(out, "opened", mode_text(f.mode));
  const std::vector<std::string> known{"format", "version", "kind", "backend", "ranks", "io", "precision", "status"};
  for (const auto& k : known) {
    const std::string v = attr_text(f.id(), k);
    if (v.empty() && k != "status") continue;
    std::string shown = v.empty() ? "(absent)" : v;
    if (k == "status" && v == "running") shown += "  (still being written, or the writer stopped)";
    print_key(out, k, shown);
  }

  // progress: steps done out of the configured total
  const std::string config = attr_text(f.id(), "config");
  std::string total;
  if (!config.empty()) {
    try {
      const toml::table t = toml::parse(config);
      if (auto s = t["dynamics"]["steps"].value<std::int64_t>()) total = std::to_string(*s);
    } catch (const std::exception&) {
    }
  } else if (!attr_text(f.id(), "steps").empty()) {
    total = attr_text(f.id(), "steps");
  }
  const bool has_obs_step = has_link(f.id(), "/observables/step");
  std::vector<std::int64_t> obs_steps;
  if (has_obs_step) obs_steps = read_steps(f, "/observables/step");
  std::string done = obs_steps.empty() ? (has_obs_step ? "0 (nothing observed yet)" : "(no /observables/step)")
                                       : std::to_string(obs_steps.back());
  if (!obs_steps.empty() && !total.empty()) done += " of " + total;
  if (!obs_steps.empty()) {
    done += "  (" + std::to_string(obs_steps.size()) + " observation" + (obs_steps.size() == 1 ? "" : "s");
    if (has_link(f.id(), "/observables/time")) {
      const Dataset t = open_dataset(f, "/observables/time");
      if (t.dims.size() == 1 && t.dims[0] == obs_steps.size() && t.numeric())
        done += ", t = " + fmt("%.10g", read_doubles(t, t.dims[0] - 1, 1)[0]);
    }
    done += ")";
  }
  print_key(out, "steps done", done);

  std::string snaps = "0";
  if (has_link(f.id(), "/snapshots/step")) {
    const std::vector<std::int64_t> s = read_steps(f, "/snapshots/step");
    snaps = std::to_string(s.size());
    if (!s.empty())
      snaps += s.size() == 1 ? "  (step " + std::to_string(s[0]) + ")"
                             : "  (steps " + std::to_string(s.front()) + " to " + std::to_string(s.back()) + ")";
  }
  print_key(out, "snapshots", snaps);

  // other root attributes (the gradient-descent reference's options)
  for (const auto& name : root_attribute_names(f.id())) {
    if (name == "config" || std::find(known.begin(), known.end(), name) != known.end()) continue;
    print_key(out, name, attr_text(f.id(), name));
  }

  // final observables: the last row of every 1-D dataset under /observables
  const std::vector<std::string> obs = datasets_under(f.id(), {"/observables"});
  std::vector<std::pair<std::string, std::string>> finals;
  for (const auto& name : obs) {
    if (name == "/observables/step") continue;
    const Dataset d = open_dataset(f, name);
    if (d.dims.size() != 1 || !d.numeric() || d.dims[0] == 0) continue;
    std::string value = fmt("%.12g", read_doubles(d, d.dims[0] - 1, 1)[0]);
    if (d.dims[0] != obs_steps.size() && d.dims[0] <= obs_steps.size())  // a writer between two rows
      value += "  (step " + std::to_string(obs_steps[d.dims[0] - 1]) + ")";
    finals.emplace_back(name.substr(std::string("/observables/").size()), value);
  }
  out << '\n';
  if (finals.empty()) {
    out << "final observables: none\n";
  } else {
    out << "final observables";
    if (!obs_steps.empty()) out << " (step " << obs_steps.back() << ")";
    out << ":\n";
    std::size_t w = 0;
    for (const auto& [k, v] : finals) w = std::max(w, k.size());
    for (const auto& [k, v] : finals) out << "  " << pad(k, w + 2) << v << '\n';
  }

  // datasets: shape, type and size
  const std::vector<std::string> all = datasets_under(f.id(), {"/"});
  std::vector<std::array<std::string, 4>> rows;
  std::uint64_t total_bytes = 0;
  for (const auto& name : all) {
    const Dataset d = open_dataset(f, name);
    const std::uint64_t bytes = d.elements() * d.type_size;
    total_bytes += bytes;
    rows.push_back({name, d.type_name(), shape_text(d.dims), bytes_text(bytes)});
  }
  out << "\ndatasets (" << all.size() << ", " << bytes_text(total_bytes) << " of data):\n";
  std::array<std::size_t, 4> w{};
  for (const auto& r : rows)
    for (std::size_t i = 0; i < 4; ++i) w[i] = std::max(w[i], r[i].size());
  for (const auto& r : rows)
    out << "  " << pad(r[0], w[0] + 2) << pad(r[1], w[1] + 2) << pad(r[2], w[2] + 2) << r[3] << '\n';

  if (!config.empty()) {
    out << "\nconfig:\n";
    std::istringstream lines(config);
    for (std::string line; std::getline(lines, line);) out << (line.empty() ? "" : "  ") << line << '\n';
  }
  return out.str();
}

// ---- compare -------------------------------------------------------------------------------

struct Steps {
  StepMatch match;
  std::vector<std::int64_t> a, b;
  std::map<std::int64_t, std::uint64_t> b_row;  // step → first row in B
};

Steps match_steps(const OpenFile& fa, const OpenFile& fb, const std::string& name) {
  Steps s;
  if (!has_link(fa.id(), name) || !has_link(fb.id(), name)) return s;
  s.a = read_steps(fa, name);
  s.b = read_steps(fb, name);
  s.match.matched = true;
  s.match.rows_a = s.a.size();
  s.match.rows_b = s.b.size();
  s.match.identical = s.a == s.b;
  for (std::uint64_t i = 0; i < s.b.size(); ++i) s.b_row.emplace(s.b[i], i);
  std::set<std::int64_t> seen;
  for (std::int64_t st : s.a)
    if (s.b_row.count(st) && seen.insert(st).second) ++s.match.common;
  return s;
}

// Row access that reads a small dataset once and a large one row by row.
class Rows {
 public:
  explicit Rows(const Dataset& d) : d_(d), n_(row_size(d)) {
    if (d.elements() <= kCacheElements) {
      cache_ = d.dims.empty() ? read_doubles(d, 0, 1) : read_doubles(d, 0, d.dims[0]);
      cached_ = true;
    }
  }
  const double* row(std::uint64_t i) {
    if (cached_) return cache_.data() + i * n_;
    buf_ = read_doubles(d_, i, 1);
    return buf_.data();
  }
  std::uint64_t size() const { return n_; }

 private:
  const Dataset& d_;
  std::uint64_t n_;
  bool cached_ = false;
  std::vector<double> cache_, buf_;
};

DatasetDiff compare_dataset(const OpenFile& fa, const OpenFile& fb, const std::string& name, const Steps* steps,
                            double rtol, double atol) {
  DatasetDiff r;
  r.name = name;
  const Dataset a = open_dataset(fa, name), b = open_dataset(fb, name);
  r.shape_a.assign(a.dims.begin(), a.dims.end());
  r.shape_b.assign(b.dims.begin(), b.dims.end());
  if (!a.numeric() || !b.numeric()) {
    r.kind = DatasetDiff::Kind::not_numeric;
    return r;
  }
  // row pairs (row in A, row in B)
  std::vector<std::pair<std::uint64_t, std::uint64_t>> pairs;
  r.step_matched = steps && steps->match.matched && !a.dims.empty() && !b.dims.empty() &&
                   a.dims[0] <= steps->a.size() && b.dims[0] <= steps->b.size();
  if (r.step_matched) {
    if (!std::equal(a.dims.begin() + 1, a.dims.end(), b.dims.begin() + 1, b.dims.end())) {
      r.kind = DatasetDiff::Kind::shape_mismatch;
      return r;
    }
    std::set<std::int64_t> seen;
    for (std::uint64_t i = 0; i < a.dims[0]; ++i) {
      const auto it = steps->b_row.find(steps->a[i]);
      if (it != steps->b_row.end() && it->second < b.dims[0] && seen.insert(steps->a[i]).second)
        pairs.emplace_back(i, it->second);
    }
    if (pairs.empty()) {
      r.kind = DatasetDiff::Kind::no_common_rows;
      return r;
    }
    r.compared = r.shape_a;
    r.compared[0] = pairs.size();
  } else {
    if (a.dims != b.dims) {
      r.kind = DatasetDiff::Kind::shape_mismatch;
      return r;
    }
    r.compared = r.shape_a;
    const std::uint64_t rows = a.dims.empty() ? 1 : a.dims[0];
    for (std::uint64_t i = 0; i < rows; ++i) pairs.emplace_back(i, i);
  }

  Rows ra(a), rb(b);
  const std::uint64_t n = ra.size();
  // pass 1: the scale max|b| that defines "tiny"
  double scale = 0;
  for (const auto& [ia, ib] : pairs) {
    const double* y = rb.row(ib);
    for (std::uint64_t j = 0; j < n; ++j)
      if (std::isfinite(y[j])) scale = std::max(scale, std::abs(y[j]));
  }
  const double tiny = std::max(kTiny * scale, std::numeric_limits<double>::min());
  // pass 2: differences
  std::uint64_t worst_row = 0, worst_j = 0;
  bool any = false;
  for (const auto& [ia, ib] : pairs) {
    const double* x = ra.row(ia);
    const double* y = rb.row(ib);
    for (std::uint64_t j = 0; j < n; ++j) {
      double d;
      if (x[j] == y[j] || (std::isnan(x[j]) && std::isnan(y[j])))
        d = 0;
      else if (std::isnan(x[j]) || std::isnan(y[j]))
        d = std::numeric_limits<double>::infinity();
      else
        d = std::abs(x[j] - y[j]);
      if (std::isnan(d)) d = std::numeric_limits<double>::infinity();  // inf − inf
      if (!(d <= atol + rtol * std::abs(y[j]))) ++r.outside;
      if (!any || d > r.max_abs) {
        r.max_abs = d;
        worst_row = ia;
        worst_j = j;
        any = true;
      }
      if (std::abs(y[j]) > tiny) {
        const double m = std::max(std::abs(x[j]), std::abs(y[j]));
        const double rel = d == 0 ? 0 : std::isfinite(m) ? d / m : std::numeric_limits<double>::infinity();
        if (!r.has_rel || rel > r.max_rel) r.max_rel = rel;
        r.has_rel = true;
      }
    }
  }
  // where the largest difference sits, in A's indices
  if (!a.dims.empty()) {
    r.worst.resize(a.dims.size());
    r.worst[0] = worst_row;
    for (std::size_t k = a.dims.size(); k-- > 1;) {
      r.worst[k] = worst_j % a.dims[k];
      worst_j /= a.dims[k];
    }
    if (r.step_matched) {
      r.worst_has_step = true;
      r.worst_step = steps->a[worst_row];
    }
  }
  return r;
}

std::string file_summary(const OpenFile& f) {
  std::string s = attr_text(f.id(), "format");
  const std::string kind = attr_text(f.id(), "kind");
  if (!kind.empty()) s += ", " + kind;
  for (const char* k : {"backend", "precision", "status"}) {
    const std::string v = attr_text(f.id(), k);
    if (!v.empty()) s += ", " + v;
  }
  return s;
}

Comparison compare_impl(const std::string& pa, const std::string& pb, double rtol, double atol, bool& racy) {
  const OpenFile fa = open_run_file(pa);
  const OpenFile fb = open_run_file(pb);
  racy = fa.mode == OpenMode::no_locking || fb.mode == OpenMode::no_locking;
  require_synfield(fa);
  require_synfield(fb);
  Comparison c;
  c.a = pa;
  c.b = pb;
  c.summary_a = file_summary(fa);
  c.summary_b = file_summary(fb);
  const Steps obs = match_steps(fa, fb, "/observables/step");
  const Steps snap = match_steps(fa, fb, "/snapshots/step");
  c.observables = obs.match;
  c.snapshots = snap.match;

  const std::vector<std::string> groups{"/observables", "/snapshots"};
  const std::vector<std::string> da = datasets_under(fa.id(), groups), db = datasets_under(fb.id(), groups);
  std::set<std::string> names(da.begin(), da.end());
  names.insert(db.begin(), db.end());
  for (const auto& name : names) {
    const bool in_a = std::binary_search(da.begin(), da.end(), name);
    const bool in_b = std::binary_search(db.begin(), db.end(), name);
    if (!in_a || !in_b) {
      DatasetDiff r;
      r.name = name;
      r.kind = in_a ? DatasetDiff::Kind::only_a : DatasetDiff::Kind::only_b;
      const Dataset d = open_dataset(in_a ? fa : fb, name);
      (in_a ? r.shape_a : r.shape_b).assign(d.dims.begin(), d.dims.end());
      c.datasets.push_back(std::move(r));
      continue;
    }
    const Steps* steps = name.rfind("/observables/", 0) == 0 ? &obs : &snap;
    c.datasets.push_back(compare_dataset(fa, fb, name, steps, rtol, atol));
  }
  return c;
}

std::string step_line(const StepMatch& m, const std::string& dataset) {
  if (!m.matched) return "not matched by step (" + dataset + " missing in a file): whole arrays compared";
  std::string s = "rows matched by " + dataset + ": " + std::to_string(m.rows_a) + " in A, " +
                  std::to_string(m.rows_b) + " in B, ";
  s += m.identical ? "identical steps" : std::to_string(m.common) + " common steps (only those compared)";
  return s;
}

}  // namespace

bool DatasetDiff::fails(bool strict) const {
  switch (kind) {
    case Kind::compared: return outside > 0;
    case Kind::only_a:
    case Kind::only_b: return strict;
    case Kind::shape_mismatch:
    case Kind::no_common_rows: return true;
    case Kind::not_numeric: return false;
  }
  return true;
}

int Comparison::status(bool strict) const {
  bool any_compared = false;
  for (const auto& d : datasets) {
    if (d.fails(strict)) return 1;
    any_compared = any_compared || d.kind == DatasetDiff::Kind::compared;
  }
  return any_compared ? 0 : 1;
}

int info(const std::string& path, std::ostream& out, std::ostream& err) {
  try {
    out << with_retry([&](bool& racy) { return info_text(path, racy); });
    return 0;
  } catch (const std::exception& e) {
    err << "synfield info: error: " << e.what() << '\n';
    return 2;
  }
}

Comparison compare_files(const std::string& a, const std::string& b, double rtol, double atol) {
  return with_retry([&](bool& racy) { return compare_impl(a, b, rtol, atol, racy); });
}

int compare(const std::string& a, const std::string& b, double rtol, double atol, std::ostream& out,
            std::ostream& err, bool strict) {
  Comparison c;
  try {
    if (!(rtol >= 0) || !(atol >= 0)) throw Error("rtol and atol must be >= 0");
    c = compare_files(a, b, rtol, atol);
  } catch (const std::exception& e) {
    err << "synfield compare: error: " << e.what() << '\n';
    return 2;
  }
  out << "A: " << c.a << "  (" << c.summary_a << ")\n";
  out << "B: " << c.b << "  (" << c.summary_b << ")\n";
  print_key(out, "observables", step_line(c.observables, "/observables/step"));
  print_key(out, "snapshots", step_line(c.snapshots, "/snapshots/step"));
  print_key(out, "tolerance", "|a-b| <= atol + rtol*|b| with rtol = " + fmt("%g", rtol) + ", atol = " +
                                  fmt("%g", atol) + "; rel = |a-b|/max(|a|,|b|) where |b| > " + fmt("%g", kTiny) +
                                  "*max|b|");
  out << '\n';

  using Kind = DatasetDiff::Kind;
  std::vector<std::array<std::string, 6>> rows;
  rows.push_back({"dataset", "compared", "max |a-b|", "max rel", "outside", "result"});
  std::size_t n_compared = 0, n_outside = 0, n_only = 0, n_shape = 0, n_other = 0;
  for (const auto& d : c.datasets) {
    std::array<std::string, 6> row{d.name, "", "", "", "", ""};
    switch (d.kind) {
      case Kind::compared: {
        ++n_compared;
        row[1] = shape_text(d.compared);
        row[2] = fmt("%.6e", d.max_abs);
        row[3] = d.has_rel ? fmt("%.6e", d.max_rel) : "-";
        row[4] = std::to_string(d.outside);
        if (d.outside == 0) {
          row[5] = "ok";
        } else {
          ++n_outside;
          row[5] = "DIFFERS, max at " + shape_text(d.worst) +
                   (d.worst_has_step ? " (step " + std::to_string(d.worst_step) + ")" : "");
        }
        break;
      }
      case Kind::only_a:
      case Kind::only_b:
        ++n_only;
        row[1] = d.kind == Kind::only_a ? "A " + shape_text(d.shape_a) : "B " + shape_text(d.shape_b);
        row[5] = std::string(d.kind == Kind::only_a ? "ONLY IN A" : "ONLY IN B") + (strict ? "" : " (not counted)");
        break;
      case Kind::shape_mismatch:
        ++n_shape;
        row[1] = shape_text(d.shape_a) + " vs " + shape_text(d.shape_b);
        row[5] = d.step_matched ? "SHAPE MISMATCH (after the step axis)" : "SHAPE MISMATCH";
        break;
      case Kind::no_common_rows:
        ++n_other;
        row[1] = shape_text(d.shape_a) + " vs " + shape_text(d.shape_b);
        row[5] = "NO COMMON STEPS";
        break;
      case Kind::not_numeric:
        row[1] = "-";
        row[5] = "not numeric, skipped";
        break;
    }
    rows.push_back(row);
  }
  std::array<std::size_t, 6> w{};
  for (const auto& r : rows)
    for (std::size_t i = 0; i < 6; ++i) w[i] = std::max(w[i], r[i].size());
  for (const auto& r : rows) {
    std::string line;
    for (std::size_t i = 0; i < 5; ++i) line += pad(r[i], w[i] + 2);
    out << line << r[5] << '\n';
  }
  const int status = c.status(strict);
  out << "\nsummary: " << n_compared << " compared, " << n_outside << " outside tolerance, " << n_shape
      << " shape mismatch" << (n_shape == 1 ? "" : "es") << ", " << n_other << " without common steps, " << n_only
      << " only in one file" << (strict || n_only == 0 ? "" : " (not counted; --strict counts them)") << '\n';
  if (n_compared == 0) out << "no dataset common to both files was compared\n";
  out << (status == 0 ? "result: equal within tolerance\n" : "result: DIFFERENT\n");
  return status;
}

}  // namespace synfield::inspect
