// One BLAS interface for the host: row-major GEMM on CBLAS (OpenBLAS), and the
// least-squares solve used as the reference fixed point (LAPACK). The CUDA backend's
// cuBLAS calls live with its engine; this one stays callable in CUDA builds.
#pragma once

#include <vector>

namespace synfield::blas {

enum class Trans { no, yes };

// C[m×n] = α·op(A)·op(B) + β·C, all row-major; op(A) is m×k, op(B) is k×n.
void gemm(Trans ta, Trans tb, long m, long n, long k, double alpha, const double* A, long lda, const double* B,
          long ldb, double beta, double* C, long ldc);
void gemm(Trans ta, Trans tb, long m, long n, long k, float alpha, const float* A, long lda, const float* B,
          long ldb, float beta, float* C, long ldc);

// y[op(A) rows] = α·op(A)·x + β·y, A row-major m×n (op(A) = A: m×n, Aᵀ: n×m); x and y
// strided by incx, incy ≥ 1. β = 0 writes y without reading it.
void gemv(Trans ta, long m, long n, double alpha, const double* A, long lda, const double* x, long incx, double beta,
          double* y, long incy);
void gemv(Trans ta, long m, long n, float alpha, const float* A, long lda, const float* x, long incx, float beta,
          float* y, long incy);

// Minimum-norm least-squares solution of A x = b, A row-major m×n, b with `nrhs` columns
// (m×nrhs, row-major); returns x (n×nrhs, row-major). LAPACK dgelsd.
std::vector<double> lstsq(const std::vector<double>& A, long m, long n, const std::vector<double>& b, long nrhs);

}  // namespace synfield::blas
