// The lattice split over ranks (host/engine/slab.h): R engines, each evolving its slab of axis 0
// with ghost rows filled from its neighbours, against one engine with the whole lattice.
// Truth: the unsplit engine. The per-site arithmetic is the same, so without a model the
// fields, velocities and forces must be equal bit for bit; sums over sites (energy, D,
// means) add per-rank parts, so they agree to rounding; a model's products split into
// per-rank partial sums, so its runs agree to rounding. The ranks are threads of this test
// talking through an in-process Comm (tests/common/thread_comm.h); `mpirun` runs of the
// executable are tested in tests/run/test_mpi_run.sh.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "engine_test_util.h"
#include "host/io/h5.h"
#include "host/run/stability.h"
#include "thread_comm.h"

namespace synfield::test {
namespace {

struct Outcome {
  std::vector<double> w, v, force, b, vb;
  std::vector<Observables> obs;
};

// Runs `chunks` of steps observing after each; the state, the force and the biases at the end.
Outcome evolve(Solver& s, const std::vector<int>& chunks) {
  Outcome o;
  o.obs.push_back(s.observe());
  for (int n : chunks) {
    s.advance(n);
    o.obs.push_back(s.observe());
  }
  s.get_state(o.w, o.v);
  o.force = s.force();
  s.get_bias(o.b, o.vb);
  return o;
}

::testing::AssertionResult close(double got, double want, double rtol, const char* what) {
  if (std::fabs(got - want) <= rtol * std::fabs(want) + 1e-300) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << what << " = " << got << ", unsplit " << want << " (rel "
                                       << std::fabs(got - want) / std::fabs(want) << " > " << rtol << ")";
}

struct SlabCase {
  std::string name;
  std::function<Problem(TempH5&)> make;
  bool exact;  // local terms only: fields bit for bit
};

std::vector<SlabCase> cases() {
  std::vector<SlabCase> c;
  c.push_back({"free_1d_periodic_leapfrog", [](TempH5&) {
                 LatticeSpec l;
                 l.shape = {16};
                 return problem(l, damped("leapfrog", 0.05, 0.3),
                                term("mass", "w", 1.0) + term("gradient", "w", 1.0) + term("source", "w", 0.2),
                                "[initial.w]\nkind = \"gaussian\"\nstd = 0.5\nseed = 4\n");
               },
               true});
  c.push_back({"free_3d_mixed_bc_yoshida_fp32", [](TempH5&) {
                 LatticeSpec l;
                 l.shape = {9, 5, 4};
                 l.boundary = {"dirichlet", "open", "periodic"};
                 l.spacing = 0.8;
                 return problem(l, damped("yoshida4", 0.05, 0.2, "float32"),
                                term("mass", "w", 0.5) + term("gradient", "w", 1.0),
                                "[initial.w]\nkind = \"gaussian\"\nstd = 0.5\nseed = 5\n");
               },
               true});
  // generic terms reaching two rows (a difference's adjoint at a neighbour), per-site
  // coefficients in the ghost rows, two fields, two replicas, open and Dirichlet axis 0
  auto generic = [](const std::string& bc0, const std::string& dyn) {
    return [bc0, dyn](TempH5& files) {
      LatticeSpec l;
      l.shape = {10, 6};
      l.boundary = {bc0, "dirichlet"};
      l.spacing = 0.9;
      l.fields = {"u", "v"};
      l.replicas = 2;
      const Lattice lat = problem(l, dyn, "").lattice;
      std::vector<double> k(lat.sites());
      for (std::size_t x = 0; x < k.size(); ++x) k[x] = 0.5 + 0.4 * std::sin(0.7 * static_cast<double>(x));
      return problem(l, dyn,
                     term("mass", "u", 1.0) + term("gradient", "v", 0.6) +
                         term_file("mass", "v", files.put("k_" + bc0, k, lat)) + power_term("u", 4, 0.7) +
                         monomial({"v", "d0(u)"}, 0.4) + monomial({"lap(u)^2"}, 0.05) +
                         monomial({"dd0(v)", "u^2"}, 0.2) + monomial_file({"d0(v)^2"}, files.put("c_" + bc0, k, lat)),
                     "[initial.u]\nkind = \"gaussian\"\nstd = 0.3\nseed = 6\n[initial.v]\nkind = \"gaussian\"\n"
                     "std = 0.3\nseed = 7\n");
    };
  };
  c.push_back({"generic_2d_open_leapfrog", generic("open", damped("leapfrog", 0.02, 0.3)), true});
  // the initial u read from a file: each rank takes its slab of it
  c.push_back({"free_2d_file_initial", [](TempH5& files) {
                 LatticeSpec l;
                 l.shape = {10, 7};
                 l.boundary = {"periodic", "open"};
                 const Lattice lat = problem(l, damped("leapfrog", 0.05, 0.3), "").lattice;
                 std::vector<double> u0(lat.sites());
                 for (std::size_t x = 0; x < u0.size(); ++x) u0[x] = std::cos(0.37 * static_cast<double>(x * x % 17));
                 return problem(l, damped("leapfrog", 0.05, 0.3), term("mass", "w", 1.0) + term("gradient", "w", 0.8),
                                "[initial.w]\nkind = \"file\"\npath = \"" + files.put("w0", u0, lat) + "\"\n");
               },
               true});
  c.push_back({"generic_2d_periodic_rk4", generic("periodic", damped("rk4", 0.02, 0.3)), true});
  c.push_back({"generic_2d_dirichlet_flow_rk4", generic("dirichlet", flow("rk4", 0.01, 0.5)), true});
  c.push_back({"generic_2d_periodic_flow_euler", generic("periodic", flow("euler", 0.01, 0.5)), true});
  // models: factored with biases and test data; dense; per-replica minibatches; plus a prior
  auto model = [](const std::string& extra, const std::string& dyn, const std::string& potential) {
    return [=](TempH5&) {
      return parse_test_config("[lattice]\nshape = [24]\nunits = \"network\"\n[model]\nkind = \"perceptron\"\n"
                               "bias = true\n" + extra +
                               "[data]\ngenerator = \"smooth\"\nsamples = 12\ntest_samples = 4\n"
                               "correlation = 0.2\nseed = 3\n" + dyn + potential +
                               "[initial.w]\nkind = \"gaussian\"\nstd = 0.1\nseed = 8\n");
    };
  };
  c.push_back({"model_factored_flow", model("coupling = \"factored\"\n", flow("euler", 1.0, 0.02), ""), false});
  c.push_back({"model_dense_damped", model("coupling = \"dense\"\n", damped("leapfrog", 0.5, 1.0), ""), false});
  c.push_back({"model_bootstrap_minibatch",
               model("coupling = \"factored\"\nminibatch = 5\nreplica_data = \"bootstrap\"\n",
                     flow("euler", 1.0, 0.02), ""),
               false});
  c.push_back({"model_with_prior", model("coupling = \"dense\"\n", flow("euler", 1.0, 0.02), term("gradient", "w", 0.3)),
               false});
  return c;
}

class Slab : public BackendTest {};

TEST_P(Slab, SplitRunsEqualTheUnsplitRun) {
  const std::vector<int> chunks{3, 1, 6};
  for (const SlabCase& sc : cases()) {
    TempH5 files("slab_" + sc.name);
    const Problem p = sc.make(files);
    if (files.used() && !h5::thread_safe()) {  // the ranks below are threads, each reading the files
      std::printf("[ skipped  ] case %s: this HDF5 (parallel HDF5) is not thread-safe, and ranks as threads "
                  "would read its files at once (the serial-HDF5 build runs it)\n", sc.name.c_str());
      continue;
    }
    auto whole = make_solver(p, backend());
    const Outcome want = evolve(*whole, chunks);
    for (int ranks : {2, 3, 4}) {
      SCOPED_TRACE(sc.name + " on " + std::to_string(ranks) + " ranks");
      std::vector<Outcome> got(ranks);
      run_ranks(ranks, [&](const Comm& comm) {
        auto s = make_solver(p, backend(), &comm);
        got[comm.rank()] = evolve(*s, chunks);
      });
      const double tol = sc.exact ? 0.0 : 1e-11;
      for (int r = 0; r < ranks; ++r) {  // every rank sees the whole lattice
        EXPECT_TRUE(all_close(got[r].w, want.w, tol * max_abs(want.w), 0.0, p.lattice, "w"));
        EXPECT_TRUE(all_close(got[r].v, want.v, tol * max_abs(want.v), 0.0, p.lattice, "velocity"));
        EXPECT_TRUE(all_close(got[r].force, want.force, tol * max_abs(want.force), 0.0, p.lattice, "force"));
        ASSERT_EQ(got[r].b.size(), want.b.size());
        for (std::size_t k = 0; k < want.b.size(); ++k) EXPECT_TRUE(close(got[r].b[k], want.b[k], 1e-11, "bias"));
        ASSERT_EQ(got[r].obs.size(), want.obs.size());
        for (std::size_t k = 0; k < want.obs.size(); ++k) {
          const Observables &g = got[r].obs[k], &o = want.obs[k];
          EXPECT_EQ(g.step, o.step);
          EXPECT_EQ(g.time, o.time);
          const double scale = std::fabs(o.kinetic) + std::fabs(o.potential);
          EXPECT_NEAR(g.energy(), o.energy(), 1e-12 * scale) << "row " << k;
          EXPECT_NEAR(g.dissipated, o.dissipated, 1e-12 * scale) << "row " << k;
          for (std::size_t f = 0; f < o.mean.size(); ++f) {
            EXPECT_NEAR(g.mean[f], o.mean[f], 1e-12 * o.rms[f]) << "row " << k;
            EXPECT_TRUE(close(g.rms[f], o.rms[f], 1e-12, "rms"));
          }
          if (p.model.enabled) {
            EXPECT_TRUE(close(g.loss, o.loss, 1e-11, "loss"));
            EXPECT_TRUE(close(g.test_loss, o.test_loss, 1e-11, "test loss"));
            ASSERT_EQ(g.test_predictions.size(), o.test_predictions.size());
          }
        }
      }
    }
  }
}

// set_state takes the whole lattice on every rank, and a split run from it equals the
// unsplit run from it (the dt check's Lanczos and a checkpoint's resume rely on this);
// get_state gathers to every rank or to rank 0 alone.
TEST_P(Slab, SetStateThenStepMatches) {
  TempH5 files("slab_set");
  const Problem p = cases()[2].make(files);
  const std::vector<double> w0 = smooth_random(p.lattice, 71), pi0 = smooth_random(p.lattice, 72, 0.4);
  auto whole = make_solver(p, backend());
  whole->set_state(w0, pi0);
  whole->set_clock(7, 0.7, 1.5);
  whole->advance(5);
  std::vector<double> w, v;
  whole->get_state(w, v);
  const Observables o = whole->observe();
  run_ranks(3, [&](const Comm& comm) {
    auto s = make_solver(p, backend(), &comm);
    s->set_state(w0, pi0);
    s->set_clock(7, 0.7, 1.5);
    s->advance(5);
    std::vector<double> ws, vs;
    s->get_state(ws, vs);
    EXPECT_TRUE(all_close(ws, w, 0.0, 0.0, p.lattice, "w"));
    EXPECT_TRUE(all_close(vs, v, 0.0, 0.0, p.lattice, "velocity"));
    // gathered to rank 0 alone (a run's snapshots): the same there, nothing elsewhere
    std::vector<float> wr, vr;
    s->get_state(wr, vr, Solver::Gather::root);
    if (comm.rank() == 0) {
      EXPECT_TRUE(all_close(std::vector<double>(wr.begin(), wr.end()), std::vector<double>(w.begin(), w.end()),
                            1e-6 * max_abs(w), 0.0, p.lattice, "w (fp32, on rank 0)"));
      EXPECT_EQ(vr.size(), v.size());
    } else {
      EXPECT_TRUE(wr.empty() && vr.empty());
    }
    EXPECT_EQ(s->step(), 12);
    EXPECT_NEAR(s->dissipated(), o.dissipated, 1e-13 * o.dissipated);
  });
}

// A rank needs as many rows of axis 0 as the stencil reaches: more ranks are refused,
// naming the key and the largest rank count that works.
TEST_P(Slab, TooManyRanksAreRefused) {
  TempH5 files("slab_small");
  const Problem p = cases()[2].make(files);  // 10 rows, generic terms: 2 rows per rank
  EXPECT_THROW(
      {
        try {
          run_ranks(6, [&](const Comm& comm) { make_solver(p, backend(), &comm); });
        } catch (const std::invalid_argument& e) {
          EXPECT_TRUE(contains_all(e.what(), {"lattice.shape[0] = 10", "6 MPI ranks", "at most 5"}));
          throw;
        }
      },
      std::invalid_argument);
  run_ranks(5, [&](const Comm& comm) { make_solver(p, backend(), &comm); });  // 2 rows each: fine
}

// The dt check on a split lattice (host/run/stability.cpp: each rank its own sites, the dot
// products added over the ranks, the same start vector by site) finds the unsplit λ_max in
// as many Jacobian products, and restores each rank's state exactly; with minibatches its
// local-terms solver is split too.
TEST_P(Slab, StabilityEstimateMatches) {
  for (const SlabCase& sc : cases()) {
    if (sc.name != "free_3d_mixed_bc_yoshida_fp32" && sc.name != "generic_2d_open_leapfrog" &&
        sc.name != "model_bootstrap_minibatch")
      continue;
    SCOPED_TRACE(sc.name);
    TempH5 files("slab_dt_" + sc.name);
    const Problem p = sc.make(files);
    auto whole = make_solver(p, backend());
    const StabilityEstimate want = estimate_stability(*whole, p);
    ASSERT_GT(want.lambda, 0.0);
    std::vector<double> w, v;
    whole->get_state(w, v);
    run_ranks(3, [&](const Comm& comm) {
      auto s = make_solver(p, backend(), &comm);
      const StabilityEstimate got = estimate_stability(*s, p);
      EXPECT_NEAR(got.lambda, want.lambda, 1e-9 * want.lambda);
      EXPECT_NEAR(got.dt_max, want.dt_max, 1e-9 * want.dt_max);
      EXPECT_EQ(got.iterations, want.iterations);
      std::vector<double> ws, vs;
      s->get_state(ws, vs);
      EXPECT_TRUE(all_close(ws, w, 0.0, 0.0, p.lattice, "w after the estimate"));
      EXPECT_TRUE(all_close(vs, v, 0.0, 0.0, p.lattice, "velocity after the estimate"));
    });
  }
}

INSTANTIATE_TEST_SUITE_P(Engine, Slab, kBackends, BackendName());

}  // namespace
}  // namespace synfield::test
