// The CUDA backend: the same engine on the Thrust CUDA system, compiled by nvcc.
#include <cuda_runtime.h>

#include "backends.h"
#include "engine.h"

namespace synfield::detail {

std::unique_ptr<Solver> make_cuda_engine(const Problem& p) { return make_engine<CudaSystem>(p); }

int cuda_devices() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess) {
    cudaGetLastError();  // clear the sticky "no device" error
    return 0;
  }
  return n;
}

}  // namespace synfield::detail
