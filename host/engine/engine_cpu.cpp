// The CPU backend: the engine on the Thrust OpenMP system, compiled by the host compiler.
#include "host/engine/backends.h"
#include "host/engine/engine.h"

namespace synfield::detail {

std::unique_ptr<Solver> make_cpu_engine(const Problem& p, bool generic_only, const Comm* comm) {
  return make_engine<OmpSystem>(p, generic_only, comm);
}

}  // namespace synfield::detail
