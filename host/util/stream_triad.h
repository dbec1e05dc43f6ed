// The bandwidth ceilings the benchmarks quote: a STREAM triad a[i] = b[i] + s·c[i] on the
// CPU (plain OpenMP, independent of our launcher) and, in CUDA builds, on the device.
// Bytes are counted the STREAM way: 3 words per element (2 reads + 1 write); the
// write-allocate read of a[] that a CPU also performs is not counted.
#pragma once

#include <memory>
#include <string>

namespace synfield::bench {

struct Triad {
  double bytes_per_second = 0.0;  // best repetition
  long elements = 0;              // per array, doubles
  int threads = 0;                // OpenMP threads (CPU) or 0 (device)
  int repetitions = 0;
};

// The CPU triad's arrays, n doubles each (keep 3·8·n ≫ last-level cache), first-touched in
// parallel with the same static schedule as the timed loop, kept so that a benchmark can
// time single passes next to its own iterations (on a shared machine the bandwidth moves
// from one second to the next). The loop is built for AVX2 as well as baseline x86-64,
// like the engine's line walker.
class CpuTriad {
 public:
  explicit CpuTriad(long n);
  double pass();          // one timed pass over all threads: its bytes/s
  double best(int reps);  // the best of `reps` passes after one warm-up pass

 private:
  long n_;
  std::unique_ptr<double[]> a_, b_, c_;
};

// CpuTriad(n).best(reps).
Triad cpu_stream_triad(long n, int reps);

#if defined(SYNFIELD_HAVE_CUDA)
// The same triad on the Thrust CUDA system (requires a device).
Triad cuda_stream_triad(long n, int reps);
#endif

}  // namespace synfield::bench
