// Truth: naive triple loops for GEMM; the normal equations (solved here by Gaussian
// elimination) and the orthogonality of the minimum-norm solution to the null space for lstsq.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <stdexcept>
#include <vector>

#include <synfield/blas.h>

namespace {

using synfield::blas::Trans;

std::vector<double> randn(std::size_t n, unsigned seed) {
  std::mt19937_64 g(seed);
  std::normal_distribution<double> d;
  std::vector<double> v(n);
  for (auto& x : v) x = d(g);
  return v;
}

// C = α op(A) op(B) + β C by definition; A stored (m×k or k×m) with row length lda, etc.
template <class Real>
void naive_gemm(Trans ta, Trans tb, long m, long n, long k, double alpha, const std::vector<Real>& A, long lda,
                const std::vector<Real>& B, long ldb, double beta, std::vector<double>& C, long ldc) {
  for (long i = 0; i < m; ++i)
    for (long j = 0; j < n; ++j) {
      double s = 0.0;
      for (long p = 0; p < k; ++p) {
        const double a = ta == Trans::no ? A[i * lda + p] : A[p * lda + i];
        const double b = tb == Trans::no ? B[p * ldb + j] : B[j * ldb + p];
        s += a * b;
      }
      C[i * ldc + j] = alpha * s + beta * C[i * ldc + j];
    }
}

template <class Real>
void check_gemm(long m, long n, long k, long pad, double tol) {
  for (Trans ta : {Trans::no, Trans::yes})
    for (Trans tb : {Trans::no, Trans::yes}) {
      const long a_rows = ta == Trans::no ? m : k, a_cols = ta == Trans::no ? k : m;
      const long b_rows = tb == Trans::no ? k : n, b_cols = tb == Trans::no ? n : k;
      const long lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
      const auto a = randn(a_rows * lda, 1), b = randn(b_rows * ldb, 2), c = randn(m * ldc, 3);
      std::vector<Real> A(a.begin(), a.end()), B(b.begin(), b.end()), C(c.begin(), c.end());
      std::vector<double> ref(C.begin(), C.end());
      const double alpha = 0.75, beta = -1.25;
      naive_gemm(ta, tb, m, n, k, alpha, A, lda, B, ldb, beta, ref, ldc);
      synfield::blas::gemm(ta, tb, m, n, k, Real(alpha), A.data(), lda, B.data(), ldb, Real(beta), C.data(), ldc);
      for (long i = 0; i < m; ++i)
        for (long j = 0; j < ldc; ++j) {
          const long idx = i * ldc + j;
          if (j < n)
            ASSERT_NEAR(C[idx], ref[idx], tol * (1.0 + std::fabs(ref[idx])))
                << "ta=" << int(ta) << " tb=" << int(tb) << " m=" << m << " n=" << n << " k=" << k << " at " << i
                << "," << j;
          else
            ASSERT_EQ(C[idx], Real(c[idx])) << "padding of C was written";  // ldc padding untouched
        }
    }
}

TEST(BlasGemm, DoubleAllTransposesOddSizes) {
  for (long pad : {0L, 3L}) {
    check_gemm<double>(7, 5, 3, pad, 1e-13);
    check_gemm<double>(1, 13, 9, pad, 1e-13);
    check_gemm<double>(11, 1, 17, pad, 1e-13);
    check_gemm<double>(33, 29, 31, pad, 1e-12);
    check_gemm<double>(3, 3, 1, pad, 1e-13);
  }
}

TEST(BlasGemm, FloatAllTransposesOddSizes) {
  for (long pad : {0L, 2L}) {
    check_gemm<float>(7, 5, 3, pad, 1e-5);
    check_gemm<float>(1, 13, 9, pad, 1e-5);
    check_gemm<float>(11, 1, 17, pad, 1e-5);
    check_gemm<float>(33, 29, 31, pad, 2e-5);
  }
}

TEST(BlasGemm, ZeroInnerDimensionScalesC) {
  std::vector<double> C{1.0, 2.0, std::nan(""), 4.0};
  const double dummy = 0.0;
  synfield::blas::gemm(Trans::no, Trans::no, 2, 2, 0, 1.0, &dummy, 1, &dummy, 2, 2.0, C.data(), 2);
  EXPECT_EQ(C[0], 2.0);
  EXPECT_EQ(C[1], 4.0);
  EXPECT_EQ(C[3], 8.0);
  synfield::blas::gemm(Trans::no, Trans::no, 2, 2, 0, 1.0, &dummy, 1, &dummy, 2, 0.0, C.data(), 2);
  for (double v : C) EXPECT_EQ(v, 0.0);  // β = 0 overwrites, NaN included
}

TEST(BlasGemm, RejectsShortLeadingDimensions) {
  std::vector<double> A(12), B(12), C(12);
  EXPECT_THROW(synfield::blas::gemm(Trans::no, Trans::no, 3, 4, 3, 1.0, A.data(), 2, B.data(), 4, 0.0, C.data(), 4),
               std::invalid_argument);
  EXPECT_THROW(synfield::blas::gemm(Trans::yes, Trans::no, 3, 4, 3, 1.0, A.data(), 3, B.data(), 4, 0.0, C.data(), 3),
               std::invalid_argument);
  EXPECT_THROW(synfield::blas::gemm(Trans::no, Trans::no, -1, 4, 3, 1.0, A.data(), 3, B.data(), 4, 0.0, C.data(), 4),
               std::invalid_argument);
}

// Solves the square system M x = r (n×n, r with `cols` columns) by Gauss–Jordan with pivoting.
std::vector<double> solve(std::vector<double> M, std::vector<double> r, int n, int cols) {
  for (int c = 0; c < n; ++c) {
    int piv = c;
    for (int i = c + 1; i < n; ++i)
      if (std::fabs(M[i * n + c]) > std::fabs(M[piv * n + c])) piv = i;
    for (int j = 0; j < n; ++j) std::swap(M[c * n + j], M[piv * n + j]);
    for (int j = 0; j < cols; ++j) std::swap(r[c * cols + j], r[piv * cols + j]);
    for (int i = 0; i < n; ++i) {
      if (i == c) continue;
      const double f = M[i * n + c] / M[c * n + c];
      for (int j = 0; j < n; ++j) M[i * n + j] -= f * M[c * n + j];
      for (int j = 0; j < cols; ++j) r[i * cols + j] -= f * r[c * cols + j];
    }
  }
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < cols; ++j) r[i * cols + j] /= M[i * n + i];
  return r;
}

TEST(BlasLstsq, OverdeterminedMatchesNormalEquations) {
  const int m = 23, n = 6, nrhs = 3;
  const auto A = randn(m * n, 11), b = randn(m * nrhs, 12);
  const auto x = synfield::blas::lstsq(A, m, n, b, nrhs);
  ASSERT_EQ(x.size(), std::size_t(n * nrhs));
  // AᵀA x = Aᵀ b
  std::vector<double> AtA(n * n, 0.0), Atb(n * nrhs, 0.0);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      for (int l = 0; l < m; ++l) AtA[i * n + j] += A[l * n + i] * A[l * n + j];
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < nrhs; ++j)
      for (int l = 0; l < m; ++l) Atb[i * nrhs + j] += A[l * n + i] * b[l * nrhs + j];
  const auto ref = solve(AtA, Atb, n, nrhs);
  for (int i = 0; i < n * nrhs; ++i) EXPECT_NEAR(x[i], ref[i], 1e-12 * (1 + std::fabs(ref[i])));
}

TEST(BlasLstsq, UnderdeterminedIsMinimumNorm) {
  const int m = 4, n = 11, nrhs = 2;
  const auto A = randn(m * n, 21), b = randn(m * nrhs, 22);
  const auto x = synfield::blas::lstsq(A, m, n, b, nrhs);
  // it solves A x = b exactly …
  for (int l = 0; l < m; ++l)
    for (int j = 0; j < nrhs; ++j) {
      double s = 0.0;
      for (int i = 0; i < n; ++i) s += A[l * n + i] * x[i * nrhs + j];
      EXPECT_NEAR(s, b[l * nrhs + j], 1e-12);
    }
  // … and x ⟂ null(A): project random vectors onto the null space, z = u − Aᵀ(AAᵀ)⁻¹A u.
  std::vector<double> AAt(m * m, 0.0);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j)
      for (int p = 0; p < n; ++p) AAt[i * m + j] += A[i * n + p] * A[j * n + p];
  for (unsigned trial = 0; trial < 5; ++trial) {
    const auto u = randn(n, 100 + trial);
    std::vector<double> Au(m, 0.0);
    for (int i = 0; i < m; ++i)
      for (int p = 0; p < n; ++p) Au[i] += A[i * n + p] * u[p];
    const auto y = solve(AAt, Au, m, 1);
    std::vector<double> z = u;
    for (int p = 0; p < n; ++p)
      for (int i = 0; i < m; ++i) z[p] -= A[i * n + p] * y[i];
    double zn = 0.0;
    for (double v : z) zn += v * v;
    ASSERT_GT(zn, 1e-3);  // a genuine null-space vector
    for (int i = 0; i < m; ++i) {
      double Az = 0.0;
      for (int p = 0; p < n; ++p) Az += A[i * n + p] * z[p];
      ASSERT_NEAR(Az, 0.0, 1e-11);
    }
    for (int j = 0; j < nrhs; ++j) {
      double dot = 0.0;
      for (int p = 0; p < n; ++p) dot += x[p * nrhs + j] * z[p];
      EXPECT_NEAR(dot, 0.0, 1e-11);
    }
  }
}

TEST(BlasLstsq, RankDeficientSplitsEqually) {
  // columns 0 and 1 identical: the minimum-norm fit gives both the same weight
  const int m = 9, n = 3;
  auto A = randn(m * n, 31);
  for (int l = 0; l < m; ++l) A[l * n + 1] = A[l * n + 0];
  std::vector<double> b(m);
  for (int l = 0; l < m; ++l) b[l] = 2.0 * A[l * n + 0] - 0.5 * A[l * n + 2];
  const auto x = synfield::blas::lstsq(A, m, n, b, 1);
  EXPECT_NEAR(x[0], 1.0, 1e-12);
  EXPECT_NEAR(x[1], 1.0, 1e-12);
  EXPECT_NEAR(x[2], -0.5, 1e-12);
}

TEST(BlasLstsq, RejectsMismatchedSizes) {
  EXPECT_THROW(synfield::blas::lstsq(std::vector<double>(5), 2, 3, std::vector<double>(2), 1), std::invalid_argument);
  EXPECT_THROW(synfield::blas::lstsq(std::vector<double>(6), 2, 3, std::vector<double>(3), 1), std::invalid_argument);
}

}  // namespace
