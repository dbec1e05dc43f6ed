// Lattice geometry as seen by per-site kernels: extents, strides, boundary kinds, and
// the difference operators of the potential with their exact adjoints.
//
// Site index: row-major, the last axis fastest (x = Σ_μ c_μ stride_μ), matching the
// HDF5 [*shape] layout. Boundaries, per axis:
//   periodic   neighbours wrap around;
//   dirichlet  w = 0 outside the lattice;
//   open       free ends: a difference that would cross the edge does not exist, so a
//              forward difference at the last site is undefined (its term is dropped
//              there) and the second difference uses the neighbours that exist.
// Operators (spacing a):
//   d_μ w   = (w(x+aê_μ) − w(x))/a
//   dd_μ w  = (w(x+aê_μ) − 2w(x) + w(x−aê_μ))/a²  (open: Σ_existing nb (w(nb)−w(x))/a²)
//   lap w   = Σ_μ dd_μ w
// dd and lap are symmetric matrices at every boundary kind, so they are their own adjoint;
// the adjoint of d_μ is (d_μᵀg)(y) = (g(y−aê_μ) − g(y))/a with g = 0 outside the lattice
// (wrapping when periodic) and g = 0 where d_μ is undefined.
#pragma once

#include <synfield/portability.h>

namespace synfield::kernels {

enum BoundaryCode : int { kPeriodic = 0, kOpen = 1, kDirichlet = 2 };
enum OpCode : int { kId = 0, kD = 1, kDD = 2, kLap = 3 };

template <int D>
struct Geometry {
  static constexpr int dim = D;
  int n[D];
  long stride[D];
  int bc[D];
  long sites;
  // A slab of a lattice split over ranks along axis 0: halo[0] / halo[1] says the lattice
  // goes on past the slab's low / high end, where ghost rows (filled from the neighbouring
  // rank before each force) hold it; the stencil reads them as interior sites. The boundary
  // kind of axis 0 still chooses the difference formula, as for the whole lattice.
  bool halo[2];
};

// Whether axis `axis` goes on into ghost rows past its low (side 0) or high (side 1) end.
template <int D>
SF_HD SF_FORCEINLINE bool continues(const Geometry<D>& g, int axis, int side) {
  return axis == 0 && g.halo[side];
}

// Coordinates of one site plus its flat index within the lattice. `inner` is a hint set
// by the CPU launcher: both ±1 neighbours along the fastest axis (D−1) lie inside the
// lattice, so a kernel may skip that axis's edge tests (false means "not known").
template <int D>
struct Site {
  int c[D];
  long x;
  bool inner = false;
};

// What neighbour() returns for a site outside a non-periodic lattice (a ghost row's index
// is negative, so "no site" is not -1).
constexpr long kNoSite = -(1L << 62);
SF_HD SF_FORCEINLINE bool exists(long index) { return index != kNoSite; }

// Index of the site `delta` steps along `axis` from s, or kNoSite when that lies outside a
// non-periodic lattice.
template <int D>
SF_HD SF_FORCEINLINE long neighbour(const Geometry<D>& g, const Site<D>& s, int axis, int delta) {
  int c = s.c[axis] + delta;
  const int n = g.n[axis];
  if ((c >= 0 && c < n) || continues(g, axis, c >= n)) return s.x + delta * g.stride[axis];
  if (g.bc[axis] != kPeriodic) return kNoSite;
  c %= n;
  if (c < 0) c += n;
  return s.x + (c - s.c[axis]) * g.stride[axis];
}

template <int D>
SF_HD SF_FORCEINLINE Site<D> shifted(const Geometry<D>& g, const Site<D>& s, int axis, int delta, long index) {
  Site<D> t = s;
  t.inner = s.inner && axis != D - 1;
  int c = s.c[axis] + delta;
  const int n = g.n[axis];
  if ((c < 0 || c >= n) && !continues(g, axis, c >= n)) {  // wraps (periodic); a ghost row keeps c
    c %= n;
    if (c < 0) c += n;
  }
  t.c[axis] = c;
  t.x = index;
  return t;
}

// (op_axis w)(s) for one field w; sets `valid` false where the operator is undefined.
template <int D, class Real>
SF_HD inline Real apply_op(const Geometry<D>& g, Real inv_a, int op, int axis, const Real* w,
                                   const Site<D>& s, bool& valid) {
  const Real w0 = w[s.x];
  if (op == kId) return w0;
  if (op == kD) {
    const long p = neighbour(g, s, axis, +1);
    if (!exists(p)) {
      if (g.bc[axis] == kOpen) {
        valid = false;
        return Real(0);
      }
      return -w0 * inv_a;  // dirichlet: w = 0 beyond the edge
    }
    return (w[p] - w0) * inv_a;
  }
  Real sum = Real(0);
  const int first = op == kLap ? 0 : axis;
  const int last = op == kLap ? D - 1 : axis;
  for (int mu = first; mu <= last; ++mu) {
    const long p = neighbour(g, s, mu, +1);
    const long m = neighbour(g, s, mu, -1);
    if (g.bc[mu] == kOpen) {
      if (exists(p)) sum += w[p] - w0;
      if (exists(m)) sum += w[m] - w0;
    } else {
      sum += (exists(p) ? w[p] : Real(0)) + (exists(m) ? w[m] : Real(0)) - Real(2) * w0;
    }
  }
  return sum * inv_a * inv_a;
}

// (opᵀ g)(s) where g(site) is a callable returning the masked cotangent at a site.
template <int D, class Real, class G>
SF_HD inline Real apply_adjoint(const Geometry<D>& g, Real inv_a, int op, int axis, const Site<D>& s,
                                        const G& cot) {
  if (op == kId) return cot(s);
  if (op == kD) {
    const long m = neighbour(g, s, axis, -1);
    const Real gm = exists(m) ? cot(shifted(g, s, axis, -1, m)) : Real(0);
    return (gm - cot(s)) * inv_a;
  }
  const Real g0 = cot(s);
  Real sum = Real(0);
  const int first = op == kLap ? 0 : axis;
  const int last = op == kLap ? D - 1 : axis;
  for (int mu = first; mu <= last; ++mu) {
    const long p = neighbour(g, s, mu, +1);
    const long m = neighbour(g, s, mu, -1);
    const Real gp = exists(p) ? cot(shifted(g, s, mu, +1, p)) : Real(0);
    const Real gm = exists(m) ? cot(shifted(g, s, mu, -1, m)) : Real(0);
    if (g.bc[mu] == kOpen) {
      if (exists(p)) sum += gp - g0;
      if (exists(m)) sum += gm - g0;
    } else {
      sum += gp + gm - Real(2) * g0;
    }
  }
  return sum * inv_a * inv_a;
}

}  // namespace synfield::kernels
