// STREAM triad on the CPU (benchmarks/stream_triad.h): plain OpenMP, doubles.
#include "stream_triad.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <memory>

namespace synfield::bench {

Triad cpu_stream_triad(long n, int reps) {
  // new[] of doubles leaves the memory untouched, so the parallel init is the first touch
  std::unique_ptr<double[]> a(new double[n]), b(new double[n]), c(new double[n]);
  double* pa = a.get();
  const double* pb = b.get();
  const double* pc = c.get();
#pragma omp parallel for schedule(static)
  for (long i = 0; i < n; ++i) {
    a[i] = 0.0;
    b[i] = 1.0;
    c[i] = 2.0;
  }
  const double s = 3.0;
  double best = 1e300;
  for (int r = 0; r <= reps; ++r) {  // r = 0 is the warm-up
    const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel for schedule(static)
    for (long i = 0; i < n; ++i) pa[i] = pb[i] + s * pc[i];
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
