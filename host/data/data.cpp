// host/data: training data, declared in include/synfield/data.h — CSV and HDF5 loaders, the
// "smooth" generator, the minibatch sampler. It includes include/synfield, host/io (HDF5
// files), host/config (the SplitMix64 generator of initial.h) and host/util (the memory a
// generated data set may take).
//
// Training data (include/synfield/data.h): CSV and HDF5 loaders with located error
// messages, the width-independent "smooth" generator and the seeded minibatch sampler.
#include <synfield/data.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <system_error>

#include "host/io/h5.h"
#include "host/config/initial.h"
#include "host/util/sysinfo.h"

namespace synfield {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Seed of an independent stream derived from `seed` (same mixing as host/config/initial.cpp;
// splitmix64 from host/config/initial.h adds the SplitMix64 increment before mixing).
std::uint64_t stream_seed(std::uint64_t seed, std::uint64_t stream) { return splitmix64(seed ^ splitmix64(stream)); }

std::string show_value(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

// ----------------------------------------------------------------------------------- CSV

std::string trim(const std::string& s) {
  std::size_t b = 0, e = s.size();
  while (b < e && (s[b] == ' ' || s[b] == '\t')) ++b;
  while (e > b && (s[e - 1] == ' ' || s[e - 1] == '\t')) --e;
  return s.substr(b, e - b);
}

// Splits one line on commas; a cell may be double-quoted ("" inside is a quote).
// Returns false on an unterminated quote or text after a closing quote.
bool split_csv(const std::string& line, std::vector<std::string>& cells) {
  cells.clear();
  std::size_t i = 0;
  const std::size_t n = line.size();
  while (true) {
    while (i < n && (line[i] == ' ' || line[i] == '\t')) ++i;
    std::string cell;
    if (i < n && line[i] == '"') {
      ++i;
      bool closed = false;
      while (i < n) {
        if (line[i] == '"') {
          if (i + 1 < n && line[i + 1] == '"') {
            cell += '"';
            i += 2;
          } else {
            ++i;
            closed = true;
            break;
          }
        } else {
          cell += line[i++];
        }
      }
      if (!closed) return false;
      while (i < n && (line[i] == ' ' || line[i] == '\t')) ++i;
      if (i < n && line[i] != ',') return false;
    } else {
      const std::size_t start = i;
      while (i < n && line[i] != ',') ++i;
      cell = trim(line.substr(start, i - start));
    }
    cells.push_back(cell);
    if (i >= n) break;
    ++i;  // the comma
  }
  return true;
}

bool blank(const std::string& line) {
  return line.find_first_not_of(" \t") == std::string::npos;
}

// Reads one numeric cell; throws with the file, line and column on failure.
double parse_cell(const std::string& cell, const std::string& where) {
  if (cell.empty()) throw DataError(where + ": empty cell");
  const char* first = cell.data();
  const char* last = cell.data() + cell.size();
  if (*first == '+' && cell.size() > 1 && first[1] != '-' && first[1] != '+') ++first;
  double v = 0.0;
  const auto [ptr, ec] = std::from_chars(first, last, v);
  if (ec == std::errc::result_out_of_range) throw DataError(where + ": value \"" + cell + "\" is out of range");
  if (ec != std::errc() || ptr != last) throw DataError(where + ": non-numeric value \"" + cell + "\"");
  if (!std::isfinite(v)) throw DataError(where + ": non-finite value \"" + cell + "\"");
  return v;
}

// ---------------------------------------------------------------------------------- HDF5

std::string shape_text(const std::vector<hsize_t>& d) {
  std::string s = "[";
  for (std::size_t i = 0; i < d.size(); ++i) s += (i ? ", " : "") + std::to_string(d[i]);
  return s + "]";
}

struct Array {
  std::vector<double> data;
  std::vector<hsize_t> dims;
};

Array read_array(const h5::File& f, const std::string& path, const std::string& ds) {
  Array a;
  try {
    a.data = f.read(ds, &a.dims);
  } catch (const h5::Error& e) {
    throw DataError(e.what());  // h5 messages name the file and the dataset
  }
  // the first non-finite value, located by sample and element
  const std::size_t row = a.dims.size() > 1 ? a.data.size() / std::max<hsize_t>(a.dims[0], 1) : 1;
  for (std::size_t i = 0; i < a.data.size(); ++i)
    if (!std::isfinite(a.data[i]))
      throw DataError(path + ":" + ds + ": non-finite value " + show_value(a.data[i]) + " at sample " +
                      std::to_string(i / row) + (a.dims.size() > 1 ? ", element " + std::to_string(i % row) : "") +
                      " (0-based)");
  return a;
}

// ------------------------------------------------------------------------ smooth generator

// The fixed, width-independent mode set of a spec and the evaluation of fields on its lattice.
class SmoothField {
 public:
  explicit SmoothField(const SmoothSpec& s) : shape_(s.shape), d_(static_cast<int>(s.shape.size())) {
    // S(n) = exp(-Σ (2π n_μ c)²/2) ≥ 1e-8  ⇔  2π|n|c ≤ √(2 ln 1e8)
    const double kcut = std::sqrt(2.0 * std::log(1e8));
    const double two_pi_c = 2.0 * kPi * s.correlation;
    const double nm = std::ceil(kcut / two_pi_c);
    const double box = std::pow(2.0 * nm + 1.0, d_);
    if (!(box <= double(1 << 22)))
      throw DataError("generator \"smooth\": correlation = " + show_value(s.correlation) +
                      " needs too many Fourier modes (more than 2^22); use a larger correlation");
    nmax_ = std::max(1, static_cast<int>(nm));
    K_ = 2 * nmax_ + 1;
    // half box: n_0 in [0, nmax], the others in [-nmax, nmax]
    ext_.assign(d_, K_);
    ext_[0] = nmax_ + 1;
    half_ = 1;
    for (int e : ext_) half_ *= e;
    std::vector<double> S(half_, 0.0);
    weight_.assign(half_, 0.0);
    box_index_.assign(half_, 0);
    double total = 0.0;
    for (std::int64_t h = 0; h < half_; ++h) {
      int n[3] = {0, 0, 0};
      std::int64_t rem = h;
      for (int mu = d_ - 1; mu >= 0; --mu) {
        const int c = static_cast<int>(rem % ext_[mu]);
        rem /= ext_[mu];
        n[mu] = mu == 0 ? c : c - nmax_;
      }
      // n in the half space (first nonzero component positive) or n = 0
      int sign = 0;
      for (int mu = 0; mu < d_ && sign == 0; ++mu) sign = (n[mu] > 0) - (n[mu] < 0);
      if (sign < 0) continue;
      double q = 0.0;
      for (int mu = 0; mu < d_; ++mu) q += (two_pi_c * n[mu]) * (two_pi_c * n[mu]);
      const double sn = std::exp(-0.5 * q);
      if (sn < 1e-8) continue;
      S[h] = sign == 0 ? sn : 2.0 * sn;  // a half-space mode stands for n and -n
      total += S[h];
      std::int64_t m = 0;
      for (int mu = 0; mu < d_; ++mu) m = m * K_ + (n[mu] + nmax_);
      box_index_[h] = static_cast<std::uint64_t>(m);
      modes_.push_back(h);
    }
    for (std::int64_t h : modes_) weight_[h] = std::sqrt(S[h] / total);
    // phase tables e^{i 2π ((n i) mod N)/N}, exact in the fraction so widths agree
    for (int mu = 0; mu < d_; ++mu) {
      const std::int64_t N = shape_[mu];
      const int lo = mu == 0 ? 0 : -nmax_;
      std::vector<double> re(ext_[mu] * N), im(ext_[mu] * N);
      for (int k = 0; k < ext_[mu]; ++k)
        for (std::int64_t i = 0; i < N; ++i) {
          const std::int64_t r = (((lo + k) * i) % N + N) % N;
          const double ph = 2.0 * kPi * (static_cast<double>(r) / static_cast<double>(N));
          re[k * N + i] = std::cos(ph);
          im[k * N + i] = std::sin(ph);
        }
      tab_re_.push_back(std::move(re));
      tab_im_.push_back(std::move(im));
    }
    sites_ = 1;
    for (int n : shape_) sites_ *= n;
  }

  std::int64_t sites() const { return sites_; }

  // Field number `example` of stream `seed` on the lattice, into out[0..sites).
  void evaluate(std::uint64_t seed, std::uint64_t example, double* out) const {
    const std::uint64_t es = stream_seed(seed, example);
    // coefficients c_n = w_n (α_n − i β_n): α cos θ + β sin θ = Re[(α − iβ) e^{iθ}]
    std::vector<double> are(half_, 0.0), aim(half_, 0.0);
    for (std::int64_t h : modes_) {
      const std::uint64_t m = box_index_[h];
      are[h] = weight_[h] * gaussian_deviate(es, 2 * m);
      aim[h] = -weight_[h] * gaussian_deviate(es, 2 * m + 1);
    }
    // contract the mode axes one by one, last dimension first:
    // [modes 0..mu][sites mu+1..d-1] → [modes 0..mu-1][sites mu..d-1]
    std::int64_t suffix = 1;  // sites of the dimensions after mu
    std::vector<double> bre, bim;
    for (int mu = d_ - 1; mu >= 0; --mu) {
      std::int64_t prefix = 1;
      for (int nu = 0; nu < mu; ++nu) prefix *= ext_[nu];
      const int K = ext_[mu];
      const std::int64_t N = shape_[mu];
      const std::vector<double>& er = tab_re_[mu];
      const std::vector<double>& ei = tab_im_[mu];
      bre.assign(prefix * N * suffix, 0.0);
      bim.assign(prefix * N * suffix, 0.0);
      for (std::int64_t p = 0; p < prefix; ++p)
        for (std::int64_t i = 0; i < N; ++i) {
          double* br = bre.data() + (p * N + i) * suffix;
          double* bi = bim.data() + (p * N + i) * suffix;
          for (int k = 0; k < K; ++k) {
            const double* ar = are.data() + (p * K + k) * suffix;
            const double* ai = aim.data() + (p * K + k) * suffix;
            const double cr = er[k * N + i], ci = ei[k * N + i];
            for (std::int64_t s = 0; s < suffix; ++s) {
              br[s] += ar[s] * cr - ai[s] * ci;
              bi[s] += ar[s] * ci + ai[s] * cr;
            }
          }
        }
      are.swap(bre);
      aim.swap(bim);
      suffix *= N;
    }
    std::copy(are.begin(), are.end(), out);
  }

 private:
  std::vector<int> shape_;
  int d_;
  int nmax_ = 1, K_ = 3;
  std::vector<int> ext_;
  std::int64_t half_ = 1, sites_ = 1;
  std::vector<std::int64_t> modes_;
  std::vector<double> weight_;
  std::vector<std::uint64_t> box_index_;
  std::vector<std::vector<double>> tab_re_, tab_im_;
};

enum Stream : std::uint64_t { kInputs = 1, kNoise = 2, kTruth = 3 };

void check_spec(const SmoothSpec& s) {
  const std::string g = "generator \"smooth\": ";
  if (s.shape.empty() || s.shape.size() > 3)
    throw DataError(g + "shape has " + std::to_string(s.shape.size()) + " extents; expected 1 to 3");
  for (int n : s.shape)
    if (n < 1) throw DataError(g + "shape extent " + std::to_string(n) + " < 1");
  if (!(s.spacing > 0.0) || !std::isfinite(s.spacing))
    throw DataError(g + "spacing = " + show_value(s.spacing) + ": must be positive and finite");
  if (s.samples < 1) throw DataError(g + "samples = " + std::to_string(s.samples) + ": need at least 1");
  if (s.test_samples < 0) throw DataError(g + "test_samples = " + std::to_string(s.test_samples) + " < 0");
  if (!(s.correlation > 0.0) || !std::isfinite(s.correlation))
    throw DataError(g + "correlation = " + show_value(s.correlation) + ": must be positive and finite");
  if (!(s.noise >= 0.0) || !std::isfinite(s.noise))
    throw DataError(g + "noise = " + show_value(s.noise) + ": must be ≥ 0 and finite");
  if (s.truth != "sine" && s.truth != "gaussian")
    throw DataError(g + "truth = \"" + s.truth + "\": unknown (expected \"sine\" or \"gaussian\")");
}

std::vector<double> truth_field(const SmoothSpec& s, const SmoothField& field) {
  std::vector<double> w(field.sites());
  if (s.truth == "gaussian") {
    field.evaluate(stream_seed(s.seed, kTruth), 0, w.data());
    return w;
  }
  // Π_μ sin(2π x_μ/L_μ) = Π_μ sin(2π i_μ/N_μ), the fraction exact as for the modes
  const int d = static_cast<int>(s.shape.size());
  for (std::int64_t x = 0; x < field.sites(); ++x) {
    std::int64_t rem = x;
    double v = 1.0;
    for (int mu = d - 1; mu >= 0; --mu) {
      const std::int64_t N = s.shape[mu];
      const std::int64_t i = rem % N;
      rem /= N;
      v *= std::sin(2.0 * kPi * (static_cast<double>(i) / static_cast<double>(N)));
    }
    w[x] = v;
  }
  return w;
}

}  // namespace

std::int64_t Dataset::features() const {
  if (shape.empty()) return 0;
  std::int64_t n = 1;
  for (int e : shape) n *= e;
  return n;
}

// ----------------------------------------------------------------------------------- CSV

Dataset load_csv(const std::string& path, int targets, int test_rows) {
  if (targets < 1) throw DataError(path + ": targets = " + std::to_string(targets) + ": need at least one target column");
  if (test_rows < 0) throw DataError(path + ": test_rows = " + std::to_string(test_rows) + " < 0");
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw DataError(path + ": no such file");
  if (std::filesystem::is_directory(path, ec)) throw DataError(path + ": is a directory, not a CSV file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw DataError(path + ": cannot open file");

  std::string line;
  std::vector<std::string> header, cells;
  long lineno = 0, header_line = 0;
  int cols = 0;
  std::vector<double> rows;  // [R][cols]
  std::int64_t R = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lineno == 1 && line.compare(0, 3, "\xEF\xBB\xBF") == 0) line.erase(0, 3);  // UTF-8 BOM
    if (blank(line)) continue;
    const std::string at = path + ": line " + std::to_string(lineno);
    if (!split_csv(line, cells)) throw DataError(at + ": unterminated quote or text after a closing quote");
    if (!header_line) {
      header_line = lineno;
      header = cells;
      cols = static_cast<int>(header.size());
      for (int c = 0; c < cols; ++c)
        if (header[c].empty()) header[c] = "column " + std::to_string(c + 1);
      if (cols < targets + 1)
        throw DataError(at + " (header): " + std::to_string(cols) + " column" + (cols == 1 ? "" : "s") +
                        "; need at least one feature column and targets = " + std::to_string(targets));
      continue;
    }
    if (static_cast<int>(cells.size()) != cols)
      throw DataError(at + ": " + std::to_string(cells.size()) + " cells, expected " + std::to_string(cols) +
                      " (the header's columns)");
    for (int c = 0; c < cols; ++c) rows.push_back(parse_cell(cells[c], at + ", column '" + header[c] + "'"));
    ++R;
  }
  if (in.bad()) throw DataError(path + ": read error");
  if (!header_line) throw DataError(path + ": empty file (no header row)");
  if (R == 0) throw DataError(path + ": no data rows after the header");
  if (test_rows >= R)
    throw DataError(path + ": test_rows = " + std::to_string(test_rows) + " leaves no training rows (the file has " +
                    std::to_string(R) + " data rows)");

  Dataset ds;
  const int F = cols - targets;
  ds.shape = {F};
  ds.outputs = targets;
  const std::int64_t P = R - test_rows;
  for (std::int64_t r = 0; r < R; ++r) {
    const double* row = rows.data() + r * cols;
    auto& X = r < P ? ds.X : ds.X_test;
    auto& Y = r < P ? ds.Y : ds.Y_test;
    X.insert(X.end(), row, row + F);
    Y.insert(Y.end(), row + F, row + cols);
  }
  return ds;
}

// ---------------------------------------------------------------------------------- HDF5

Dataset load_hdf5(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) throw DataError(path + ": no such file");
  h5::File f;
  try {
    f = h5::File::open_read(path);
  } catch (const h5::Error& e) {
    throw DataError(e.what());
  }
  for (const char* ds : {"/X", "/Y"})
    if (!f.exists(ds)) throw DataError(path + ":" + ds + ": missing dataset");
  const bool has_xt = f.exists("/X_test"), has_yt = f.exists("/Y_test");
  if (has_xt != has_yt)
    throw DataError(path + ":" + (has_xt ? "/X_test" : "/Y_test") + ": present without " +
                    (has_xt ? "/Y_test" : "/X_test") + " (give both or neither)");

  Array X = read_array(f, path, "/X");
  if (X.dims.size() < 2 || X.dims.size() > 4)
    throw DataError(path + ":/X: shape " + shape_text(X.dims) + "; expected [P, *shape] with 1 to 3 lattice extents");
  if (X.dims[0] < 1) throw DataError(path + ":/X: no samples (shape " + shape_text(X.dims) + ")");
  for (std::size_t i = 1; i < X.dims.size(); ++i)
    if (X.dims[i] < 1 || X.dims[i] > static_cast<hsize_t>(std::numeric_limits<int>::max()))
      throw DataError(path + ":/X: bad lattice extent in shape " + shape_text(X.dims));
  const hsize_t P = X.dims[0];

  Array Y = read_array(f, path, "/Y");
  if (Y.dims.empty() || Y.dims.size() > 2)
    throw DataError(path + ":/Y: shape " + shape_text(Y.dims) + "; expected [P] or [P, n_out]");
  if (Y.dims[0] != P)
    throw DataError(path + ":/Y: " + std::to_string(Y.dims[0]) + " samples, but /X has " + std::to_string(P));
  const hsize_t n_out = Y.dims.size() == 2 ? Y.dims[1] : 1;
  if (n_out < 1) throw DataError(path + ":/Y: no outputs (shape " + shape_text(Y.dims) + ")");

  Dataset ds;
  for (std::size_t i = 1; i < X.dims.size(); ++i) ds.shape.push_back(static_cast<int>(X.dims[i]));
  ds.outputs = static_cast<int>(n_out);
  ds.X = std::move(X.data);
  ds.Y = std::move(Y.data);

  if (has_xt) {
    Array Xt = read_array(f, path, "/X_test");
    if (Xt.dims.size() != X.dims.size() || !std::equal(X.dims.begin() + 1, X.dims.end(), Xt.dims.begin() + 1))
      throw DataError(path + ":/X_test: shape " + shape_text(Xt.dims) + " does not match /X " + shape_text(X.dims) +
                      " past the sample axis");
    Array Yt = read_array(f, path, "/Y_test");
    const bool ok = (Yt.dims.size() == 1 && n_out == 1) || (Yt.dims.size() == 2 && Yt.dims[1] == n_out);
    if (!ok)
      throw DataError(path + ":/Y_test: shape " + shape_text(Yt.dims) + " does not match /Y " + shape_text(Y.dims) +
                      " (n_out = " + std::to_string(n_out) + ")");
    if (Yt.dims[0] != Xt.dims[0])
      throw DataError(path + ":/Y_test: " + std::to_string(Yt.dims[0]) + " samples, but /X_test has " +
                      std::to_string(Xt.dims[0]));
    ds.X_test = std::move(Xt.data);
    ds.Y_test = std::move(Yt.data);
  }
  return ds;
}

// ------------------------------------------------------------------------ smooth generator

std::vector<double> smooth_truth(const SmoothSpec& spec) {
  check_spec(spec);
  return truth_field(spec, SmoothField(spec));
}

Dataset generate_smooth(const SmoothSpec& spec) {
  check_spec(spec);
  {  // refused up front with the size, not by std::bad_alloc half-way
    double sites = 1.0;
    for (int n : spec.shape) sites *= n;
    const double bytes = 8.0 * sites * (static_cast<double>(spec.samples) + static_cast<double>(spec.test_samples));
    const double avail = host_available_bytes();
    if (avail > 0 && bytes > avail)
      throw DataError("generator \"smooth\": samples + test_samples = " +
                      std::to_string(spec.samples + spec.test_samples) + " examples of " +
                      std::to_string(static_cast<long long>(sites)) + " sites need " + gib_text(bytes) +
                      ", more than the " + gib_text(avail) + " of memory available");
  }
  const SmoothField field(spec);
  const std::vector<double> w = truth_field(spec, field);
  const std::int64_t N = field.sites();
  double ad = 1.0;
  for (std::size_t mu = 0; mu < spec.shape.size(); ++mu) ad *= spec.spacing;
  const std::uint64_t xs = stream_seed(spec.seed, kInputs), ns = stream_seed(spec.seed, kNoise);

  Dataset ds;
  ds.shape = spec.shape;
  ds.outputs = 1;
  const std::int64_t P = spec.samples, T = spec.test_samples;
  ds.X.resize(P * N);
  ds.Y.resize(P);
  ds.X_test.resize(T * N);
  ds.Y_test.resize(T);
#pragma omp parallel for schedule(dynamic)
  for (std::int64_t e = 0; e < P + T; ++e) {
    double* x = e < P ? ds.X.data() + e * N : ds.X_test.data() + (e - P) * N;
    field.evaluate(xs, static_cast<std::uint64_t>(e), x);
    double sum = 0.0;
    for (std::int64_t s = 0; s < N; ++s) sum += w[s] * x[s];
    double y = ad * sum;
    if (spec.noise > 0.0) y += spec.noise * gaussian_deviate(ns, static_cast<std::uint64_t>(e));
    (e < P ? ds.Y[e] : ds.Y_test[e - P]) = y;
  }
  return ds;
}

// ------------------------------------------------------------------------------ sampler

MinibatchSampler::MinibatchSampler(std::int64_t samples, std::int64_t batch, std::uint64_t seed)
    : P_(samples), m_(batch), per_epoch_(0), seed_(seed) {
  if (samples < 1) throw DataError("minibatch sampler: " + std::to_string(samples) + " samples; need at least 1");
  if (batch < 1) throw DataError("minibatch sampler: batch size " + std::to_string(batch) + "; need at least 1");
  if (m_ > P_) m_ = P_;
  per_epoch_ = (P_ + m_ - 1) / m_;
  perm_.resize(P_);
}

const std::vector<std::int64_t>& MinibatchSampler::batch(std::int64_t step) {
  if (step < 0) throw std::out_of_range("minibatch sampler: negative step " + std::to_string(step));
  const std::int64_t epoch = step / per_epoch_, b = step % per_epoch_;
  if (epoch != epoch_) {
    for (std::int64_t i = 0; i < P_; ++i) perm_[i] = i;
    if (m_ < P_) {
      std::uint64_t state = splitmix64(seed_ ^ splitmix64(static_cast<std::uint64_t>(epoch)));
      auto next = [&state] {
        // SplitMix64 sequence: splitmix64() adds the increment itself
        const std::uint64_t z = splitmix64(state);
        state += 0x9E3779B97F4A7C15ULL;
        return z;
      };
      for (std::int64_t i = P_ - 1; i > 0; --i) {
        const std::uint64_t bound = static_cast<std::uint64_t>(i) + 1;
        const std::uint64_t reject_below = (0 - bound) % bound;  // 2^64 mod bound
        std::uint64_t r;
        do r = next();
        while (r < reject_below);
        std::swap(perm_[i], perm_[static_cast<std::int64_t>(r % bound)]);
      }
    }
    epoch_ = epoch;
  }
  const std::int64_t lo = b * m_, hi = std::min(lo + m_, P_);
  current_.assign(perm_.begin() + lo, perm_.begin() + hi);
  return current_;
}

}  // namespace synfield
