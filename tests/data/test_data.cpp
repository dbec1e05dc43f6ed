// Data module: CSV/HDF5 loaders against hand-written files, located errors for every bad
// input class, the smooth generator's defining properties and the minibatch sampler.
#include <gtest/gtest.h>
#include <unistd.h>

#include <synfield/data.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "host/io/h5.h"

namespace fs = std::filesystem;
using synfield::DataError;
using synfield::Dataset;

namespace {

// A scratch folder of this test (ctest may run tests in parallel).
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::temp_directory_path() / ("synfield_data_" + std::string(info->test_suite_name()) + "_" +
                                        info->name() + "_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string file(const std::string& name, const std::string& text) const {
    const std::string p = path(name);
    std::ofstream(p, std::ios::binary) << text;
    return p;
  }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

 private:
  fs::path dir_;
};

// Runs f, expects a DataError and returns its message.
std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const DataError& e) {
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected DataError, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected DataError, nothing was thrown";
  return "";
}

#define EXPECT_MESSAGE_HAS(msg, part) \
  EXPECT_NE((msg).find(part), std::string::npos) << "message \"" << (msg) << "\" lacks \"" << (part) << "\""

const double kPi = std::acos(-1.0);

}  // namespace

// ------------------------------------------------------------------------------------ CSV

TEST(DataCsv, AdditionExample) {
  const std::string path = std::string(SYNFIELD_DATA_DIR) + "/addition.csv";
  const Dataset d = synfield::load_csv(path, 1, 1);
  EXPECT_EQ(d.shape, std::vector<int>{2});
  EXPECT_EQ(d.outputs, 1);
  EXPECT_EQ(d.features(), 2);
  EXPECT_EQ(d.samples(), 4);
  EXPECT_EQ(d.test_samples(), 1);
  EXPECT_EQ(d.X, (std::vector<double>{7, 2, 5, 3, 4, 2, 3, 1}));
  EXPECT_EQ(d.Y, (std::vector<double>{9, 8, 6, 4}));
  EXPECT_EQ(d.X_test, (std::vector<double>{5, 4}));
  EXPECT_EQ(d.Y_test, (std::vector<double>{9}));
  // the data are what they claim: sums
  for (std::int64_t l = 0; l < d.samples(); ++l) EXPECT_EQ(d.X[2 * l] + d.X[2 * l + 1], d.Y[l]);

  const Dataset all = synfield::load_csv(path, 1);
  EXPECT_EQ(all.samples(), 5);
  EXPECT_EQ(all.test_samples(), 0);
  EXPECT_TRUE(all.X_test.empty());
  EXPECT_TRUE(all.Y_test.empty());
}

TEST(DataCsv, MultipleTargetsQuotingAndLineEnds) {
  TempDir t;
  // BOM, quoted header names, CRLF, spaces, blank lines, signs and exponents
  const std::string p = t.file("m.csv",
                               "\xEF\xBB\xBF\"x 1\",\"x,2\",x3,y1,y2\r\n"
                               " 1, -2.5 ,+3,1e2,\"4\"\r\n"
                               "\r\n"
                               "0.5,0,-0,7,8\r\n"
                               "9,9,9,9,9\r\n"
                               "\n");
  const Dataset d = synfield::load_csv(p, 2, 1);
  EXPECT_EQ(d.shape, std::vector<int>{3});
  EXPECT_EQ(d.outputs, 2);
  EXPECT_EQ(d.samples(), 2);
  EXPECT_EQ(d.test_samples(), 1);
  EXPECT_EQ(d.X, (std::vector<double>{1, -2.5, 3, 0.5, 0, 0}));
  EXPECT_EQ(d.Y, (std::vector<double>{100, 4, 7, 8}));
  EXPECT_EQ(d.X_test, (std::vector<double>{9, 9, 9}));
  EXPECT_EQ(d.Y_test, (std::vector<double>{9, 9}));
}

TEST(DataCsv, MissingFileNamesTheFile) {
  TempDir t;
  const std::string p = t.path("nope.csv");
  const std::string m = error_of([&] { synfield::load_csv(p, 1); });
  EXPECT_MESSAGE_HAS(m, p);
}

TEST(DataCsv, BadInputsNameFileLineAndColumn) {
  TempDir t;
  struct Case {
    std::string name, text;
    int targets, test_rows;
    std::vector<std::string> parts;  // besides the path
  };
  const std::vector<Case> cases = {
      {"empty", "", 1, 0, {"empty"}},
      {"blank_only", "\n  \n", 1, 0, {"empty"}},
      {"header_only", "a,b,sum\n", 1, 0, {"no data rows"}},
      {"too_few_columns", "sum\n9\n", 1, 0, {"line 1", "column"}},
      {"too_few_for_targets", "y1,y2\n1,2\n", 2, 0, {"line 1", "targets = 2"}},
      {"ragged_short", "a,b,sum\n7,2,9\n5,3\n", 1, 0, {"line 3", "2 cells", "expected 3"}},
      {"ragged_long", "a,b,sum\n7,2,9,1\n", 1, 0, {"line 2", "4 cells"}},
      {"non_numeric", "a,b,sum\n7,2,9\n5,3,8\n4,x,6\n", 1, 0, {"line 4", "column 'b'", "\"x\""}},
      {"trailing_garbage", "a,b,sum\n7,2,9abc\n", 1, 0, {"line 2", "column 'sum'", "9abc"}},
      {"empty_cell", "a,b,sum\n7,,9\n", 1, 0, {"line 2", "column 'b'", "empty"}},
      {"nan", "a,b,sum\n7,2,9\n\n5,3,nan\n", 1, 0, {"line 4", "column 'sum'", "non-finite"}},
      {"inf", "a,b,sum\n-inf,2,9\n", 1, 0, {"line 2", "column 'a'", "non-finite"}},
      {"overflow", "a,b,sum\n1e999,2,9\n", 1, 0, {"line 2", "column 'a'", "range"}},
      {"unterminated_quote", "a,b,sum\n\"7,2,9\n", 1, 0, {"line 2", "quote"}},
      {"all_rows_test", "a,b,sum\n7,2,9\n5,3,8\n", 1, 2, {"test_rows = 2", "no training rows"}},
      {"negative_test_rows", "a,b,sum\n7,2,9\n", 1, -1, {"test_rows"}},
      {"zero_targets", "a,b,sum\n7,2,9\n", 0, 0, {"targets = 0"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string p = t.file(c.name + ".csv", c.text);
    const std::string m = error_of([&] { synfield::load_csv(p, c.targets, c.test_rows); });
    EXPECT_MESSAGE_HAS(m, p);
    for (const std::string& part : c.parts) EXPECT_MESSAGE_HAS(m, part);
  }
}

// ----------------------------------------------------------------------------------- HDF5

namespace {

std::vector<double> iota(std::size_t n, double start) {
  std::vector<double> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = start + 0.25 * static_cast<double>(i);
  return v;
}

}  // namespace

TEST(DataHdf5, RoundTrip2dLatticeWithTestSet) {
  TempDir t;
  const std::string p = t.path("d.h5");
  const auto X = iota(5 * 4 * 3, -3.0), Y = iota(5, 10.0), Xt = iota(2 * 4 * 3, 7.0), Yt = iota(2, -1.0);
  {
    auto f = synfield::h5::File::create(p);
    f.write("/X", X, {5, 4, 3});
    f.write("/Y", Y, {5});
    f.write("/X_test", Xt, {2, 4, 3});
    f.write("/Y_test", Yt, {2, 1});
  }
  const Dataset d = synfield::load_hdf5(p);
  EXPECT_EQ(d.shape, (std::vector<int>{4, 3}));
  EXPECT_EQ(d.features(), 12);
  EXPECT_EQ(d.outputs, 1);
  EXPECT_EQ(d.samples(), 5);
  EXPECT_EQ(d.test_samples(), 2);
  EXPECT_EQ(d.X, X);
  EXPECT_EQ(d.Y, Y);
  EXPECT_EQ(d.X_test, Xt);
  EXPECT_EQ(d.Y_test, Yt);
}

TEST(DataHdf5, RoundTrip3dLatticeIntegersManyOutputsNoTestSet) {
  TempDir t;
  const std::string p = t.path("d.h5");
  std::vector<std::int64_t> X(3 * 2 * 3 * 4);
  for (std::size_t i = 0; i < X.size(); ++i) X[i] = static_cast<std::int64_t>(i) - 20;
  const std::vector<float> Y = {1.5f, 2.5f, -3.0f, 4.0f, 0.25f, 6.0f};
  {
    auto f = synfield::h5::File::create(p);
    f.write("/X", X, {3, 2, 3, 4});
    f.write("/Y", Y, {3, 2});
  }
  const Dataset d = synfield::load_hdf5(p);
  EXPECT_EQ(d.shape, (std::vector<int>{2, 3, 4}));
  EXPECT_EQ(d.outputs, 2);
  EXPECT_EQ(d.samples(), 3);
  EXPECT_EQ(d.test_samples(), 0);
  ASSERT_EQ(d.X.size(), X.size());
  for (std::size_t i = 0; i < X.size(); ++i) EXPECT_EQ(d.X[i], static_cast<double>(X[i]));
  EXPECT_EQ(d.Y, (std::vector<double>{1.5, 2.5, -3.0, 4.0, 0.25, 6.0}));
  EXPECT_TRUE(d.X_test.empty());
}

TEST(DataHdf5, BadInputsNameFileAndDataset) {
  TempDir t;
  using W = std::function<void(synfield::h5::File&)>;
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  auto good_x = [](synfield::h5::File& f) { f.write("/X", iota(4 * 3, 0.0), {4, 3}); };
  auto good_y = [](synfield::h5::File& f) { f.write("/Y", iota(4, 0.0), {4}); };
  struct Case {
    std::string name;
    W write;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"no_x", [&](auto& f) { good_y(f); }, {"/X", "missing"}},
      {"no_y", [&](auto& f) { good_x(f); }, {"/Y", "missing"}},
      {"x_rank1",
       [&](auto& f) {
         f.write("/X", iota(4, 0.0), {4});
         good_y(f);
       },
       {"/X", "shape [4]"}},
      {"x_rank5",
       [&](auto& f) {
         f.write("/X", iota(4 * 16, 0.0), {4, 2, 2, 2, 2});
         good_y(f);
       },
       {"/X", "1 to 3"}},
      {"x_no_samples",
       [&](auto& f) {
         f.write("/X", std::vector<double>{}, {0, 3});
         f.write("/Y", std::vector<double>{}, {0});
       },
       {"/X", "no samples"}},
      {"y_count",
       [&](auto& f) {
         good_x(f);
         f.write("/Y", iota(5, 0.0), {5});
       },
       {"/Y", "5 samples", "/X has 4"}},
      {"y_rank3",
       [&](auto& f) {
         good_x(f);
         f.write("/Y", iota(8, 0.0), {4, 2, 1});
       },
       {"/Y", "[4, 2, 1]"}},
      {"x_nan",
       [&](auto& f) {
         auto x = iota(12, 0.0);
         x[7] = nan;
         f.write("/X", x, {4, 3});
         good_y(f);
       },
       {"/X", "non-finite", "sample 2", "element 1"}},
      {"y_inf",
       [&](auto& f) {
         good_x(f);
         auto y = iota(4, 0.0);
         y[3] = -inf;
         f.write("/Y", y, {4});
       },
       {"/Y", "non-finite", "sample 3"}},
      {"x_test_alone",
       [&](auto& f) {
         good_x(f);
         good_y(f);
         f.write("/X_test", iota(3, 0.0), {1, 3});
       },
       {"/X_test", "/Y_test", "both or neither"}},
      {"y_test_alone",
       [&](auto& f) {
         good_x(f);
         good_y(f);
         f.write("/Y_test", iota(1, 0.0), {1});
       },
       {"/Y_test", "both or neither"}},
      {"x_test_shape",
       [&](auto& f) {
         good_x(f);
         good_y(f);
         f.write("/X_test", iota(4, 0.0), {1, 4});
         f.write("/Y_test", iota(1, 0.0), {1});
       },
       {"/X_test", "[1, 4]", "[4, 3]"}},
      {"x_test_rank",
       [&](auto& f) {
         good_x(f);
         good_y(f);
         f.write("/X_test", iota(3, 0.0), {1, 3, 1});
         f.write("/Y_test", iota(1, 0.0), {1});
       },
       {"/X_test"}},
      {"y_test_outputs",
       [&](auto& f) {
         good_x(f);
         good_y(f);
         f.write("/X_test", iota(3, 0.0), {1, 3});
         f.write("/Y_test", iota(2, 0.0), {1, 2});
       },
       {"/Y_test", "n_out = 1"}},
      {"y_test_count",
       [&](auto& f) {
         good_x(f);
         good_y(f);
         f.write("/X_test", iota(6, 0.0), {2, 3});
         f.write("/Y_test", iota(3, 0.0), {3});
       },
       {"/Y_test", "3 samples", "/X_test has 2"}},
      {"y_test_nan",
       [&](auto& f) {
         good_x(f);
         good_y(f);
         f.write("/X_test", iota(6, 0.0), {2, 3});
         f.write("/Y_test", std::vector<double>{1.0, nan}, {2});
       },
       {"/Y_test", "non-finite", "sample 1"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const std::string p = t.path(c.name + ".h5");
    {
      auto f = synfield::h5::File::create(p);
      c.write(f);
    }
    const std::string m = error_of([&] { synfield::load_hdf5(p); });
    EXPECT_MESSAGE_HAS(m, p);
    for (const std::string& part : c.parts) EXPECT_MESSAGE_HAS(m, part);
  }
}

TEST(DataHdf5, MissingOrNonHdf5FileNamesTheFile) {
  TempDir t;
  const std::string missing = t.path("nope.h5");
  EXPECT_MESSAGE_HAS(error_of([&] { synfield::load_hdf5(missing); }), missing);
  const std::string text = t.file("text.h5", "a,b,sum\n1,2,3\n");
  EXPECT_MESSAGE_HAS(error_of([&] { synfield::load_hdf5(text); }), text);
}

// -------------------------------------------------------------------- the smooth generator

namespace {

synfield::SmoothSpec spec1d(int width, double extent = 1.0) {
  synfield::SmoothSpec s;
  s.shape = {width};
  s.spacing = extent / width;
  s.samples = 6;
  s.test_samples = 2;
  s.correlation = 0.1;
  s.seed = 12345;
  return s;
}

double max_abs_diff(const std::vector<double>& a, const std::vector<double>& b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0.0;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST(DataSmooth, DeterministicForTheSameSpec) {
  for (const std::string truth : {"sine", "gaussian"}) {
    SCOPED_TRACE(truth);
    synfield::SmoothSpec s;
    s.shape = {12, 10};
    s.spacing = 0.3;
    s.samples = 9;
    s.test_samples = 3;
    s.noise = 0.2;
    s.truth = truth;
    const Dataset a = synfield::generate_smooth(s), b = synfield::generate_smooth(s);
    EXPECT_EQ(a.shape, s.shape);
    EXPECT_EQ(a.outputs, 1);
    EXPECT_EQ(a.samples(), 9);
    EXPECT_EQ(a.test_samples(), 3);
    EXPECT_EQ(a.X.size(), 9u * 120u);
    EXPECT_EQ(a.X_test.size(), 3u * 120u);
    EXPECT_EQ(a.X, b.X);
    EXPECT_EQ(a.Y, b.Y);
    EXPECT_EQ(a.X_test, b.X_test);
    EXPECT_EQ(a.Y_test, b.Y_test);
    for (double v : a.X) ASSERT_TRUE(std::isfinite(v));
  }
}

TEST(DataSmooth, DifferentSeedsAndExamplesDiffer) {
  auto s = spec1d(64);
  const Dataset a = synfield::generate_smooth(s);
  s.seed += 1;
  const Dataset b = synfield::generate_smooth(s);
  EXPECT_GT(max_abs_diff(a.X, b.X), 0.5);
  EXPECT_GT(max_abs_diff(a.Y, b.Y), 1e-3);
  // two examples of one seed are different functions
  const std::vector<double> x0(a.X.begin(), a.X.begin() + 64), x1(a.X.begin() + 64, a.X.begin() + 128);
  EXPECT_GT(max_abs_diff(x0, x1), 0.5);
}

TEST(DataSmooth, TestExamplesContinueTheExampleIndices) {
  // test example t is example P + t: the same as training example P + t of a larger P
  auto s = spec1d(32);
  s.samples = 3;
  s.test_samples = 2;
  s.noise = 0.1;
  const Dataset a = synfield::generate_smooth(s);
  s.samples = 5;
  s.test_samples = 0;
  const Dataset b = synfield::generate_smooth(s);
  EXPECT_EQ(std::vector<double>(b.X.begin(), b.X.begin() + 3 * 32), a.X);
  EXPECT_EQ(std::vector<double>(b.X.begin() + 3 * 32, b.X.end()), a.X_test);
  EXPECT_EQ(std::vector<double>(b.Y.begin(), b.Y.begin() + 3), a.Y);
  EXPECT_EQ(std::vector<double>(b.Y.begin() + 3, b.Y.end()), a.Y_test);
}

TEST(DataSmooth, WidthIndependent1d) {
  // widths 64 and 128 over the same extent L = 1: X(a i) of width 64 is X(a/2 · 2i) of 128
  for (const std::string truth : {"sine", "gaussian"}) {
    SCOPED_TRACE(truth);
    auto s64 = spec1d(64), s128 = spec1d(128);
    s64.truth = s128.truth = truth;
    const Dataset c = synfield::generate_smooth(s64), f = synfield::generate_smooth(s128);
    const auto check = [](const std::vector<double>& coarse, const std::vector<double>& fine, std::int64_t P) {
      for (std::int64_t l = 0; l < P; ++l)
        for (int i = 0; i < 64; ++i) ASSERT_NEAR(coarse[l * 64 + i], fine[l * 128 + 2 * i], 1e-12) << l << " " << i;
    };
    check(c.X, f.X, 6);
    check(c.X_test, f.X_test, 2);
    const auto w64 = synfield::smooth_truth(s64), w128 = synfield::smooth_truth(s128);
    for (int i = 0; i < 64; ++i) EXPECT_NEAR(w64[i], w128[2 * i], 1e-12);
    // Y = a Σ w X is a trapezoid rule of a trigonometric polynomial of degree < 64: exact at both widths
    for (int l = 0; l < 6; ++l) EXPECT_NEAR(c.Y[l], f.Y[l], 1e-12 * (1 + std::abs(c.Y[l])));
    for (int l = 0; l < 2; ++l) EXPECT_NEAR(c.Y_test[l], f.Y_test[l], 1e-12 * (1 + std::abs(c.Y_test[l])));
  }
}

TEST(DataSmooth, WidthIndependent2dAnd3d) {
  struct Case {
    std::vector<int> coarse;
    double correlation;
  };
  for (const Case& k : {Case{{16, 24}, 0.15}, Case{{8, 6, 10}, 0.3}}) {
    synfield::SmoothSpec c;
    c.shape = k.coarse;
    c.spacing = 0.5;
    c.samples = 3;
    c.correlation = k.correlation;
    c.seed = 7;
    synfield::SmoothSpec f = c;
    for (int& n : f.shape) n *= 2;
    f.spacing = c.spacing / 2;
    const Dataset dc = synfield::generate_smooth(c), df = synfield::generate_smooth(f);
    const int d = static_cast<int>(c.shape.size());
    std::int64_t Nc = 1, Nf = 1;
    for (int mu = 0; mu < d; ++mu) {
      Nc *= c.shape[mu];
      Nf *= f.shape[mu];
    }
    for (std::int64_t l = 0; l < 3; ++l)
      for (std::int64_t x = 0; x < Nc; ++x) {
        // coarse site (i_0..i_{d-1}) → fine site (2 i_0, ..)
        std::int64_t rem = x, xf = 0, stride = 1;
        for (int mu = d - 1; mu >= 0; --mu) {
          xf += 2 * (rem % c.shape[mu]) * stride;
          rem /= c.shape[mu];
          stride *= f.shape[mu];
        }
        ASSERT_NEAR(dc.X[l * Nc + x], df.X[l * Nf + xf], 1e-12) << "example " << l << " site " << x;
      }
  }
}

TEST(DataSmooth, UnitVarianceAndGaussianCorrelation) {
  // ℓ = 0.1 L = 20 sites: the spectrum exp(-k²ℓ²/2) gives ⟨X(x)X(x+r)⟩ = exp(-r²/(2ℓ²)).
  // Statistical error of the estimates: about √(√π ℓ/(N P)) ≈ 0.007 (0.009 at lag 0), so the
  // tolerances are 5σ; a wrong spectrum (ℓ off by 20%) moves C(ℓ) by more than 0.1.
  synfield::SmoothSpec s;
  s.shape = {200};
  s.spacing = 0.05;
  s.samples = 4000;
  s.correlation = 0.1;
  s.seed = 99;
  const Dataset d = synfield::generate_smooth(s);
  const int N = 200;
  auto corr = [&](int lag) {
    double sum = 0.0;
    for (std::int64_t l = 0; l < s.samples; ++l)
      for (int i = 0; i < N; ++i) sum += d.X[l * N + i] * d.X[l * N + (i + lag) % N];
    return sum / (static_cast<double>(s.samples) * N);
  };
  const double c0 = corr(0);
  EXPECT_NEAR(c0, 1.0, 0.05);
  EXPECT_NEAR(corr(10) / c0, std::exp(-0.125), 0.035);
  EXPECT_NEAR(corr(20) / c0, std::exp(-0.5), 0.035);
  EXPECT_NEAR(corr(40) / c0, std::exp(-2.0), 0.035);
  EXPECT_NEAR(corr(100) / c0, 0.0, 0.035);
}

TEST(DataSmooth, TargetsAreTheLatticeIntegralOfTheTruth) {
  for (const std::string truth : {"sine", "gaussian"}) {
    SCOPED_TRACE(truth);
    synfield::SmoothSpec s;
    s.shape = {10, 14};
    s.spacing = 0.5;
    s.samples = 5;
    s.test_samples = 2;
    s.truth = truth;
    const Dataset d = synfield::generate_smooth(s);
    const std::vector<double> w = synfield::smooth_truth(s);
    ASSERT_EQ(w.size(), 140u);
    const double ad = 0.25;  // a^d
    auto y = [&](const std::vector<double>& X, std::int64_t l) {
      double sum = 0.0;
      for (std::int64_t x = 0; x < 140; ++x) sum += w[x] * X[l * 140 + x];
      return ad * sum;
    };
    for (std::int64_t l = 0; l < 5; ++l) EXPECT_DOUBLE_EQ(d.Y[l], y(d.X, l));
    for (std::int64_t l = 0; l < 2; ++l) EXPECT_DOUBLE_EQ(d.Y_test[l], y(d.X_test, l));
  }
}

TEST(DataSmooth, SineTruthIsTheProductOfSines) {
  synfield::SmoothSpec s;
  s.shape = {6, 4, 5};
  s.spacing = 0.7;
  const std::vector<double> w = synfield::smooth_truth(s);
  ASSERT_EQ(w.size(), 120u);
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 4; ++j)
      for (int k = 0; k < 5; ++k)
        EXPECT_NEAR(w[(i * 4 + j) * 5 + k],
                    std::sin(2 * kPi * i / 6.0) * std::sin(2 * kPi * j / 4.0) * std::sin(2 * kPi * k / 5.0), 1e-14);
}

TEST(DataSmooth, GaussianTruthIsAUnitFieldOfItsOwn) {
  synfield::SmoothSpec s;
  s.shape = {64, 64};
  s.correlation = 0.1;
  s.truth = "gaussian";
  const std::vector<double> w = synfield::smooth_truth(s);
  const Dataset d = synfield::generate_smooth(s);
  double m2 = 0.0;
  for (double v : w) m2 += v * v;
  m2 /= static_cast<double>(w.size());
  EXPECT_GT(m2, 0.1);  // one realisation on ~100 correlation areas: a loose check
  EXPECT_LT(m2, 3.0);
  // not a copy of any input example
  for (std::int64_t l = 0; l < d.samples(); ++l)
    EXPECT_GT(max_abs_diff(w, std::vector<double>(d.X.begin() + l * 4096, d.X.begin() + (l + 1) * 4096)), 0.5);
  // another seed, another truth
  s.seed = 2;
  EXPECT_GT(max_abs_diff(w, synfield::smooth_truth(s)), 0.5);
}

TEST(DataSmooth, NoiseIsAddedWithUnitDeviates) {
  auto s = spec1d(32);
  s.samples = 2000;
  s.test_samples = 0;
  const Dataset clean = synfield::generate_smooth(s);
  s.noise = 0.5;
  const Dataset noisy = synfield::generate_smooth(s);
  EXPECT_EQ(clean.X, noisy.X);  // the inputs do not depend on the noise
  double m1 = 0.0, m2 = 0.0;
  for (std::int64_t l = 0; l < 2000; ++l) {
    const double xi = (noisy.Y[l] - clean.Y[l]) / 0.5;
    m1 += xi;
    m2 += xi * xi;
  }
  m1 /= 2000;
  m2 /= 2000;
  EXPECT_NEAR(m1, 0.0, 0.1);
  EXPECT_NEAR(m2, 1.0, 0.12);
}

TEST(DataSmooth, RejectsBadSpecs) {
  const synfield::SmoothSpec good = spec1d(16);
  EXPECT_NO_THROW(synfield::generate_smooth(good));
  struct Case {
    std::string name, part;
    std::function<void(synfield::SmoothSpec&)> edit;
  };
  const std::vector<Case> cases = {
      {"no_shape", "extents", [](auto& s) { s.shape = {}; }},
      {"four_dims", "extents", [](auto& s) { s.shape = {2, 2, 2, 2}; }},
      {"zero_extent", "extent", [](auto& s) { s.shape = {4, 0}; }},
      {"spacing", "spacing", [](auto& s) { s.spacing = 0.0; }},
      {"samples", "samples", [](auto& s) { s.samples = 0; }},
      {"test_samples", "test_samples", [](auto& s) { s.test_samples = -1; }},
      {"correlation", "correlation", [](auto& s) { s.correlation = -0.1; }},
      {"correlation_tiny", "correlation", [](auto& s) {
         s.shape = {4, 4, 4};
         s.correlation = 1e-3;
       }},
      {"noise", "noise", [](auto& s) { s.noise = -1.0; }},
      {"truth", "truth", [](auto& s) { s.truth = "cosine"; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    synfield::SmoothSpec s = good;
    c.edit(s);
    EXPECT_MESSAGE_HAS(error_of([&] { synfield::generate_smooth(s); }), c.part);
  }
  synfield::SmoothSpec s = good;
  s.truth = "cosine";
  EXPECT_MESSAGE_HAS(error_of([&] { synfield::smooth_truth(s); }), "cosine");
}

// --------------------------------------------------------------------------------- sampler

namespace {

std::vector<std::int64_t> epoch_of(synfield::MinibatchSampler& s, std::int64_t epoch) {
  std::vector<std::int64_t> all;
  for (std::int64_t b = 0; b < s.batches_per_epoch(); ++b) {
    const auto& batch = s.batch(epoch * s.batches_per_epoch() + b);
    all.insert(all.end(), batch.begin(), batch.end());
  }
  return all;
}

}  // namespace

TEST(DataSampler, EachEpochIsAPermutationWithARemainderBatch) {
  synfield::MinibatchSampler s(10, 3, 42);
  ASSERT_EQ(s.batches_per_epoch(), 4);
  for (std::int64_t e = 0; e < 6; ++e) {
    std::vector<std::size_t> sizes;
    for (std::int64_t b = 0; b < 4; ++b) sizes.push_back(s.batch(e * 4 + b).size());
    EXPECT_EQ(sizes, (std::vector<std::size_t>{3, 3, 3, 1}));
    std::vector<std::int64_t> all = epoch_of(s, e);
    std::sort(all.begin(), all.end());
    std::vector<std::int64_t> want(10);
    for (int i = 0; i < 10; ++i) want[i] = i;
    EXPECT_EQ(all, want) << "epoch " << e;
  }
  synfield::MinibatchSampler even(12, 4, 1);
  EXPECT_EQ(even.batches_per_epoch(), 3);
  for (std::int64_t st = 0; st < 9; ++st) EXPECT_EQ(even.batch(st).size(), 4u);
  synfield::MinibatchSampler ones(5, 1, 1);
  EXPECT_EQ(ones.batches_per_epoch(), 5);
}

TEST(DataSampler, SameSeedSameSequenceInAnyOrder) {
  synfield::MinibatchSampler a(37, 5, 2024), b(37, 5, 2024);
  std::vector<std::vector<std::int64_t>> seq;
  for (std::int64_t st = 0; st < 40; ++st) {
    seq.push_back(a.batch(st));
    EXPECT_EQ(b.batch(st), seq.back());
  }
  // random access: later steps first, then earlier ones
  synfield::MinibatchSampler c(37, 5, 2024);
  for (std::int64_t st = 39; st >= 0; st -= 3) EXPECT_EQ(c.batch(st), seq[st]);
}

TEST(DataSampler, EpochsAndSeedsDiffer) {
  synfield::MinibatchSampler a(50, 7, 3), b(50, 7, 4);
  const auto e0 = epoch_of(a, 0), e1 = epoch_of(a, 1), e2 = epoch_of(a, 2);
  EXPECT_NE(e0, e1);
  EXPECT_NE(e1, e2);
  EXPECT_NE(e0, e2);
  EXPECT_NE(e0, epoch_of(b, 0));
  std::vector<std::int64_t> identity(50);
  for (int i = 0; i < 50; ++i) identity[i] = i;
  EXPECT_NE(e0, identity);
}

TEST(DataSampler, ShuffleIsUniform) {
  // P = 4: each of the 24 permutations should turn up ~ 1/24 of 4800 epochs
  synfield::MinibatchSampler s(4, 2, 11);
  std::map<std::vector<std::int64_t>, int> count;
  const int E = 4800;
  for (int e = 0; e < E; ++e) ++count[epoch_of(s, e)];
  EXPECT_EQ(count.size(), 24u);
  double chi2 = 0.0;
  for (const auto& [perm, n] : count) chi2 += (n - 200.0) * (n - 200.0) / 200.0;
  EXPECT_LT(chi2, 60.0);  // 23 degrees of freedom: p ≈ 4e-5
}

TEST(DataSampler, FullBatchWhenTheBatchCoversAllSamples) {
  for (std::int64_t m : {6, 7, 100}) {
    synfield::MinibatchSampler s(6, m, 5);
    EXPECT_EQ(s.batches_per_epoch(), 1);
    for (std::int64_t st = 0; st < 3; ++st) EXPECT_EQ(s.batch(st), (std::vector<std::int64_t>{0, 1, 2, 3, 4, 5}));
  }
  synfield::MinibatchSampler one(1, 1, 0);
  EXPECT_EQ(one.batch(0), std::vector<std::int64_t>{0});
}

TEST(DataSampler, RejectsBadArguments) {
  EXPECT_MESSAGE_HAS(error_of([] { synfield::MinibatchSampler(0, 1, 1); }), "samples");
  EXPECT_MESSAGE_HAS(error_of([] { synfield::MinibatchSampler(5, 0, 1); }), "batch");
  EXPECT_MESSAGE_HAS(error_of([] { synfield::MinibatchSampler(-3, 2, 1); }), "samples");
  synfield::MinibatchSampler s(5, 2, 1);
  EXPECT_THROW(s.batch(-1), std::out_of_range);
}
