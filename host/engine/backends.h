// Entry points of the backend translation units (host/engine/engine_cpu.cpp, host/engine/engine_cuda.cu).
#pragma once

#include <memory>

#include <synfield/comm.h>
#include <synfield/solver.h>

namespace synfield::detail {

// `generic_only` disables the free-field fast path (tests compare the two evaluators);
// `comm`: the ranks the lattice is split over (null: not split).
std::unique_ptr<Solver> make_cpu_engine(const Problem& p, bool generic_only = false, const Comm* comm = nullptr);
#if defined(SYNFIELD_HAVE_CUDA)
std::unique_ptr<Solver> make_cuda_engine(const Problem& p, bool generic_only = false, const Comm* comm = nullptr);
std::unique_ptr<Solver> make_cuda_engine_f32(const Problem& p, bool generic_only, const Comm* comm);  // engine_cuda_f32.cu
std::unique_ptr<Solver> make_cuda_engine_f64(const Problem& p, bool generic_only, const Comm* comm);  // engine_cuda_f64.cu
int cuda_devices();
#endif

}  // namespace synfield::detail
