// One lattice split over ranks (include/synfield/comm.h): the slab layout of this rank's
// state, and the host-side transfers between ranks.
//
// A slab owns rows [begin, begin + count) of axis 0; each (field, replica) row of the
// state stores them with `halo` ghost rows of axis 0 on either side,
//   [halo ghost rows | count owned rows | halo ghost rows],   stride = (count + 2·halo)·plane
// elements, and the engine's pointers address the first owned site, so a site's index x is
// the same as in an unsplit lattice of `count` rows and the ghosts sit at x < 0 and
// x ≥ count·plane. Before each force the ghosts are filled from the neighbouring ranks
// (periodic: across the ends too); where axis 0 ends at an open or Dirichlet boundary
// there is no neighbour, and the stencil never reads past the edge (kernels/lattice.h).
// An unsplit lattice is the slab of one rank with no ghosts.
#pragma once

#include <synfield/comm.h>
#include <synfield/problem.h>

#include <thrust/copy.h>

#include <algorithm>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/integrate.h"
#include "host/engine/launch.h"

namespace synfield {

struct SlabLayout {
  const Comm* comm = nullptr;  // null: not split
  int halo = 0;                // ghost rows each side (0: not split)
  Slab slab;                   // this rank's rows of axis 0
  long plane = 1;              // sites per row of axis 0
  long sites = 0;              // this rank's sites, count · plane
  long stride = 0;             // elements per state row, sites plus the ghosts
  std::vector<long> first, owned;  // every rank's first site and number of sites

  bool split() const { return halo > 0; }
  long origin() const { return halo * plane; }  // the first owned site's offset in a row
  // The ranks below and above along axis 0 (-1: none, at an open or Dirichlet end).
  int below(Boundary b) const {
    const int r = comm->rank(), n = comm->size();
    return r > 0 ? r - 1 : (b == Boundary::periodic ? n - 1 : -1);
  }
  int above(Boundary b) const {
    const int r = comm->rank(), n = comm->size();
    return r + 1 < n ? r + 1 : (b == Boundary::periodic ? 0 : -1);
  }
};

// The layout of this rank's part of `lattice` (all of it without `comm` or with one rank);
// `halo` is the stencil's reach in rows. A rank needs at least `halo` rows of its own.
inline SlabLayout slab_layout(const Lattice& lattice, const Comm* comm, int halo) {
  SlabLayout l;
  const int n0 = lattice.shape[0];
  l.plane = lattice.sites() / n0;
  const int ranks = comm ? comm->size() : 1;
  if (ranks > 1) {
    if (n0 / ranks < halo)
      throw std::invalid_argument("lattice.shape[0] = " + std::to_string(n0) + " cannot be split over " +
                                  std::to_string(ranks) + " MPI ranks: each needs at least " + std::to_string(halo) +
                                  " rows of axis 0 (the stencil's reach); use at most " +
                                  std::to_string(n0 / halo) + " ranks");
    l.comm = comm;
    l.halo = halo;
  }
  l.slab = slab_of(n0, ranks, comm && ranks > 1 ? comm->rank() : 0);
  for (int r = 0; r < ranks; ++r) {
    const Slab s = slab_of(n0, ranks, r);
    l.first.push_back(s.begin * l.plane);
    l.owned.push_back(s.count * l.plane);
  }
  l.sites = l.slab.count * l.plane;
  l.stride = l.sites + 2 * l.origin();
  return l;
}

// fn(p) with p the first n values of backend array d in host memory: d's own memory on the
// CPU, a copy on the GPU (written back to d when `back`).
template <class Sys, class Real, class Fn>
void with_host(typename Sys::template vector<Real>& d, long n, bool back, Fn&& fn) {
  if constexpr (Sys::backend == Backend::cpu) {
    fn(thrust::raw_pointer_cast(d.data()));
  } else {
    std::vector<Real> h(n);
    thrust::copy(d.begin(), d.begin() + n, h.begin());
    fn(h.data());
    if (back) thrust::copy(h.begin(), h.end(), d.begin());
  }
}

// The whole [row][column] array (rows × width) on every rank, or with `root_only` on rank 0
// alone (out unused elsewhere), from each rank's block of `rows` × owned[r] columns
// starting at column first[r] (mine: this rank's block, rows packed).
template <class Real>
void gather_columns(const Comm& comm, const Real* mine, long rows, const std::vector<long>& first,
                    const std::vector<long>& owned, long width, Real* out, bool root_only = false) {
  std::vector<long> bytes(owned.size());
  for (std::size_t r = 0; r < owned.size(); ++r) bytes[r] = rows * owned[r] * static_cast<long>(sizeof(Real));
  if (root_only && comm.rank() > 0) {
    comm.gather(mine, nullptr, bytes);
    return;
  }
  std::vector<Real> all(static_cast<std::size_t>(rows) * width);
  if (root_only)
    comm.gather(mine, all.data(), bytes);
  else
    comm.gather_all(mine, all.data(), bytes);
  const Real* from = all.data();
  for (std::size_t r = 0; r < owned.size(); ++r)
    for (long row = 0; row < rows; ++row, from += owned[r])
      std::copy(from, from + owned[r], out + row * width + first[r]);
}

// Packs this rank's sites of `rows` rows of backend array src (rows `stride` apart, the
// first owned site at src) into backend scratch `stage`, as [row][site of the slab].
template <class Sys, class Real>
void pack_slab(const SlabLayout& lay, const Real* src, long rows, long stride,
               typename Sys::template vector<Real>& stage) {
  stage.resize(rows * lay.sites);
  for_each_element<Sys>(rows * lay.sites, kernels::CopyBlock<Real>{src, stride, thrust::raw_pointer_cast(stage.data()),
                                                                  lay.sites, lay.sites});
}

// The whole [row][site] array of `rows` rows (every rank's slab of them, from backend array
// src as in pack_slab) on the host: on every rank, or with `root_only` on rank 0 alone (an
// empty array elsewhere).
template <class Sys, class Real>
std::vector<Real> gather_slab(const SlabLayout& lay, const Real* src, long rows, long stride,
                              typename Sys::template vector<Real>& stage, bool root_only) {
  pack_slab<Sys>(lay, src, rows, stride, stage);
  const long all = lay.first.back() + lay.owned.back();  // sites of the whole lattice
  std::vector<Real> whole(!root_only || lay.comm->rank() == 0 ? rows * all : 0);
  with_host<Sys, Real>(stage, rows * lay.sites, false, [&](Real* h) {
    gather_columns(*lay.comm, h, rows, lay.first, lay.owned, all, whole.data(), root_only);
  });
  return whole;
}

}  // namespace synfield
