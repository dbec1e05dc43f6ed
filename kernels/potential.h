// Per-site math of the local potential V = Σ_terms Σ_x μ_V c(x) Π_k (D_k w_{f_k})(x)^{p_k}
// and its force F_f(y) = −(1/μ) ∂V/∂w_f(y) = −(1/μ) Σ_terms Σ_{k: f_k=f} (D_kᵀ g_k)(y), with
// the cotangent g_k(x) = μ_V c(x) p_k (D_k w)^{p_k−1} Π_{j≠k} (D_j w)^{p_j}, zero where a
// factor is undefined. Two evaluators share the interface `force(field, replica_base, site)`
// and `energy(replica_base, site)`:
//   GenericPotential  any terms (up to kMaxTerms, four factors each), any boundaries;
//   FreePotential     the free-field fast path: per field m², K and J with scalar
//                     coefficients, F = −(μ_V/μ)[m² w + K d_μᵀd_μ w + J].
// Fields of one replica are `field_stride` apart; `base` points at field 0 of the replica.
#pragma once

#include "kernels/lattice.h"

namespace synfield::kernels {

constexpr int kMaxTerms = 32;
constexpr int kMaxFactors = 4;
constexpr int kMaxFields = 8;

template <class Real>
SF_HD SF_FORCEINLINE Real ipow(Real x, int p) {
  Real r = Real(1);
  for (int i = 0; i < p; ++i) r *= x;
  return r;
}

struct FactorDesc {
  int field, op, axis, power;
};

template <class Real>
struct TermDesc {
  Real coef;              // μ_V c, or μ_V when coef_field is set
  const Real* coef_field;  // per-site c(x), or nullptr
  int nfac;
  FactorDesc fac[kMaxFactors];
};

template <int D, class Real>
struct GenericPotential {
  Geometry<D> geo;
  Real inv_a;
  Real inv_mu;
  long field_stride;
  int nterms;
  TermDesc<Real> term[kMaxTerms];

  // Factor values of term t at site s; false where one is undefined.
  SF_HD SF_FORCEINLINE bool factors(const TermDesc<Real>& t, const Real* base, const Site<D>& s, Real* v) const {
    bool valid = true;
    for (int k = 0; k < t.nfac; ++k)
      v[k] = apply_op(geo, inv_a, t.fac[k].op, t.fac[k].axis, base + t.fac[k].field * field_stride, s, valid);
    return valid;
  }

  SF_HD SF_FORCEINLINE Real coef_at(const TermDesc<Real>& t, long x) const {
    return t.coef_field ? t.coef * t.coef_field[x] : t.coef;
  }

  SF_HD SF_DEVICE_NOINLINE Real energy(const Real* base, const Site<D>& s) const {
    Real e = Real(0);
    for (int i = 0; i < nterms; ++i) {
      const TermDesc<Real>& t = term[i];
      Real v[kMaxFactors];
      if (!factors(t, base, s, v)) continue;
      Real prod = coef_at(t, s.x);
      for (int k = 0; k < t.nfac; ++k) prod *= ipow(v[k], t.fac[k].power);
      e += prod;
    }
    return e;
  }

  // g_k of term t at site s.
  SF_HD SF_DEVICE_NOINLINE Real cotangent(const TermDesc<Real>& t, int k, const Real* base, const Site<D>& s) const {
    Real v[kMaxFactors];
    if (!factors(t, base, s, v)) return Real(0);
    Real prod = coef_at(t, s.x) * Real(t.fac[k].power) * ipow(v[k], t.fac[k].power - 1);
    for (int j = 0; j < t.nfac; ++j)
      if (j != k) prod *= ipow(v[j], t.fac[j].power);
    return prod;
  }

  SF_HD SF_DEVICE_NOINLINE Real force(int field, const Real* base, const Site<D>& s) const {
    Real grad = Real(0);
    for (int i = 0; i < nterms; ++i) {
      const TermDesc<Real>& t = term[i];
      for (int k = 0; k < t.nfac; ++k) {
        if (t.fac[k].field != field) continue;
        auto cot = [&](const Site<D>& x) { return cotangent(t, k, base, x); };
        grad += apply_adjoint(geo, inv_a, t.fac[k].op, t.fac[k].axis, s, cot);
      }
    }
    return -grad * inv_mu;
  }

  // force() of one field of one replica at the sites of a line of the fastest axis (see
  // FreePotential::line); here nothing is hoisted.
  struct LineForce {
    static constexpr bool whole_line = false;  // the walker runs the edge sites on their own
    static constexpr int max_sites = 0;
    const GenericPotential* pot;
    int field;
    const Real* base;
    SF_HD SF_FORCEINLINE Real operator()(const Site<D>& s) const { return pot->force(field, base, s); }
  };
  SF_HD SF_FORCEINLINE LineForce line(int field, const Real* base, const Site<D>&, int) const { return {this, field, base}; }
};

template <class Real>
struct FreeCoefs {
  Real m2, K, J;  // mass², gradient stiffness, source of one field
};

// The same folded into the force: F = m2·w + K·Σ_μ[(w − w₋) − (w₊ − w)] + J with
// m2 = −(μ_V/μ)m², K = −(μ_V/μ)K/a², J = −(μ_V/μ)J, computed in double and rounded once
// (FreePotential::fc), so a site's force costs no per-axis scaling.
template <class Real>
FreeCoefs<Real> force_coefs(double m2, double K, double J, double mu_v, double mu, double a) {
  const double s = -mu_v / mu;
  return {Real(s * m2), Real(s * K / (a * a)), Real(s * J)};
}

template <int D, class Real>
struct FreePotential {
  Geometry<D> geo;
  Real inv_a;
  Real mu_v;     // μ_V, for the energy
  long field_stride;
  int nfields;
  FreeCoefs<Real> c[kMaxFields];   // the energy's m², K, J
  FreeCoefs<Real> fc[kMaxFields];  // the force's (force_coefs)

  // d_μ w at s; 0 where undefined (open edge), which is the masked cotangent's value.
  SF_HD SF_FORCEINLINE Real fwd(const Real* w, const Site<D>& s, int mu) const {
    const long p = neighbour(geo, s, mu, +1);
    if (exists(p)) return (w[p] - w[s.x]) * inv_a;
    return geo.bc[mu] == kDirichlet ? -w[s.x] * inv_a : Real(0);
  }

  SF_HD Real energy(const Real* base, const Site<D>& s) const {
    Real e = Real(0);
    for (int f = 0; f < nfields; ++f) {
      const Real* w = base + f * field_stride;
      const Real w0 = w[s.x];
      Real grad2 = Real(0);
      for (int mu = 0; mu < D; ++mu) {
        const Real g = fwd(w, s, mu);
        grad2 += g * g;
      }
      e += Real(0.5) * c[f].m2 * w0 * w0 + Real(0.5) * c[f].K * grad2 + c[f].J * w0;
    }
    return mu_v * e;
  }

  // −(μ_V/μ)[m² w + K Σ_μ d_μᵀ d_μ w + J], with (d_μᵀ d_μ w)(s) = (g₋ − g₊)/a where
  // g₊ = (d_μ w)(s) = (w₊ − w)/a and g₋ = (d_μ w)(s − aê_μ) = (w − w₋)/a, 0 where undefined;
  // the differences are taken first (exact for neighbouring values within a factor 2, so a
  // smooth field's curvature keeps its digits) and the 1/a² is in the coefficient. The
  // fastest axis comes first, then axes 0, 1, … (LineForce adds them in the same order).
  // Straight-line code, so the CPU line loop vectorises: a missing neighbour is read at s
  // itself, which makes its difference 0 (g₋ at any edge, g₊ at an open one), and beyond a
  // Dirichlet edge w₊ is selected as 0; the edge flags are 0/1 integers rather than
  // branches. Along the slower axes they are constant over a line; along the fastest one the
  // launcher's `inner` hint makes them 0.
  SF_HD SF_FORCEINLINE Real force(int field, const Real* base, const Site<D>& s) const {
    const Real* w = base + field * field_stride;
    const FreeCoefs<Real> k = fc[field];
    const Real w0 = w[s.x];
    const auto second = [&](int mu) {  // (w − w₋) − (w₊ − w) along axis mu
      const long n = geo.n[mu], stride = geo.stride[mu];
      const bool inner = mu == D - 1 && s.inner;
      const long edge_p = !inner & (s.c[mu] + 1 >= n) & !continues(geo, mu, 1),
                 edge_m = !inner & (s.c[mu] == 0) & !continues(geo, mu, 0);
      const long wrap = stride * (geo.bc[mu] == kPeriodic ? n : 1);  // edge offset correction
      const Real w_p = w[s.x + stride - edge_p * wrap], wm = w[s.x - stride + edge_m * wrap];
      const Real wp = edge_p & (geo.bc[mu] == kDirichlet) ? Real(0) : w_p;
      return (w0 - wm) - (wp - w0);
    };
    Real dtd = second(D - 1);
    for (int mu = 0; mu < D - 1; ++mu) dtd += second(mu);
    return k.m2 * w0 + k.K * dtd + k.J;
  }

  // force(field, base, ·) at the sites [begin, end) of one line of the fastest axis (a
  // segment of it for long lines), with what is constant along the line computed once, for
  // the CPU line walker (host/engine/launch.h): the field's coefficients; for each slower axis
  // where its ± neighbours' values lie along the line (the neighbour lines, the line itself
  // at an edge without one, or zeros beyond a Dirichlet edge: the site's coordinate along
  // that axis, hence its edge flags, is the same all along the line); and along the fastest
  // axis a copy of the segment's w with one halo value each side, the ±1 neighbour that
  // force() reads at the segment's first and last site (at a lattice edge that is force()'s
  // edge value). So every site of the segment, its edges too, runs in the walker's SIMD loop
  // (`whole_line`) with contiguous loads and no edge arithmetic, and does the same
  // floating-point operations in the same order as force(): the same values bit for bit.
  // The fastest axis has stride 1.
  struct LineForce {
    static constexpr bool whole_line = true;
    static constexpr int max_sites = 512;  // longer lines: segments have few edges, a copy costs more
    static constexpr int kSlow = D > 1 ? D - 1 : 1;  // array extent (unused when D = 1)
    static constexpr Real kZeros[max_sites] = {};    // w₊ beyond a Dirichlet edge
    const Real* w;      // w at the segment's first site
    FreeCoefs<Real> k;  // the field's force coefficients
    const Real* wp[kSlow];  // slower axes: where w₊ and w₋ of the segment's sites lie,
    const Real* wm[kSlow];  // from its first site on
    int begin;                 // the segment's first coordinate along the fastest axis
    Real buf[max_sites + 2];  // w at begin − 1, …, end along the fastest axis (with edges' values)

    // s: a site of the segment.
    SF_HD SF_FORCEINLINE Real operator()(const Site<D>& s) const {
      const int j = s.c[D - 1] - begin;
      const Real w0 = w[j];
      Real dtd = (w0 - buf[j]) - (buf[j + 2] - w0);
      for (int mu = 0; mu < D - 1; ++mu) dtd += (w0 - wm[mu][j]) - (wp[mu][j] - w0);
      return k.m2 * w0 + k.K * dtd + k.J;
    }
  };

  // s: the segment's first site; end: one past its last coordinate along the fastest axis
  // (end − s.c[D − 1] ≤ LineForce::max_sites).
  SF_HD SF_FORCEINLINE LineForce line(int field, const Real* base, const Site<D>& s, int end) const {
    LineForce l;
    const Real* ws = base + field * field_stride + s.x;  // w at the segment's first site
    l.w = ws;
    l.k = fc[field];
    for (int mu = 0; mu < D - 1; ++mu) {  // as in force()
      const long n = geo.n[mu], stride = geo.stride[mu];
      const long edge_p = (s.c[mu] + 1 >= n) & !continues(geo, mu, 1), edge_m = (s.c[mu] == 0) & !continues(geo, mu, 0);
      const long wrap = stride * (geo.bc[mu] == kPeriodic ? n : 1);
      l.wp[mu] = edge_p && geo.bc[mu] == kDirichlet ? LineForce::kZeros : ws + stride - edge_p * wrap;
      l.wm[mu] = ws - stride + edge_m * wrap;
    }
    // the fastest axis, as in force() with stride 1
    const int n = geo.n[D - 1], begin = s.c[D - 1], m = end - begin;
    const long wrap = geo.bc[D - 1] == kPeriodic ? n : 1;
    l.begin = begin;
    for (int j = 0; j < m; ++j) l.buf[j + 1] = ws[j];
    l.buf[0] = begin > 0 || continues(geo, D - 1, 0) ? ws[-1] : ws[-1 + wrap];  // site 0: edge_m = 1
    const bool beyond = end == n && !continues(geo, D - 1, 1);                 // site n − 1: edge_p = 1
    l.buf[m + 1] = !beyond ? ws[m] : geo.bc[D - 1] == kDirichlet ? Real(0) : ws[m - wrap];
    return l;
  }
};

}  // namespace synfield::kernels
