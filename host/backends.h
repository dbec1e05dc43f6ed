// Entry points of the backend translation units (host/engine_cpu.cpp, host/engine_cuda.cu).
#pragma once

#include <memory>

#include <synfield/solver.h>

namespace synfield::detail {

std::unique_ptr<Solver> make_cpu_engine(const Problem& p);
#if defined(SYNFIELD_HAVE_CUDA)
std::unique_ptr<Solver> make_cuda_engine(const Problem& p);
int cuda_devices();
#endif

}  // namespace synfield::detail
