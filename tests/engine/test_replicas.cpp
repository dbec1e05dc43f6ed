// Truth: identities of the state layout and the arithmetic. Replica r of a B-replica run
// equals a one-replica run from the same initial state (replicas never interact, and the
// observables add up); fp32 runs track fp64 to single-precision tolerance, the free-field
// fast path included; advancing in chunks equals advancing at once.
#include "engine_test_util.h"

namespace synfield::test {
namespace {

// A nonlinear two-field potential with a per-site coefficient on a mixed-boundary lattice.
struct TestProblem {
  LatticeSpec lattice;
  std::string potential;
};

TestProblem nonlinear_setup(TempH5& files, int replicas) {
  TestProblem s;
  s.lattice.shape = {5, 7};
  s.lattice.boundary = {"dirichlet", "open"};
  s.lattice.spacing = 0.9;
  s.lattice.fields = {"w1", "w2"};
  s.lattice.replicas = replicas;
  const Lattice lat = problem(s.lattice, damped("leapfrog", 0.1, 0.0), "").lattice;
  std::vector<double> c(lat.sites());
  for (std::size_t x = 0; x < c.size(); ++x) c[x] = 0.5 + 0.4 * std::sin(0.7 * static_cast<double>(x));
  s.potential = term("mass", "w1", 1.0) + term("gradient", "w1", 1.0) + term("gradient", "w2", 0.6) +
                term_file("mass", "w2", files.put("mass_w2_B" + std::to_string(replicas), c, lat)) + power_term("w1", 4, 0.7) +
                monomial({"w2", "d0(w1)"}, 0.4) + monomial({"dd1(w2)", "w1^2"}, 0.2);
  return s;
}

std::vector<std::string> all_dynamics(double dt) {
  return {damped("leapfrog", dt, 0.3), damped("yoshida4", dt, 0.3), damped("rk4", dt, 0.3),
          expanding("leapfrog", dt, 0.5, 1.0), expanding("rk4", dt, 0.5, 1.0), flow("euler", dt, 0.5),
          flow("rk4", dt, 0.5)};
}

// Elements of replica r of a [field][replica][site] array.
std::vector<double> replica_slice(const std::vector<double>& v, int F, int B, std::int64_t N, int r) {
  std::vector<double> out;
  for (int f = 0; f < F; ++f)
    out.insert(out.end(), v.begin() + (f * B + r) * N, v.begin() + (f * B + r + 1) * N);
  return out;
}

class Replicas : public BackendTest {};

TEST_P(Replicas, EvolveIndependently) {
  const int B = 3;
  TempH5 files("replicas");
  const TestProblem many = nonlinear_setup(files, B), one = nonlinear_setup(files, 1);
  for (const std::string& dyn : all_dynamics(0.05)) {
    SCOPED_TRACE(dyn);
    const Problem pb = problem(many.lattice, dyn, many.potential), p1 = problem(one.lattice, dyn, one.potential);
    const Lattice& lat = pb.lattice;
    const int F = 2;
    const std::int64_t N = lat.sites();
    auto sb = make_solver(pb, backend());
    const std::vector<double> w0 = smooth_random(lat, 41), pi0 = smooth_random(lat, 42, 0.4);
    sb->set_state(w0, pi0);
    sb->advance(9);
    std::vector<double> wb, vb;
    sb->get_state(wb, vb);
    const Observables ob = sb->observe();
    double V = 0.0, K = 0.0, D = 0.0;
    for (int r = 0; r < B; ++r) {
      SCOPED_TRACE("replica " + std::to_string(r));
      auto s1 = make_solver(p1, backend());
      s1->set_state(replica_slice(w0, F, B, N, r), replica_slice(pi0, F, B, N, r));
      s1->advance(9);
      std::vector<double> w1, v1;
      s1->get_state(w1, v1);
      const std::vector<double> wr = replica_slice(wb, F, B, N, r), vr = replica_slice(vb, F, B, N, r);
      EXPECT_TRUE(all_close(wr, w1, 1e-14 * max_abs(w1), 0.0, p1.lattice, "w"));
      EXPECT_TRUE(all_close(vr, v1, 1e-14 * max_abs(v1), 0.0, p1.lattice, "velocity"));
      const Observables o1 = s1->observe();
      V += o1.potential, K += o1.kinetic, D += o1.dissipated;
    }
    EXPECT_NEAR(ob.potential, V, 1e-13 * std::fabs(V)) << "V is the sum over replicas";
    EXPECT_NEAR(ob.kinetic, K, 1e-13 * K) << "K is the sum over replicas";
    EXPECT_NEAR(ob.dissipated, D, 1e-13 * D) << "D is the sum over replicas";
    ASSERT_GT(max_abs_diff(replica_slice(wb, F, B, N, 0), replica_slice(wb, F, B, N, 1)), 0.1)
        << "replicas started alike: the check would be vacuous";
  }
}

TEST_P(Replicas, Float32TracksFloat64) {
  TempH5 files("fp32");
  const TestProblem su = nonlinear_setup(files, 2);
  const double dt = 0.05;
  const std::vector<std::pair<std::string, std::string>> dyn{
      {damped("leapfrog", dt, 0.3, "float64"), damped("leapfrog", dt, 0.3, "float32")},
      {damped("rk4", dt, 0.3, "float64"), damped("rk4", dt, 0.3, "float32")},
      {flow("rk4", dt, 0.5, "float64"), flow("rk4", dt, 0.5, "float32")}};
  for (const auto& [d64, d32] : dyn) {
    SCOPED_TRACE(d32);
    const Problem p64 = problem(su.lattice, d64, su.potential), p32 = problem(su.lattice, d32, su.potential);
    auto s64 = make_solver(p64, backend());
    auto s32 = make_solver(p32, backend());
    ASSERT_EQ(s32->precision(), Precision::float32);
    ASSERT_EQ(s64->precision(), Precision::float64);
    // a state exactly representable in fp32, so both start from the same numbers
    std::vector<double> w0 = smooth_random(p64.lattice, 51), pi0 = smooth_random(p64.lattice, 52, 0.4);
    for (double& v : w0) v = static_cast<float>(v);
    for (double& v : pi0) v = static_cast<float>(v);
    s64->set_state(w0, pi0);
    s32->set_state(w0, pi0);
    const std::vector<double> f64 = s64->force(), f32 = s32->force();
    const double eps = 1.2e-7;  // fp32 unit roundoff ×1
    EXPECT_TRUE(all_close(f32, f64, 50 * eps * max_abs(f64), 0.0, p64.lattice, "fp32 force"));
    EXPECT_NEAR(s32->potential(), s64->potential(), 50 * eps * std::fabs(s64->potential()));
    s64->advance(40);
    s32->advance(40);
    std::vector<double> w64, v64, w32, v32;
    s64->get_state(w64, v64);
    s32->get_state(w32, v32);
    // 40 steps of rounding at ~ε each, amplified by the short-time dynamics
    EXPECT_TRUE(all_close(w32, w64, 2e-5 * max_abs(w64), 0.0, p64.lattice, "fp32 w after 40 steps"));
    EXPECT_TRUE(all_close(v32, v64, 2e-5 * max_abs(v64), 0.0, p64.lattice, "fp32 velocity after 40 steps"));
    const Observables o64 = s64->observe(), o32 = s32->observe();
    EXPECT_NEAR(o32.energy(), o64.energy(), 2e-5 * std::fabs(o64.energy()));
    EXPECT_NEAR(o32.dissipated, o64.dissipated, 2e-5 * std::fabs(o64.dissipated));
    // and fp32 is not secretly fp64
    EXPECT_GT(max_abs_diff(w32, w64), 0.0);
  }
}

// The free-field fast path (folded force coefficients, each line bound once, the dissipated
// energy of a site in the run's precision) in fp32 against fp64, and against the generic
// evaluator in the same precision: a 3-D lattice whose lines (37 sites) take the CPU's
// whole-line walk, every boundary kind, two fields, two replicas.
TEST_P(Replicas, FreeFieldFloat32TracksFloat64) {
  LatticeSpec lat;
  lat.shape = {4, 5, 37};
  lat.boundary = {"periodic", "dirichlet", "open"};
  lat.spacing = 0.7;
  lat.fields = {"w1", "w2"};
  lat.replicas = 2;
  const std::string pot = term("mass", "w1", 1.3) + term("gradient", "w1", 0.8) + term("source", "w1", -0.2) +
                          term("mass", "w2", 0.4) + term("gradient", "w2", 1.1);
  const Problem p64 = problem(lat, damped("leapfrog", 0.05, 0.3, "float64"), pot);
  const Problem p32 = problem(lat, damped("leapfrog", 0.05, 0.3, "float32"), pot);
  std::vector<double> w0 = smooth_random(p64.lattice, 71), pi0 = smooth_random(p64.lattice, 72, 0.4);
  for (double& v : w0) v = static_cast<float>(v);
  for (double& v : pi0) v = static_cast<float>(v);
  struct Run {
    std::vector<double> f, w, v;
    Observables o;
  };
  const auto run = [&](const Problem& p, bool generic_only) {
    auto s = make_engine(p, backend(), generic_only);
    s->set_state(w0, pi0);
    Run r;
    r.f = s->force();
    s->advance(40);
    s->get_state(r.w, r.v);
    r.o = s->observe();
    return r;
  };
  const Run r64 = run(p64, false), r32 = run(p32, false), g64 = run(p64, true), g32 = run(p32, true);
  const double eps = 1.2e-7;  // fp32 unit roundoff
  for (const auto& [r, tol, what] : {std::tuple{&r32, 2e-5, "fp32"}, std::tuple{&g64, 1e-12, "generic fp64"},
                                     std::tuple{&g32, 2e-5, "generic fp32"}}) {
    SCOPED_TRACE(what);
    EXPECT_TRUE(all_close(r->f, r64.f, 50 * eps * max_abs(r64.f), 0.0, p64.lattice, "force"));
    EXPECT_TRUE(all_close(r->w, r64.w, tol * max_abs(r64.w), 0.0, p64.lattice, "w after 40 steps"));
    EXPECT_TRUE(all_close(r->v, r64.v, tol * max_abs(r64.v), 0.0, p64.lattice, "velocity after 40 steps"));
    EXPECT_NEAR(r->o.energy(), r64.o.energy(), tol * std::fabs(r64.o.energy()));
    EXPECT_NEAR(r->o.dissipated, r64.o.dissipated, tol * std::fabs(r64.o.dissipated));
  }
  EXPECT_GT(r64.o.dissipated, 0.0);
  EXPECT_GT(max_abs_diff(r32.w, r64.w), 0.0);  // fp32 is not secretly fp64
}

// advance(n₁) then advance(n₂) equals advance(n₁ + n₂) and n single steps: the splitting
// closes and reopens its kicks exactly, and the time-dependent γ sees the same times.
TEST_P(Replicas, ChunkedAdvanceEqualsSingleAdvance) {
  TempH5 files("chunks");
  const TestProblem su = nonlinear_setup(files, 2);
  for (const std::string& dyn : all_dynamics(0.05)) {
    SCOPED_TRACE(dyn);
    const Problem p = problem(su.lattice, dyn, su.potential);
    const std::vector<double> w0 = smooth_random(p.lattice, 61), pi0 = smooth_random(p.lattice, 62, 0.4);
    std::vector<std::vector<double>> ws, vs;
    std::vector<Observables> os;
    for (const std::vector<int>& chunks : {std::vector<int>{12}, std::vector<int>{5, 7}, std::vector<int>(12, 1)}) {
      auto s = make_solver(p, backend());
      s->set_state(w0, pi0);
      for (int n : chunks) s->advance(n);
      std::vector<double> w, v;
      s->get_state(w, v);
      ws.push_back(w);
      vs.push_back(v);
      os.push_back(s->observe());
      EXPECT_EQ(s->step(), 12);
    }
    for (std::size_t k = 1; k < ws.size(); ++k) {
      EXPECT_TRUE(all_close(ws[k], ws[0], 1e-13 * max_abs(ws[0]), 0.0, p.lattice, "w"));
      EXPECT_TRUE(all_close(vs[k], vs[0], 1e-13 * max_abs(vs[0]), 0.0, p.lattice, "velocity"));
      EXPECT_NEAR(os[k].dissipated, os[0].dissipated, 1e-13 * std::fabs(os[0].dissipated));
      EXPECT_NEAR(os[k].time, os[0].time, 1e-14);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Engine, Replicas, kBackends, BackendName());

}  // namespace
}  // namespace synfield::test
