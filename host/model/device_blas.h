// GEMM on a backend's own memory, row-major, with the signature of blas::gemm:
//   HostGemm  (CPU backend) CBLAS/OpenBLAS through include/synfield/blas.h (vector-shaped
//             products as GEMV)
//   CudaGemm  (CUDA backend) cuBLAS; row-major C = op(A)op(B) is issued as the column-major
//             Cᵀ = op(B)ᵀop(A)ᵀ, so the operands swap and the transpose flags stay.
// gemm_batched runs `count` independent products whose operands are `stride` elements
// apart (stride 0 shares an operand): cuBLAS strided-batched on the GPU, a loop on the CPU.
#pragma once

#include <synfield/blas.h>

#include <stdexcept>
#include <string>

#if defined(SYNFIELD_CUDA_TU)
#include <cublas_v2.h>
#endif

namespace synfield {

#if defined(SYNFIELD_CUDA_TU)
class CudaGemm {
 public:
  CudaGemm() {
    if (cublasCreate(&h_) != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cuBLAS: cublasCreate failed");
  }
  ~CudaGemm() { cublasDestroy(h_); }
  CudaGemm(const CudaGemm&) = delete;
  CudaGemm& operator=(const CudaGemm&) = delete;

  template <class Real>
  void gemm(blas::Trans ta, blas::Trans tb, long m, long n, long k, Real alpha, const Real* A, long lda,
            const Real* B, long ldb, Real beta, Real* C, long ldc) const {
    gemm_batched(ta, tb, m, n, k, alpha, A, lda, 0, B, ldb, 0, beta, C, ldc, 0, 1);
  }

  template <class Real>
  void gemm_batched(blas::Trans ta, blas::Trans tb, long m, long n, long k, Real alpha, const Real* A, long lda,
                    long sa, const Real* B, long ldb, long sb, Real beta, Real* C, long ldc, long sc,
                    long count) const {
    const cublasOperation_t oa = ta == blas::Trans::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t ob = tb == blas::Trans::yes ? CUBLAS_OP_T : CUBLAS_OP_N;
    cublasStatus_t st;
    if constexpr (sizeof(Real) == sizeof(double))
      st = cublasDgemmStridedBatched(h_, ob, oa, n, m, k, &alpha, B, ldb, sb, A, lda, sa, &beta, C, ldc, sc, count);
    else
      st = cublasSgemmStridedBatched(h_, ob, oa, n, m, k, &alpha, B, ldb, sb, A, lda, sa, &beta, C, ldc, sc, count);
    if (st != CUBLAS_STATUS_SUCCESS) throw std::runtime_error("cuBLAS gemm failed (status " + std::to_string(st) + ")");
  }

 private:
  cublasHandle_t h_{};
};
using DeviceGemm = CudaGemm;
#else
struct HostGemm {
  // A product whose result is one row or one column (the factored force of a single
  // output and replica, the dense force of one replica, the bias sums) goes to GEMV: it
  // streams its matrix once, where OpenBLAS's GEMM (0.3.21) packs it first — half the
  // speed of the memory-bound step at N = 2^16, P = 1024.
  template <class Real>
  void gemm(blas::Trans ta, blas::Trans tb, long m, long n, long k, Real alpha, const Real* A, long lda,
            const Real* B, long ldb, Real beta, Real* C, long ldc) const {
    using blas::Trans;
    if (k > 0 && n == 1) {
      // C (m×1, stride ldc) = α op(A) op(B) + β C; op(B) is k×1: B[i·ldb] (no) or B[i] (yes)
      const long incx = tb == Trans::no ? ldb : 1;
      if (ta == Trans::no)
        blas::gemv(Trans::no, m, k, alpha, A, lda, B, incx, beta, C, ldc);
      else
        blas::gemv(Trans::yes, k, m, alpha, A, lda, B, incx, beta, C, ldc);
      return;
    }
    if (k > 0 && m == 1) {
      // Cᵀ (n, stride 1) = α op(B)ᵀ op(A)ᵀ + β Cᵀ; op(A) is 1×k: A[i] (no) or A[i·lda] (yes)
      const long incx = ta == Trans::no ? 1 : lda;
      if (tb == Trans::no)
        blas::gemv(Trans::yes, k, n, alpha, B, ldb, A, incx, beta, C, 1);
      else
        blas::gemv(Trans::no, n, k, alpha, B, ldb, A, incx, beta, C, 1);
      return;
    }
    blas::gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
  }
  template <class Real>
  void gemm_batched(blas::Trans ta, blas::Trans tb, long m, long n, long k, Real alpha, const Real* A, long lda,
                    long sa, const Real* B, long ldb, long sb, Real beta, Real* C, long ldc, long sc,
                    long count) const {
    for (long i = 0; i < count; ++i)
      gemm(ta, tb, m, n, k, alpha, A + i * sa, lda, B + i * sb, ldb, beta, C + i * sc, ldc);
  }
};
using DeviceGemm = HostGemm;
#endif

}  // namespace synfield
