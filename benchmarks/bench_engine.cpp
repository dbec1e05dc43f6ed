// Benchmark of the leapfrog step of the damped free field (mass + gradient, periodic,
// γ = 0.5, so every kick also sums the energy it dissipates), fp32 and fp64, 1-D
// N = 2^24 and 3-D 256³, on the CPU and (when a device is present) on CUDA.
// Each case reports the bytes it moves per second and the ratio to a STREAM triad that
// this binary measures (host/util/stream_triad.h): on the CPU a triad pass runs before
// every timed iteration, and the case is quoted against the best of those passes, so that
// both figures come from the same seconds of a machine whose bandwidth drifts (on a shared
// VM the triad can move between 34 and 67 GB/s from one run to the next, and within a
// run); the triad measured once at start-up is in the context. A device's
// triad is measured once, at start-up.
//
// What one step moves. advance(k) runs k steps of K(h/2) D(h) K(h/2) with the closing
// half-kick of each step merged into the opening one of the next, and each kick fused with
// the drift after it (host/engine/engine.h), so it launches
//   k   kick-drifts  π ← eπ + φF(w), w' = w + hπ, Σ dissipated
//                    read w, π; write π, w' (a second array); plus the write-allocate
//                    read of w' (plain stores)                              5 words/site
//   1   kick         π ← eπ + φF(w), Σ dissipated: read w, π; write π       3 words/site
// i.e. 5k + 3 words/site per advance(k), → 5 words/site per step in steady state, when each
// is a pass over memory, as in 1-D. The kick's stencil neighbours come from cache (1-D: the
// same lines; 3-D: the ±z planes of a 256² slab, 0.25/0.5 MiB in fp32/fp64, stay in L2/L3),
// so w is read once per pass. π is updated in place; w' is written without being read, so
// the CPU first reads its lines into cache (write-allocate): that read is counted, as it is
// memory traffic. (The triad writes a[] the same way, so a CPU moves 4 words per element
// while STREAM counts 3; a memory-bound pass can therefore exceed 100 % of the counted
// triad figure by up to 4/3.)
// In 2-D and 3-D the CPU chains up to kMaxChain = 4 consecutive kick-drifts in one sweep
// along axis 0 (host/engine/launch.h reduce_sites_chained: each a plane behind the one before), so
// memory sees about one pass per chain and the other kick-drifts find their planes in
// cache. The counters still count 5k + 3 words, one pass per kick-drift: for the 3-D cases
// bytes_per_second is the effective bandwidth, what the step would have to move unchained,
// and it can exceed what the memory delivers.
//
// Counters (per benchmark; time is wall-clock, the iteration is advance(k)):
//   bytes_per_second            the words moved as counted above ((5k + 3)/k per site·step),
//                               from the best iteration, as STREAM takes its best pass
//   triad_bytes_per_second      the triad the ratios divide by: CPU, the best of the passes
//                               run before this case's iterations; device, the start-up one
//   ratio_to_triad              bytes_per_second / triad_bytes_per_second
//   stream_count_ratio          the same without the write-allocate read ((4k + 3)/k words
//                               per site·step), i.e. counted as STREAM counts the triad
//   effective_bytes_per_second  4 words/site/step (read w, π; write w, π): the least a step
//                               in a pass of its own must move when the state does not
//                               fit in cache
//   effective_ratio             effective_bytes_per_second / triad
//   ns_per_site_step            best iteration time / (k · sites)
//
// The context records the CPU's vector instruction set the engine's line walker and the
// triad run with (both are built for baseline x86-64 and for AVX2, picked at load time).
//
// Run: build-bench/benchmarks/bench_engine [--benchmark_filter=cpu]; on a shared machine
// benchmarks/best_of.py BINARY RUNS [...] keeps the best of several runs.
#include <benchmark/benchmark.h>

#include <synfield/config.h>
#include <synfield/solver.h>

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "host/util/stream_triad.h"

namespace {

using synfield::Backend;

constexpr std::int64_t kStepsPerIteration = 8;  // k in advance(k)
constexpr int kIterations = 10;                 // timed advance(k) per case
constexpr long kTriadElements = 1L << 25;       // 3 × 256 MiB: ≫ 32 MiB L3
constexpr int kTriadReps = 10;

// The CPU triad's arrays, for the passes paired with each case's iterations; the device's
// triad in bytes/s, measured in main() before any benchmark (0: not measured).
std::unique_ptr<synfield::bench::CpuTriad> g_cpu_triad;
double g_device_triad = 0.0;

struct Case {
  int dim;
  bool fp32;
};

std::string config_text(const Case& c) {
  const std::string shape = c.dim == 1 ? "[16777216]" : "[256, 256, 256]";
  const std::string k = c.dim == 1 ? "[3]" : "[3, 1, 2]";
  return "[lattice]\n"
         "shape = " + shape + "\n"
         "spacing = 0.1\n"
         "boundary = \"periodic\"\n"
         "[dynamics]\n"
         "equation = \"damped\"\n"
         "gamma = 0.5\n"
         "integrator = \"leapfrog\"\n"
         "dt = 0.01\n"
         "steps = 0\n"
         "precision = \"" + std::string(c.fp32 ? "float32" : "float64") + "\"\n"
         "[[potential]]\nterm = \"mass\"\nfield = \"w\"\ncoefficient = 1.0\n"
         "[[potential]]\nterm = \"gradient\"\nfield = \"w\"\ncoefficient = 1.0\n"
         "[initial.w]\nkind = \"mode\"\nwavevector = " + k + "\namplitude = 1.0\n";
}

void leapfrog_step(benchmark::State& state, Backend backend, Case c) {
  if (backend == Backend::cuda && synfield::cuda_device_count() == 0) {
    state.SkipWithError(synfield::cuda_compiled() ? "no CUDA device" : "no CUDA device (built without CUDA)");
    return;
  }
  const synfield::Problem problem = synfield::parse_config(config_text(c));
  const std::unique_ptr<synfield::Solver> solver = synfield::make_solver(problem, backend);
  const double sites = static_cast<double>(problem.lattice.sites());
  const double word = c.fp32 ? 4.0 : 8.0;
  const double k = static_cast<double>(kStepsPerIteration);

  solver->advance(kStepsPerIteration);  // warm-up: pages touched, caches and clocks settled
  double best = 1e300;
  double triad = backend == Backend::cpu ? 0.0 : g_device_triad;
  for (auto _ : state) {
    if (backend == Backend::cpu) triad = std::max(triad, g_cpu_triad->pass());  // untimed
    const auto t0 = std::chrono::steady_clock::now();
    solver->advance(kStepsPerIteration);
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    state.SetIterationTime(dt.count());
    best = std::min(best, dt.count());
  }
  benchmark::DoNotOptimize(solver->time());

  const double moved = (5.0 * k + 3.0) * sites * word;  // per advance(k)
  const double minimal = 4.0 * k * sites * word;
  state.counters["bytes_per_second"] = moved / best;
  state.counters["effective_bytes_per_second"] = minimal / best;
  state.counters["ratio_to_triad"] = triad > 0 ? moved / best / triad : 0.0;
  state.counters["stream_count_ratio"] = triad > 0 ? (moved - k * sites * word) / best / triad : 0.0;
  state.counters["effective_ratio"] = triad > 0 ? minimal / best / triad : 0.0;
  state.counters["ns_per_site_step"] = 1e9 * best / (k * sites);
  state.counters["triad_bytes_per_second"] = triad;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  g_cpu_triad = std::make_unique<synfield::bench::CpuTriad>(kTriadElements);
  const double cpu = g_cpu_triad->best(kTriadReps);
  benchmark::AddCustomContext("stream_triad_cpu_GBps", std::to_string(cpu * 1e-9));
  benchmark::AddCustomContext("stream_triad_cpu", std::to_string(kTriadElements) + " doubles/array, " +
                                                      std::to_string(omp_get_max_threads()) + " threads, best of " +
                                                      std::to_string(kTriadReps) + " at start-up; per CPU case, best of " +
                                                      std::to_string(kIterations) + " passes paired with its iterations");
  benchmark::AddCustomContext("omp_threads", std::to_string(omp_get_max_threads()));
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)  // as SF_CPU_CLONES, host/engine/launch.h
  benchmark::AddCustomContext("cpu_simd", __builtin_cpu_supports("avx2") ? "avx2" : "sse2");
#endif
#if defined(SYNFIELD_HAVE_CUDA)
  if (synfield::cuda_device_count() > 0) {
    const synfield::bench::Triad dev = synfield::bench::cuda_stream_triad(kTriadElements, kTriadReps);
    g_device_triad = dev.bytes_per_second;
    benchmark::AddCustomContext("stream_triad_cuda_GBps", std::to_string(dev.bytes_per_second * 1e-9));
  }
#endif
  benchmark::AddCustomContext("steps_per_iteration", std::to_string(kStepsPerIteration));

  for (Backend b : {Backend::cpu, Backend::cuda})
    for (int dim : {1, 3})
      for (bool fp32 : {true, false}) {
        const std::string name = std::string("leapfrog_step/") + synfield::backend_name(b) + "/" +
                                 (fp32 ? "fp32" : "fp64") + "/" + (dim == 1 ? "1d_2^24" : "3d_256^3");
        benchmark::RegisterBenchmark(name.c_str(), leapfrog_step, b, Case{dim, fp32})
            ->UseManualTime()
            ->Unit(benchmark::kMillisecond)
            ->Iterations(kIterations);
      }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
