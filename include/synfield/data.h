// Training data of the perceptron models: loading (CSV, HDF5), the deterministic "smooth"
// generator for width sweeps, and the seeded minibatch sampler shared by the field solver
// and the gradient-descent reference so both see the same example sequence.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace synfield {

struct DataError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct Dataset {
  std::vector<int> shape;          // input lattice shape: 1 to 3 extents, N = Π shape
  int outputs = 1;                 // n_out
  std::vector<double> X, Y;        // [P][N], [P][n_out]
  std::vector<double> X_test, Y_test;  // [P_test][N], [P_test][n_out]; may be empty
  std::int64_t features() const;
  std::int64_t samples() const { return outputs ? static_cast<std::int64_t>(Y.size()) / outputs : 0; }
  std::int64_t test_samples() const { return outputs ? static_cast<std::int64_t>(Y_test.size()) / outputs : 0; }
};

// Every loader rejects bad input (missing or empty file, too few columns, ragged rows,
// non-numeric cells, NaN/Inf, mismatched sample counts or shapes) with a DataError whose
// message names the file and the place: "file.csv: line 4, column 'b': ..." (1-based line
// numbers) or "file.h5:/Y_test: ...".

// CSV: a header row, the feature columns, then `targets` target columns; the last
// `test_rows` data rows are held out as the test set. Input shape = [features],
// outputs = targets. Cells may be surrounded by spaces or double quotes ("" escapes a quote
// inside one); blank lines, CRLF line ends and a UTF-8 byte-order mark are ignored.
Dataset load_csv(const std::string& path, int targets, int test_rows = 0);
// HDF5: /X [P, *shape] (1 to 3 inner extents), /Y [P] or [P, n_out], optional /X_test and
// /Y_test (both or neither; /X_test [P_test, *shape], /Y_test [P_test] or [P_test, n_out]).
// Integer or float datasets; read as doubles.
Dataset load_hdf5(const std::string& path);

// The "smooth" generator: X^l(x) are Gaussian random fields on [0, L)^d (periodic) with
// correlation length `correlation`·L, built from a fixed set of Fourier modes whose random
// coefficients depend only on (seed, example, mode), so the same continuum functions are
// sampled at every width. Y^l = a^d Σ_x w_true(x) X^l(x) + noise·ξ.
//
// In detail: x_μ = a·i_μ, L_μ = shape_μ·a, ℓ_μ = correlation·L_μ, k_μ = 2π n_μ/L_μ. The
// power spectrum is S(n) = exp(−Σ_μ k_μ²ℓ_μ²/2) = exp(−Σ_μ (2π n_μ·correlation)²/2), kept
// where S ≥ 1e-8 (so |n_μ| ≤ n_max = ⌈√(2 ln 1e8)/(2π·correlation)⌉, independent of the
// width), and normalised so that Σ_n S(n) = 1: every site has unit variance and the
// covariance is ⟨X(x)X(x+r)⟩ = Σ_n S(n) cos(k·r) ≈ Π_μ exp(−r_μ²/(2ℓ_μ²)) (to the periodic
// images, e^{-1/(2·correlation²)}). A field is X(x) = Σ_{n ∈ half space ∪ {0}} √(S(n)·(2 or 1))
// [α_n cos(k·x) + β_n sin(k·x)], α, β = gaussian_deviate(stream seed of (seed, example),
// 2·m or 2·m+1) with m the index of n in the box [−n_max, n_max]^d. The phase k·x =
// 2π Σ_μ ((n_μ i_μ) mod shape_μ)/shape_μ is formed exactly, so widths whose sites coincide
// give the same values to rounding. Training examples are indices 0..samples−1, test
// examples samples..samples+test_samples−1; ξ^l is a deviate of a separate noise stream,
// and "gaussian" w_true is a field of this same spectrum from a third stream.
// Throws DataError on a bad spec (shape of 0 or more than 3 extents, spacing ≤ 0,
// samples < 1, test_samples < 0, correlation ≤ 0 or so small that the modes exceed 2^22,
// noise < 0, unknown truth).
struct SmoothSpec {
  std::vector<int> shape;
  double spacing = 1.0;
  std::int64_t samples = 64;
  std::int64_t test_samples = 0;
  double correlation = 0.1;
  double noise = 0.0;
  std::uint64_t seed = 1;
  std::string truth = "sine";  // w_true: "sine" = Π_μ sin(2π x_μ/L_μ), or "gaussian" (a random field of its own)
};
Dataset generate_smooth(const SmoothSpec& spec);
// w_true(x) of the spec on its lattice ([Π shape], row-major, last index fastest): the
// weights the generated targets are built from, to compare a trained field against.
std::vector<double> smooth_truth(const SmoothSpec& spec);

// Minibatches of m examples out of P: every epoch reshuffles all P indices with a
// Fisher–Yates shuffle driven by SplitMix64(seed, epoch); an epoch has ⌈P/m⌉ batches, the
// last one holding the remainder. batch(s) is the batch of step s (s = 0, 1, …).
//
// Precisely: epoch e = s / ⌈P/m⌉ starts from the identity 0..P−1 and, for i = P−1 down to 1,
// swaps entries i and j, j uniform in [0, i] (rejection sampling, no modulo bias) from the
// SplitMix64 sequence whose state starts at splitmix64(seed ^ splitmix64(e)); batch b of the
// epoch is entries [b·m, min((b+1)·m, P)). So any step can be asked for in any order. When
// m ≥ P every batch is the full set in ascending order 0..P−1 (the same every step).
// Throws DataError when P < 1 or m < 1, std::out_of_range for a negative step.
class MinibatchSampler {
 public:
  MinibatchSampler(std::int64_t samples, std::int64_t batch, std::uint64_t seed);
  const std::vector<std::int64_t>& batch(std::int64_t step);
  std::int64_t batches_per_epoch() const { return per_epoch_; }

 private:
  std::int64_t P_, m_, per_epoch_;
  std::uint64_t seed_;
  std::int64_t epoch_ = -1;
  std::vector<std::int64_t> perm_, current_;
};

}  // namespace synfield
