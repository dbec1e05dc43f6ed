// Entry points of the backend translation units (host/engine_cpu.cpp, host/engine_cuda.cu).
#pragma once

#include <memory>

#include <synfield/solver.h>

namespace synfield::detail {

// `generic_only` disables the free-field fast path (tests compare the two evaluators).
std::unique_ptr<Solver> make_cpu_engine(const Problem& p, bool generic_only = false);
#if defined(SYNFIELD_HAVE_CUDA)
std::unique_ptr<Solver> make_cuda_engine(const Problem& p, bool generic_only = false);
std::unique_ptr<Solver> make_cuda_engine_f32(const Problem& p, bool generic_only);  // engine_cuda_f32.cu
std::unique_ptr<Solver> make_cuda_engine_f64(const Problem& p, bool generic_only);  // engine_cuda_f64.cu
int cuda_devices();
#endif

}  // namespace synfield::detail
