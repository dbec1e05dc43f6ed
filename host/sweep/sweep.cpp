// `synfield sweep` (host/sweep/sweep.h): points, memory check, running, rows, summary, continuum limit.
#include "host/sweep/sweep.h"

#include <hdf5.h>
#include <toml++/toml.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>
#include <stdexcept>

#include <synfield/config.h>
#include <synfield/solver.h>

#include "host/io/h5.h"
#include "host/run/run.h"
#include "host/util/sysinfo.h"

#if defined(SYNFIELD_HAVE_CUDA)
#include <cuda_runtime.h>
#endif

namespace synfield::sweep {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string toml_text(const toml::node& n) {
  std::ostringstream os;
  n.visit([&](const auto& v) { os << v; });
  std::string t = os.str();
  if (t.find_first_of("\"'") != std::string::npos) return t;
  // "[ [ 1 ], [ 2, 3 ] ]" → "[[1], [2, 3]]", as one would type it after --over
  std::string out;
  for (std::size_t i = 0; i < t.size(); ++i) {
    if (t[i] == ' ' && ((i > 0 && std::strchr("[{", t[i - 1])) || (i + 1 < t.size() && std::strchr("]}", t[i + 1]))))
      continue;
    out += t[i];
  }
  return out;
}

std::string num(double v) {
  if (std::isnan(v)) return "nan";
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// A value as part of a file name: brackets, braces, quotes and spaces dropped, commas → x,
// anything else outside [A-Za-z0-9._+-] → _, at most 32 characters.
std::string file_word(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (std::strchr("[]{}\"' \t", c)) continue;
    if (c == ',') out += 'x';
    else if (std::isalnum(static_cast<unsigned char>(c)) || std::strchr("._+-", c)) out += c;
    else out += '_';
  }
  if (out.size() > 32) out.resize(32);
  return out.empty() ? "_" : out;
}

std::string last_part(const std::string& key) {
  std::string part = key;
  std::stringstream ss(key);
  for (std::string p; std::getline(ss, p, '.');)
    if (!p.empty() && !std::isdigit(static_cast<unsigned char>(p[0]))) part = p;
  return part;
}

// --- the raw config: the file's TOML with overrides applied as --set does -----------------

toml::table read_toml(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read config file (" + std::strerror(errno) + ")");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return toml::parse(ss.str());
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << path << ": TOML syntax error at line " << e.source().begin.line << ": " << e.description();
    throw ConfigError(os.str());
  }
}

// key=value into the table (tables created on the way, numeric parts index arrays); a value
// that does not parse as TOML is a string. Errors are left to load_config: a path that does
// not fit is skipped here.
void apply_raw(toml::table& root, const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos) return;
  const std::string path = trim(spec.substr(0, eq)), text = trim(spec.substr(eq + 1));
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(trim(p));
  if (parts.empty()) return;
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + text);
    if (parsed.size() != 1) parsed = toml::table{{"v", text}};
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", text}};
  }
  toml::node* cur = &root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    if (auto* t = cur->as_table()) {
      if (!t->contains(parts[i])) t->insert(parts[i], toml::table{});
      cur = t->get(parts[i]);
    } else if (auto* a = cur->as_array()) {
      char* end = nullptr;
      const long k = std::strtol(parts[i].c_str(), &end, 10);
      if (*end || k < 0 || k >= static_cast<long>(a->size())) return;
      cur = a->get(static_cast<std::size_t>(k));
    } else {
      return;
    }
  }
  if (auto* t = cur->as_table()) t->insert_or_assign(parts.back(), *parsed.get("v"));
}

toml::table raw_config(const std::string& config, const std::vector<std::string>& overrides) {
  toml::table root = read_toml(config);
  root.erase("sweep");
  for (const auto& o : overrides) apply_raw(root, o);
  return root;
}

std::vector<int> raw_shape(const toml::table& root) {
  std::vector<int> shape;
  if (const toml::array* a = root["lattice"]["shape"].as_array())
    for (const auto& e : *a)
      if (auto v = e.value<std::int64_t>()) shape.push_back(static_cast<int>(std::max<std::int64_t>(*v, 0)));
  return shape;
}

// Dimensions of an HDF5 dataset (empty when absent or unreadable).
std::vector<hsize_t> h5_dims(const std::string& file, const std::string& dataset) {
  std::vector<hsize_t> dims;
  const h5::Handle f(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
  if (!f || H5Lexists(f.get(), dataset.c_str(), H5P_DEFAULT) <= 0) return dims;
  const h5::Handle d(H5Dopen2(f.get(), dataset.c_str(), H5P_DEFAULT), H5Dclose);
  if (!d) return dims;
  const h5::Handle space(H5Dget_space(d.get()), H5Sclose);
  const int n = space ? H5Sget_simple_extent_ndims(space.get()) : 0;
  if (n > 0) {
    dims.resize(n);
    H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  }
  return dims;
}

// --- CSV -----------------------------------------------------------------------------------

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::vector<std::string> csv_split(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"') out.back() += '"', ++i;
      else if (c == '"') quoted = false;
      else out.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else if (c != '\r') {
      out.back() += c;
    }
  }
  return out;
}

std::vector<std::string> row_header(const std::vector<std::string>& keys) {
  std::vector<std::string> h{"index"};
  h.insert(h.end(), keys.begin(), keys.end());
  for (const char* c : {"status", "output", "sites", "spacing", "steps", "loss", "test_loss", "potential",
                        "steps_per_s", "wall_s", "peak_rss_bytes", "estimated_bytes"})
    h.push_back(c);
  return h;
}

std::vector<std::string> row_cells(const Row& r) {
  std::vector<std::string> c{std::to_string(r.index)};
  c.insert(c.end(), r.values.begin(), r.values.end());
  for (const std::string& s : {r.status, r.output, std::to_string(r.sites), num(r.spacing), std::to_string(r.steps),
                               num(r.loss), num(r.test_loss), num(r.potential), num(r.steps_per_second),
                               num(r.wall_seconds), num(r.peak_bytes), num(r.estimated_bytes)})
    c.push_back(s);
  return c;
}

std::string csv_line(const std::vector<std::string>& cells) {
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + csv_field(cells[i]);
  return line + "\n";
}

double parse_num(const std::string& s) {
  if (s == "nan" || s.empty()) return kNaN;
  return std::strtod(s.c_str(), nullptr);
}

// --- process memory ------------------------------------------------------------------------

// Resets the kernel's peak-RSS mark of this process (Linux ≥ 4.0), so VmHWM covers one point.
void reset_peak_rss() {
  if (std::FILE* f = std::fopen("/proc/self/clear_refs", "w")) {
    std::fputs("5", f);
    std::fclose(f);
  }
}

// --- HDF5 strings --------------------------------------------------------------------------

void write_strings(h5::File& f, const std::string& name, const std::vector<std::string>& v) {
  std::vector<const char*> p;
  for (const auto& s : v) p.push_back(s.c_str());
  const hsize_t n = v.size();
  const h5::Handle type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  const h5::Handle space(H5Screate_simple(1, &n, nullptr), H5Sclose);
  const h5::Handle lcpl(H5Pcreate(H5P_LINK_CREATE), H5Pclose);
  H5Pset_create_intermediate_group(lcpl.get(), 1);
  const h5::Handle ds(H5Dcreate2(f.id(), name.c_str(), type.get(), space.get(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT),
                      H5Dclose);
  if (!ds || H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, p.data()) < 0)
    throw h5::Error(f.path() + ": cannot write " + name);
}

// Names of the weight fields in a run file's /snapshots/fields (not the bias).
std::vector<std::string> field_names(const h5::File& f) {
  std::vector<std::string> names;
  const h5::Handle g(H5Gopen2(f.id(), "/snapshots/fields", H5P_DEFAULT), H5Gclose);
  if (!g) return names;
  H5G_info_t info;
  H5Gget_info(g.get(), &info);
  for (hsize_t i = 0; i < info.nlinks; ++i) {
    char buf[256];
    if (H5Lget_name_by_idx(g.get(), ".", H5_INDEX_NAME, H5_ITER_INC, i, buf, sizeof buf, H5P_DEFAULT) > 0 &&
        std::string(buf) != "bias")
      names.push_back(buf);
  }
  return names;
}

}  // namespace

// ---- axes and plan --------------------------------------------------------------------------

std::vector<std::string> split_values(const std::string& list, const std::string& key) {
  std::vector<std::string> out;
  std::string cur;
  std::vector<char> stack;
  char quote = 0;
  auto bad = [&](const std::string& msg) -> ConfigError {
    return ConfigError("--over " + key + "=" + list + ": " + msg);
  };
  auto push = [&] {
    const std::string v = trim(cur);
    if (v.empty()) throw bad("empty value (values are separated by commas outside [ ], { } and quotes)");
    if (std::find(out.begin(), out.end(), v) != out.end()) throw bad("value " + v + " is listed twice");
    out.push_back(v);
    cur.clear();
  };
  for (std::size_t i = 0; i < list.size(); ++i) {
    const char c = list[i];
    if (quote) {
      cur += c;
      if (c == '\\' && quote == '"' && i + 1 < list.size()) cur += list[++i];
      else if (c == quote) quote = 0;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
    } else if (c == '[' || c == '{') {
      stack.push_back(c == '[' ? ']' : '}');
    } else if (c == ']' || c == '}') {
      if (stack.empty() || stack.back() != c) throw bad(std::string("unbalanced '") + c + "' at character " + std::to_string(i + 1));
      stack.pop_back();
    } else if (c == ',' && stack.empty()) {
      push();
      continue;
    }
    cur += c;
  }
  if (quote) throw bad(std::string("unterminated ") + quote + " quote");
  if (!stack.empty()) throw bad(std::string("missing '") + stack.back() + "'");
  push();
  return out;
}

Axis parse_over(const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos)
    throw ConfigError("--over " + spec + ": expected key=v1,v2,… e.g. lattice.shape=[1024],[2048]");
  Axis a;
  a.key = trim(spec.substr(0, eq));
  if (a.key.empty() || a.key.front() == '.' || a.key.back() == '.' || a.key.find("..") != std::string::npos ||
      a.key.find_first_of(" \t[]\"'") != std::string::npos)
    throw ConfigError("--over " + spec + ": expected a dotted key like dynamics.eta before '='");
  a.values = split_values(spec.substr(eq + 1), a.key);
  return a;
}

std::size_t Plan::size() const {
  std::size_t n = 1;
  for (const Axis& a : axes) n *= a.values.size();
  return n;
}

std::vector<std::string> Plan::values(std::size_t i) const {
  if (i >= size()) throw std::out_of_range("point " + std::to_string(i) + " of a sweep of " + std::to_string(size()));
  std::vector<std::string> v(axes.size());
  for (std::size_t k = axes.size(); k-- > 0;) {
    v[k] = axes[k].values[i % axes[k].values.size()];
    i /= axes[k].values.size();
  }
  return v;
}

std::vector<std::string> Plan::overrides(std::size_t i) const {
  std::vector<std::string> o = sets;
  const std::vector<std::string> v = values(i);
  for (std::size_t k = 0; k < axes.size(); ++k) o.push_back(axes[k].key + "=" + v[k]);
  if (extent) {
    const std::vector<int> shape = raw_shape(raw_config(config, o));
    if (shape.empty() || shape[0] < 1)
      throw ConfigError("[sweep].extent = " + num(*extent) + ": needs [lattice].shape in the config or the sweep");
    o.push_back("lattice.spacing=" + num(*extent / shape[0]));
  }
  return o;
}

std::string Plan::stem() const {
  const std::string& f = output;
  return f.size() > 3 && f.compare(f.size() - 3, 3, ".h5") == 0 ? f.substr(0, f.size() - 3) : f;
}

namespace {
std::string index_text(std::size_t i, std::size_t n) {
  const int width = static_cast<int>(std::to_string(n > 0 ? n - 1 : 0).size());
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*zu", width, i);
  return buf;
}
}  // namespace

std::string Plan::point_output(std::size_t i) const {
  std::string name = stem() + ".p" + index_text(i, size());
  const std::vector<std::string> v = values(i);
  for (std::size_t k = 0; k < axes.size(); ++k) name += "_" + last_part(axes[k].key) + "-" + file_word(v[k]);
  return name + ".h5";
}

std::string Plan::row_file(std::size_t i) const { return stem() + ".p" + index_text(i, size()) + ".row.csv"; }

Plan make_plan(const std::string& config, const std::vector<std::string>& sets, const std::vector<std::string>& over,
               const std::string& output, std::optional<double> extent) {
  Plan plan;
  plan.config = config;
  plan.sets = sets;
  const toml::table root = read_toml(config);
  if (const toml::node* sw = root.get("sweep")) {
    const toml::table* t = sw->as_table();
    if (!t) throw ConfigError(config + ": sweep = " + toml_text(*sw) + ": expected a [sweep] table");
    for (auto&& [k, v] : *t) {
      const std::string key(k.str());
      if (key == "extent") {
        const auto L = v.value<double>();
        if (!L || !(*L > 0) || !std::isfinite(*L))
          throw ConfigError(config + ": [sweep].extent = " + toml_text(v) + ": expected a number > 0");
        plan.extent = *L;
      } else if (key == "over") {
        const toml::array* a = v.as_array();
        if (!a) throw ConfigError(config + ": [sweep].over = " + toml_text(v) + ": expected [{key = \"…\", values = […]}, …]");
        for (const auto& e : *a) {
          const toml::table* ax = e.as_table();
          const std::string where = config + ": [sweep].over = " + toml_text(e);
          if (!ax) throw ConfigError(where + ": expected a table {key = \"…\", values = […]}");
          Axis axis;
          const auto key_name = (*ax)["key"].value<std::string>();
          const toml::array* vals = (*ax)["values"].as_array();
          if (!key_name || key_name->empty()) throw ConfigError(where + ": needs key = \"dotted.key\"");
          if (!vals || vals->empty()) throw ConfigError(where + ": needs a non-empty values = […]");
          for (auto&& [kk, vv] : *ax)
            if (kk.str() != "key" && kk.str() != "values")
              throw ConfigError(where + ": unknown key " + std::string(kk.str()) + " (an axis has key and values)");
          axis.key = *key_name;
          for (const auto& x : *vals) {
            const std::string text = toml_text(x);
            if (std::find(axis.values.begin(), axis.values.end(), text) != axis.values.end())
              throw ConfigError(where + ": value " + text + " is listed twice");
            axis.values.push_back(text);
          }
          plan.axes.push_back(axis);
        }
      } else {
        throw ConfigError(config + ": [sweep]." + key + " = " + toml_text(v) +
                          ": unknown key ([sweep] holds over = [{key, values}, …] and extent)");
      }
    }
  }
  for (const std::string& spec : over) {
    Axis a = parse_over(spec);
    auto same = std::find_if(plan.axes.begin(), plan.axes.end(), [&](const Axis& x) { return x.key == a.key; });
    if (same != plan.axes.end()) *same = a;
    else plan.axes.push_back(a);
  }
  if (extent) {
    if (!(*extent > 0) || !std::isfinite(*extent)) throw ConfigError("--extent " + num(*extent) + ": must be > 0");
    plan.extent = extent;
  }
  if (!output.empty()) {
    plan.output = output;
  } else {
    const toml::table r = raw_config(config, sets);
    plan.output = r["output"]["file"].value_or(std::string("synfield.h5"));
  }
  if (plan.output.empty()) throw ConfigError("the sweep's base output file name is empty");
  return plan;
}

// ---- memory ---------------------------------------------------------------------------------

Estimate estimate(const Footprint& f, Backend backend) {
  const double N = static_cast<double>(f.sites), FB = static_cast<double>(f.fields * f.replicas), R = f.real_bytes;
  const double PT = static_cast<double>(f.samples + f.test_samples);
  double dev = 8 * FB * N * R;
  double host = 4 * FB * N * 8 + 64.0 * 1024 * 1024;
  if (f.model) {
    dev += PT * N * R;
    if (f.per_replica) dev += static_cast<double>(f.replicas) * f.samples * N * R;
    else if (f.minibatch > 0) dev += static_cast<double>(f.minibatch) * N * R;
    if (f.dense) dev += N * N * R;
    host += 2 * 8 * PT * (N + f.fields) + PT * N * R;  // the config's data set and the solver's copy
  }
  Estimate e;
  if (backend == Backend::cpu) e.host_bytes = host + dev;
  else e.host_bytes = host, e.device_bytes = dev + 256.0 * 1024 * 1024;  // + the CUDA context
  return e;
}

Footprint footprint(const Problem& p) {
  Footprint f;
  f.sites = p.lattice.sites();
  f.fields = static_cast<std::int64_t>(p.lattice.fields.size());
  f.replicas = p.lattice.replicas;
  f.real_bytes = p.dynamics.precision == Precision::float32 ? 4 : 8;
  if (p.model.enabled) {
    f.model = true;
    f.samples = p.model.data.samples();
    f.test_samples = p.model.data.test_samples();
    f.minibatch = p.model.minibatch;
    f.dense = p.model.coupling == Model::Coupling::dense;
    f.per_replica = p.model.replica_data != Model::ReplicaData::shared;
  }
  return f;
}

Footprint raw_footprint(const std::string& config, const std::vector<std::string>& overrides) {
  const toml::table root = raw_config(config, overrides);
  Footprint f;
  std::vector<int> shape = raw_shape(root);
  if (const toml::array* fl = root["lattice"]["fields"].as_array()) f.fields = static_cast<std::int64_t>(fl->size());
  f.replicas = root["lattice"]["replicas"].value_or<std::int64_t>(1);
  f.real_bytes = root["dynamics"]["precision"].value_or(std::string("float64")) == "float32" ? 4 : 8;
  if (const toml::table* m = root["model"].as_table()) {
    f.model = true;
    f.minibatch = (*m)["minibatch"].value_or<std::int64_t>(0);
    const std::string rd = (*m)["replica_data"].value_or(std::string("shared"));
    f.per_replica = rd != "shared";
    if (const auto data = (*m)["data"].value<std::string>()) {
      namespace fs = std::filesystem;
      fs::path path(*data);
      if (path.is_relative()) path = fs::path(config).parent_path() / path;
      const std::string ps = path.string();
      if (ps.size() > 4 && ps.compare(ps.size() - 4, 4, ".csv") == 0) {
        std::ifstream in(ps);
        std::string line;
        std::int64_t lines = 0, cols = 0;
        while (std::getline(in, line))
          if (!trim(line).empty()) {
            if (lines++ == 0) cols = static_cast<std::int64_t>(csv_split(line).size());
          }
        const std::int64_t targets = (*m)["targets"].value_or<std::int64_t>(1);
        f.samples = std::max<std::int64_t>(lines - 1, 0);
        if (shape.empty()) shape = {static_cast<int>(std::max<std::int64_t>(cols - targets, 1))};
      } else {
        const std::vector<hsize_t> x = h5_dims(ps, "/X"), xt = h5_dims(ps, "/X_test"), y = h5_dims(ps, "/Y");
        if (!x.empty()) {
          f.samples = static_cast<std::int64_t>(x[0]);
          if (shape.empty()) shape.assign(x.begin() + 1, x.end());
        }
        if (!xt.empty()) f.test_samples = static_cast<std::int64_t>(xt[0]);
        if (y.size() == 2 && !root["lattice"]["fields"].as_array()) f.fields = static_cast<std::int64_t>(y[1]);
      }
    } else {
      f.samples = root["data"]["samples"].value_or<std::int64_t>(64);
      f.test_samples = root["data"]["test_samples"].value_or<std::int64_t>(0);
    }
  }
  f.sites = 1;
  for (int n : shape) f.sites *= std::max(n, 1);
  if (f.model) {
    const std::string coupling = root["model"]["coupling"].value_or(std::string("auto"));
    const bool dense_ok = f.minibatch == 0 && !f.per_replica;
    f.dense = coupling == "dense" || (coupling == "auto" && dense_ok && 2 * f.samples >= f.sites);
  }
  return f;
}

double device_free_bytes() {
#if defined(SYNFIELD_HAVE_CUDA)
  std::size_t free = 0, total = 0;
  if (cuda_device_count() > 0 && cudaMemGetInfo(&free, &total) == cudaSuccess) return static_cast<double>(free);
#endif
  return 0.0;
}

std::string check_fits(const Estimate& e, Backend backend) {
  const double host = host_available_bytes();
  if (host > 0 && e.host_bytes > host)
    return "needs ~" + gib_text(e.host_bytes) + " of host memory (estimate) but only " + gib_text(host) + " is available (" +
           (std::getenv("SYNFIELD_HOST_MEMORY_GIB") ? "SYNFIELD_HOST_MEMORY_GIB" : "MemAvailable") + ")";
  if (backend == Backend::cuda) {
    const double dev = device_free_bytes();
    if (e.device_bytes > dev)
      return "needs ~" + gib_text(e.device_bytes) + " of device memory (estimate) but only " + gib_text(dev) +
             " is free on the device (cudaMemGetInfo)";
  }
  return "";
}

// ---- running ---------------------------------------------------------------------------------

Row run_point(const Plan& plan, std::size_t i, Backend backend, bool quiet) {
  Row r;
  r.index = i;
  r.values = plan.values(i);
  r.output = plan.point_output(i);
  r.loss = r.test_loss = r.potential = r.steps_per_second = kNaN;
  r.peak_bytes = kNaN;
  const auto t0 = std::chrono::steady_clock::now();
  auto wall = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(); };
  try {
    std::vector<std::string> o = plan.overrides(i);
    o.push_back("output.file=" + toml_quote(r.output));
    // first from the raw config: a point too large is refused before its data set is built
    const Footprint raw = raw_footprint(plan.config, o);
    r.sites = raw.sites;
    Estimate e = estimate(raw, backend);
    r.estimated_bytes = e.total();
    std::string why = check_fits(e, backend);
    if (why.empty()) {
      const Problem p = load_config(plan.config, o);
      r.sites = p.lattice.sites();
      r.spacing = p.lattice.spacing;
      r.steps = p.dynamics.steps;
      e = estimate(footprint(p), backend);
      r.estimated_bytes = e.total();
      why = check_fits(e, backend);
      if (why.empty()) {
        RunOptions opt;
        opt.output = r.output;
        opt.backend = backend;
        opt.quiet = quiet;
        opt.config_file = plan.config;
        // one checkpoint per point, even when the config names one
        opt.checkpoint = r.output.substr(0, r.output.size() - 3) + ".ckpt.h5";
        reset_peak_rss();
        const RunSummary s = synfield::run(p, opt);
        r.peak_bytes = peak_resident_bytes();
        r.loss = s.last.loss;
        r.test_loss = s.last.test_loss;
        r.potential = s.last.potential;
        r.steps_per_second = s.seconds > 0 ? r.steps / s.seconds : kNaN;
        r.status = s.signal ? "stopped: signal " + std::to_string(s.signal) + " at step " + std::to_string(s.step) +
                                  " (checkpoint " + s.checkpoint + ")"
                            : "complete";
      }
    }
    if (!why.empty()) r.status = "refused: " + why;
  } catch (const ConfigError& e) {
    r.status = std::string("failed: config error: ") + e.what();
  } catch (const std::exception& e) {
    r.status = std::string("failed: ") + e.what();
  }
  r.wall_seconds = wall();
  if (!quiet || r.status != "complete")
    std::fprintf(stderr, "synfield sweep: point %zu (%s): %s\n", i, r.output.c_str(), r.status.c_str());
  return r;
}

void write_row_file(const std::string& path, const std::vector<std::string>& keys, const Row& r) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error(path + ": cannot write the point's summary row");
  out << csv_line(row_header(keys)) << csv_line(row_cells(r));
  if (!out) throw std::runtime_error(path + ": cannot write the point's summary row");
}

Row read_row_file(const std::string& path, std::size_t naxes) {
  std::ifstream in(path);
  std::string head, line;
  if (!in || !std::getline(in, head) || !std::getline(in, line)) throw std::runtime_error(path + ": no summary row");
  const std::vector<std::string> c = csv_split(line);
  if (c.size() != naxes + 13) throw std::runtime_error(path + ": expected " + std::to_string(naxes + 13) + " columns");
  Row r;
  r.index = std::stoul(c[0]);
  r.values.assign(c.begin() + 1, c.begin() + 1 + naxes);
  std::size_t k = 1 + naxes;
  r.status = c[k++];
  r.output = c[k++];
  r.sites = std::stoll(c[k++]);
  r.spacing = parse_num(c[k++]);
  r.steps = std::stoll(c[k++]);
  r.loss = parse_num(c[k++]);
  r.test_loss = parse_num(c[k++]);
  r.potential = parse_num(c[k++]);
  r.steps_per_second = parse_num(c[k++]);
  r.wall_seconds = parse_num(c[k++]);
  r.peak_bytes = parse_num(c[k++]);
  r.estimated_bytes = parse_num(c[k++]);
  return r;
}

// ---- continuum limit ---------------------------------------------------------------------------

double observed_order(double h0, double h1, double h2, double d1, double d2) {
  if (!(h0 > h1 && h1 > h2 && h2 > 0) || !std::isfinite(d1) || !std::isfinite(d2) || d2 == 0) return kNaN;
  const double q = d1 / d2;
  if (!(q > 0)) return kNaN;
  const double r0 = h0 / h1, r1 = h1 / h2;
  if (std::abs(r0 - r1) <= 1e-12 * r1) return std::log(q) / std::log(r1);
  // g(p) = (h0^p − h1^p)/(h1^p − h2^p) − q, in units of h2 to stay finite
  auto g = [&](double p) {
    const double a = std::pow(h0 / h2, p), b = std::pow(h1 / h2, p);
    return (a - b) / (b - 1.0) - q;
  };
  double lo = 0.01, hi = 30.0, glo = g(lo), ghi = g(hi);
  if (!(glo * ghi <= 0)) return kNaN;
  for (int it = 0; it < 200 && hi - lo > 1e-13 * hi; ++it) {
    const double mid = 0.5 * (lo + hi), gm = g(mid);
    if ((gm <= 0) == (glo <= 0)) lo = mid, glo = gm;
    else hi = mid;
  }
  return 0.5 * (lo + hi);
}

double richardson(double h0, double h1, double u0, double u1, double p) {
  if (!(p > 0) || !(h0 > h1)) return kNaN;
  return u1 + (u1 - u0) / (std::pow(h0 / h1, p) - 1.0);
}

std::vector<double> to_coarse(const std::vector<double>& fine, const std::vector<int>& fs, const std::vector<int>& cs,
                              bool periodic) {
  const int d = static_cast<int>(cs.size());
  if (fs.size() != cs.size() || d < 1 || d > 3) throw std::invalid_argument("to_coarse: shapes of different rank");
  std::int64_t nc = 1;
  for (int n : cs) nc *= n;
  std::vector<double> out(nc);
  std::vector<std::int64_t> fstride(d, 1);
  for (int m = d - 2; m >= 0; --m) fstride[m] = fstride[m + 1] * fs[m + 1];
  std::vector<int> idx(d, 0);
  for (std::int64_t c = 0; c < nc; ++c) {
    // corners: per axis the two fine sites around the coarse site's position and weights
    int lo[3], hi[3];
    double t[3];
    for (int m = 0; m < d; ++m) {
      const double x = static_cast<double>(idx[m]) * fs[m] / cs[m];
      int i0 = static_cast<int>(std::floor(x + 1e-12));
      double f = x - i0;
      if (f < 1e-12) f = 0;
      i0 = std::min(i0, fs[m] - 1);
      int i1 = i0 + 1;
      if (i1 >= fs[m]) i1 = periodic ? 0 : fs[m] - 1;
      lo[m] = i0, hi[m] = i1, t[m] = f;
    }
    double v = 0;
    for (int corner = 0; corner < (1 << d); ++corner) {
      double w = 1;
      std::int64_t off = 0;
      for (int m = 0; m < d; ++m) {
        const bool up = corner >> m & 1;
        w *= up ? t[m] : 1 - t[m];
        off += (up ? hi[m] : lo[m]) * fstride[m];
      }
      if (w != 0) v += w * fine[off];
    }
    out[c] = v;
    for (int m = d - 1; m >= 0; --m) {
      if (++idx[m] < cs[m]) break;
      idx[m] = 0;
    }
  }
  return out;
}

namespace {

struct FinalFields {
  std::vector<int> shape;
  std::vector<std::vector<double>> fields;  // per field: [B][*shape] of the last snapshot
  bool periodic = true;
};

// The last row [B, *shape] of a dataset [S, B, *shape], as doubles (a hyperslab: the earlier
// snapshots are not read).
std::vector<double> last_row(const h5::File& f, const std::string& name, std::vector<hsize_t>& dims) {
  const h5::Handle ds(H5Dopen2(f.id(), name.c_str(), H5P_DEFAULT), H5Dclose);
  if (!ds) throw std::runtime_error(f.path() + ": cannot open " + name);
  const h5::Handle space(H5Dget_space(ds.get()), H5Sclose);
  const int rank = space ? H5Sget_simple_extent_ndims(space.get()) : -1;
  dims.assign(rank > 0 ? rank : 0, 0);
  if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);
  std::vector<double> out;
  herr_t st = -1;
  if (rank >= 3 && dims[0] > 0) {
    std::vector<hsize_t> start(rank, 0), count(dims);
    start[0] = dims[0] - 1;
    count[0] = 1;
    hsize_t n = 1;
    for (int k = 1; k < rank; ++k) n *= dims[k];
    out.resize(n);
    H5Sselect_hyperslab(space.get(), H5S_SELECT_SET, start.data(), nullptr, count.data(), nullptr);
    const h5::Handle mem(H5Screate_simple(1, &n, nullptr), H5Sclose);
    st = H5Dread(ds.get(), H5T_NATIVE_DOUBLE, mem.get(), space.get(), H5P_DEFAULT, out.data());
  }
  if (rank >= 3 && st < 0) throw std::runtime_error(f.path() + ": cannot read the last row of " + name);
  return out;
}

FinalFields read_final(const std::string& path) {
  FinalFields ff;
  h5::File f = h5::File::open_read(path);
  try {
    const toml::table cfg = toml::parse(f.attr_string("config"));
    if (const auto* b = cfg["lattice"]["boundary"].as_string()) ff.periodic = b->get() == "periodic";
    else if (const auto* a = cfg["lattice"]["boundary"].as_array())
      for (const auto& e : *a) ff.periodic = ff.periodic && e.value_or(std::string("periodic")) == "periodic";
  } catch (const std::exception&) {
  }
  for (const std::string& name : field_names(f)) {
    const std::string ds = "/snapshots/fields/" + name;
    std::vector<hsize_t> dims;
    ff.fields.push_back(last_row(f, ds, dims));
    if (dims.size() < 3) throw std::runtime_error(path + ":" + ds + " is not [S, B, *shape]");
    ff.shape.assign(dims.begin() + 2, dims.end());
  }
  if (ff.fields.empty()) throw std::runtime_error(path + ": no fields under /snapshots/fields");
  return ff;
}

// RMS over fields, replicas and coarse sites of (fine → coarse) − coarse.
double field_difference(const FinalFields& fine, const FinalFields& coarse) {
  if (fine.fields.size() != coarse.fields.size() || fine.shape.size() != coarse.shape.size()) return kNaN;
  std::int64_t nf = 1, nc = 1;
  for (int n : fine.shape) nf *= n;
  for (int n : coarse.shape) nc *= n;
  double sum = 0;
  std::int64_t count = 0;
  for (std::size_t k = 0; k < fine.fields.size(); ++k) {
    const std::int64_t B = static_cast<std::int64_t>(coarse.fields[k].size()) / nc;
    for (std::int64_t b = 0; b < B; ++b) {
      std::vector<double> f(fine.fields[k].begin() + b * nf, fine.fields[k].begin() + (b + 1) * nf);
      const std::vector<double> c = to_coarse(f, fine.shape, coarse.shape, coarse.periodic);
      for (std::int64_t i = 0; i < nc; ++i) {
        const double dd = c[i] - coarse.fields[k][b * nc + i];
        sum += dd * dd;
      }
      count += nc;
    }
  }
  return count ? std::sqrt(sum / count) : kNaN;
}

}  // namespace

std::vector<Continuum> continuum(const Plan& plan, const std::vector<Row>& rows) {
  std::vector<Continuum> out;
  const auto shape_axis = std::find_if(plan.axes.begin(), plan.axes.end(), [](const Axis& a) { return a.key == "lattice.shape"; });
  if (shape_axis == plan.axes.end()) return out;
  const std::size_t sa = static_cast<std::size_t>(shape_axis - plan.axes.begin());
  std::map<std::string, std::vector<const Row*>> groups;
  for (const Row& r : rows) {
    if (r.status != "complete") continue;
    std::string g;
    for (std::size_t k = 0; k < plan.axes.size(); ++k)
      if (k != sa) g += (g.empty() ? "" : " ") + last_part(plan.axes[k].key) + "=" + r.values[k];
    groups[g].push_back(&r);
  }
  for (auto& [g, list] : groups) {
    if (list.size() < 2) continue;
    std::sort(list.begin(), list.end(), [](const Row* a, const Row* b) { return a->sites < b->sites; });
    Continuum c;
    c.group = g;
    FinalFields prev;
    for (std::size_t k = 0; k < list.size(); ++k) {
      ContinuumRow cr;
      cr.index = list[k]->index;
      cr.sites = list[k]->sites;
      cr.spacing = list[k]->spacing;
      cr.loss = std::isfinite(list[k]->loss) ? list[k]->loss : list[k]->potential;
      cr.field_difference = cr.order = cr.loss_order = kNaN;
      FinalFields cur;
      try {
        cur = read_final(list[k]->output);
        if (k > 0 && !prev.fields.empty()) cr.field_difference = field_difference(cur, prev);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "synfield sweep: continuum limit: %s\n", e.what());
      }
      if (k >= 2) {
        const ContinuumRow &a = c.rows[k - 2], &b = c.rows[k - 1];
        cr.order = observed_order(a.spacing, b.spacing, cr.spacing, b.field_difference, cr.field_difference);
        cr.loss_order = observed_order(a.spacing, b.spacing, cr.spacing, b.loss - a.loss, cr.loss - b.loss);
      }
      c.rows.push_back(cr);
      prev = std::move(cur);
    }
    const ContinuumRow &last = c.rows.back(), &before = c.rows[c.rows.size() - 2];
    c.richardson_order = std::isfinite(last.loss_order) && last.loss_order > 0 ? last.loss_order : last.order;
    c.richardson_loss = richardson(before.spacing, last.spacing, before.loss, last.loss, c.richardson_order);
    out.push_back(std::move(c));
  }
  return out;
}

double scaling_exponent(const std::vector<Row>& rows) {
  std::vector<double> x, y;
  for (const Row& r : rows)
    if (r.status == "complete" && r.sites > 0 && r.steps_per_second > 0 && std::isfinite(r.steps_per_second)) {
      x.push_back(std::log(static_cast<double>(r.sites)));
      y.push_back(-std::log(r.steps_per_second));
    }
  if (x.size() < 2 || *std::max_element(x.begin(), x.end()) == *std::min_element(x.begin(), x.end())) return kNaN;
  const double mx = std::accumulate(x.begin(), x.end(), 0.0) / x.size(), my = std::accumulate(y.begin(), y.end(), 0.0) / y.size();
  double sxy = 0, sxx = 0;
  for (std::size_t i = 0; i < x.size(); ++i) sxy += (x[i] - mx) * (y[i] - my), sxx += (x[i] - mx) * (x[i] - mx);
  return sxy / sxx;
}

void write_summary(const Plan& plan, const std::vector<Row>& rows, bool quiet) {
  std::vector<std::string> keys;
  for (const Axis& a : plan.axes) keys.push_back(a.key);
  const std::string csv = plan.stem() + ".sweep.csv", h5name = plan.stem() + ".sweep.h5";
  {
    std::ofstream out(csv);
    out << csv_line(row_header(keys));
    for (const Row& r : rows) out << csv_line(row_cells(r));
    if (!out) throw std::runtime_error(csv + ": cannot write the sweep summary");
  }
  const std::vector<Continuum> cont = continuum(plan, rows);
  const double p = scaling_exponent(rows);
  {
    h5::File f = h5::File::create(h5name);
    f.set_attr("format", std::string("synfield-sweep-1"));
    f.set_attr("version", std::string(SYNFIELD_VERSION));
    f.set_attr("config", plan.config);
    f.set_attr("scaling_exponent", p);
    if (plan.extent) f.set_attr("extent", *plan.extent);
    const hsize_t n = rows.size();
    std::vector<std::int64_t> index, sites, steps;
    std::vector<double> spacing, loss, test_loss, potential, rate, wall, peak, est;
    std::vector<std::string> status, output;
    for (const Row& r : rows) {
      index.push_back(static_cast<std::int64_t>(r.index));
      sites.push_back(r.sites);
      steps.push_back(r.steps);
      spacing.push_back(r.spacing), loss.push_back(r.loss), test_loss.push_back(r.test_loss);
      potential.push_back(r.potential), rate.push_back(r.steps_per_second), wall.push_back(r.wall_seconds);
      peak.push_back(r.peak_bytes), est.push_back(r.estimated_bytes);
      status.push_back(r.status), output.push_back(r.output);
    }
    if (n > 0) {
      f.write("/points/index", index, {n});
      f.write("/points/sites", sites, {n});
      f.write("/points/steps", steps, {n});
      f.write("/points/spacing", spacing, {n});
      f.write("/points/loss", loss, {n});
      f.write("/points/test_loss", test_loss, {n});
      f.write("/points/potential", potential, {n});
      f.write("/points/steps_per_s", rate, {n});
      f.write("/points/wall_s", wall, {n});
      f.write("/points/peak_rss_bytes", peak, {n});
      f.write("/points/estimated_bytes", est, {n});
      write_strings(f, "/points/status", status);
      write_strings(f, "/points/output", output);
      for (std::size_t k = 0; k < keys.size(); ++k) {
        std::vector<std::string> v;
        for (const Row& r : rows) v.push_back(r.values[k]);
        write_strings(f, "/points/values/" + std::to_string(k), v);
        f.set_attr("key", keys[k], "/points/values/" + std::to_string(k));
      }
    }
    for (std::size_t g = 0; g < cont.size(); ++g) {
      const Continuum& c = cont[g];
      const std::string base = "/continuum/" + std::to_string(g) + "/";
      const hsize_t m = c.rows.size();
      std::vector<std::int64_t> ci, cs;
      std::vector<double> ch, cl, cd, co, clo;
      for (const ContinuumRow& r : c.rows) {
        ci.push_back(static_cast<std::int64_t>(r.index)), cs.push_back(r.sites);
        ch.push_back(r.spacing), cl.push_back(r.loss), cd.push_back(r.field_difference);
        co.push_back(r.order), clo.push_back(r.loss_order);
      }
      f.write(base + "index", ci, {m});
      f.write(base + "sites", cs, {m});
      f.write(base + "spacing", ch, {m});
      f.write(base + "loss", cl, {m});
      f.write(base + "field_difference", cd, {m});
      f.write(base + "order", co, {m});
      f.write(base + "loss_order", clo, {m});
      f.set_attr("group", c.group, base);
      f.set_attr("richardson_loss", c.richardson_loss, base);
      f.set_attr("richardson_order", c.richardson_order, base);
    }
  }
  if (!cont.empty()) {
    std::ofstream out(plan.stem() + ".continuum.csv");
    out << "group,index,sites,spacing,loss,field_difference,order,loss_order,richardson_loss,richardson_order\n";
    for (const Continuum& c : cont)
      for (const ContinuumRow& r : c.rows)
        out << csv_line({c.group, std::to_string(r.index), std::to_string(r.sites), num(r.spacing), num(r.loss),
                         num(r.field_difference), num(r.order), num(r.loss_order), num(c.richardson_loss),
                         num(c.richardson_order)});
  }
  if (quiet) return;
  std::printf("%-6s %-40s %-10s %12s %14s %14s %12s %10s %10s\n", "point", "values", "status", "sites", "loss",
              "test_loss", "steps/s", "wall_s", "peak_MiB");
  for (const Row& r : rows) {
    std::string v;
    for (std::size_t k = 0; k < r.values.size(); ++k) v += (k ? " " : "") + last_part(keys[k]) + "=" + r.values[k];
    const std::string st = r.status.substr(0, r.status.find(':'));
    std::printf("%-6zu %-40s %-10s %12lld %14.8g %14.8g %12.5g %10.4g %10.1f\n", r.index, v.c_str(), st.c_str(),
                static_cast<long long>(r.sites), r.loss, r.test_loss, r.steps_per_second, r.wall_seconds,
                r.peak_bytes / (1024.0 * 1024.0));
  }
  if (std::isfinite(p)) std::printf("throughput: time/step ∝ N^p over the complete points, p = %.3f\n", p);
  for (const Continuum& c : cont) {
    std::printf("continuum limit%s%s:\n", c.group.empty() ? "" : " at ", c.group.c_str());
    std::printf("  %12s %12s %16s %16s %8s %10s\n", "sites", "spacing", "loss", "|Δw| (RMS)", "order", "loss order");
    for (const ContinuumRow& r : c.rows)
      std::printf("  %12lld %12.6g %16.10g %16.6g %8.3f %10.3f\n", static_cast<long long>(r.sites), r.spacing, r.loss,
                  r.field_difference, r.order, r.loss_order);
    std::printf("  Richardson-extrapolated loss %.10g (order %.3f)\n", c.richardson_loss, c.richardson_order);
  }
  std::printf("summary: %s, %s\n", csv.c_str(), h5name.c_str());
}

}  // namespace synfield::sweep
