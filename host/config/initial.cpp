// Initial conditions (host/config/initial.h).
#include "host/config/initial.h"

#include <cmath>
#include <stdexcept>

#include "host/io/h5.h"

namespace synfield {
std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

namespace {

// Fills one field's block ([replica][the n sites from `first`]) from a spec; `stream`
// separates fields and w/π. A site's value depends on its index in the whole lattice only.
void fill(const InitialSpec& s, const Lattice& lat, std::uint64_t stream, std::int64_t first, std::int64_t n,
          double* out) {
  const std::int64_t N = lat.sites();
  const int B = lat.replicas;
  if (s.kind == "zero") return;
  if (s.kind == "constant") {
    for (std::int64_t i = 0; i < n * B; ++i) out[i] = s.value;
  } else if (s.kind == "mode") {
    const double two_pi = 2.0 * std::acos(-1.0);
    for (std::int64_t k = 0; k < n; ++k) {
      std::int64_t rem = first + k;
      double phase = s.phase;
      for (int mu = lat.dim - 1; mu >= 0; --mu) {
        const std::int64_t c = rem % lat.shape[mu];
        rem /= lat.shape[mu];
        phase += two_pi * static_cast<double>(s.wavevector[mu]) * static_cast<double>(c) / lat.shape[mu];
      }
      const double v = s.amplitude * std::cos(phase);
      for (int r = 0; r < B; ++r) out[r * n + k] = v;
    }
  } else if (s.kind == "gaussian") {
    const std::uint64_t seed = splitmix64(s.seed ^ splitmix64(stream));
    for (int r = 0; r < B; ++r)
      for (std::int64_t k = 0; k < n; ++k)
        out[r * n + k] = s.std * gaussian_deviate(seed, static_cast<std::uint64_t>(r * N + first + k));
  } else if (s.kind == "file") {
    auto [file, ds] = h5::split_source(s.path, "path");
    std::vector<hsize_t> dims;
    const std::vector<double> data = h5::File::open_read(file).read(ds, &dims);
    const bool shared = static_cast<std::int64_t>(data.size()) == N;
    for (int r = 0; r < B; ++r)
      for (std::int64_t k = 0; k < n; ++k) out[r * n + k] = data[shared ? first + k : r * N + first + k];
  } else {
    throw std::invalid_argument("unknown initial kind " + s.kind);
  }
}

}  // namespace

double gaussian_deviate(std::uint64_t seed, std::uint64_t counter) {
  const std::uint64_t a = splitmix64(seed + 2 * counter), b = splitmix64(seed + 2 * counter + 1);
  const double u1 = (static_cast<double>(a >> 11) + 0.5) * 0x1.0p-53;  // (0, 1)
  const double u2 = static_cast<double>(b >> 11) * 0x1.0p-53;          // [0, 1)
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::acos(-1.0) * u2);
}

void initial_state(const Problem& p, std::vector<double>& w, std::vector<double>& pi, std::int64_t first,
                   std::int64_t count) {
  const Lattice& lat = p.lattice;
  const std::int64_t n = count < 0 ? lat.sites() - first : count, block = n * lat.replicas;
  const std::size_t F = lat.fields.size();
  w.assign(F * block, 0.0);
  pi.assign(F * block, 0.0);
  for (std::size_t f = 0; f < F; ++f) {
    const InitialField init = f < p.initial.size() ? p.initial[f] : InitialField{};
    fill(init.value, lat, 2 * f, first, n, w.data() + f * block);
    fill(init.velocity, lat, 2 * f + 1, first, n, pi.data() + f * block);
  }
}

}  // namespace synfield
