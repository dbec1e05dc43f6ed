// The CPU's chained sweep (host/engine/launch.h reduce_sites_chained, which the free field's
// leapfrog and yoshida4 use on an unsplit lattice of 2 or 3 dimensions): up to kMaxChain
// fused kick-drifts in one sweep along axis 0, each OpenMP thread a run of planes as a
// wavefront, the planes near the runs' ends afterwards, pass by pass. Truth: the same
// problem split over 2 ranks (ranks as threads, tests/common/thread_comm.h), where each
// kick-drift is a pass of its own. The sites get the same operations, so w and π must be
// equal bit for bit; D and the energy are sums in another order, so they agree to rounding.
// Covered: 1 to 5 threads (so 1 to 5 runs of 1 to 65 planes: runs too short for any pass
// but the first to have inner planes, and long enough for all four), axis-0 extents 2, 3,
// 5, 9, 12, 65, small lattices (run on the calling thread) and large ones (over threads,
// and one where the kick-drifts fall back to a pass each), every boundary kind on axis 0,
// two fields and two replicas (rows of their own), leapfrog and yoshida4 (chains across
// steps), constant and power-law damping (each kick's weights at its own time), fp32, and
// advance() by 1 to 4 steps (chains of 2 to 4 kicks, a lone kick, and 9 kicks as 4 + 4 + 1).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "engine_test_util.h"
#include "thread_comm.h"

namespace synfield::test {
namespace {

struct Outcome {
  std::vector<double> w, v;
  std::vector<Observables> obs;
};

Outcome evolve(Solver& s) {
  Outcome r;
  for (int n : {3, 1, 4, 2}) {
    s.advance(n);
    r.obs.push_back(s.observe());
  }
  s.get_state(r.w, r.v);
  return r;
}

struct ChainedCase {
  LatticeSpec lattice;
  std::string dynamics;
};

std::vector<ChainedCase> cases() {
  auto lat = [](std::vector<int> shape, std::vector<std::string> bc, std::vector<std::string> fields, int replicas) {
    LatticeSpec l;
    l.shape = std::move(shape);
    l.boundary = std::move(bc);
    l.spacing = 0.7;
    l.fields = std::move(fields);
    l.replicas = replicas;
    return l;
  };
  return {
      {lat({9, 5, 4}, {"periodic", "open", "dirichlet"}, {"u", "v"}, 2), damped("leapfrog", 0.05, 0.4)},
      {lat({5, 6, 3}, {"open", "periodic", "periodic"}, {"u"}, 1), damped("yoshida4", 0.05, 0.4)},
      {lat({3, 4, 5}, {"dirichlet", "dirichlet", "open"}, {"u"}, 2), expanding("yoshida4", 0.04, 0.7, 1.5)},
      {lat({2, 7}, {"periodic", "open"}, {"u", "v"}, 1), expanding("leapfrog", 0.05, 0.5, 2.0)},
      {lat({9, 6}, {"dirichlet", "periodic"}, {"u"}, 3), damped("leapfrog", 0.05, 0.3, "float32")},
      // over 2^18 sites, so over threads: runs of ≥ 8 planes, one per thread; and too few
      // planes for that on 2 or more threads, where the kick-drifts go one pass each
      {lat({65, 64, 64}, {"periodic", "open", "periodic"}, {"u"}, 1), damped("leapfrog", 0.05, 0.4, "float32")},
      {lat({12, 100, 220}, {"open", "periodic", "dirichlet"}, {"u"}, 1), damped("yoshida4", 0.05, 0.4)},
  };
}

TEST(ChainedSweep, EqualsOneKickDriftPerPass) {
  for (const ChainedCase& c : cases()) {
    std::string potential;
    for (const std::string& f : c.lattice.fields)
      potential += term("mass", f, 0.8) + term("gradient", f, 1.1) + term("source", f, 0.3);
    std::string initial;
    for (std::size_t k = 0; k < c.lattice.fields.size(); ++k)
      initial += "[initial." + c.lattice.fields[k] + "]\nkind = \"gaussian\"\nstd = 0.5\nseed = " +
                 std::to_string(11 + k) + "\nvelocity = { kind = \"gaussian\", std = 0.3, seed = " +
                 std::to_string(21 + k) + " }\n";
    const Problem p = problem(c.lattice, c.dynamics, potential, initial);
    std::vector<Outcome> split(2);
    run_ranks(2, [&](const Comm& comm) {
      auto s = make_solver(p, Backend::cpu, &comm);
      split[comm.rank()] = evolve(*s);
    });
    const Outcome& want = split[0];
    for (int threads = 1; threads <= 5; ++threads) {
      SCOPED_TRACE(c.lattice.name() + " " + c.dynamics + "on " + std::to_string(threads) + " threads");
      const ThreadCount scope(threads);
      auto s = make_solver(p, Backend::cpu);
      const Outcome got = evolve(*s);
      EXPECT_TRUE(all_close(got.w, want.w, 0.0, 0.0, p.lattice, "w"));
      EXPECT_TRUE(all_close(got.v, want.v, 0.0, 0.0, p.lattice, "velocity"));
      ASSERT_EQ(got.obs.size(), want.obs.size());
      for (std::size_t k = 0; k < want.obs.size(); ++k) {
        const Observables &g = got.obs[k], &o = want.obs[k];
        EXPECT_EQ(g.step, o.step);
        EXPECT_EQ(g.time, o.time);
        const double scale = std::fabs(o.kinetic) + std::fabs(o.potential);
        EXPECT_NEAR(g.dissipated, o.dissipated, 1e-12 * scale) << "observation " << k;
        EXPECT_NEAR(g.energy(), o.energy(), 1e-12 * scale) << "observation " << k;
      }
    }
  }
}

}  // namespace
}  // namespace synfield::test
