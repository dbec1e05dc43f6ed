// Backend selection and solver construction (include/synfield/solver.h).
#include <synfield/solver.h>

#include <stdexcept>

#include "host/engine/backends.h"

namespace synfield {

int cuda_device_count() {
#if defined(SYNFIELD_HAVE_CUDA)
  return detail::cuda_devices();
#else
  return 0;
#endif
}

Backend resolve_backend(const std::string& request) {
  if (request == "cpu") return Backend::cpu;
  if (request == "cuda") {
    if (!cuda_compiled()) throw std::runtime_error("--backend cuda: this build has no CUDA backend");
    if (cuda_device_count() == 0) throw std::runtime_error("--backend cuda: no CUDA device is usable here");
    return Backend::cuda;
  }
  if (request == "auto") return cuda_device_count() > 0 ? Backend::cuda : Backend::cpu;
  throw std::runtime_error("--backend " + request + ": expected auto, cpu or cuda");
}

std::unique_ptr<Solver> make_solver(const Problem& problem, Backend backend, const Comm* comm) {
  std::unique_ptr<Solver> s;
#if defined(SYNFIELD_HAVE_CUDA)
  if (backend == Backend::cuda) s = detail::make_cuda_engine(problem, false, comm);
#endif
  if (!s) {
    if (backend == Backend::cuda) throw std::runtime_error("this build has no CUDA backend");
    s = detail::make_cpu_engine(problem, false, comm);
  }
  s->set_initial_state();
  return s;
}

}  // namespace synfield
