// The free field's two evaluators of one force, kernels/potential.h: FreePotential::force()
// at a site (the GPU's, and the CPU's for lines longer than a line binding takes) and the
// line binding FreePotential::line() that the CPU line walker runs over a segment of a line
// (neighbour lines, zeros beyond a Dirichlet edge, a halo'd copy along the fastest axis).
// Both must give the same value bit for bit at every site: 1–3 D, every boundary kind on
// every axis, segments that start and end inside a line, fp32 and fp64, with a source and
// with fields whose values are negative and zero (so a signed zero would show).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "kernels/potential.h"

namespace {

using namespace synfield::kernels;

template <int D>
Geometry<D> geometry(const int (&n)[D], const int (&bc)[D]) {
  Geometry<D> g{};
  long stride = 1;
  for (int mu = D - 1; mu >= 0; --mu) {
    g.n[mu] = n[mu];
    g.stride[mu] = stride;
    g.bc[mu] = bc[mu];
    stride *= n[mu];
  }
  g.sites = stride;
  return g;
}

// The coordinates of flat index x.
template <int D>
Site<D> site(const Geometry<D>& g, long x) {
  Site<D> s;
  s.x = x;
  for (int mu = D - 1; mu >= 0; --mu) {
    s.c[mu] = static_cast<int>(x % g.n[mu]);
    x /= g.n[mu];
  }
  return s;
}

template <class Real>
bool same_bits(Real a, Real b) {
  return std::memcmp(&a, &b, sizeof(Real)) == 0;
}

// Every site of the lattice through line() in segments of at most `seg` sites against
// force(); returns the number of sites compared (all of them) and fails on the first
// difference.
template <int D, class Real>
long compare(const int (&n)[D], const int (&bc)[D], int seg) {
  FreePotential<D, Real> pot{};
  pot.geo = geometry<D>(n, bc);
  pot.inv_a = Real(1 / 0.7);
  pot.mu_v = Real(1);
  pot.nfields = 2;
  pot.field_stride = pot.geo.sites;
  pot.fc[0] = force_coefs<Real>(1.3, 0.8, -0.2, 1.0, 1.0, 0.7);
  pot.fc[1] = force_coefs<Real>(0.4, 1.1, 0.0, 1.0, 1.0, 0.7);
  std::vector<Real> w(2 * pot.geo.sites);
  std::mt19937 rng(7);
  std::uniform_real_distribution<double> u(-1.0, 1.0);
  for (Real& v : w) v = Real(u(rng));
  for (std::size_t i = 0; i < w.size(); i += 5) w[i] = Real(0);  // zeros, some beside zeros
  for (std::size_t i = 1; i < w.size(); i += 7) w[i] = -Real(0);
  const int n_last = n[D - 1];
  long compared = 0;
  for (int field = 0; field < 2; ++field)
    for (long line = 0; line < pot.geo.sites / n_last; ++line)
      for (int begin = 0; begin < n_last; begin += seg) {
        const int end = std::min(begin + seg, n_last);
        const Site<D> first = site(pot.geo, line * n_last + begin);
        const auto bound = pot.line(field, w.data(), first, end);
        for (int c = begin; c < end; ++c) {
          const Site<D> s = site(pot.geo, line * n_last + c);
          const Real want = pot.force(field, w.data(), s), got = bound(s);
          if (!same_bits(got, want)) {
            ADD_FAILURE() << "field " << field << ", flat site " << s.x << ": line() " << got << ", force() "
                          << want;
            return compared;
          }
          ++compared;
        }
      }
  return compared;
}

constexpr int kBoundaries[3] = {kPeriodic, kOpen, kDirichlet};

template <class Real>
void all_cases() {
  for (int b0 : kBoundaries) {
    SCOPED_TRACE("axis 0 boundary " + std::to_string(b0));
    EXPECT_EQ((compare<1, Real>({23}, {b0}, 23)), 2 * 23);
    EXPECT_EQ((compare<1, Real>({23}, {b0}, 6)), 2 * 23);  // segments inside the line
    for (int b1 : kBoundaries) {
      SCOPED_TRACE("axis 1 boundary " + std::to_string(b1));
      EXPECT_EQ((compare<2, Real>({5, 17}, {b0, b1}, 17)), 2 * 5 * 17);
      EXPECT_EQ((compare<2, Real>({5, 17}, {b0, b1}, 4)), 2 * 5 * 17);
      for (int b2 : kBoundaries) {
        SCOPED_TRACE("axis 2 boundary " + std::to_string(b2));
        EXPECT_EQ((compare<3, Real>({4, 3, 11}, {b0, b1, b2}, 11)), 2 * 4 * 3 * 11);
        EXPECT_EQ((compare<3, Real>({4, 3, 11}, {b0, b1, b2}, 5)), 2 * 4 * 3 * 11);
      }
    }
  }
}

TEST(FreeLineForce, EqualsSiteForceBitForBitFloat64) { all_cases<double>(); }
TEST(FreeLineForce, EqualsSiteForceBitForBitFloat32) { all_cases<float>(); }

// A single extent along an axis: every site is at both edges at once.
TEST(FreeLineForce, EqualsSiteForceOnExtentOne) {
  for (int b : kBoundaries) {
    EXPECT_EQ((compare<3, double>({1, 1, 1}, {b, b, b}, 1)), 2);
    EXPECT_EQ((compare<2, float>({1, 9}, {b, b}, 9)), 2 * 9);
    EXPECT_EQ((compare<2, float>({9, 1}, {b, b}, 1)), 2 * 9);
  }
}

}  // namespace
