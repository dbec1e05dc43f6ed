// synfield portability layer: read this first.
//
//   SF_HD              marks a function callable on host and device. Never write raw
//                      __host__ __device__: with g++ and only the Thrust headers those
//                      words do not exist.
//   SF_FORCEINLINE     strong inline hint for per-site kernel math.
//   SF_DEVICE_NOINLINE keeps a large device function out of line on the GPU (one copy per
//                      translation unit instead of one per kernel: compile time); no-op on
//                      the CPU, where inlining pays.
//   Backend            the execution backends a binary may hold (cpu = Thrust OpenMP
//                      system compiled by g++, cuda = Thrust CUDA system compiled by nvcc).
//   backend_name()     the name printed at start-up and stored in output files.
//   cuda_compiled()    whether this binary carries the CUDA backend.
#pragma once

#include <string>

#if defined(__CUDACC__)
#define SF_HD __host__ __device__
#define SF_FORCEINLINE __forceinline__
#define SF_DEVICE_NOINLINE __noinline__
#else
#define SF_DEVICE_NOINLINE
#define SF_HD
#define SF_FORCEINLINE inline __attribute__((always_inline))
#endif

namespace synfield {

enum class Backend { cpu, cuda };

inline const char* backend_name(Backend b) { return b == Backend::cuda ? "cuda" : "cpu"; }

constexpr bool cuda_compiled() {
#if defined(SYNFIELD_HAVE_CUDA)
  return true;
#else
  return false;
#endif
}

}  // namespace synfield
