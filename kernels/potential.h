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

#include "lattice.h"

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

  SF_HD Real energy(const Real* base, const Site<D>& s) const {
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
  SF_HD Real cotangent(const TermDesc<Real>& t, int k, const Real* base, const Site<D>& s) const {
    Real v[kMaxFactors];
    if (!factors(t, base, s, v)) return Real(0);
    Real prod = coef_at(t, s.x) * Real(t.fac[k].power) * ipow(v[k], t.fac[k].power - 1);
    for (int j = 0; j < t.nfac; ++j)
      if (j != k) prod *= ipow(v[j], t.fac[j].power);
    return prod;
  }

  SF_HD Real force(int field, const Real* base, const Site<D>& s) const {
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
};

template <class Real>
struct FreeCoefs {
  Real m2, K, J;  // mass², gradient stiffness, source of one field
};

template <int D, class Real>
struct FreePotential {
  Geometry<D> geo;
  Real inv_a;
  Real mu_v;     // μ_V, for the energy
  Real inv_mu;   // 1/μ
  long field_stride;
  int nfields;
  FreeCoefs<Real> c[kMaxFields];

  // d_μ w at s; 0 where undefined (open edge), which is the masked cotangent's value.
  SF_HD SF_FORCEINLINE Real fwd(const Real* w, const Site<D>& s, int mu) const {
    const long p = neighbour(geo, s, mu, +1);
    if (p >= 0) return (w[p] - w[s.x]) * inv_a;
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

  // −(μ_V/μ)[m² w + K Σ_μ d_μᵀ d_μ w + J]
  SF_HD SF_FORCEINLINE Real force(int field, const Real* base, const Site<D>& s) const {
    const Real* w = base + field * field_stride;
    const FreeCoefs<Real> k = c[field];
    Real dtd = Real(0);
    for (int mu = 0; mu < D; ++mu) {
      const long m = neighbour(geo, s, mu, -1);
      Real gm = Real(0);
      if (m >= 0) {
        Site<D> sm = shifted(geo, s, mu, -1, m);
        gm = fwd(w, sm, mu);
      }
      dtd += (gm - fwd(w, s, mu)) * inv_a;
    }
    return -mu_v * inv_mu * (k.m2 * w[s.x] + k.K * dtd + k.J);
  }
};

}  // namespace synfield::kernels
