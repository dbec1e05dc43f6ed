// The CUDA backend: the same engine on the Thrust CUDA system, compiled by nvcc. Each
// precision is instantiated in its own translation unit (engine_cuda_f32.cu,
// engine_cuda_f64.cu) so the two compile in parallel.
#include <cuda_runtime.h>

#include <stdexcept>
#include <string>

#include "host/engine/backends.h"

namespace synfield::detail {

std::unique_ptr<Solver> make_cuda_engine(const Problem& p, bool generic_only, const Comm* comm) {
  // split over ranks: the ranks of a node take its devices in turn
  if (comm && comm->size() > 1) {
    const int n = cuda_devices();
    if (n > 0 && cudaSetDevice(comm->local_rank() % n) != cudaSuccess)
      throw std::runtime_error("cudaSetDevice(" + std::to_string(comm->local_rank() % n) + ") failed");
  }
  return p.dynamics.precision == Precision::float32 ? make_cuda_engine_f32(p, generic_only, comm)
                                                    : make_cuda_engine_f64(p, generic_only, comm);
}

int cuda_devices() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

}  // namespace synfield::detail
