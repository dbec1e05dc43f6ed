// The only place that loops over sites: launch helpers over a backend's Thrust system.
//
//   Sys                      OmpSystem (g++, Thrust OpenMP) or CudaSystem (nvcc, Thrust CUDA)
//   for_each_element(n, f)   f(i) for i in [0, n): pointwise updates, no geometry
//   reduce_elements(n, f)    Σ f(i) in double
//   for_each_site(g, rows, f) / reduce_sites(g, rows, f)
//                            f(row, Site) for every row (a (field, replica) pair or a
//                            replica) and lattice site; the reduction is Σ in double,
//                            for_each_site drops any per-site value (dead code then).
//   reduce_sites_chained(g, rows, f, n, sums)
//                            CPU only: n ≤ kMaxChain site passes, each reading what the
//                            one before wrote at the ±1 planes of axis 0, in one sweep
//                            (a wavefront per thread), so all but the first read cache.
// On the CPU a launch of at most Sys::serial_elements elements (sites × rows) runs on the
// calling thread: an OpenMP region costs more than such work, and its idle workers go on
// spinning after it (libgomp: ~3 ms by default), taking a core from the BLAS threads of a
// model's next product. On the GPU every launch goes to the device.
// On the CPU the site launch walks lines of the fastest axis (runs of short lines, or
// segments of long ones, so long 1-D lines still split across threads) and increments the
// coordinates instead of dividing them out; the inner sites of a line run as one
// `omp simd` loop with the Site::inner hint, so per-site kernels must not read what
// another site of the same launch writes (they already may not: sites run in parallel).
// On the GPU each thread decodes its own element so neighbouring threads touch
// neighbouring memory.
#pragma once

#include <thrust/execution_policy.h>
#include <thrust/for_each.h>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/transform_reduce.h>
#include <thrust/functional.h>

#include <algorithm>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/lattice.h"

#if defined(SYNFIELD_CUDA_TU)
#include <thrust/system/cuda/vector.h>
#else
#include <thrust/system/omp/execution_policy.h>
#include <thrust/system/omp/vector.h>
#endif
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace synfield {

#if defined(SYNFIELD_CUDA_TU)
struct CudaSystem {
  static constexpr Backend backend = Backend::cuda;
  static constexpr bool walk_lines = false;
  static constexpr long serial_elements = 0;  // every launch on the device
  template <class T>
  using vector = thrust::cuda::vector<T>;
  static auto policy() { return thrust::cuda::par; }
};
using System = CudaSystem;
#else
struct OmpSystem {
  static constexpr Backend backend = Backend::cpu;
  static constexpr bool walk_lines = true;
  // Up to 2^18 elements (tens to hundreds of µs of work on one core) on the calling thread:
  // the size below which a per-site update next to a model's GEMMs runs faster serially,
  // since OpenMP's spinning workers take cores from the BLAS threads (benchmarks/RESULTS.md,
  // "The model step"), and every lattice of the tests. A
  // lattice-only run of up to 2^18 sites (64³) thus uses one core; on a many-core CPU a
  // smaller cut-off would serve it better, at the price of the model case above.
  static constexpr long serial_elements = 1L << 18;
  template <class T>
  using vector = thrust::omp::vector<T>;
  static auto policy() { return thrust::omp::par; }
};
using System = OmpSystem;
#endif

// CPU: the most passes of one chained sweep (reduce_sites_chained).
constexpr int kMaxChain = 4;

namespace launch_detail {

// `#pragma omp simd` where OpenMP is on (the CPU translation units).
#if defined(_OPENMP) && !defined(__CUDA_ARCH__)
#define SF_LAUNCH_PRAGMA(x) _Pragma(#x)
#define SF_SIMD SF_LAUNCH_PRAGMA(omp simd)
#else
#define SF_SIMD
#endif

// The CPU build targets baseline x86-64 (SSE2) so that its binaries run anywhere; the line
// walker, where the site kernels are inlined and vectorised, is also compiled for AVX2
// and the loader picks the version the machine supports (function multiversioning). AVX2
// without FMA: no contraction of a·b + c, so both versions round identically.
#if defined(__x86_64__) && defined(__linux__) && defined(__GNUC__) && !defined(__CUDACC__)
#define SF_CPU_CLONES __attribute__((target_clones("avx2", "default")))
#else
#define SF_CPU_CLONES
#endif

constexpr long kSegment = 2048;  // CPU: sites of the fastest axis per work item


// A kernel may offer `line(row, s, end)`: a callable g(s) equal to f(row, s) at the sites s
// of the segment [s.c[D − 1], end) of a line of the fastest axis, with what is constant
// along that line (row offsets, neighbour offsets along the slower axes) computed once.
// When g's type has `whole_line` true, g needs no `inner` hint, and the walker runs all the
// segment's sites, the line's edges included, in one SIMD loop; it binds so segments of at
// most g's `max_sites` sites (longer ones have few edge sites, and go as below). Other
// segments and kernels are bound by RowBound, which just calls f(row, s), or by the kernel's
// line() when that is not whole_line.
template <class F, class S, class = void>
struct HasLine : std::false_type {};
template <class F, class S>
struct HasLine<F, S, std::void_t<decltype(std::declval<const F&>().line(0L, std::declval<const S&>(), 0))>>
    : std::true_type {};

template <class G, class = void>
struct WholeLine : std::false_type {};
template <class G>
struct WholeLine<G, std::enable_if_t<G::whole_line>> : std::true_type {};

template <class F>
struct RowBound {
  const F* f;
  long row;
  template <class S>
  SF_HD SF_FORCEINLINE auto operator()(const S& s) const {
    return (*f)(row, s);
  }
};

template <class F, class S>
SF_HD SF_FORCEINLINE auto bind_line(const F& f, long row, const S& s, int end) {
  if constexpr (HasLine<F, S>::value)
    return f.line(row, s, end);
  else
    return RowBound<F>{&f, row};
}

// A sum kept in kLanes partial sums (not one chain of dependent additions, which would
// cost about as much as the kernels summed): add(m, get) adds get(j), j in [0, m), to lane
// j mod kLanes; total() adds the lanes in order. The CPU line walker keeps one across all
// the lines of a work item, so a line costs no reduction of its own.
template <class Acc>
struct Lanes {
  static constexpr int kLanes = 8;
  Acc lane[kLanes] = {};

  template <class Get>
  SF_HD SF_FORCEINLINE void add(long m, const Get& get) {
    Acc l[kLanes];  // a local copy, which the compiler keeps in registers
    for (int k = 0; k < kLanes; ++k) l[k] = lane[k];
    long j = 0;
    for (; j + kLanes <= m; j += kLanes)
      for (int k = 0; k < kLanes; ++k) l[k] += get(j + k);
    for (int k = 0; j < m; ++j, ++k) l[k] += get(j);
    for (int k = 0; k < kLanes; ++k) lane[k] = l[k];
  }
  SF_HD SF_FORCEINLINE Acc total() const {
    Acc acc = Acc(0);
    for (int k = 0; k < kLanes; ++k) acc += lane[k];
    return acc;
  }
};

// g(s), or 0 for a bound line that returns nothing.
template <class Acc, class G, class S>
SF_HD SF_FORCEINLINE Acc call_bound(const G& g, const S& s) {
  if constexpr (std::is_void_v<decltype(g(s))>) {
    g(s);
    return Acc(0);
  } else {
    return g(s);
  }
}

// CPU work item: a run of whole lines along the fastest axis, about kSegment sites, or
// one kSegment-long segment of a line when lines are longer. The sites whose ±1
// neighbours along that axis lie inside the lattice carry the `inner` hint and run as one
// SIMD loop (sites are independent, so their order, and that of the sum, is free); a
// line's first and last sites run on their own. A kernel with a whole-line binding (see
// HasLine) runs every site of a short line in the SIMD loop instead, edges included (for a
// 256-site line in 3-D fp32 the edge sites, the loop's scalar remainder and the per-line
// set-up would cost 40 % as many instructions as the 254 vectorised sites).
template <int D, class F, class Acc>
struct LineWalker {
  kernels::Geometry<D> g;
  F f;
  long segs_per_line;   // > 1 only for lines longer than kSegment
  long lines_per_item;  // > 1 only for lines shorter than kSegment / 2
  long items_per_row;

  static LineWalker make(const kernels::Geometry<D>& g, const F& f) {
    const long n_last = g.n[D - 1], lines_per_row = g.sites / n_last;
    const long segs = (n_last + kSegment - 1) / kSegment;
    const long lines = n_last < kSegment ? kSegment / n_last : 1;
    return {g, f, segs, lines, (lines_per_row + lines - 1) / lines};
  }
  long items(long rows) const { return rows * items_per_row * segs_per_line; }

  SF_CPU_CLONES SF_HD Acc operator()(long item) const {
    const int seg = static_cast<int>(item % segs_per_line);
    const long run = item / segs_per_line;
    const long row = run / items_per_row;
    const int n_last = g.n[D - 1];
    const long lines_per_row = g.sites / n_last;
    const long first = (run % items_per_row) * lines_per_item;
    const long last = first + lines_per_item < lines_per_row ? first + lines_per_item : lines_per_row;
    kernels::Site<D> s;
    long rem = first;
    for (int mu = D - 2; mu >= 0; --mu) {
      s.c[mu] = static_cast<int>(rem % g.n[mu]);
      rem /= g.n[mu];
    }
    const int begin = static_cast<int>(seg * kSegment);
    const int end = begin + kSegment < n_last ? static_cast<int>(begin + kSegment) : n_last;
    const F fn = f;  // a local copy: the kernel's stores cannot alias its coefficients
    Lanes<Acc> sum;
    for (long line = first; line < last; ++line) {
      walk(fn, row, s, line * n_last, begin, end, n_last, sum);
      for (int mu = D - 2; mu >= 0 && ++s.c[mu] == g.n[mu]; --mu) s.c[mu] = 0;  // next line
    }
    return sum.total();
  }

  // Sites [begin, end) of the line s whose first site has flat index x_line; their values
  // go to `sum`.
  static SF_HD SF_FORCEINLINE void walk(const F& fn, long row, kernels::Site<D> s, long x_line, int begin, int end,
                                        int n_last, Lanes<Acc>& sum) {
    s.c[D - 1] = begin;
    s.x = x_line + begin;
    if constexpr (HasLine<F, kernels::Site<D>>::value) {
      using L = decltype(fn.line(row, s, end));
      if constexpr (WholeLine<L>::value) {
        if (end - begin <= L::max_sites) return walk_whole(fn.line(row, s, end), s, x_line, begin, end, sum);
        return walk_split(RowBound<F>{&fn, row}, s, x_line, begin, end, n_last, sum);
      } else {
        return walk_split(fn.line(row, s, end), s, x_line, begin, end, n_last, sum);
      }
    } else {
      return walk_split(RowBound<F>{&fn, row}, s, x_line, begin, end, n_last, sum);
    }
  }

  // [begin, lo) and [hi, end) hold the edge sites 0 and n_last − 1 when they are here.
  static SF_HD SF_FORCEINLINE int inner_lo(int begin) { return begin > 0 ? begin : 1; }  // ≤ end: never empty
  static SF_HD SF_FORCEINLINE int inner_hi(int lo, int end, int n_last) {
    return end < n_last ? end : n_last - 1 > lo ? n_last - 1 : lo;
  }

  // The sites of the segment bound as g, the edge sites on their own.
  template <class G>
  static SF_HD SF_FORCEINLINE void walk_split(const G& g, kernels::Site<D> s, long x_line, int begin, int end,
                                              int n_last, Lanes<Acc>& sum) {
    const int lo = inner_lo(begin), hi = inner_hi(lo, end, n_last);
    for (int c = begin; c < lo; ++c) sum.lane[0] += at(g, s, x_line + c, c);
    s.inner = true;
    if constexpr (std::is_void_v<decltype(g(s))>) {
      SF_SIMD
      for (int c = lo; c < hi; ++c) at(g, s, x_line + c, c);
    } else {
      // values first, then their sum: a reduction inside the site loop would keep GCC
      // from hoisting the kernel's row-invariant integer divisions out of it. The values
      // are kept in the kernel's own type (an fp32 kernel's as floats: in the loop no
      // conversions and half the stores; each converts to double exactly when summed, so
      // the sum is the same), and added to the lanes of `sum`.
      Value<G> part[kSegment];
      SF_SIMD
      for (int c = lo; c < hi; ++c) part[c - lo] = value_at(g, s, x_line + c, c);
      add_values(sum, part, hi - lo);
    }
    s.inner = false;
    for (int c = hi; c < end; ++c) sum.lane[0] += at(g, s, x_line + c, c);
  }

  // The sites of a segment bound as g, a whole-line binding (HasLine): all of them in one
  // SIMD loop, edges included.
  template <class G>
  static SF_HD SF_FORCEINLINE void walk_whole(const G& g, const kernels::Site<D>& s, long x_line, int begin, int end,
                                              Lanes<Acc>& sum) {
    if constexpr (std::is_void_v<decltype(g(s))>) {
      SF_SIMD
      for (int c = begin; c < end; ++c) at(g, s, x_line + c, c);
    } else {
      // the segment's values in kLanes partial sums of the kernel's own type, site begin + j
      // in lane j mod kLanes, in order; then each added to the lane of `sum` in Acc. No
      // per-site store and reload, and for an fp32 kernel no conversion in the SIMD loop,
      // which keeps the sum a small part of the pass (benchmarks/RESULTS.md, the leapfrog
      // step). A float lane rounds its ≤ max_sites / kLanes values
      // in fp32 before they reach double: relative ~1e-7, the order of their own rounding.
      constexpr int kLanes = Lanes<Acc>::kLanes;
      Value<G> l[kLanes] = {};
      int c = begin;
      for (; c + kLanes <= end; c += kLanes) {
        SF_SIMD
        for (int k = 0; k < kLanes; ++k) l[k] += value_at(g, s, x_line + c + k, c + k);
      }
      for (int k = 0; c < end; ++c, ++k) l[k] += value_at(g, s, x_line + c, c);
      for (int k = 0; k < kLanes; ++k) sum.lane[k] += Acc(l[k]);
    }
  }

  // A bound line's value at a site.
  template <class G>
  using Value = decltype(std::declval<const G&>()(std::declval<const kernels::Site<D>&>()));

  // sum += Σ part[0, m) in Acc.
  template <class V>
  static SF_HD SF_FORCEINLINE void add_values(Lanes<Acc>& sum, const V* part, int m) {
    sum.add(m, [part](long j) { return Acc(part[j]); });
  }

  // g at the site at coordinate c (flat index x) of the line s: its own value, and that
  // value in Acc (0 for a g that returns nothing). The site is the by-value parameter
  // itself: given a returned temporary instead, GCC's SIMD loops run 2–3× slower.
  template <class G>
  static SF_HD SF_FORCEINLINE Value<G> value_at(const G& g, kernels::Site<D> s, long x, int c) {
    s.c[D - 1] = c;
    s.x = x;
    return g(s);
  }
  template <class G>
  static SF_HD SF_FORCEINLINE Acc at(const G& g, kernels::Site<D> s, long x, int c) {
    s.c[D - 1] = c;
    s.x = x;
    return call_bound<Acc>(g, s);
  }
};

// The sites of plane z (axis 0) of a row, line after line, each line as the CPU work item
// walks it (segments of at most kSegment sites); their sum.
template <int D, class F>
SF_HD SF_FORCEINLINE double walk_plane(const kernels::Geometry<D>& g, const F& f, long row, int z) {
  const int n_last = g.n[D - 1];
  const long plane = g.sites / g.n[0], lines = plane / n_last;
  kernels::Site<D> s;
  s.c[0] = z;
  for (int mu = 1; mu < D - 1; ++mu) s.c[mu] = 0;
  Lanes<double> sum;
  for (long line = 0; line < lines; ++line) {
    for (int begin = 0; begin < n_last; begin += static_cast<int>(kSegment)) {
      const int end = begin + kSegment < n_last ? static_cast<int>(begin + kSegment) : n_last;
      LineWalker<D, F, double>::walk(f, row, s, z * plane + line * n_last, begin, end, n_last, sum);
    }
    for (int mu = D - 2; mu >= 1 && ++s.c[mu] == g.n[mu]; --mu) s.c[mu] = 0;  // next line
  }
  return sum.total();
}

// reduce_sites_chained's phases; job = row · runs + run, the run's planes [z0, z1). Pass j
// of the wavefront covers the run's planes [z0 + j, z1 − 1 − j] (its inner planes); the
// others are its edge planes.
template <int D, class F>
struct ChainedSweep {
  kernels::Geometry<D> g;
  const F* f;  // the passes
  int passes, runs;
  double* sums;  // per job and pass

  void planes(long job, int& z0, int& z1) const {
    const long run = job % runs;
    z0 = static_cast<int>(g.n[0] * run / runs);
    z1 = static_cast<int>(g.n[0] * (run + 1) / runs);
  }
  // every pass at its inner planes, pass j at plane z − j when pass 0 is at z
  SF_CPU_CLONES void wavefront(long job) const {
    F fn[kMaxChain];  // local copies: the kernels' stores cannot alias their coefficients
    double acc[kMaxChain] = {};
    for (int j = 0; j < passes; ++j) fn[j] = f[j];
    const long row = job / runs;
    int z0, z1;
    planes(job, z0, z1);
    for (int z = z0; z < z1; ++z)
      for (int j = 0; j < passes; ++j)
        if (z - j >= z0 + j) acc[j] += walk_plane(g, fn[j], row, z - j);
    for (int j = 0; j < passes; ++j) sums[job * passes + j] = acc[j];
  }
  // pass j (≥ 1) at its edge planes, once pass j − 1 is done everywhere
  SF_CPU_CLONES void edges(long job, int j) const {
    const F fn = f[j];
    const long row = job / runs;
    int z0, z1;
    planes(job, z0, z1);
    double acc = 0.0;
    for (int z = z0; z < z1; ++z)
      if (z < z0 + j || z > z1 - 1 - j) acc += walk_plane(g, fn, row, z);
    sums[job * passes + j] += acc;
  }
};

// GPU work item: one element.
template <int D, class F, class Acc>
struct ElementDecoder {
  kernels::Geometry<D> g;
  F f;
  SF_HD Acc operator()(long i) const {
    const long row = i / g.sites;
    long rem = i % g.sites;
    kernels::Site<D> s;
    s.x = rem;
    for (int mu = D - 1; mu >= 0; --mu) {
      s.c[mu] = static_cast<int>(rem % g.n[mu]);
      rem /= g.n[mu];
    }
    return call_bound<Acc>(RowBound<F>{&f, row}, s);
  }
};

template <class F>
struct Discard {
  F f;
  SF_HD void operator()(long i) const { (void)f(i); }
};

// f(row, s) with its value dropped, so that whatever a kernel computes only for its
// returned value is dead code.
template <class F>
struct DropValue {
  F f;
  template <class S>
  SF_HD SF_FORCEINLINE void operator()(long row, const S& s) const {
    (void)f(row, s);
  }
  // f's line binding, with its value dropped likewise.
  template <class G>
  struct Line {
    static constexpr bool whole_line = WholeLine<G>::value;
    static constexpr int max_sites = G::max_sites;
    G g;
    template <class S>
    SF_HD SF_FORCEINLINE void operator()(const S& s) const {
      (void)g(s);
    }
  };
  template <class S, class G = F, std::enable_if_t<HasLine<G, S>::value, int> = 0>
  SF_HD SF_FORCEINLINE auto line(long row, const S& s, int end) const {
    return Line<decltype(f.line(row, s, end))>{f.line(row, s, end)};
  }
};

// Whether a launch of `elements` elements runs on the calling thread.
template <class Sys>
bool serial(long elements) {
  return Sys::backend == Backend::cpu && elements <= Sys::serial_elements;
}

// f(i) for i in [0, items): on the calling thread when `on_caller`, else over Sys.
template <class Sys, class F>
void run_items(long items, const F& f, bool on_caller) {
  if constexpr (Sys::backend == Backend::cpu) {
    if (on_caller) {
      for (long i = 0; i < items; ++i) f(i);
      return;
    }
  }
  thrust::for_each(Sys::policy(), thrust::counting_iterator<long>(0), thrust::counting_iterator<long>(items), f);
}

// Σ f(i) for i in [0, items) in double; on the calling thread (in Lanes) when `on_caller`,
// else over Sys.
template <class Sys, class F>
double sum_items(long items, const F& f, bool on_caller) {
  if constexpr (Sys::backend == Backend::cpu) {
    if (on_caller) {
      Lanes<double> sum;
      sum.add(items, f);
      return sum.total();
    }
  }
  return thrust::transform_reduce(Sys::policy(), thrust::counting_iterator<long>(0),
                                  thrust::counting_iterator<long>(items), f, 0.0, thrust::plus<double>());
}

}  // namespace launch_detail

template <class Sys, class F>
void for_each_element(long n, const F& f) {
  launch_detail::run_items<Sys>(n, f, launch_detail::serial<Sys>(n));
}

template <class Sys, class F>
double reduce_elements(long n, const F& f) {
  return launch_detail::sum_items<Sys>(n, f, launch_detail::serial<Sys>(n));
}

template <class Sys, int D, class F>
double reduce_sites(const kernels::Geometry<D>& g, long rows, const F& f) {
  using namespace launch_detail;
  const bool on_caller = serial<Sys>(rows * g.sites);
  if constexpr (Sys::walk_lines) {
    const auto walker = LineWalker<D, F, double>::make(g, f);
    return sum_items<Sys>(walker.items(rows), walker, on_caller);
  } else {
    return sum_items<Sys>(rows * g.sites, ElementDecoder<D, F, double>{g, f}, on_caller);
  }
}

// CPU, unsplit lattices of D ≥ 2: `passes` (≤ kMaxChain) site passes f[0], f[1], … over
// `rows` rows in one sweep along axis 0, where pass j + 1 at a plane z of axis 0 reads only
// what pass j writes at the planes z − 1, z, z + 1 and writes only what pass j reads there
// (fused kick-drifts between two arrays: w → w′ → w → …, kernels/integrate.h). Each
// thread's run of planes [z0, z1) goes as a wavefront, pass j one plane behind pass j − 1,
// so that every pass but the first finds its planes still in cache instead of in memory;
// the planes within j of a run's ends, whose neighbours belong to the runs beside, follow
// pass by pass once the pass before is done everywhere. The sites get the same operations
// as in `passes` whole passes, so the same values. A launch over threads whose runs would
// be shorter than kMinRunPlanes, or too few to keep every thread busy, runs the passes one
// by one instead (reduce_sites, parallel over lines). sums[j] = Σ f[j] in double, in an
// order fixed by the thread count.
template <class Sys, int D, class F>
void reduce_sites_chained(const kernels::Geometry<D>& g, long rows, const F* f, int passes, double* sums) {
  using namespace launch_detail;
  static_assert(Sys::walk_lines && D >= 2, "a chained sweep walks the lines of planes on the CPU");
  constexpr int kMinRunPlanes = 2 * kMaxChain;  // then the last pass has inner planes
  int threads = 1;
#if defined(_OPENMP)
  threads = omp_get_max_threads();
#endif
  const bool on_caller = serial<Sys>(rows * g.sites);
  // Over threads: the most runs of ≥ kMinRunPlanes planes, up to one per thread. On the
  // calling thread: runs of ≥ 2 planes (or the one plane), up to the thread count, so that
  // small lattices split into runs as large ones do (the tests' lattices are small).
  const int runs = on_caller ? std::max(1, std::min(threads, g.n[0] / 2))
                             : std::min(threads, g.n[0] / kMinRunPlanes);
  if (!on_caller && rows * runs < threads) {
    for (int j = 0; j < passes; ++j) sums[j] = reduce_sites<Sys, D>(g, rows, f[j]);
    return;
  }
  const long jobs = rows * runs;
  std::vector<double> part(jobs * passes, 0.0);
  const ChainedSweep<D, F> sweep{g, f, passes, runs, part.data()};
  run_items<Sys>(jobs, [&](long job) { sweep.wavefront(job); }, on_caller);
  for (int j = 1; j < passes; ++j) run_items<Sys>(jobs, [&](long job) { sweep.edges(job, j); }, on_caller);
  for (int j = 0; j < passes; ++j) {
    sums[j] = 0.0;
    for (long job = 0; job < jobs; ++job) sums[j] += part[job * passes + j];
  }
}

template <class Sys, int D, class F>
void for_each_site(const kernels::Geometry<D>& g, long rows, const F& f) {
  using namespace launch_detail;
  using G = DropValue<F>;
  const bool on_caller = serial<Sys>(rows * g.sites);
  if constexpr (Sys::walk_lines) {
    const auto walker = LineWalker<D, G, double>::make(g, G{f});
    run_items<Sys>(walker.items(rows), Discard<LineWalker<D, G, double>>{walker}, on_caller);
  } else {
    run_items<Sys>(rows * g.sites, Discard<ElementDecoder<D, G, double>>{{g, G{f}}}, on_caller);
  }
}

}  // namespace synfield
