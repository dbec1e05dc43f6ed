// host/config: from the config file to a Problem — TOML parsing and checking (config.cpp),
// the enums' names (problem.cpp) and the initial data with their counter-based generator
// (initial.*). It includes include/synfield (a model's data are loaded through data.h),
// host/io (HDF5 coefficient and initial-state arrays) and kernels/potential.h (kMaxTerms).
//
// TOML config → Problem (include/synfield/config.h). One Section reader per table: it
// type-checks each key, records defaults into the table (so the stored config is the
// resolved one) and rejects keys nobody read.
#include <synfield/config.h>

#include <toml++/toml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include <synfield/data.h>

#include "host/io/h5.h"
#include "kernels/potential.h"

namespace synfield {
namespace {

// Shortest decimal text that reads back as the same double (toml++ prints 17 digits:
// "-0.10000000000000001"); always a TOML float (has '.', 'e', inf or nan).
std::string format_double(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[64];
  int prec = 1;
  for (; prec < 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  std::snprintf(buf, sizeof buf, "%.*e", prec - 1, v);
  const int exp10 = std::atoi(std::strchr(buf, 'e') + 1);
  if (exp10 >= -5 && exp10 < 16)  // plain digits: 1000.0, 0.001, 123456.789
    std::snprintf(buf, sizeof buf, "%.*f", std::max(0, prec - 1 - exp10), v);
  else  // 1e-07, 1e+20
    std::snprintf(buf, sizeof buf, "%.*g", prec, v);
  std::string s = buf;
  if (s.find_first_of(".eE") == std::string::npos) s += ".0";
  return s;
}

}  // namespace

std::string toml_quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

namespace {

std::string toml_key(const std::string& k) {
  const bool bare = !k.empty() && std::all_of(k.begin(), k.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '-';
  });
  return bare ? k : toml_quote(k);
}

// One value in inline form: used for messages and for the resolved config.
void emit_inline(std::ostream& os, const toml::node& n) {
  if (auto* s = n.as_string()) {
    os << toml_quote(s->get());
  } else if (auto* d = n.as_floating_point()) {
    os << format_double(d->get());
  } else if (auto* i = n.as_integer()) {
    os << i->get();
  } else if (auto* b = n.as_boolean()) {
    os << (b->get() ? "true" : "false");
  } else if (auto* a = n.as_array()) {
    os << '[';
    for (std::size_t k = 0; k < a->size(); ++k) {
      os << (k ? ", " : "");
      emit_inline(os, (*a)[k]);
    }
    os << ']';
  } else if (auto* t = n.as_table()) {
    os << '{';
    bool first = true;
    for (auto&& [k, v] : *t) {
      os << (first ? " " : ", ") << toml_key(std::string(k.str())) << " = ";
      emit_inline(os, v);
      first = false;
    }
    os << (first ? "}" : " }");
  } else {
    n.visit([&](auto&& v) { os << v; });  // dates and times
  }
}

std::string show(const toml::node& n) {
  std::ostringstream os;
  emit_inline(os, n);
  return os.str();
}

bool is_table_array(const toml::node& n) {
  const toml::array* a = n.as_array();
  return a && !a->empty() && a->is_array_of_tables();
}

// A table in block form: its plain keys, then [sub.tables] and [[arrays.of.tables]].
void emit_table(std::ostream& os, const toml::table& t, const std::string& path, bool array_element,
                const std::vector<std::string>& order = {}) {
  std::vector<std::string> keys;
  for (const auto& k : order)
    if (t.contains(k)) keys.push_back(k);
  for (auto&& [k, v] : t)
    if (std::find(keys.begin(), keys.end(), std::string(k.str())) == keys.end()) keys.emplace_back(k.str());
  const auto is_block = [&](const std::string& k) {
    const toml::node& v = *t.get(k);
    return v.is_table() || is_table_array(v);
  };
  const bool plain = std::any_of(keys.begin(), keys.end(), [&](const std::string& k) { return !is_block(k); });
  if (!path.empty() && (array_element || plain || keys.empty()))
    os << (array_element ? "\n[[" + path + "]]\n" : "\n[" + path + "]\n");
  for (const auto& k : keys)
    if (!is_block(k)) {
      os << toml_key(k) << " = ";
      emit_inline(os, *t.get(k));
      os << '\n';
    }
  for (const auto& k : keys) {
    if (!is_block(k)) continue;
    const std::string sub = (path.empty() ? "" : path + ".") + toml_key(k);
    const toml::node& v = *t.get(k);
    if (auto* st = v.as_table()) {
      emit_table(os, *st, sub, false);
    } else {
      for (auto& e : *v.as_array()) emit_table(os, *e.as_table(), sub, true);
    }
  }
}

// Edit distance counting a swap of neighbours as one edit (optimal string alignment).
std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::vector<std::size_t>> d(a.size() + 1, std::vector<std::size_t>(b.size() + 1));
  for (std::size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i)
    for (std::size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

class Section {
 public:
  Section(toml::table& t, std::string name) : t_(t), name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  const toml::table& raw() const { return t_; }
  std::string key_name(const std::string& key) const { return name_.empty() ? key : "[" + name_ + "]." + key; }

  // "[section].key = value: msg" (no " = value" when the key is absent).
  [[noreturn]] void fail(const std::string& key, const std::string& msg) const {
    const toml::node* n = t_.get(key);
    throw ConfigError(key_name(key) + (n ? " = " + show(*n) : "") + ": " + msg);
  }

  // A required key is absent: name it, and a present unknown key that looks like a typo of it.
  [[noreturn]] void required(const std::string& key, const std::string& what = "") const {
    std::string hint;
    for (auto&& [k, v] : t_) {
      const std::string other(k.str());
      if (!used_.count(other) && close(other, key)) hint = " (is " + other + " = " + show(v) + " a typo?)";
    }
    throw ConfigError(key_name(key) + ": required" + (what.empty() ? "" : " (" + what + ")") + hint);
  }

  bool has(const std::string& key) {
    used_.insert(key);
    return t_.contains(key);
  }
  toml::node* node(const std::string& key) {
    used_.insert(key);
    return t_.get(key);
  }
  // Records a resolved value (a default, a resolved path) so the stored config shows it.
  template <class T>
  void set(const std::string& key, T&& value) {
    used_.insert(key);
    t_.insert_or_assign(key, std::forward<T>(value));
  }

  double number(const std::string& key, std::optional<double> def = std::nullopt) {
    toml::node* n = node(key);
    if (!n) {
      if (!def) required(key);
      t_.insert_or_assign(key, *def);
      return *def;
    }
    if (!n->is_number()) fail(key, "expected a number");
    const double v = n->value<double>().value();
    if (!std::isfinite(v)) fail(key, "must be finite");
    return v;
  }
  std::int64_t integer(const std::string& key, std::optional<std::int64_t> def = std::nullopt) {
    toml::node* n = node(key);
    if (!n) {
      if (!def) required(key);
      t_.insert_or_assign(key, *def);
      return *def;
    }
    if (!n->is_integer()) fail(key, "expected an integer");
    return n->value<std::int64_t>().value();
  }
  bool boolean(const std::string& key, bool def) {
    toml::node* n = node(key);
    if (!n) {
      t_.insert_or_assign(key, def);
      return def;
    }
    if (!n->is_boolean()) fail(key, "expected true or false");
    return n->value<bool>().value();
  }
  std::string string(const std::string& key, std::optional<std::string> def = std::nullopt) {
    toml::node* n = node(key);
    if (!n) {
      if (!def) required(key);
      t_.insert_or_assign(key, *def);
      return *def;
    }
    if (!n->is_string()) fail(key, "expected a string");
    return n->value<std::string>().value();
  }
  std::string choice(const std::string& key, const std::vector<std::string>& allowed,
                     std::optional<std::string> def = std::nullopt) {
    toml::node* n = node(key);
    if (n && !n->is_string()) fail(key, "expected one of " + join(allowed));
    const std::string v = string(key, def);
    for (const auto& a : allowed)
      if (a == v) return v;
    fail(key, "expected one of " + join(allowed));
  }
  toml::array* array(const std::string& key) {
    toml::node* n = node(key);
    if (!n) return nullptr;
    if (!n->is_array()) fail(key, "expected an array");
    return n->as_array();
  }
  toml::table* table(const std::string& key) {
    toml::node* n = node(key);
    if (!n) return nullptr;
    if (!n->is_table()) fail(key, "expected a table");
    return n->as_table();
  }

  // Keys this section knows but that the current choice does not use, with the reason
  // ("not used by kind = \"zero\""); finish() reports them as such rather than unknown.
  void not_used(const std::vector<std::string>& keys, const std::string& why) {
    for (const auto& k : keys)
      if (!used_.count(k)) unused_.emplace(k, why);
  }

  // Unknown keys are errors: a typo must not silently fall back to a default.
  void finish() const {
    for (auto&& [k, v] : t_) {
      const std::string key(k.str());
      if (used_.count(key)) continue;
      if (auto it = unused_.find(key); it != unused_.end()) fail(key, "not used by " + it->second);
      fail(key, "unknown key" + suggestion(key));
    }
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
    return s;
  }

 private:
  // Within one edit for short keys, two for longer ones.
  static bool close(const std::string& a, const std::string& b) {
    return edit_distance(a, b) <= (std::min(a.size(), b.size()) <= 4 ? 1u : 2u);
  }
  std::string suggestion(const std::string& key) const {
    std::string best;
    std::size_t best_d = 3;
    auto consider = [&](const std::string& k) {
      if (k == key || !close(key, k)) return;
      const std::size_t d = edit_distance(key, k);
      if (d < best_d) best_d = d, best = k;
    };
    for (const auto& k : used_) consider(k);
    for (const auto& [k, why] : unused_) consider(k);
    return best.empty() ? "" : " (did you mean " + best + "?)";
  }

  toml::table& t_;
  std::string name_;
  std::set<std::string> used_;
  std::map<std::string, std::string> unused_;
};

Section sub(Section& parent, const std::string& key, toml::table& root) {
  toml::table* t = parent.table(key);
  if (!t) {
    root.insert_or_assign(key, toml::table{});
    t = root.get(key)->as_table();
  }
  return Section(*t, key);
}

bool is_identifier(const std::string& s) {
  if (s.empty() || std::isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  return true;
}

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t"), e = s.find_last_not_of(" \t");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// --set a.b.c=value (a table key) or --set a.0.c=value / a.1=value (an array element)
void apply_override(toml::table& root, const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos) throw ConfigError("--set " + spec + ": expected key=value, e.g. dynamics.dt=0.005");
  const std::string path = trim(spec.substr(0, eq)), text = trim(spec.substr(eq + 1));
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(trim(p));
  if (path.empty() || path.back() == '.' ||
      std::any_of(parts.begin(), parts.end(), [](const std::string& p) { return p.empty(); }))
    throw ConfigError("--set " + spec + ": expected key=value with a dotted key like dynamics.dt");
  if (text.empty()) throw ConfigError("--set " + spec + ": no value after '='");
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + text);
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", text}};  // a bare word: the string itself
  }
  if (parsed.size() != 1) parsed = toml::table{{"v", text}};  // "x\ny = 1": not one value
  const toml::node& value = *parsed.get("v");

  auto index = [&](const toml::array& a, const std::string& p, const std::string& where) {
    char* end = nullptr;
    const long idx = std::strtol(p.c_str(), &end, 10);
    if (*end || idx < 0 || idx >= static_cast<long>(a.size()))
      throw ConfigError("--set " + spec + ": " + where + " has no element " + p + " (it has " +
                        std::to_string(a.size()) + ")");
    return static_cast<std::size_t>(idx);
  };
  toml::node* cur = &root;
  std::string where = "the config";
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (auto* t = cur->as_table()) {
      if (!t->contains(p)) t->insert(p, toml::table{});
      cur = t->get(p);
    } else if (auto* a = cur->as_array()) {
      cur = a->get(index(*a, p, where));
    } else {
      throw ConfigError("--set " + spec + ": " + where + " is not a table");
    }
    where = parts[i];
  }
  if (auto* t = cur->as_table()) {
    t->insert_or_assign(parts.back(), value);
  } else if (auto* a = cur->as_array()) {
    a->replace(a->cbegin() + static_cast<std::ptrdiff_t>(index(*a, parts.back(), where)), value);
  } else {
    throw ConfigError("--set " + spec + ": " + where + " is not a table");
  }
}

// Relative data paths are taken from the config file's folder; the result is absolute so
// the stored config reads the same data from anywhere.
std::string resolve_path(const std::string& base_dir, const std::string& p) {
  namespace fs = std::filesystem;
  if (p.empty()) return p;
  fs::path r = fs::path(p).is_absolute() ? fs::path(p) : fs::path(base_dir) / p;
  std::error_code ec;
  const fs::path abs = fs::absolute(r, ec);
  return (ec ? r : abs).lexically_normal().string();
}

std::string shape_str(const std::vector<hsize_t>& d) {
  std::string r = "[";
  for (std::size_t i = 0; i < d.size(); ++i) r += (i ? ", " : "") + std::to_string(d[i]);
  return r + "]";
}

// Loads "file.h5:/dataset" for `key`, checking it holds exactly the lattice's sites (with
// an optional leading replica axis when `replicas` > 0). Returns the data; `resolved` gets
// the spec with the file's path resolved.
std::vector<double> load_site_array(Section& s, const std::string& key, const std::string& spec, const Lattice& lat,
                                    const std::string& base_dir, int replicas, std::string* resolved) {
  std::vector<hsize_t> dims;
  std::vector<double> data;
  try {
    auto [file, dataset] = h5::split_source(spec, s.key_name(key));
    const std::string path = resolve_path(base_dir, file);
    *resolved = path + ":" + dataset;
    data = h5::File::open_read(path).read(dataset, &dims);
  } catch (const h5::Error& e) {
    std::string why = e.what();
    // split_source already names the key and value
    if (why.rfind(s.key_name(key), 0) == 0) throw ConfigError(why);
    s.fail(key, why);
  }
  std::vector<hsize_t> want(lat.shape.begin(), lat.shape.begin() + lat.dim);
  std::vector<hsize_t> with_b = want;
  with_b.insert(with_b.begin(), static_cast<hsize_t>(replicas));
  if (dims == want) {
    if (replicas > 1) {  // one array shared by every replica
      std::vector<double> all;
      for (int r = 0; r < replicas; ++r) all.insert(all.end(), data.begin(), data.end());
      data = std::move(all);
    }
  } else if (!(replicas > 0 && dims == with_b)) {
    s.fail(key, "dataset has shape " + shape_str(dims) + ", the lattice needs " + shape_str(want) +
                    (replicas > 1 ? " or " + shape_str(with_b) : ""));
  }
  for (std::size_t i = 0; i < data.size(); ++i)
    if (!std::isfinite(data[i]))
      s.fail(key, "dataset holds " + format_double(data[i]) + " at flat index " + std::to_string(i) +
                      " (values must be finite)");
  return data;
}

// A model run may leave `shape` (and `fields`) to its data: then lat.dim stays 0 and
// read_model fills them in.
void read_lattice(Section s, Lattice& lat, bool model) {
  toml::array* shape = s.array("shape");
  if (!shape && !model) s.required("shape", "the number of sites per axis, e.g. [64, 64]");
  if (shape) {
  if (shape->empty() || shape->size() > kMaxDim) s.fail("shape", "needs 1 to 3 entries");
  lat.dim = static_cast<int>(shape->size());
  for (int mu = 0; mu < lat.dim; ++mu) {
    if (!(*shape)[mu].is_integer()) s.fail("shape", "entries must be integers >= 1");
    const std::int64_t v = *(*shape)[mu].value<std::int64_t>();
    if (v < 1 || v > (1LL << 31) - 1) s.fail("shape", "entries must be integers >= 1");
    lat.shape[mu] = static_cast<int>(v);
  }
  } else {
    lat.dim = 0;
  }
  if (lat.sites() > (std::int64_t(1) << 40)) s.fail("shape", "too many sites");
  lat.spacing = s.number("spacing", 1.0);
  if (!(lat.spacing > 0)) s.fail("spacing", "must be > 0");

  const std::vector<std::string> kinds{"periodic", "open", "dirichlet"};
  auto parse_bc = [&](const std::string& v) {
    if (v == "periodic") return Boundary::periodic;
    if (v == "open") return Boundary::open;
    if (v == "dirichlet") return Boundary::dirichlet;
    s.fail("boundary", "unknown boundary \"" + v + "\" (expected " + Section::join(kinds) + ")");
  };
  toml::node* b = s.node("boundary");
  if (b && b->is_array()) {
    auto& a = *b->as_array();
    if (lat.dim == 0) s.fail("boundary", "give one string when the shape comes from the data");
    if (static_cast<int>(a.size()) != lat.dim)
      s.fail("boundary", "needs one entry per axis (" + std::to_string(lat.dim) + "), got " +
                             std::to_string(a.size()));
    for (int mu = 0; mu < lat.dim; ++mu) {
      if (!a[mu].is_string()) s.fail("boundary", "entries must be strings (" + Section::join(kinds) + ")");
      lat.boundary[mu] = parse_bc(*a[mu].value<std::string>());
    }
  } else {
    if (b && !b->is_string())
      s.fail("boundary", "expected a string or one string per axis (" + Section::join(kinds) + ")");
    const Boundary bc = parse_bc(s.string("boundary", "periodic"));
    lat.boundary.fill(bc);
  }

  if (toml::array* f = s.array("fields")) {
    lat.fields.clear();
    for (auto& e : *f) {
      if (!e.is_string() || !is_identifier(*e.value<std::string>()))
        s.fail("fields", "entries must be names of letters, digits and _ (not starting with a digit)");
      const std::string name = *e.value<std::string>();
      if (lat.field_index(name) >= 0) s.fail("fields", "duplicate field \"" + name + "\"");
      lat.fields.push_back(name);
    }
    if (lat.fields.empty()) s.fail("fields", "needs at least one field");
  } else if (!model) {
    toml::array def;
    for (const auto& name : lat.fields) def.push_back(name);
    s.set("fields", std::move(def));
  } else {
    lat.fields.clear();  // from the model's outputs
  }
  const std::int64_t r = s.integer("replicas", 1);
  if (r < 1 || r > (1 << 20)) s.fail("replicas", "must be from 1 to " + std::to_string(1 << 20));
  lat.replicas = static_cast<int>(r);
  // models default to network units: the field theory of exactly the network `synfield gd` trains
  lat.units = s.choice("units", {"continuum", "network"}, model ? "network" : "continuum") == "continuum"
                  ? Units::continuum
                  : Units::network;
  s.finish();
}

void read_dynamics(Section s, Problem& p) {
  Dynamics& d = p.dynamics;
  d.equation = s.choice("equation", {"damped", "gradient_flow"}, "damped") == "damped" ? Equation::damped
                                                                                      : Equation::gradient_flow;
  const std::vector<std::string> laws{"gamma", "hubble", "eta", "expansion"};
  std::vector<std::string> given;
  for (const auto& k : laws)
    if (s.has(k)) given.push_back(k);
  if (given.size() > 1) s.fail(given[1], "give only one of " + Section::join(given));
  d.damping.dim = p.lattice.dim;
  if (d.equation == Equation::damped) {
    if (s.has("gamma")) {
      d.damping.gamma = s.number("gamma");
      if (d.damping.gamma < 0) s.fail("gamma", "must be >= 0");
    } else if (s.has("hubble")) {
      const double H = s.number("hubble");
      if (H < 0) s.fail("hubble", "must be >= 0");
      d.damping.gamma = p.lattice.dim * H;
    } else if (s.has("eta")) {
      const double eta = s.number("eta");
      if (!(eta > 0)) s.fail("eta", "must be > 0");
      d.damping.gamma = 1.0 / eta;
    } else if (toml::table* e = s.table("expansion")) {
      Section ex(*e, "dynamics.expansion");
      d.damping.kind = Damping::Kind::expansion;
      d.damping.p = ex.number("p");
      if (d.damping.p < 0) ex.fail("p", "must be >= 0");
      d.t0 = ex.number("t0");
      if (!(d.t0 > 0)) ex.fail("t0", "must be > 0 (γ = d·p/t)");
      ex.finish();
    } else {
      d.damping.gamma = s.number("gamma", 0.0);
    }
    d.integrator = [&] {
      const std::string i = s.choice("integrator", {"leapfrog", "yoshida4", "rk4"}, "leapfrog");
      return i == "leapfrog" ? Integrator::leapfrog : i == "yoshida4" ? Integrator::yoshida4 : Integrator::rk4;
    }();
  } else {
    if (s.has("hubble") || s.has("expansion"))
      s.fail(s.has("hubble") ? "hubble" : "expansion", "not used by the gradient flow (give eta or gamma)");
    if (s.has("gamma")) {
      const double g = s.number("gamma");
      if (!(g > 0)) s.fail("gamma", "must be > 0 (the flow rate is 1/gamma)");
      d.eta = 1.0 / g;
    } else {
      d.eta = s.number("eta", 1.0);
      if (!(d.eta > 0)) s.fail("eta", "must be > 0");
    }
    d.integrator = s.choice("integrator", {"euler", "rk4"}, "euler") == "euler" ? Integrator::euler : Integrator::rk4;
  }
  d.dt = s.number("dt");
  if (!(d.dt > 0)) s.fail("dt", "must be > 0");
  d.steps = s.integer("steps");
  if (d.steps < 0) s.fail("steps", "must be >= 0");
  d.precision = s.choice("precision", {"float32", "float64"}, "float64") == "float32" ? Precision::float32
                                                                                     : Precision::float64;
  s.finish();
}

int field_of(Section& s, const std::string& key, const std::string& name, const Lattice& lat) {
  const int f = lat.field_index(name);
  if (f < 0) s.fail(key, "unknown field (fields are " + Section::join(lat.fields) + ")");
  return f;
}

// "w", "w^2", "d0(w1)", "dd1(w)", "lap(w)^2"
Factor parse_factor(Section& s, const std::string& text, const Lattice& lat) {
  Factor f;
  std::string body = text;
  const std::string syntax = " (factors look like w, w^2, d0(w), dd1(w), lap(w)^2)";
  if (const auto caret = text.rfind('^'); caret != std::string::npos) {
    const std::string ps = text.substr(caret + 1);
    char* end = nullptr;
    const long p = std::strtol(ps.c_str(), &end, 10);
    if (ps.empty() || *end || p < 1 || p > 16)
      s.fail("factors", "bad exponent in \"" + text + "\" (an integer from 1 to 16)");
    f.power = static_cast<int>(p);
    body = text.substr(0, caret);
  }
  std::string field = body;
  if (const auto open = body.find('('); open != std::string::npos) {
    if (body.back() != ')' || body.find('(', open + 1) != std::string::npos)
      s.fail("factors", "bad factor \"" + text + "\"" + syntax);
    const std::string op = body.substr(0, open);
    field = body.substr(open + 1, body.size() - open - 2);
    if (op == "lap") {
      f.op = Op::lap;
    } else if ((op.size() == 2 && op[0] == 'd') || (op.size() == 3 && op[0] == 'd' && op[1] == 'd')) {
      f.op = op.size() == 2 ? Op::d : Op::dd;
      if (!std::isdigit(static_cast<unsigned char>(op.back())))
        s.fail("factors", "unknown operator \"" + op + "\" in \"" + text + "\" (d0 d1 d2, dd0 dd1 dd2, lap)");
      f.axis = op.back() - '0';
      if (f.axis >= lat.dim)
        s.fail("factors", "operator " + op + " in \"" + text + "\": axis " + std::to_string(f.axis) +
                              " is beyond the lattice's " + std::to_string(lat.dim) + " axes (0 to " +
                              std::to_string(lat.dim - 1) + ")");
    } else {
      s.fail("factors", "unknown operator \"" + op + "\" in \"" + text + "\" (d0 d1 d2, dd0 dd1 dd2, lap)");
    }
  } else if (body.find(')') != std::string::npos) {
    s.fail("factors", "bad factor \"" + text + "\"" + syntax);
  }
  f.field = lat.field_index(field);
  if (f.field < 0)
    s.fail("factors", "unknown field \"" + field + "\" in \"" + text + "\" (fields are " + Section::join(lat.fields) +
                          ")");
  return f;
}

void read_potential(toml::array& arr, Problem& p, const std::string& base_dir) {
  const Lattice& lat = p.lattice;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string name = "potential[" + std::to_string(i) + "]";
    if (!arr[i].is_table()) throw ConfigError("[" + name + "] = " + show(arr[i]) + ": expected a [[potential]] table");
    Section s(*arr[i].as_table(), name);
    const std::string kind = s.choice("term", {"mass", "gradient", "source", "power", "monomial"});
    Term t;
    t.kind = kind;
    // coefficient: number or "file.h5:/dataset"
    double c = 1.0;
    std::vector<double> cf;
    toml::node* cn = s.node("coefficient");
    if (!cn) s.required("coefficient", "a number or \"file.h5:/dataset\"");
    if (cn->is_number()) {
      c = s.number("coefficient");
    } else if (cn->is_string()) {
      std::string resolved;
      cf = load_site_array(s, "coefficient", *cn->value<std::string>(), lat, base_dir, 0, &resolved);
      s.set("coefficient", resolved);
    } else {
      s.fail("coefficient", "expected a number or \"file.h5:/dataset\"");
    }
    std::vector<std::vector<Factor>> expansions;
    double scale = 1.0;
    const std::string why = "term = \"" + kind + "\"";
    if (kind == "monomial") {
      toml::array* fa = s.array("factors");
      if (!fa || fa->empty() || fa->size() > 4) s.fail("factors", "a monomial needs 1 to 4 factors");
      std::vector<Factor> fs;
      for (auto& e : *fa) {
        if (!e.is_string()) s.fail("factors", "entries must be strings like \"d0(w)\"");
        fs.push_back(parse_factor(s, *e.value<std::string>(), lat));
      }
      expansions.push_back(fs);
      s.not_used({"field", "exponent"}, why + " (it takes factors)");
    } else {
      const int f = field_of(s, "field", s.string("field"), lat);
      t.label = name + " (" + kind + " on " + lat.fields[f] + ")";
      if (kind == "mass") {
        scale = 0.5;
        expansions.push_back({Factor{f, Op::id, 0, 2}});
      } else if (kind == "source") {
        expansions.push_back({Factor{f, Op::id, 0, 1}});
      } else if (kind == "power") {
        const std::int64_t pw = s.integer("exponent");
        if (pw < 1 || pw > 16) s.fail("exponent", "must be an integer from 1 to 16");
        scale = 1.0 / static_cast<double>(pw);
        expansions.push_back({Factor{f, Op::id, 0, static_cast<int>(pw)}});
      } else {  // gradient: ½K Σ_μ (d_μ w)²
        scale = 0.5;
        for (int mu = 0; mu < lat.dim; ++mu) expansions.push_back({Factor{f, Op::d, mu, 2}});
      }
      s.not_used({"exponent"}, why + " (only term = \"power\" takes an exponent)");
      s.not_used({"factors"}, why + " (only term = \"monomial\" takes factors)");
    }
    if (t.label.empty()) t.label = name + " (" + kind + ")";
    s.finish();
    for (auto& fs : expansions) {
      Term e = t;
      e.factors = fs;
      e.coefficient = scale * c;
      if (!cf.empty()) {
        e.coefficient = 1.0;
        e.coefficient_field = cf;
        for (double& v : e.coefficient_field) v *= scale;
      }
      p.terms.push_back(std::move(e));
    }
  }
  if (static_cast<int>(p.terms.size()) > kernels::kMaxTerms)
    throw ConfigError("[[potential]]: " + std::to_string(p.terms.size()) +
                      " terms after expansion (a gradient counts once per axis), at most " +
                      std::to_string(kernels::kMaxTerms));
}

// `velocity`: where the [initial.f.velocity] spec goes (nullptr inside a velocity);
// `default_velocity`: record velocity = { kind = "zero" } when absent.
InitialSpec read_initial_spec(Section s, const Lattice& lat, const std::string& base_dir, InitialSpec* velocity,
                              bool default_velocity) {
  InitialSpec spec;
  spec.kind = s.choice("kind", {"zero", "constant", "mode", "gaussian", "file"}, "zero");
  const std::string why = "kind = \"" + spec.kind + "\"";
  if (spec.kind == "constant") spec.value = s.number("value");
  if (spec.kind == "mode") {
    toml::array* k = s.array("wavevector");
    if (!k) s.required("wavevector", "one integer per axis");
    if (static_cast<int>(k->size()) != lat.dim)
      s.fail("wavevector", "needs one integer per axis (" + std::to_string(lat.dim) + "), got " +
                               std::to_string(k->size()));
    for (int mu = 0; mu < lat.dim; ++mu) {
      if (!(*k)[mu].is_integer()) s.fail("wavevector", "entries must be integers");
      const std::int64_t v = *(*k)[mu].value<std::int64_t>();
      if (v < -(1LL << 30) || v > (1LL << 30)) s.fail("wavevector", "entries out of range");
      spec.wavevector[mu] = static_cast<int>(v);
    }
    spec.amplitude = s.number("amplitude", 1.0);
    spec.phase = s.number("phase", 0.0);
  }
  if (spec.kind == "gaussian") {
    spec.std = s.number("std", 1.0);
    if (spec.std < 0) s.fail("std", "must be >= 0");
    const std::int64_t seed = s.integer("seed", 1);
    if (seed < 0) s.fail("seed", "must be >= 0");
    spec.seed = static_cast<std::uint64_t>(seed);
  }
  if (spec.kind == "file") {
    const std::string given = s.string("path");
    // read here so that a bad file is a config error, before any output exists
    load_site_array(s, "path", given, lat, base_dir, lat.replicas, &spec.path);
    s.set("path", spec.path);
  }
  s.not_used({"value", "wavevector", "amplitude", "phase", "std", "seed", "path"}, why);
  if (velocity) {
    if (toml::table* v = s.table("velocity")) {
      *velocity = read_initial_spec(Section(*v, s.name() + ".velocity"), lat, base_dir, nullptr, false);
    } else if (default_velocity) {
      s.set("velocity", toml::table{{"kind", "zero"}});
    }
  }
  s.finish();
  return spec;
}

void read_initial(Section s, Problem& p, const std::string& base_dir) {
  const Lattice& lat = p.lattice;
  for (auto&& [k, v] : s.raw()) {
    const std::string name(k.str());
    if (lat.field_index(name) < 0)
      s.fail(name, "unknown field \"" + name + "\" (fields are " + Section::join(lat.fields) + ")");
  }
  p.initial.assign(lat.fields.size(), InitialField{});
  const bool flow = p.dynamics.equation == Equation::gradient_flow;
  for (std::size_t f = 0; f < lat.fields.size(); ++f) {
    toml::table* t = s.table(lat.fields[f]);
    if (!t) {
      s.set(lat.fields[f], toml::table{{"kind", "zero"}});
      t = s.table(lat.fields[f]);
    }
    Section fs(*t, "initial." + lat.fields[f]);
    InitialField& init = p.initial[f];
    init.value = read_initial_spec(fs, lat, base_dir, &init.velocity, !flow);
    if (flow && init.velocity.kind != "zero")
      fs.fail("velocity", "the gradient flow has no velocity to set (dw/dt = eta F)");
  }
  s.finish();
}

void read_output(Section s, Output& o) {
  o.file = s.string("file", "synfield.h5");
  if (o.file.empty()) s.fail("file", "must not be empty");
  o.observe_every = s.integer("observe_every", 10);
  if (o.observe_every < 1) s.fail("observe_every", "must be >= 1");
  o.snapshot_every = s.integer("snapshot_every", 0);
  if (o.snapshot_every < 0) s.fail("snapshot_every", "must be >= 0 (0: first and last state only)");
  const std::int64_t level = s.integer("compression", 0);
  if (level < 0 || level > 9) s.fail("compression", "must be a deflate level 0..9 (0: none)");
  o.compression = static_cast<int>(level);
  o.checkpoint_every = s.integer("checkpoint_every", 0);
  if (o.checkpoint_every < 0) s.fail("checkpoint_every", "must be >= 0 (0: only when stopped by a signal)");
  const std::string stem =
      o.file.size() > 3 && o.file.compare(o.file.size() - 3, 3, ".h5") == 0 ? o.file.substr(0, o.file.size() - 3) : o.file;
  o.checkpoint = s.string("checkpoint", stem + ".ckpt.h5");
  if (o.checkpoint.empty()) s.fail("checkpoint", "must not be empty");
  if (o.checkpoint == o.file) s.fail("checkpoint", "must differ from [output].file");
  o.mpi_io = s.boolean("mpi_io", true);
  s.finish();
}

// [model] (and [data] for a generator): the training data, the lattice shape and fields
// they imply, and how the cost's nonlocal coupling is represented.
void read_model(Section s, Section& top, toml::table& root, Problem& p, const std::string& base_dir) {
  Lattice& lat = p.lattice;
  Model& m = p.model;
  m.enabled = true;
  s.choice("kind", {"perceptron"}, "perceptron");
  toml::table* gen = top.table("data");
  const bool from_file = s.has("data");
  if (from_file && gen) s.fail("data", "give either [model].data or a [data] generator table, not both");
  if (!from_file && !gen) s.required("data", "a .csv or .h5 file, or a [data] table with generator = \"smooth\"");
  if (from_file) {
    const std::string path = resolve_path(base_dir, s.string("data"));
    s.set("data", path);
    const bool csv = path.size() > 4 && path.compare(path.size() - 4, 4, ".csv") == 0;
    std::int64_t targets = 1, test_rows = 0;
    if (csv) {
      targets = s.integer("targets", 1);
      if (targets < 1) s.fail("targets", "must be >= 1");
      test_rows = s.integer("test_rows", 0);
      if (test_rows < 0) s.fail("test_rows", "must be >= 0");
    } else {
      s.not_used({"targets", "test_rows"}, "HDF5 data (the file's /Y and /X_test say)");
    }
    try {
      m.data = csv ? load_csv(path, static_cast<int>(targets), static_cast<int>(test_rows)) : load_hdf5(path);
    } catch (const DataError& e) {
      s.fail("data", e.what());
    } catch (const h5::Error& e) {
      s.fail("data", e.what());
    }
    if (lat.dim == 0) {
      lat.dim = static_cast<int>(m.data.shape.size());
      toml::array shape;
      for (int mu = 0; mu < lat.dim; ++mu) shape.push_back(lat.shape[mu] = m.data.shape[mu]);
      root["lattice"].as_table()->insert_or_assign("shape", std::move(shape));
    }
  } else {
    Section g(*gen, "data");
    g.choice("generator", {"smooth"});
    if (lat.dim == 0) throw ConfigError("[lattice].shape: required for a generated data set (the input's shape)");
    SmoothSpec spec;
    spec.shape.assign(lat.shape.begin(), lat.shape.begin() + lat.dim);
    spec.spacing = lat.spacing;
    spec.samples = g.integer("samples", 64);
    if (spec.samples < 1) g.fail("samples", "must be >= 1");
    spec.test_samples = g.integer("test_samples", 0);
    if (spec.test_samples < 0) g.fail("test_samples", "must be >= 0");
    spec.correlation = g.number("correlation", 0.1);
    if (!(spec.correlation > 0)) g.fail("correlation", "must be > 0 (a fraction of the extent)");
    spec.noise = g.number("noise", 0.0);
    if (spec.noise < 0) g.fail("noise", "must be >= 0");
    const std::int64_t seed = g.integer("seed", 1);
    if (seed < 0) g.fail("seed", "must be >= 0");
    spec.seed = static_cast<std::uint64_t>(seed);
    spec.truth = g.choice("truth", {"sine", "gaussian"}, "sine");
    g.finish();
    try {
      m.data = generate_smooth(spec);
    } catch (const DataError& e) {
      g.fail("generator", e.what());
    }
  }
  std::vector<int> lat_shape(lat.shape.begin(), lat.shape.begin() + lat.dim);
  if (lat_shape != m.data.shape) {
    auto text = [](const std::vector<int>& v) {
      std::string t;
      for (std::size_t i = 0; i < v.size(); ++i) t += (i ? ", " : "") + std::to_string(v[i]);
      return "[" + t + "]";
    };
    throw ConfigError("[lattice].shape = " + text(lat_shape) + ": the data" +
                      (from_file ? " ([model].data = " + s.string("data") + ")" : "") + " has inputs of shape " +
                      text(m.data.shape) + "; the lattice must match (or leave shape out to take the data's)");
  }
  if (lat.fields.empty()) {
    toml::array names;
    for (int o = 0; o < m.data.outputs; ++o) {
      lat.fields.push_back(m.data.outputs == 1 ? "w" : "w" + std::to_string(o));
      names.push_back(lat.fields.back());
    }
    root["lattice"].as_table()->insert_or_assign("fields", std::move(names));
  } else if (static_cast<int>(lat.fields.size()) != m.data.outputs) {
    throw ConfigError("[lattice].fields: the model has " + std::to_string(m.data.outputs) +
                      " output(s), one field each; got " + std::to_string(lat.fields.size()));
  }
  m.bias = s.boolean("bias", true);
  m.minibatch = s.integer("minibatch", 0);
  if (m.minibatch < 0) s.fail("minibatch", "must be >= 0 (0: every example every step)");
  const std::int64_t seed = s.integer("seed", 1);
  if (seed < 0) s.fail("seed", "must be >= 0");
  m.seed = static_cast<std::uint64_t>(seed);
  const std::string rd = s.choice("replica_data", {"shared", "bootstrap", "streams"}, "shared");
  m.replica_data = rd == "shared"      ? Model::ReplicaData::shared
                   : rd == "bootstrap" ? Model::ReplicaData::bootstrap
                                       : Model::ReplicaData::streams;
  if (m.replica_data == Model::ReplicaData::streams && m.minibatch == 0)
    s.fail("replica_data", "\"streams\" gives each replica its own minibatch stream: set [model].minibatch");
  const std::string coupling = s.choice("coupling", {"auto", "dense", "factored"}, "auto");
  const bool dense_ok = m.minibatch == 0 && m.replica_data == Model::ReplicaData::shared;
  const std::int64_t N = m.data.features(), P = m.data.samples();
  if (coupling == "dense" && !dense_ok)
    s.fail("coupling", "dense J₂ is built once from all examples; minibatches and per-replica data need "
                       "\"factored\" (or \"auto\")");
  // auto: factored when it is cheaper per force (P < N/2) or when the sources change
  m.coupling = coupling == "dense" || (coupling == "auto" && dense_ok && 2 * P >= N) ? Model::Coupling::dense
                                                                                    : Model::Coupling::factored;
  if (m.coupling == Model::Coupling::dense && N > 65536)
    s.fail("coupling", "dense J₂ would need " + std::to_string(N) + "² values; use \"factored\"");
  m.scale = lat.units == Units::continuum ? lat.mu() : 1.0;
  s.finish();
}

// [sweep] is read by `synfield sweep` (host/sweep/sweep.cpp), which runs the config once per point;
// a single run (and the stored config) is the base point without it.
void drop_sweep_table(toml::table& root) { root.erase("sweep"); }

}  // namespace

Problem parse_config(const std::string& text, const std::vector<std::string>& overrides, const std::string& base_dir) {
  toml::table root;
  try {
    root = toml::parse(text);
  } catch (const toml::parse_error& e) {
    std::ostringstream os;
    os << "TOML syntax error at line " << e.source().begin.line << ", column " << e.source().begin.column << ": "
       << e.description();
    throw ConfigError(os.str());
  }
  drop_sweep_table(root);
  for (const auto& o : overrides) apply_override(root, o);

  const std::vector<std::string> tables{"lattice", "model", "data", "dynamics", "potential", "initial", "output"};
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (std::find(tables.begin(), tables.end(), key) != tables.end()) continue;
    throw ConfigError((v.is_table() ? "[" + key + "]: unknown table" : key + " = " + show(v) + ": unknown key") +
                      " (the config holds [lattice], [model], [data], [dynamics], [[potential]], [initial.<field>] and [output])");
  }
  Problem p;
  Section top(root, "");
  const bool model = root.contains("model");
  if (!model && root.contains("data"))
    throw ConfigError("[data]: a data set needs a [model] table (kind = \"perceptron\")");
  read_lattice(sub(top, "lattice", root), p.lattice, model);
  if (model) read_model(sub(top, "model", root), top, root, p, base_dir);
  read_dynamics(sub(top, "dynamics", root), p);
  if (toml::node* pot = top.node("potential")) {
    if (!pot->is_array()) top.fail("potential", "expected [[potential]] tables");
    read_potential(*pot->as_array(), p, base_dir);
  }
  read_initial(sub(top, "initial", root), p, base_dir);
  read_output(sub(top, "output", root), p.output);
  top.finish();

  std::ostringstream os;
  emit_table(os, root, "", false, tables);
  p.config_text = os.str();
  if (!p.config_text.empty() && p.config_text[0] == '\n') p.config_text.erase(0, 1);
  return p;
}

Problem load_config(const std::string& path, const std::vector<std::string>& overrides) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw ConfigError(path + ": is a folder, not a config file");
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read config file (" + std::strerror(errno) + ")");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string dir = fs::path(path).parent_path().string();
  try {
    return parse_config(ss.str(), overrides, dir.empty() ? "." : dir);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

}  // namespace synfield
