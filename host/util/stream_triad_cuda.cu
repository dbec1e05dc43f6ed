// STREAM triad on the device (host/util/stream_triad.h), through the same launcher the
// engine uses (host/engine/launch.h on the Thrust CUDA system).
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>

#include "host/engine/launch.h"
#include "host/util/stream_triad.h"

namespace synfield::bench {
namespace {

struct TriadOp {
  double* a;
  const double* b;
  const double* c;
  double s;
  SF_HD void operator()(long i) const { a[i] = b[i] + s * c[i]; }
};

}  // namespace

Triad cuda_stream_triad(long n, int reps) {
  CudaSystem::vector<double> a(n, 0.0), b(n, 1.0), c(n, 2.0);
  const TriadOp op{thrust::raw_pointer_cast(a.data()), thrust::raw_pointer_cast(b.data()),
                   thrust::raw_pointer_cast(c.data()), 3.0};
  double best = 1e300;
  for (int r = 0; r <= reps; ++r) {  // r = 0 is the warm-up
    cudaDeviceSynchronize();
    const auto t0 = std::chrono::steady_clock::now();
    for_each_element<CudaSystem>(n, op);
    cudaDeviceSynchronize();
    const std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    if (r > 0) best = std::min(best, dt.count());
  }
  Triad t;
  t.bytes_per_second = 3.0 * sizeof(double) * static_cast<double>(n) / best;
  t.elements = n;
  t.repetitions = reps;
  return t;
}

}  // namespace synfield::bench
