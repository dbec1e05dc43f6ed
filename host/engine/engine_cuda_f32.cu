// The CUDA engine in float precision (see engine_cuda.cu).
#include "host/engine/backends.h"
#include "host/engine/engine.h"

namespace synfield::detail {

std::unique_ptr<Solver> make_cuda_engine_f32(const Problem& p, bool generic_only, const Comm* comm) {
  return make_engine_of<CudaSystem, float>(p, generic_only, comm);
}

}  // namespace synfield::detail
