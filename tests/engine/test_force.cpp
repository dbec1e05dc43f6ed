// Truth: a mathematical identity. The force must be F = −(1/μ) ∂V/∂w, checked against a
// central finite difference of Solver::potential() for every term kind, boundary kind
// (uniform and mixed per axis), dimension and unit system; the free-field fast path must
// agree with the generic evaluator; and lines longer than the CPU launch segments must
// match a plain-loop free-field reference and the finite-difference identity.
#include <functional>

#include "engine_test_util.h"

namespace synfield::test {
namespace {

struct Geometry {
  std::vector<int> shape;
  std::vector<std::string> boundary;
  double spacing;
  int replicas;
};

void PrintTo(const Geometry& g, std::ostream* os) {
  for (std::size_t i = 0; i < g.shape.size(); ++i) *os << (i ? "x" : "") << g.shape[i];
  for (const auto& b : g.boundary) *os << " " << b;
  *os << " a=" << g.spacing << " B=" << g.replicas;
}

std::vector<Geometry> geometries() {
  return {
      {{7}, {"periodic"}, 0.7, 1},
      {{7}, {"open"}, 0.7, 1},
      {{7}, {"dirichlet"}, 0.7, 2},
      {{5, 7}, {"periodic"}, 1.3, 1},
      {{5, 7}, {"open"}, 1.3, 1},
      {{5, 7}, {"dirichlet"}, 1.3, 1},
      {{5, 7}, {"open", "periodic"}, 1.3, 2},
      {{7, 5}, {"dirichlet", "open"}, 0.8, 1},
      {{5, 3}, {"periodic", "dirichlet"}, 0.8, 1},
      {{3, 5, 7}, {"periodic"}, 0.9, 1},
      {{3, 3, 5}, {"open"}, 0.9, 1},
      {{5, 3, 3}, {"dirichlet"}, 0.9, 1},
      {{5, 3, 3}, {"periodic", "open", "dirichlet"}, 1.1, 1},
      {{3, 5, 3}, {"open", "dirichlet", "periodic"}, 0.9, 2},
  };
}

LatticeSpec lattice_of(const Geometry& g, const std::string& units) {
  LatticeSpec l;
  l.shape = g.shape;
  l.boundary = g.boundary;
  l.spacing = g.spacing;
  l.fields = {"w1", "w2"};
  l.replicas = g.replicas;
  l.units = units;
  return l;
}

// One family of potential terms; `files` receives per-site coefficient arrays.
struct TermSet {
  std::string name;
  std::function<std::string(const Lattice& lat, TempH5& files)> toml;
};

std::string ax(int mu) { return std::to_string(mu); }

std::vector<TermSet> term_sets() {
  std::vector<TermSet> s;
  s.push_back({"mass", [](const Lattice&, TempH5&) { return term("mass", "w1", 1.7) + term("mass", "w2", 0.45); }});
  s.push_back({"gradient",
               [](const Lattice&, TempH5&) { return term("gradient", "w1", 0.9) + term("gradient", "w2", 1.6); }});
  s.push_back({"source",
               [](const Lattice&, TempH5&) { return term("source", "w1", -0.6) + term("source", "w2", 0.35); }});
  s.push_back({"power", [](const Lattice&, TempH5&) {
                 return power_term("w1", 3, 0.8) + power_term("w2", 4, 1.3) + power_term("w1", 6, 0.2);
               }});
  s.push_back({"monomial_d", [](const Lattice& lat, TempH5&) {
                 const std::string last = ax(lat.dim - 1);
                 return monomial({"w2", "d0(w1)"}, 0.7) + monomial({"d" + last + "(w2)^3", "w1"}, -0.4) +
                        monomial({"d0(w1)^2", "d" + last + "(w2)"}, 0.3);
               }});
  s.push_back({"monomial_dd", [](const Lattice& lat, TempH5&) {
                 return monomial({"dd0(w1)^2"}, 0.3) + monomial({"dd" + ax(lat.dim - 1) + "(w2)", "w1^2"}, 0.5);
               }});
  s.push_back({"monomial_lap", [](const Lattice&, TempH5&) {
                 return monomial({"lap(w1)^2"}, 0.25) + monomial({"lap(w2)", "d0(w1)", "w2"}, 0.6);
               }});
  s.push_back({"monomial_4factors", [](const Lattice& lat, TempH5&) {
                 return monomial({"w1", "w2^2", "d" + ax(lat.dim - 1) + "(w1)", "dd0(w2)"}, 0.35);
               }});
  s.push_back({"per_site", [](const Lattice& lat, TempH5& files) {
                 auto coef = [&](std::uint64_t seed) {
                   std::mt19937_64 rng(seed);
                   std::uniform_real_distribution<double> u(0.3, 1.7);
                   std::vector<double> c(lat.sites());
                   for (double& v : c) v = u(rng);
                   return c;
                 };
                 return term_file("mass", "w1", files.put("mass", coef(11), lat)) +
                        term_file("gradient", "w2", files.put("gradient", coef(12), lat)) +
                        term_file("power", "w1", files.put("power", coef(13), lat)) + "exponent = 3\n" +
                        monomial_file({"w2", "d0(w1)"}, files.put("mono", coef(14), lat)) +
                        monomial_file({"dd" + ax(lat.dim - 1) + "(w1)", "w2^2"}, files.put("mono_dd", coef(15), lat));
               }});
  return s;
}

// F_fd = −(1/μ) (V(w + h e_i) − V(w − h e_i)) / 2h for every element i.
std::vector<double> finite_difference_force(Solver& s, const Lattice& lat, const std::vector<double>& w,
                                            const std::vector<double>& pi, double h) {
  std::vector<double> fd(w.size()), wp = w;
  for (std::size_t i = 0; i < w.size(); ++i) {
    wp[i] = w[i] + h;
    s.set_state(wp, pi);
    const double vp = s.potential();
    wp[i] = w[i] - h;
    s.set_state(wp, pi);
    const double vm = s.potential();
    wp[i] = w[i];
    fd[i] = -(vp - vm) / (2.0 * h * lat.mu());
  }
  s.set_state(w, pi);
  return fd;
}

using ForceParam = std::tuple<Backend, Geometry>;

class ForceIdentity : public ::testing::TestWithParam<ForceParam> {
 protected:
  void SetUp() override { SYNFIELD_REQUIRE_BACKEND(std::get<0>(GetParam())); }
  Backend backend() const { return std::get<0>(GetParam()); }
  const Geometry& geometry() const { return std::get<1>(GetParam()); }
};

// Checks Solver::force() against the finite difference of Solver::potential() for one
// potential on one lattice; returns the potential's text for the trace.
void check_force(Backend b, const LatticeSpec& spec, const std::string& potential, std::uint64_t seed) {
  const Problem p = problem(spec, damped("leapfrog", 0.01, 0.0), potential);
  const Lattice& lat = p.lattice;
  auto s = make_solver(p, b);
  const std::vector<double> w = smooth_random(lat, seed), pi(w.size(), 0.0);
  s->set_state(w, pi);
  const std::vector<double> f = s->force();
  const double h = 1e-5;
  const std::vector<double> fd = finite_difference_force(*s, lat, w, pi, h);
  const double fmax = max_abs(fd);
  // truncation ~h²·V''' and rounding ~ε·|V|/(hμ), both far below the O(|F|) error of a
  // wrong term, a wrong boundary site or a wrong 1/μ
  const double atol = 1e-8 * std::max(1.0, fmax) + 1e-10 * std::fabs(s->potential()) / lat.mu();
  EXPECT_TRUE(all_close(f, fd, atol, 1e-7, lat, "force"));
  EXPECT_GT(fmax, 1e-3) << "the test state gives no force: the check would be vacuous";
}

TEST_P(ForceIdentity, MatchesFiniteDifferenceOfPotential) {
  const Geometry& g = geometry();
  std::uint64_t seed = 1;
  // continuum units: each family of terms alone, then all together; network units (which
  // differ only in μ) all together
  for (const std::string units : {"continuum", "network"}) {
    const LatticeSpec spec = lattice_of(g, units);
    Lattice lat = problem(spec, damped("leapfrog", 0.01, 0.0), "").lattice;
    TempH5 files("force_" + spec.name() + "_" + units);
    std::string all;
    for (const TermSet& ts : term_sets()) {
      const std::string pot = ts.toml(lat, files);
      all += pot;
      if (units != "continuum") continue;
      SCOPED_TRACE("units " + units + ", terms " + ts.name + "\n" + pot);
      check_force(backend(), spec, pot, ++seed);
      if (HasFailure()) return;  // the first failing family is reported, then the test stops
    }
    SCOPED_TRACE("units " + units + ", all term families together");
    check_force(backend(), spec, all, ++seed);
    if (HasFailure()) return;
  }
}

// The free-field fast path (mass, gradient, source with scalar coefficients) and the
// generic evaluator are two implementations of the same V: forces, potentials and a few
// steps must agree to rounding.
TEST_P(ForceIdentity, FreeFastPathMatchesGenericEvaluator) {
  const Geometry& g = geometry();
  for (const std::string units : {"continuum", "network"}) {
    SCOPED_TRACE("units " + units);
    const LatticeSpec spec = lattice_of(g, units);
    const std::string pot = term("mass", "w1", 1.7) + term("gradient", "w1", 0.9) + term("source", "w1", -0.3) +
                            term("mass", "w2", 0.4) + term("gradient", "w2", 1.3) + term("gradient", "w2", 0.2) +
                            term("source", "w2", 0.25);
    const Problem p = problem(spec, damped("leapfrog", 0.05, 0.3), pot);
    auto fast = make_engine(p, backend(), false);
    auto generic = make_engine(p, backend(), true);
    const std::vector<double> w = smooth_random(p.lattice, 7), pi = smooth_random(p.lattice, 8);
    fast->set_state(w, pi);
    generic->set_state(w, pi);
    const std::vector<double> ff = fast->force(), fg = generic->force();
    EXPECT_TRUE(all_close(ff, fg, 1e-13 * max_abs(fg), 1e-13, p.lattice, "force"));
    const double vf = fast->potential(), vg = generic->potential();
    EXPECT_NEAR(vf, vg, 1e-13 * std::fabs(vg)) << "potential";
    fast->advance(5);
    generic->advance(5);
    std::vector<double> wf, pf, wg, pg;
    fast->get_state(wf, pf);
    generic->get_state(wg, pg);
    EXPECT_TRUE(all_close(wf, wg, 1e-12 * max_abs(wg), 1e-12, p.lattice, "w after 5 steps"));
    EXPECT_TRUE(all_close(pf, pg, 1e-12 * max_abs(pg), 1e-12, p.lattice, "pi after 5 steps"));
    const Observables of = fast->observe(), og = generic->observe();
    EXPECT_NEAR(of.energy(), og.energy(), 1e-12 * std::fabs(og.energy()));
    EXPECT_NEAR(of.dissipated, og.dissipated, 1e-12 * std::fabs(og.dissipated));
  }
}

// ---- long lines ---------------------------------------------------------------------
// Lines along the fastest axis longer than the CPU launcher's work segments (2048 sites)
// and of odd length: the segment edges and the line ends must see the same physics as
// every other site.

// ∂(Σ_x 𝒱)/∂w for 𝒱 = ½m²w² + ½K Σ_μ (d_μ w)² + J w, one field, by plain loops over sites
// and axes (periodic: wrap; dirichlet: w = 0 beyond the edge; open: no difference there).
std::vector<double> free_reference_gradient(const Lattice& lat, const std::vector<double>& w, double m2, double K,
                                            double J, double* density_sum) {
  const std::int64_t N = lat.sites();
  const double a = lat.spacing;
  std::vector<double> grad(N, 0.0);
  double V = 0.0;
  std::vector<std::int64_t> stride(lat.dim, 1);
  for (int mu = lat.dim - 2; mu >= 0; --mu) stride[mu] = stride[mu + 1] * lat.shape[mu + 1];
  for (std::int64_t x = 0; x < N; ++x) {
    grad[x] += m2 * w[x] + J;
    V += 0.5 * m2 * w[x] * w[x] + J * w[x];
    const std::vector<int> c = coords(lat, x);
    for (int mu = 0; mu < lat.dim; ++mu) {
      std::int64_t nb = -1;  // the forward neighbour, -1 when outside
      if (c[mu] + 1 < lat.shape[mu]) nb = x + stride[mu];
      else if (lat.boundary[mu] == Boundary::periodic) nb = x - (lat.shape[mu] - 1) * stride[mu];
      else if (lat.boundary[mu] == Boundary::open) continue;
      const double d = ((nb >= 0 ? w[nb] : 0.0) - w[x]) / a;
      V += 0.5 * K * d * d;
      grad[x] -= K * d / a;
      if (nb >= 0) grad[nb] += K * d / a;
    }
  }
  *density_sum = V;
  return grad;
}

struct LongLine {
  std::vector<int> shape;
  std::string boundary;
};

void PrintTo(const LongLine& l, std::ostream* os) {
  for (std::size_t i = 0; i < l.shape.size(); ++i) *os << (i ? "x" : "") << l.shape[i];
  *os << " " << l.boundary;
}

using LongLineParam = std::tuple<Backend, LongLine>;

class LongLines : public ::testing::TestWithParam<LongLineParam> {
 protected:
  void SetUp() override { SYNFIELD_REQUIRE_BACKEND(std::get<0>(GetParam())); }
  Backend backend() const { return std::get<0>(GetParam()); }
  LatticeSpec spec() const {
    LatticeSpec l;
    l.shape = std::get<1>(GetParam()).shape;
    l.boundary = {std::get<1>(GetParam()).boundary};
    l.spacing = 0.7;
    return l;
  }
};

// Free field: both evaluators against the plain-loop reference at every site.
TEST_P(LongLines, FreeFieldMatchesPlainLoops) {
  const double m2 = 1.3, K = 0.8, J = -0.2;
  const Problem p = problem(spec(), damped("leapfrog", 0.01, 0.0),
                            term("mass", "w", m2) + term("gradient", "w", K) + term("source", "w", J));
  const Lattice& lat = p.lattice;
  const std::vector<double> w = smooth_random(lat, 91), pi(w.size(), 0.0);
  double sum = 0.0;
  std::vector<double> want = free_reference_gradient(lat, w, m2, K, J, &sum);
  for (double& f : want) f = -f;  // F = −(1/μ)∂V/∂w = −∂(Σ𝒱)/∂w
  for (const bool generic : {false, true}) {
    SCOPED_TRACE(generic ? "generic evaluator" : "free fast path");
    auto s = make_engine(p, backend(), generic);
    s->set_state(w, pi);
    EXPECT_TRUE(all_close(s->force(), want, 1e-13 * max_abs(want), 1e-13, lat, "force"));
    EXPECT_NEAR(s->potential(), lat.mu() * sum, 1e-12 * std::fabs(lat.mu() * sum));
  }
}

// Generic terms: the finite-difference identity at the sites around the segment edges and
// the line ends.
TEST_P(LongLines, GenericTermsMatchFiniteDifferenceAtSegmentEdges) {
  const LatticeSpec l = spec();
  const std::string last = std::to_string(l.shape.size() - 1);
  const Problem p = problem(l, damped("leapfrog", 0.01, 0.0),
                            term("mass", "w", 1.1) + monomial({"d" + last + "(w)^3", "w"}, 0.3) +
                                monomial({"dd" + last + "(w)^2"}, 0.2) + monomial({"lap(w)", "w^2"}, 0.25));
  const Lattice& lat = p.lattice;
  auto s = make_solver(p, backend());
  const std::vector<double> w = smooth_random(lat, 92), pi(w.size(), 0.0);
  s->set_state(w, pi);
  const std::vector<double> f = s->force();
  const int n_last = lat.shape[lat.dim - 1];
  std::vector<int> cols{0, 1, 2, 2045, 2046, 2047, 2048, 2049, 2050, n_last - 3, n_last - 2, n_last - 1};
  std::vector<double> got, fd;
  std::vector<std::int64_t> where;
  const double h = 1e-5;
  std::vector<double> wp = w;
  for (std::int64_t line = 0; line < lat.sites() / n_last; ++line)
    for (int c : cols) {
      if (c < 0 || c >= n_last) continue;
      const std::int64_t i = line * n_last + c;
      wp[i] = w[i] + h;
      s->set_state(wp, pi);
      const double vp = s->potential();
      wp[i] = w[i] - h;
      s->set_state(wp, pi);
      const double vm = s->potential();
      wp[i] = w[i];
      got.push_back(f[i]);
      fd.push_back(-(vp - vm) / (2 * h * lat.mu()));
      where.push_back(i);
    }
  const double atol = 1e-8 * std::max(1.0, max_abs(fd)) + 1e-10 * std::fabs(s->potential()) / lat.mu();
  for (std::size_t k = 0; k < got.size(); ++k) {
    const std::vector<int> c = coords(lat, where[k]);
    EXPECT_NEAR(got[k], fd[k], atol + 1e-7 * std::fabs(fd[k]))
        << "force at site (" << c[0] << (c.size() > 1 ? "," + std::to_string(c[1]) : std::string()) << ")";
    if (HasFailure()) return;
  }
}

std::string long_line_name(const ::testing::TestParamInfo<LongLineParam>& info) {
  const LongLine& l = std::get<1>(info.param);
  std::string s = std::string(backend_name(std::get<0>(info.param))) + "_";
  for (std::size_t i = 0; i < l.shape.size(); ++i) s += (i ? "x" : "") + std::to_string(l.shape[i]);
  return s + "_" + l.boundary;
}

INSTANTIATE_TEST_SUITE_P(
    Engine, LongLines,
    ::testing::Combine(kBackends, ::testing::Values(LongLine{{4099}, "periodic"}, LongLine{{4099}, "open"},
                                                    LongLine{{4099}, "dirichlet"}, LongLine{{3, 2051}, "periodic"},
                                                    LongLine{{3, 2051}, "open"}, LongLine{{3, 2051}, "dirichlet"})),
    long_line_name);

std::string geometry_name(const ::testing::TestParamInfo<ForceParam>& info) {
  const Geometry& g = std::get<1>(info.param);
  std::string s = backend_name(std::get<0>(info.param));
  s += "_";
  for (std::size_t i = 0; i < g.shape.size(); ++i) s += (i ? "x" : "") + std::to_string(g.shape[i]);
  for (const auto& b : g.boundary) s += "_" + b;
  if (g.replicas > 1) s += "_B" + std::to_string(g.replicas);
  return s;
}

INSTANTIATE_TEST_SUITE_P(Engine, ForceIdentity, ::testing::Combine(kBackends, ::testing::ValuesIn(geometries())),
                         geometry_name);

}  // namespace
}  // namespace synfield::test
