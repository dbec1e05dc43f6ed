// Benchmark of the perceptron model's gradient step on the CPU (fp64 unless named):
//
//   factored_step  the field solver's gradient flow + Euler step with factored sources at
//                  N = 2^16 (1-D input), P = 1024, n_out = 1, B = 1, network units, against
//                  the `synfield gd` reference loop (train_gd, host/gd/gd.h) on the same data.
//                  One step of either reads X twice (R = Y − sXWᵀ − b, then F ∝ RᵀX), so both
//                  are bound by memory bandwidth: bytes/s is quoted against a STREAM triad
//                  measured by this binary (host/util/stream_triad.h).
//   dense_step     the field solver's gradient flow + Euler step with the dense coupling,
//                  N = 4096, M = n_out·B = 64 (64 replicas) and M = 1: its force is one GEMM
//                  F = −(2/μ) W J₂ (M×N by N×N) plus O(M·N) work; quoted in flop/s = 2·M·N²
//                  per step against blas::gemm alone at the same shape.
//
// Each iteration times the field solver and its reference back to back (interleaved, so a
// loaded machine slows both alike) and the counters are computed from the best iteration of
// each, as STREAM takes its best pass. The manual time of an iteration is the field solver's.
//
// factored_step counters (per step):
//   field_ms, gd_ms       field solver advance(k) / k; train_gd per step, measured as
//                         [T(steps = 1 + k) − T(steps = 1)] / k so that its set-up and the
//                         loss evaluations at the first and last step (observe_every = steps)
//                         cancel
//   gd_over_field         gd_ms / field_ms: ≥ 1 means the field solver is at least as fast
//   blas_ms               the step's two products alone, as the field solver's CPU backend
//                         issues them (HostGemm, host/model/device_blas.h: GEMV for M = 1) on
//                         separate buffers: the floor the solver's other work adds to
//   field_over_blas       blas_ms / field_ms: the fraction of the step spent in those products
//   field_bytes_per_second, gd_bytes_per_second
//                         counted bytes per step / time per step, bytes = 8·(2·P·N + 4·N): X read
//                         twice, plus the N-site force and weight arrays (the force written and
//                         read, the weights read and written); the P-long residual is noise
//   field_ratio_to_triad, gd_ratio_to_triad   the same over the STREAM triad (3 words/element)
// dense_step counters:
//   field_gflops          2·M·N² per field step / time per step (all of the step's work counted
//                         as the GEMM's: the fraction is a lower bound on the GEMM's own)
//   gemm_gflops           the same flops / one blas::gemm(M, N, N) on separate buffers
//   fraction_of_gemm      field_gflops / gemm_gflops
//   issued_gflops, fraction_of_issued   the same for the product as the field solver issues
//                         it (HostGemm: GEMV when M = 1, else the same GEMM)
//
// Run: build-mbench/benchmarks/bench_model [--benchmark_filter=factored] [--benchmark_repetitions=3]
#include <benchmark/benchmark.h>

#include <synfield/blas.h>
#include <synfield/data.h>
#include <synfield/problem.h>
#include <synfield/solver.h>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "host/model/device_blas.h"
#include "host/gd/gd.h"
#include "host/util/stream_triad.h"

namespace {

using synfield::Backend;
using Clock = std::chrono::steady_clock;

constexpr long kTriadElements = 1L << 25;  // 3 × 256 MiB: ≫ last-level cache
constexpr int kTriadReps = 10;
double g_triad = 0.0;  // CPU STREAM triad bytes/s, measured in main()

double seconds_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Unit-variance deviates, counter-based so the fill runs in parallel (uniform on ±√3: the
// values only need to be generic; timing does not depend on their distribution).
void fill_random(std::vector<double>& v, std::uint64_t seed) {
  const long n = static_cast<long>(v.size());
  double* p = v.data();
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) {
    std::uint64_t x = seed * 0x9E3779B97F4A7C15ULL + static_cast<std::uint64_t>(i);
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    x ^= x >> 31;
    p[i] = std::sqrt(3.0) * (2.0 * static_cast<double>(x >> 11) * 0x1.0p-53 - 1.0);
  }
}

// A gradient-flow + Euler perceptron problem on random data: 1-D input of N sites, P
// examples, one output, B replicas, bias on, network units (s = μ = 1), zero initial weights.
synfield::Problem model_problem(long N, long P, int B, synfield::Model::Coupling coupling,
                                synfield::Precision precision, double lr) {
  synfield::Problem p;
  synfield::Lattice& lat = p.lattice;
  lat.dim = 1;
  lat.shape = {static_cast<int>(N), 1, 1};
  lat.fields = {"w"};
  lat.replicas = B;
  lat.units = synfield::Units::network;
  synfield::Model& m = p.model;
  m.enabled = true;
  m.data.shape = {static_cast<int>(N)};
  m.data.outputs = 1;
  m.data.X.resize(static_cast<std::size_t>(P * N));
  m.data.Y.resize(static_cast<std::size_t>(P));
  fill_random(m.data.X, 1);
  fill_random(m.data.Y, 2);
  m.bias = true;
  m.coupling = coupling;
  m.scale = 1.0;
  synfield::Dynamics& d = p.dynamics;
  d.equation = synfield::Equation::gradient_flow;
  d.integrator = synfield::Integrator::euler;
  d.eta = 1.0;
  d.dt = lr;  // lr = dt·η/μ: well below 2/λ_max of the cost's Hessian, so the run stays finite
  d.precision = precision;
  p.initial.resize(1);  // zero weights
  return p;
}

// --- factored sources: field solver vs the gd reference ------------------------------------

// The two products of a factored step (one output, one replica) as the field solver's CPU
// backend issues them, on their own copy of X in the given precision.
class blas_floor {
 public:
  blas_floor(const std::vector<double>& X, long N, long P, bool fp32) : N_(N), P_(P), fp32_(fp32) {
    if (fp32)
      xf_.assign(X.begin(), X.end());
    else
      xd_ = X;
    wd_.assign(N, 1e-3), rd_.assign(P, 0.0), fd_.assign(N, 0.0);
    wf_.assign(N, 1e-3f), rf_.assign(P, 0.0f), ff_.assign(N, 0.0f);
  }
  // seconds for one step's products
  double time() {
    const auto t0 = Clock::now();
    if (fp32_)
      run(xf_, wf_, rf_, ff_);
    else
      run(xd_, wd_, rd_, fd_);
    return seconds_since(t0);
  }

 private:
  template <class Real>
  void run(const std::vector<Real>& X, const std::vector<Real>& w, std::vector<Real>& R, std::vector<Real>& F) {
    using synfield::blas::Trans;
    const synfield::HostGemm g;
    std::fill(R.begin(), R.end(), Real(0.5));
    g.gemm(Trans::no, Trans::yes, P_, 1, N_, Real(-1), X.data(), N_, w.data(), N_, Real(1), R.data(), 1);
    g.gemm(Trans::yes, Trans::no, 1, N_, P_, Real(2), R.data(), 1, X.data(), N_, Real(0), F.data(), N_);
    benchmark::DoNotOptimize(F.data());
  }
  long N_, P_;
  bool fp32_;
  std::vector<double> xd_, wd_, rd_, fd_;
  std::vector<float> xf_, wf_, rf_, ff_;
};

constexpr long kFactoredN = 1L << 16, kFactoredP = 1024;
constexpr std::int64_t kFieldSteps = 4;  // k: field advance(k), gd T(1 + k) − T(1)

void factored_step(benchmark::State& state, synfield::Precision precision) {
  const bool fp32 = precision == synfield::Precision::float32;
  const long N = kFactoredN, P = kFactoredP;
  const synfield::Problem problem =
      model_problem(N, P, 1, synfield::Model::Coupling::factored, precision, 1e-6);
  std::unique_ptr<synfield::Solver> solver = synfield::make_solver(problem, Backend::cpu);

  synfield::GdOptions opt;
  synfield::match_gradient_flow(opt, problem.dynamics.dt, problem.dynamics.eta, problem.lattice.mu());
  opt.bias = true;
  opt.scale = 1.0;
  opt.replicas = 1;
  auto gd_time = [&](std::int64_t steps) {
    opt.steps = steps;
    opt.observe_every = steps;  // loss at step 0 and the last step only (no output file)
    const auto t0 = Clock::now();
    const synfield::GdResult r = synfield::train_gd(problem.model.data, opt);
    const double t = seconds_since(t0);
    benchmark::DoNotOptimize(r.W.data());
    return t;
  };

  // the floor: R = Y − X wᵀ, then F = 2 Rᵀ X, as HostGemm issues them, on X in the run's precision
  blas_floor floor(problem.model.data.X, N, P, fp32);

  solver->advance(1);  // warm-up: pages touched, caches and clocks settled
  gd_time(1);
  floor.time();
  double best_field = 1e300, best_gd_short = 1e300, best_gd_long = 1e300, best_floor = 1e300;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    solver->advance(kFieldSteps);
    const double t = seconds_since(t0);
    state.SetIterationTime(t);
    best_field = std::min(best_field, t);
    best_floor = std::min(best_floor, floor.time());
    if (!fp32) {  // the reference is fp64 only: time it once, next to the fp64 run
      best_gd_short = std::min(best_gd_short, gd_time(1));
      best_gd_long = std::min(best_gd_long, gd_time(1 + kFieldSteps));
    }
  }
  benchmark::DoNotOptimize(solver->time());

  const double field = best_field / kFieldSteps;
  const double word = fp32 ? 4.0 : 8.0;
  const double bytes = (2.0 * P * N + 4.0 * N) * word;
  state.counters["field_ms"] = 1e3 * field;
  state.counters["blas_ms"] = 1e3 * best_floor;
  state.counters["field_over_blas"] = best_floor / field;
  state.counters["field_bytes_per_second"] = bytes / field;
  state.counters["field_ratio_to_triad"] = g_triad > 0 ? bytes / field / g_triad : 0.0;
  if (!fp32) {
    const double gd = std::max(best_gd_long - best_gd_short, 0.0) / kFieldSteps;
    state.counters["gd_ms"] = 1e3 * gd;
    state.counters["gd_ms_with_setup"] = 1e3 * best_gd_long / (1 + kFieldSteps);
    state.counters["gd_over_field"] = gd / field;
    state.counters["gd_bytes_per_second"] = gd > 0 ? bytes / gd : 0.0;
    state.counters["gd_ratio_to_triad"] = g_triad > 0 && gd > 0 ? bytes / gd / g_triad : 0.0;
  }
  state.counters["triad_bytes_per_second"] = g_triad;
}

// --- dense coupling: field solver vs blas::gemm at the force's shape ------------------------

constexpr long kDenseN = 4096, kDenseP = 512;
constexpr std::int64_t kDenseSteps = 4;

void dense_step(benchmark::State& state, int M) {
  const long N = kDenseN;
  const synfield::Problem problem =
      model_problem(N, kDenseP, M, synfield::Model::Coupling::dense, synfield::Precision::float64, 1e-5);
  std::unique_ptr<synfield::Solver> solver = synfield::make_solver(problem, Backend::cpu);

  // the reference: C = α A B with A M×N, B N×N, as dense_force issues it
  std::vector<double> A(static_cast<std::size_t>(M * N)), Bm(static_cast<std::size_t>(N * N)),
      C(static_cast<std::size_t>(M * N), 0.0);
  fill_random(A, 3);
  fill_random(Bm, 4);
  auto gemm_time = [&](bool issued) {
    using synfield::blas::Trans;
    const synfield::HostGemm g;
    const auto t0 = Clock::now();
    for (std::int64_t k = 0; k < kDenseSteps; ++k) {
      if (issued)
        g.gemm(Trans::no, Trans::no, M, N, N, -2.0, A.data(), N, Bm.data(), N, 0.0, C.data(), N);
      else
        synfield::blas::gemm(Trans::no, Trans::no, M, N, N, -2.0, A.data(), N, Bm.data(), N, 0.0, C.data(), N);
    }
    return seconds_since(t0);
  };

  solver->advance(1);
  gemm_time(false);
  gemm_time(true);
  double best_field = 1e300, best_gemm = 1e300, best_issued = 1e300;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    solver->advance(kDenseSteps);
    const double t = seconds_since(t0);
    state.SetIterationTime(t);
    best_field = std::min(best_field, t);
    best_gemm = std::min(best_gemm, gemm_time(false));
    best_issued = std::min(best_issued, gemm_time(true));
  }
  benchmark::DoNotOptimize(solver->time());
  benchmark::DoNotOptimize(C.data());

  const double flops = 2.0 * M * static_cast<double>(N) * N * kDenseSteps;
  state.counters["field_ms"] = 1e3 * best_field / kDenseSteps;
  state.counters["gemm_ms"] = 1e3 * best_gemm / kDenseSteps;
  state.counters["field_gflops"] = 1e-9 * flops / best_field;
  state.counters["gemm_gflops"] = 1e-9 * flops / best_gemm;
  state.counters["fraction_of_gemm"] = best_gemm / best_field;
  state.counters["issued_gflops"] = 1e-9 * flops / best_issued;
  state.counters["fraction_of_issued"] = best_issued / best_field;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const synfield::bench::Triad cpu = synfield::bench::cpu_stream_triad(kTriadElements, kTriadReps);
  g_triad = cpu.bytes_per_second;
  benchmark::AddCustomContext("stream_triad_cpu_GBps", std::to_string(cpu.bytes_per_second * 1e-9));
  benchmark::AddCustomContext("stream_triad_cpu", std::to_string(cpu.elements) + " doubles/array, " +
                                                      std::to_string(cpu.threads) + " threads, best of " +
                                                      std::to_string(cpu.repetitions));
  benchmark::AddCustomContext("omp_threads", std::to_string(omp_get_max_threads()));

  benchmark::RegisterBenchmark("factored_step/cpu/fp64/N=2^16/P=1024", factored_step, synfield::Precision::float64)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(5);
  benchmark::RegisterBenchmark("factored_step/cpu/fp32/N=2^16/P=1024", factored_step, synfield::Precision::float32)
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond)
      ->Iterations(5);
  for (int M : {64, 1}) {
    const std::string name = "dense_step/cpu/fp64/N=4096/M=" + std::to_string(M);
    benchmark::RegisterBenchmark(name.c_str(), dense_step, M)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond)
        ->Iterations(5);
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
