// Per-site update rules of the integrators, written once for both backends. Rows are
// (field, replica) pairs: row = f·B + r, element i = row·N + site. An update that
// evaluates the force takes the potential evaluator `Pot` (kernels/potential.h) plus an
// optional precomputed force (the nonlocal terms; see total_force), and returns its
// site's contribution to the energy dissipated in that stage, per unit μ (the host
// multiplies by μ and sums the sites in double).
#pragma once

#include <type_traits>

#include "kernels/potential.h"

namespace synfield::kernels {

// Rows and offsets of a [field][replica][site] state.
struct StateShape {
  long sites;    // N
  int replicas;  // B
  SF_HD SF_FORCEINLINE int field_of(long row) const { return static_cast<int>(row / replicas); }
  SF_HD SF_FORCEINLINE long replica_offset(long row) const { return (row % replicas) * sites; }
};

// Total force on element (row, s): local terms plus the optional precomputed part. `Extra`
// is std::nullptr_t when there is none (the default: decided at compile time, so the
// site loop has no branch) or const Real* for an array in the state's layout.
template <int D, class Pot, class Real, class Extra>
SF_HD SF_FORCEINLINE Real total_force(const Pot& pot, const StateShape& sh, const Real* w, Extra extra, long row,
                                      const Site<D>& s) {
  Real f = pot.force(sh.field_of(row), w + sh.replica_offset(row), s);
  if constexpr (!std::is_null_pointer_v<Extra>) f += extra[row * sh.sites + s.x];
  return f;
}

// Exact solution of π̇ = −γπ + F over h with w and γ frozen:
//   π ← e π + φ F,  e = exp(−γh), φ = (1 − e)/γ;
// returns the energy it dissipates, ∫γπ² ds = α π₀² + 2β π₀F + δ F² (per unit μ), in the
// run's precision: a site's value is as exact as its π₀ and F are, and in fp32 the 8-lane
// arithmetic costs half what converting both to double would (benchmarks/RESULTS.md, the
// leapfrog step).
template <int D, class Pot, class Real, class Extra = std::nullptr_t>
struct Kick {
  Pot pot;
  StateShape shape;
  const Real* w;
  Real* pi;
  Extra extra;
  Real e, phi;
  Real alpha, beta2, delta;  // α, 2β, δ

  SF_HD SF_FORCEINLINE Real operator()(long row, const Site<D>& s) const {
    Real p1;
    return update(row, s, row * shape.sites + s.x, p1);
  }

  // The kick of element i = (row, s): stores the new π there and also returns it in p1.
  SF_HD SF_FORCEINLINE Real update(long row, const Site<D>& s, long i, Real& p1) const {
    const Real f = total_force<D>(pot, shape, w, extra, row, s);
    const Real p0 = pi[i];
    p1 = e * p0 + phi * f;
    pi[i] = p1;
    return alpha * p0 * p0 + beta2 * p0 * f + delta * f * f;
  }

  // The kick at the sites of one line of the fastest axis of row `row`, with the row's
  // arithmetic (field, replica offset, element offset) and the potential's per-line
  // constants done once (CPU line walker, host/engine/launch.h): the same operations per site as
  // operator(), so the same values bit for bit.
  struct Line {
    static constexpr bool whole_line = Pot::LineForce::whole_line;
    static constexpr int max_sites = Pot::LineForce::max_sites;
    typename Pot::LineForce force;
    Real* pi;      // π of the row
    Extra extra;   // the precomputed force of the row, or nullptr
    Real e, phi;
    Real alpha, beta2, delta;

    SF_HD SF_FORCEINLINE Real update(const Site<D>& s, Real& p1) const {
      Real f = force(s);
      if constexpr (!std::is_null_pointer_v<Extra>) f += extra[s.x];
      const Real p0 = pi[s.x];
      p1 = e * p0 + phi * f;
      pi[s.x] = p1;
      return alpha * p0 * p0 + beta2 * p0 * f + delta * f * f;
    }
    SF_HD SF_FORCEINLINE Real operator()(const Site<D>& s) const {
      Real p1;
      return update(s, p1);
    }
  };

  // s: the first site of the line's segment [s.c[D − 1], end) that the walker runs.
  SF_HD SF_FORCEINLINE Line line(long row, const Site<D>& s, int end) const {
    const long offset = row * shape.sites;
    Extra x = extra;
    if constexpr (!std::is_null_pointer_v<Extra>) x += offset;
    return {pot.line(shape.field_of(row), w + shape.replica_offset(row), s, end), pi + offset, x, e, phi, alpha, beta2, delta};
  }
};

// A kick followed by the drift w ← w + h π' (π' the kicked momentum) in one pass: the
// same operations as a Kick pass and then a drift pass, so the same result bit for bit.
// The kick's stencil reads the old w of the neighbours, so the new w goes to a second
// array, w_out (which must not alias w or π).
template <int D, class Pot, class Real, class Extra = std::nullptr_t>
struct KickDrift {
  Kick<D, Pot, Real, Extra> kick;
  Real* w_out;
  Real h;

  SF_HD SF_FORCEINLINE Real operator()(long row, const Site<D>& s) const {
    const long i = row * kick.shape.sites + s.x;
    const Real w0 = kick.w[i];
    Real p1;
    const Real dissipated = kick.update(row, s, i, p1);
    w_out[i] = w0 + h * p1;
    return dissipated;
  }

  // One line of the fastest axis of row `row`, as Kick::line.
  struct Line {
    static constexpr bool whole_line = Kick<D, Pot, Real, Extra>::Line::whole_line;
    static constexpr int max_sites = Kick<D, Pot, Real, Extra>::Line::max_sites;
    typename Kick<D, Pot, Real, Extra>::Line kick;
    const Real* w;  // w of the row
    Real* w_out;    // w_out of the row
    Real h;

    SF_HD SF_FORCEINLINE Real operator()(const Site<D>& s) const {
      const Real w0 = w[s.x];
      Real p1;
      const Real dissipated = kick.update(s, p1);
      w_out[s.x] = w0 + h * p1;
      return dissipated;
    }
  };

  SF_HD SF_FORCEINLINE Line line(long row, const Site<D>& s, int end) const {
    const long offset = row * kick.shape.sites;
    return {kick.line(row, s, end), kick.w + offset, w_out + offset, h};
  }
};

// Velocity of the gradient flow, v = η F(w), written to `out`; returns F² (per site).
// With `w_out` set it is one explicit Euler step instead: w_out = w + h v.
template <int D, class Pot, class Real, class Extra = std::nullptr_t>
struct FlowVelocity {
  Pot pot;
  StateShape shape;
  const Real* w;
  Extra extra;
  Real eta;
  Real* out;     // v, or the new w when h != 0
  Real h;

  SF_HD SF_FORCEINLINE double operator()(long row, const Site<D>& s) const {
    const Real f = total_force<D>(pot, shape, w, extra, row, s);
    const long i = row * shape.sites + s.x;
    out[i] = h == Real(0) ? eta * f : w[i] + h * eta * f;
    const double fd = f;
    return fd * fd;
  }
};

// One stage of classical RK4 for the damped equation on (w, π):
//   k_w = π_s, k_π = −γ(t_s) π_s + F(w_s)
//   acc ← (first ? y0 : acc) + b h k,   y_next ← y0 + a h k (skipped when a = 0).
// Returns π_s² (the host forms b h γ μ Σ π_s² for the dissipated energy).
template <int D, class Pot, class Real, class Extra = std::nullptr_t>
struct DampedRK4Stage {
  Pot pot;
  StateShape shape;
  const Real* ws;
  const Real* ps;
  Extra extra;
  const Real* w0;
  const Real* p0;
  Real* acc_w;
  Real* acc_p;
  Real* wn;
  Real* pn;
  Real gamma, bh, ah;
  bool first;

  SF_HD SF_FORCEINLINE double operator()(long row, const Site<D>& s) const {
    const long i = row * shape.sites + s.x;
    const Real kw = ps[i];
    const Real kp = -gamma * kw + total_force<D>(pot, shape, ws, extra, row, s);
    acc_w[i] = (first ? w0[i] : acc_w[i]) + bh * kw;
    acc_p[i] = (first ? p0[i] : acc_p[i]) + bh * kp;
    if (ah != Real(0)) {
      wn[i] = w0[i] + ah * kw;
      pn[i] = p0[i] + ah * kp;
    }
    const double kd = kw;
    return kd * kd;
  }
};

// One RK4 stage of the gradient flow: k = η F(w_s). Returns F² at the stage.
template <int D, class Pot, class Real, class Extra = std::nullptr_t>
struct FlowRK4Stage {
  Pot pot;
  StateShape shape;
  const Real* ws;
  Extra extra;
  const Real* w0;
  Real* acc;
  Real* wn;
  Real eta, bh, ah;
  bool first;

  SF_HD SF_FORCEINLINE double operator()(long row, const Site<D>& s) const {
    const long i = row * shape.sites + s.x;
    const Real f = total_force<D>(pot, shape, ws, extra, row, s);
    const Real k = eta * f;
    acc[i] = (first ? w0[i] : acc[i]) + bh * k;
    if (ah != Real(0)) wn[i] = w0[i] + ah * k;
    const double fd = f;
    return fd * fd;
  }
};

// Potential energy density of one replica (rows are replicas here).
template <int D, class Pot, class Real>
struct EnergyDensity {
  Pot pot;
  const Real* w;
  long sites;
  SF_HD SF_FORCEINLINE double operator()(long replica, const Site<D>& s) const {
    return pot.energy(w + replica * sites, s);
  }
};

}  // namespace synfield::kernels

namespace synfield::kernels {

// Pointwise reductions over a contiguous block of one array.
template <class Real>
struct ValueAt {
  const Real* a;
  SF_HD SF_FORCEINLINE double operator()(long i) const { return a[i]; }
};
template <class Real>
struct SquareAt {
  const Real* a;
  SF_HD SF_FORCEINLINE double operator()(long i) const {
    const double v = a[i];
    return v * v;
  }
};

// Strided rows of one array: element i = r·width + k (k < width) of a rows × width block
// whose rows lie `stride` apart (≥ width): copies to and from the owned sites of a slab
// (whose rows are padded by ghost rows) and sums over them.
template <class Real>
struct CopyBlock {
  const Real* src;
  long src_stride;
  Real* dst;
  long dst_stride, width;
  SF_HD SF_FORCEINLINE void operator()(long i) const {
    const long r = i / width, k = i - r * width;
    dst[r * dst_stride + k] = src[r * src_stride + k];
  }
};
template <class Real, bool Square>
struct StridedSum {
  const Real* a;
  long stride, width;
  SF_HD SF_FORCEINLINE double operator()(long i) const {
    const long r = i / width;
    const double v = a[i + r * (stride - width)];
    return Square ? v * v : v;
  }
};

}  // namespace synfield::kernels
