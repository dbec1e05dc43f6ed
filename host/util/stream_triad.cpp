// STREAM triad on the CPU (host/util/stream_triad.h): plain OpenMP, doubles.
#include "host/util/stream_triad.h"

#include <omp.h>

#include <algorithm>
#include <chrono>

#include "host/util/sysinfo.h"

namespace synfield::bench {
namespace {

// Compiled for AVX2 as well, like the engine's CPU line walker (SF_CPU_CLONES in
// host/engine/launch.h), so that the ceiling gets the same instruction set as what it bounds.
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

CpuTriad::CpuTriad(long n) : n_(n), a_(new double[n]), b_(new double[n]), c_(new double[n]) {
  // new[] of doubles leaves the memory untouched, so the parallel init is the first touch;
  // the arrays get huge pages as the engine's state arrays do (Engine::Array)
  for (double* x : {a_.get(), b_.get(), c_.get()}) advise_huge_pages(x, static_cast<std::size_t>(n) * sizeof(double));
#pragma omp parallel
  {
    long begin, end;
    share(n, begin, end);
    for (long i = begin; i < end; ++i) {
      a_[i] = 0.0;
      b_[i] = 1.0;
      c_[i] = 2.0;
    }
  }
}

double CpuTriad::pass() {
  const auto t0 = std::chrono::steady_clock::now();
#pragma omp parallel
  {
    long begin, end;
    share(n_, begin, end);
    triad(a_.get(), b_.get(), c_.get(), 3.0, begin, end);
  }
  const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
  return 3.0 * sizeof(double) * static_cast<double>(n_) / dt.count();
}

double CpuTriad::best(int reps) {
  pass();  // warm-up
  double b = 0.0;
  for (int r = 0; r < reps; ++r) b = std::max(b, pass());
  return b;
}

Triad cpu_stream_triad(long n, int reps) {
  Triad t;
  t.bytes_per_second = CpuTriad(n).best(reps);
  t.elements = n;
  t.threads = omp_get_max_threads();
  t.repetitions = reps;
  return t;
}

}  // namespace synfield::bench
