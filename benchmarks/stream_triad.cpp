// STREAM triad on the CPU (benchmarks/stream_triad.h): plain OpenMP, doubles.
#include "stream_triad.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "host/sysinfo.h"

namespace synfield::bench {
namespace {

// Compiled for AVX2 as well, like the engine's CPU line walker (SF_CPU_CLONES in
// host/launch.h), so that the ceiling gets the same instruction set as what it bounds.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
void triad(double* a, const double* b, const double* c, double s, long begin, long end) {
  for (long i = begin; i < end; ++i) a[i] = b[i] + s * c[i];
}

// This thread's share of [0, n) under a static schedule.
void share(long n, long& begin, long& end) {
  const long t = omp_get_thread_num(), nt = omp_get_num_threads();
  begin = n * t / nt;
  end = n * (t + 1) / nt;
}

}  // namespace

Triad cpu_stream_triad(long n, int reps) {
  // new[] of doubles leaves the memory untouched, so the parallel init is the first touch;
  // the arrays get huge pages as the engine's state arrays do (Engine::Array)
  std::unique_ptr<double[]> a(new double[n]), b(new double[n]), c(new double[n]);
  for (double* x : {a.get(), b.get(), c.get()}) advise_huge_pages(x, static_cast<std::size_t>(n) * sizeof(double));
#pragma omp parallel
  {
    long begin, end;
    share(n, begin, end);
    for (long i = begin; i < end; ++i) {
      a[i] = 0.0;
      b[i] = 1.0;
      c[i] = 2.0;
    }
  }
  double best = 1e300;
  for (int r = 0; r <= reps; ++r) {  // r = 0 is the warm-up
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel
    {
      long begin, end;
      share(n, begin, end);
      triad(a.get(), b.get(), c.get(), 3.0, begin, end);
    }
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    if (r > 0) best = std::min(best, dt.count());
  }
  Triad t;
  t.bytes_per_second = 3.0 * sizeof(double) * static_cast<double>(n) / best;
  t.elements = n;
  t.threads = omp_get_max_threads();
  t.repetitions = reps;
  return t;
}

}  // namespace synfield::bench
