// TOML config → Problem (include/synfield/config.h). One Section reader per table: it
// type-checks each key, records defaults into the table (so the stored config is the
// resolved one) and rejects keys nobody read.
#include <synfield/config.h>

#include <toml++/toml.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "h5.h"

namespace synfield {
namespace {

std::string show(const toml::node& n) {
  std::ostringstream os;
  if (auto* s = n.as_string())
    os << '"' << s->get() << '"';
  else if (auto* t = n.as_table())
    os << "{ " << *t << " }";
  else if (auto* a = n.as_array())
    os << *a;
  else
    n.visit([&](auto&& v) { os << v; });
  std::string out = os.str();
  for (char& c : out)
    if (c == '\n') c = ' ';
  return out;
}

class Section {
 public:
  Section(toml::table& t, std::string name) : t_(t), name_(std::move(name)) {}

  const std::string& name() const { return name_; }
  const toml::table& raw() const { return t_; }
  std::string key_name(const std::string& key) const { return name_.empty() ? key : "[" + name_ + "]." + key; }

  [[noreturn]] void fail(const std::string& key, const std::string& msg) const {
    const toml::node* n = t_.get(key);
    throw ConfigError(key_name(key) + (n ? " = " + show(*n) : "") + ": " + msg);
  }

  bool has(const std::string& key) {
    used_.insert(key);
    return t_.contains(key);
  }
  toml::node* node(const std::string& key) {
    used_.insert(key);
    return t_.get(key);
  }

  double number(const std::string& key, std::optional<double> def = std::nullopt) {
    toml::node* n = node(key);
    if (!n) {
      if (!def) fail(key, "required");
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
      if (!def) fail(key, "required");
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
      if (!def) fail(key, "required");
      t_.insert_or_assign(key, *def);
      return *def;
    }
    if (!n->is_string()) fail(key, "expected a string");
    return n->value<std::string>().value();
  }
  std::string choice(const std::string& key, const std::vector<std::string>& allowed,
                     std::optional<std::string> def = std::nullopt) {
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

  // Unknown keys are errors: a typo must not silently fall back to a default.
  void finish() const {
    for (auto&& [k, v] : t_) {
      const std::string key(k.str());
      if (!used_.count(key)) throw ConfigError(key_name(key) + ": unknown key");
    }
  }

  static std::string join(const std::vector<std::string>& v) {
    std::string s;
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
    return s;
  }

 private:
  toml::table& t_;
  std::string name_;
  std::set<std::string> used_;
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

// --set a.b.c=value
void apply_override(toml::table& root, const std::string& spec) {
  const auto eq = spec.find('=');
  if (eq == std::string::npos || eq == 0) throw ConfigError("--set " + spec + ": expected key=value");
  const std::string path = spec.substr(0, eq), text = spec.substr(eq + 1);
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + text);
  } catch (const toml::parse_error&) {
    parsed = toml::table{{"v", text}};
  }
  std::vector<std::string> parts;
  std::stringstream ss(path);
  for (std::string p; std::getline(ss, p, '.');) parts.push_back(p);
  toml::node* cur = &root;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (auto* t = cur->as_table()) {
      if (!t->contains(p)) t->insert(p, toml::table{});
      cur = t->get(p);
    } else if (auto* a = cur->as_array()) {
      char* end = nullptr;
      const long idx = std::strtol(p.c_str(), &end, 10);
      if (*end || idx < 0 || idx >= static_cast<long>(a->size()))
        throw ConfigError("--set " + spec + ": no element " + p + " in " + parts[i - 1]);
      cur = a->get(idx);
    } else {
      throw ConfigError("--set " + spec + ": " + parts[i - 1] + " is not a table");
    }
  }
  auto* t = cur->as_table();
  if (!t) throw ConfigError("--set " + spec + ": the parent of " + parts.back() + " is not a table");
  t->insert_or_assign(parts.back(), *parsed.get("v"));
}

std::string resolve_path(const std::string& base_dir, const std::string& p) {
  namespace fs = std::filesystem;
  if (p.empty() || fs::path(p).is_absolute()) return p;
  return (fs::path(base_dir) / p).lexically_normal().string();
}

// Loads "file.h5:/dataset" for `key`, checking it holds exactly the lattice's sites (with
// an optional leading replica axis when `replicas` > 0).
std::vector<double> load_site_array(Section& s, const std::string& key, const std::string& spec, const Lattice& lat,
                                    const std::string& base_dir, int replicas = 0) {
  auto [file, dataset] = h5::split_source(spec, s.key_name(key));
  std::vector<hsize_t> dims;
  std::vector<double> data;
  try {
    data = h5::File::open_read(resolve_path(base_dir, file)).read(dataset, &dims);
  } catch (const h5::Error& e) {
    s.fail(key, e.what());
  }
  std::vector<hsize_t> want(lat.shape.begin(), lat.shape.begin() + lat.dim);
  auto shape_str = [](const std::vector<hsize_t>& d) {
    std::string r = "[";
    for (std::size_t i = 0; i < d.size(); ++i) r += (i ? ", " : "") + std::to_string(d[i]);
    return r + "]";
  };
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
  for (double v : data)
    if (!std::isfinite(v)) s.fail(key, "dataset holds NaN or Inf");
  return data;
}

void read_lattice(Section s, Lattice& lat) {
  toml::array* shape = s.array("shape");
  if (!shape) s.fail("shape", "required");
  if (shape->empty() || shape->size() > kMaxDim) s.fail("shape", "needs 1 to 3 entries");
  lat.dim = static_cast<int>(shape->size());
  for (int mu = 0; mu < lat.dim; ++mu) {
    auto v = (*shape)[mu].value<std::int64_t>();
    if (!(*shape)[mu].is_integer() || *v < 1 || *v > (1LL << 31) - 1) s.fail("shape", "entries must be integers >= 1");
    lat.shape[mu] = static_cast<int>(*v);
  }
  if (lat.sites() > (std::int64_t(1) << 40)) s.fail("shape", "too many sites");
  lat.spacing = s.number("spacing", 1.0);
  if (!(lat.spacing > 0)) s.fail("spacing", "must be > 0");

  const std::vector<std::string> kinds{"periodic", "open", "dirichlet"};
  auto parse_bc = [&](const std::string& v) {
    if (v == "periodic") return Boundary::periodic;
    if (v == "open") return Boundary::open;
    if (v == "dirichlet") return Boundary::dirichlet;
    s.fail("boundary", "expected one of " + Section::join(kinds));
  };
  if (toml::node* b = s.node("boundary"); b && b->is_array()) {
    auto& a = *b->as_array();
    if (static_cast<int>(a.size()) != lat.dim) s.fail("boundary", "needs one entry per axis");
    for (int mu = 0; mu < lat.dim; ++mu) {
      if (!a[mu].is_string()) s.fail("boundary", "entries must be strings");
      lat.boundary[mu] = parse_bc(*a[mu].value<std::string>());
    }
  } else {
    const Boundary bc = parse_bc(s.string("boundary", "periodic"));
    lat.boundary.fill(bc);
  }

  if (toml::array* f = s.array("fields")) {
    lat.fields.clear();
    for (auto& e : *f) {
      if (!e.is_string() || !is_identifier(*e.value<std::string>()))
        s.fail("fields", "entries must be names of letters, digits and _");
      const std::string name = *e.value<std::string>();
      if (lat.field_index(name) >= 0) s.fail("fields", "duplicate field " + name);
      lat.fields.push_back(name);
    }
    if (lat.fields.empty()) s.fail("fields", "needs at least one field");
  } else {
    s.node("fields");
  }
  const std::int64_t b = s.integer("replicas", 1);
  if (b < 1 || b > (1 << 20)) s.fail("replicas", "must be >= 1");
  lat.replicas = static_cast<int>(b);
  lat.units = s.choice("units", {"continuum", "network"}, "continuum") == "continuum" ? Units::continuum
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

// "w", "w^2", "d0(w1)", "lap(w)^2"
Factor parse_factor(Section& s, const std::string& text, const Lattice& lat) {
  Factor f;
  std::string body = text;
  if (const auto caret = text.rfind('^'); caret != std::string::npos) {
    const std::string ps = text.substr(caret + 1);
    char* end = nullptr;
    const long p = std::strtol(ps.c_str(), &end, 10);
    if (ps.empty() || *end || p < 1 || p > 16) s.fail("factors", "bad exponent in \"" + text + "\" (1 to 16)");
    f.power = static_cast<int>(p);
    body = text.substr(0, caret);
  }
  std::string field = body;
  if (const auto open = body.find('('); open != std::string::npos) {
    if (body.back() != ')') s.fail("factors", "bad factor \"" + text + "\"");
    const std::string op = body.substr(0, open);
    field = body.substr(open + 1, body.size() - open - 2);
    if (op == "lap") {
      f.op = Op::lap;
    } else if ((op.size() == 2 && op[0] == 'd') || (op.size() == 3 && op[0] == 'd' && op[1] == 'd')) {
      f.op = op.size() == 2 ? Op::d : Op::dd;
      f.axis = op.back() - '0';
      if (f.axis < 0 || f.axis >= lat.dim)
        s.fail("factors", "operator " + op + " in \"" + text + "\" needs an axis below " + std::to_string(lat.dim));
    } else {
      s.fail("factors", "unknown operator \"" + op + "\" (d0 d1 d2, dd0 dd1 dd2, lap)");
    }
  }
  f.field = lat.field_index(field);
  if (f.field < 0) s.fail("factors", "unknown field \"" + field + "\" (fields are " + Section::join(lat.fields) + ")");
  return f;
}

void read_potential(toml::array& arr, Problem& p, const std::string& base_dir) {
  const Lattice& lat = p.lattice;
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const std::string name = "potential[" + std::to_string(i) + "]";
    if (!arr[i].is_table()) throw ConfigError("[" + name + "]: expected a table ([[potential]])");
    Section s(*arr[i].as_table(), name);
    const std::string kind = s.choice("term", {"mass", "gradient", "source", "power", "monomial"});
    Term t;
    t.kind = kind;
    // coefficient: number or "file.h5:/dataset"
    double c = 1.0;
    std::vector<double> cf;
    toml::node* cn = s.node("coefficient");
    if (!cn) s.fail("coefficient", "required");
    if (cn->is_number()) {
      c = s.number("coefficient");
    } else if (cn->is_string()) {
      cf = load_site_array(s, "coefficient", *cn->value<std::string>(), lat, base_dir);
    } else {
      s.fail("coefficient", "expected a number or \"file.h5:/dataset\"");
    }
    std::vector<std::vector<Factor>> expansions;
    double scale = 1.0;
    if (kind == "monomial") {
      toml::array* fa = s.array("factors");
      if (!fa || fa->empty() || fa->size() > 4) s.fail("factors", "monomial needs 1 to 4 factors");
      std::vector<Factor> fs;
      for (auto& e : *fa) {
        if (!e.is_string()) s.fail("factors", "entries must be strings like \"d0(w)\"");
        fs.push_back(parse_factor(s, *e.value<std::string>(), lat));
      }
      expansions.push_back(fs);
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
}

InitialSpec read_initial_spec(Section s, const Lattice& lat, const std::string& base_dir, bool allow_velocity,
                              InitialSpec* velocity) {
  InitialSpec spec;
  spec.kind = s.choice("kind", {"zero", "constant", "mode", "gaussian", "file"}, "zero");
  if (spec.kind == "constant") spec.value = s.number("value");
  if (spec.kind == "mode") {
    toml::array* k = s.array("wavevector");
    if (!k || static_cast<int>(k->size()) != lat.dim) s.fail("wavevector", "needs one integer per axis");
    for (int mu = 0; mu < lat.dim; ++mu) {
      if (!(*k)[mu].is_integer()) s.fail("wavevector", "entries must be integers");
      spec.wavevector[mu] = static_cast<int>(*(*k)[mu].value<std::int64_t>());
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
    spec.path = s.string("path");
    auto [file, ds] = h5::split_source(spec.path, s.key_name("path"));
    spec.path = resolve_path(base_dir, file) + ":" + ds;
    // checked here so that a bad file is a config error, before any output exists
    load_site_array(s, "path", spec.path, lat, ".", lat.replicas);
  }
  if (allow_velocity) {
    if (toml::table* v = s.table("velocity"))
      *velocity = read_initial_spec(Section(*v, s.name() + ".velocity"), lat, base_dir, false, nullptr);
  }
  s.finish();
  return spec;
}

void read_initial(Section s, Problem& p, const std::string& base_dir) {
  const Lattice& lat = p.lattice;
  p.initial.assign(lat.fields.size(), InitialField{});
  for (std::size_t f = 0; f < lat.fields.size(); ++f) {
    toml::table* t = s.table(lat.fields[f]);
    if (!t) continue;
    InitialField& init = p.initial[f];
    init.value = read_initial_spec(Section(*t, "initial." + lat.fields[f]), lat, base_dir, true, &init.velocity);
    if (p.dynamics.equation == Equation::gradient_flow && init.velocity.kind != "zero")
      throw ConfigError("[initial." + lat.fields[f] + "].velocity: the gradient flow has no velocity to set");
  }
  for (auto&& [k, v] : s.raw())
    if (lat.field_index(std::string(k.str())) < 0)
      throw ConfigError("[initial." + std::string(k.str()) + "]: unknown field (fields are " +
                        Section::join(lat.fields) + ")");
}

void read_output(Section s, Output& o) {
  o.file = s.string("file", "synfield.h5");
  if (o.file.empty()) s.fail("file", "must not be empty");
  o.observe_every = s.integer("observe_every", 10);
  if (o.observe_every < 1) s.fail("observe_every", "must be >= 1");
  o.snapshot_every = s.integer("snapshot_every", 0);
  if (o.snapshot_every < 0) s.fail("snapshot_every", "must be >= 0 (0: first and last state only)");
  s.finish();
}

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
  for (const auto& o : overrides) apply_override(root, o);

  Problem p;
  Section top(root, "");
  read_lattice(sub(top, "lattice", root), p.lattice);
  read_dynamics(sub(top, "dynamics", root), p);
  if (toml::node* pot = top.node("potential")) {
    if (!pot->is_array()) throw ConfigError("potential: expected [[potential]] tables");
    read_potential(*pot->as_array(), p, base_dir);
  }
  {
    Section init = sub(top, "initial", root);
    read_initial(init, p, base_dir);
  }
  read_output(sub(top, "output", root), p.output);
  top.finish();

  std::ostringstream os;
  os << root;
  p.config_text = os.str();
  return p;
}

Problem load_config(const std::string& path, const std::vector<std::string>& overrides) {
  std::ifstream in(path);
  if (!in) throw ConfigError(path + ": cannot read config file");
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string dir = std::filesystem::path(path).parent_path().string();
  try {
    return parse_config(ss.str(), overrides, dir.empty() ? "." : dir);
  } catch (const ConfigError& e) {
    throw ConfigError(path + ": " + e.what());
  }
}

}  // namespace synfield
