// Host BLAS interface (include/synfield/blas.h): row-major GEMM on OpenBLAS's CBLAS and
// the minimum-norm least-squares solve on LAPACKE_dgelsd.
#include <synfield/blas.h>

#include <cblas.h>
#include <lapacke.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace synfield::blas {
namespace {

// CBLAS and LAPACKE take 32-bit ints in the default (LP64) builds: refuse what does not fit
// rather than let it wrap.
template <class Int>
Int narrow(long v, const char* what, const char* fn) {
  if (v < 0 || v > static_cast<long>(std::numeric_limits<Int>::max()))
    throw std::invalid_argument(std::string(fn) + ": " + what + " = " + std::to_string(v) +
                                " is negative or too large for this BLAS/LAPACK");
  return static_cast<Int>(v);
}

CBLAS_TRANSPOSE cblas_trans(Trans t) { return t == Trans::yes ? CblasTrans : CblasNoTrans; }

// Row-major leading dimensions: op(A) m×k stored as A (m×k) or Aᵀ (k×m) → lda ≥ columns stored.
void check_ld(long ld, long cols, const char* what) {
  if (ld < std::max(1L, cols))
    throw std::invalid_argument(std::string("blas::gemm: ") + what + " = " + std::to_string(ld) +
                                " is smaller than the row length " + std::to_string(cols));
}

void check_gemm(Trans ta, Trans tb, long m, long n, long k, long lda, long ldb, long ldc) {
  narrow<blasint>(m, "m", "blas::gemm");
  narrow<blasint>(n, "n", "blas::gemm");
  narrow<blasint>(k, "k", "blas::gemm");
  check_ld(lda, ta == Trans::no ? k : m, "lda");
  check_ld(ldb, tb == Trans::no ? n : k, "ldb");
  check_ld(ldc, n, "ldc");
  narrow<blasint>(lda, "lda", "blas::gemm");
  narrow<blasint>(ldb, "ldb", "blas::gemm");
  narrow<blasint>(ldc, "ldc", "blas::gemm");
}

// k = 0: C = βC, with β = 0 writing zeros (no NaN kept from an uninitialised C), as BLAS does.
template <class Real>
void scale_only(long m, long n, Real beta, Real* C, long ldc) {
  for (long i = 0; i < m; ++i)
    for (long j = 0; j < n; ++j) C[i * ldc + j] = beta == Real(0) ? Real(0) : beta * C[i * ldc + j];
}

}  // namespace

namespace {

void cblas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, double alpha,
                const double* A, blasint lda, const double* B, blasint ldb, double beta, double* C, blasint ldc) {
  cblas_dgemm(CblasRowMajor, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}
void cblas_gemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, blasint m, blasint n, blasint k, float alpha,
                const float* A, blasint lda, const float* B, blasint ldb, float beta, float* C, blasint ldc) {
  cblas_sgemm(CblasRowMajor, ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

template <class Real>
void checked_gemm(Trans ta, Trans tb, long m, long n, long k, Real alpha, const Real* A, long lda, const Real* B,
                  long ldb, Real beta, Real* C, long ldc) {
  check_gemm(ta, tb, m, n, k, lda, ldb, ldc);
  if (m == 0 || n == 0) return;
  if (k == 0) return scale_only(m, n, beta, C, ldc);
  cblas_gemm(cblas_trans(ta), cblas_trans(tb), static_cast<blasint>(m), static_cast<blasint>(n),
             static_cast<blasint>(k), alpha, A, static_cast<blasint>(lda), B, static_cast<blasint>(ldb), beta, C,
             static_cast<blasint>(ldc));
}

void cblas_gemv(CBLAS_TRANSPOSE ta, blasint m, blasint n, double alpha, const double* A, blasint lda, const double* x,
                blasint incx, double beta, double* y, blasint incy) {
  cblas_dgemv(CblasRowMajor, ta, m, n, alpha, A, lda, x, incx, beta, y, incy);
}
void cblas_gemv(CBLAS_TRANSPOSE ta, blasint m, blasint n, float alpha, const float* A, blasint lda, const float* x,
                blasint incx, float beta, float* y, blasint incy) {
  cblas_sgemv(CblasRowMajor, ta, m, n, alpha, A, lda, x, incx, beta, y, incy);
}

template <class Real>
void checked_gemv(Trans ta, long m, long n, Real alpha, const Real* A, long lda, const Real* x, long incx, Real beta,
                  Real* y, long incy) {
  narrow<blasint>(m, "m", "blas::gemv");
  narrow<blasint>(n, "n", "blas::gemv");
  check_ld(lda, n, "lda");
  narrow<blasint>(lda, "lda", "blas::gemv");
  if (incx < 1 || incy < 1)
    throw std::invalid_argument("blas::gemv: incx = " + std::to_string(incx) + ", incy = " + std::to_string(incy) +
                                " must be positive");
  narrow<blasint>(incx, "incx", "blas::gemv");
  narrow<blasint>(incy, "incy", "blas::gemv");
  const long rows = ta == Trans::no ? m : n, cols = ta == Trans::no ? n : m;  // of op(A)
  if (rows == 0) return;
  if (cols == 0) return scale_only(rows, 1, beta, y, incy);
  cblas_gemv(cblas_trans(ta), static_cast<blasint>(m), static_cast<blasint>(n), alpha, A, static_cast<blasint>(lda),
             x, static_cast<blasint>(incx), beta, y, static_cast<blasint>(incy));
}

}  // namespace

void gemv(Trans ta, long m, long n, double alpha, const double* A, long lda, const double* x, long incx, double beta,
          double* y, long incy) {
  checked_gemv(ta, m, n, alpha, A, lda, x, incx, beta, y, incy);
}

void gemv(Trans ta, long m, long n, float alpha, const float* A, long lda, const float* x, long incx, float beta,
          float* y, long incy) {
  checked_gemv(ta, m, n, alpha, A, lda, x, incx, beta, y, incy);
}

void gemm(Trans ta, Trans tb, long m, long n, long k, double alpha, const double* A, long lda, const double* B,
          long ldb, double beta, double* C, long ldc) {
  checked_gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

void gemm(Trans ta, Trans tb, long m, long n, long k, float alpha, const float* A, long lda, const float* B,
          long ldb, float beta, float* C, long ldc) {
  checked_gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, C, ldc);
}

std::vector<double> lstsq(const std::vector<double>& A, long m, long n, const std::vector<double>& b, long nrhs) {
  const lapack_int M = narrow<lapack_int>(m, "m", "blas::lstsq");
  const lapack_int Nn = narrow<lapack_int>(n, "n", "blas::lstsq");
  const lapack_int R = narrow<lapack_int>(nrhs, "nrhs", "blas::lstsq");
  if (static_cast<long>(A.size()) != m * n)
    throw std::invalid_argument("blas::lstsq: A has " + std::to_string(A.size()) + " values, expected m·n = " +
                                std::to_string(m * n));
  if (static_cast<long>(b.size()) != m * nrhs)
    throw std::invalid_argument("blas::lstsq: b has " + std::to_string(b.size()) + " values, expected m·nrhs = " +
                                std::to_string(m * nrhs));
  std::vector<double> x(static_cast<std::size_t>(n * nrhs), 0.0);
  if (m == 0 || n == 0 || nrhs == 0) return x;  // nothing to fit: the minimum-norm answer is 0
  for (double v : A)
    if (!std::isfinite(v)) throw std::invalid_argument("blas::lstsq: A has a non-finite entry");
  for (double v : b)
    if (!std::isfinite(v)) throw std::invalid_argument("blas::lstsq: b has a non-finite entry");

  // dgelsd overwrites A and needs b as a max(m, n)×nrhs array (row-major, ldb = nrhs); the
  // first n rows hold x on return.
  std::vector<double> a = A;
  const long rows = std::max(m, n);
  std::vector<double> bx(static_cast<std::size_t>(rows * nrhs), 0.0);
  std::copy(b.begin(), b.end(), bx.begin());
  std::vector<double> s(static_cast<std::size_t>(std::min(m, n)));
  lapack_int rank = 0;
  // rcond < 0: singular values below machine-ε·σ_max count as zero (the minimum-norm solution).
  const lapack_int info = LAPACKE_dgelsd(LAPACK_ROW_MAJOR, M, Nn, R, a.data(), Nn, bx.data(), R, s.data(), -1.0, &rank);
  if (info < 0) throw std::invalid_argument("blas::lstsq: LAPACKE_dgelsd argument " + std::to_string(-info) + " invalid");
  if (info > 0) throw std::runtime_error("blas::lstsq: the SVD in dgelsd did not converge (" + std::to_string(info) +
                                         " off-diagonal elements)");
  std::copy(bx.begin(), bx.begin() + n * nrhs, x.begin());
  return x;
}

}  // namespace synfield::blas
