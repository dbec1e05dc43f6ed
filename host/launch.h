// The only place that loops over sites: launch helpers over a backend's Thrust system.
//
//   Sys                      OmpSystem (g++, Thrust OpenMP) or CudaSystem (nvcc, Thrust CUDA)
//   for_each_element(n, f)   f(i) for i in [0, n): pointwise updates, no geometry
//   reduce_elements(n, f)    Σ f(i) in double
//   for_each_site(g, rows, f) / reduce_sites(g, rows, f)
//                            f(row, Site) for every row (a (field, replica) pair or a
//                            replica) and lattice site; the reduction is Σ in double,
//                            for_each_site drops any per-site value (dead code then).
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

#include <type_traits>
#include <utility>

#include "../kernels/lattice.h"

#if defined(SYNFIELD_CUDA_TU)
#include <thrust/system/cuda/vector.h>
#else
#include <thrust/system/omp/execution_policy.h>
#include <thrust/system/omp/vector.h>
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
  // the size below which a per-site update next to a model's GEMMs was measured to run
  // faster serially (benchmarks/RESULTS_model.md), and every lattice of the tests. A
  // lattice-only run of up to 2^18 sites (64³) thus uses one core; on a many-core CPU a
  // smaller cut-off would serve it better, at the price of the model case above.
  static constexpr long serial_elements = 1L << 18;
  template <class T>
  using vector = thrust::omp::vector<T>;
  static auto policy() { return thrust::omp::par; }
};
using System = OmpSystem;
#endif

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

// acc + Σ get(j) for j in [0, m), in kLanes partial sums (not one chain of dependent
// additions, which would cost about as much as the kernels summed), then added to acc in order.
template <class Acc, class Get>
SF_HD SF_FORCEINLINE Acc sum_in_lanes(Acc acc, long m, const Get& get) {
  constexpr int kLanes = 8;
  Acc lane[kLanes] = {};
  long j = 0;
  for (; j + kLanes <= m; j += kLanes)
    for (int k = 0; k < kLanes; ++k) lane[k] += get(j + k);
  for (; j < m; ++j) lane[0] += get(j);
  for (int k = 0; k < kLanes; ++k) acc += lane[k];
  return acc;
}

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
// set-up had cost 40 % as many instructions as the 254 vectorised sites).
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
    Acc acc = Acc(0);
    for (long line = first; line < last; ++line) {
      acc += walk(fn, row, s, line * n_last, begin, end, n_last);
      for (int mu = D - 2; mu >= 0 && ++s.c[mu] == g.n[mu]; --mu) s.c[mu] = 0;  // next line
    }
    return acc;
  }

  // Sites [begin, end) of the line s whose first site has flat index x_line.
  static SF_HD SF_FORCEINLINE Acc walk(const F& fn, long row, kernels::Site<D> s, long x_line, int begin, int end,
                                       int n_last) {
    s.c[D - 1] = begin;
    s.x = x_line + begin;
    if constexpr (HasLine<F, kernels::Site<D>>::value) {
      using L = decltype(fn.line(row, s, end));
      if constexpr (WholeLine<L>::value) {
        if (end - begin <= L::max_sites) return walk_whole(fn.line(row, s, end), s, x_line, begin, end, n_last);
        return walk_split(RowBound<F>{&fn, row}, s, x_line, begin, end, n_last);
      } else {
        return walk_split(fn.line(row, s, end), s, x_line, begin, end, n_last);
      }
    } else {
      return walk_split(RowBound<F>{&fn, row}, s, x_line, begin, end, n_last);
    }
  }

  // [begin, lo) and [hi, end) hold the edge sites 0 and n_last − 1 when they are here.
  static SF_HD SF_FORCEINLINE int inner_lo(int begin) { return begin > 0 ? begin : 1; }  // ≤ end: never empty
  static SF_HD SF_FORCEINLINE int inner_hi(int lo, int end, int n_last) {
    return end < n_last ? end : n_last - 1 > lo ? n_last - 1 : lo;
  }

  // The sites of the segment bound as g, the edge sites on their own.
  template <class G>
  static SF_HD SF_FORCEINLINE Acc walk_split(const G& g, kernels::Site<D> s, long x_line, int begin, int end,
                                             int n_last) {
    const int lo = inner_lo(begin), hi = inner_hi(lo, end, n_last);
    Acc acc = Acc(0);
    for (int c = begin; c < lo; ++c) acc += at(g, s, x_line + c, c);
    s.inner = true;
    if constexpr (std::is_void_v<decltype(g(s))>) {
      SF_SIMD
      for (int c = lo; c < hi; ++c) at(g, s, x_line + c, c);
    } else {
      // values first, then their sum: a reduction inside the site loop would keep GCC
      // from hoisting the kernel's row-invariant integer divisions out of it. The values
      // are kept in the kernel's own type (an fp32 kernel's as floats: in the loop no
      // conversions and half the stores; each converts to double exactly when summed, so
      // the sum is the same), and summed in independent partial sums (sum_in_lanes).
      Value<G> part[kSegment];
      SF_SIMD
      for (int c = lo; c < hi; ++c) part[c - lo] = value_at(g, s, x_line + c, c);
      acc = add_lanes(acc, part, hi - lo);
    }
    s.inner = false;
    for (int c = hi; c < end; ++c) acc += at(g, s, x_line + c, c);
    return acc;
  }

  // The sites of a segment bound as g, a whole-line binding (HasLine): all of them in one
  // SIMD loop, edges included; the sum in the same order as walk_split's, so the same.
  template <class G>
  static SF_HD SF_FORCEINLINE Acc walk_whole(const G& g, const kernels::Site<D>& s, long x_line, int begin, int end,
                                             int n_last) {
    if constexpr (std::is_void_v<decltype(g(s))>) {
      (void)n_last;
      SF_SIMD
      for (int c = begin; c < end; ++c) at(g, s, x_line + c, c);
      return Acc(0);
    } else {
      const int lo = inner_lo(begin), hi = inner_hi(lo, end, n_last);
      Value<G> part[kSegment];
      SF_SIMD
      for (int c = begin; c < end; ++c) part[c - begin] = value_at(g, s, x_line + c, c);
      Acc acc = Acc(0);
      for (int c = begin; c < lo; ++c) acc += Acc(part[c - begin]);
      acc = add_lanes(acc, part + (lo - begin), hi - lo);
      for (int c = hi; c < end; ++c) acc += Acc(part[c - begin]);
      return acc;
    }
  }

  // A bound line's value at a site.
  template <class G>
  using Value = decltype(std::declval<const G&>()(std::declval<const kernels::Site<D>&>()));

  // acc + Σ part[0, m) in Acc (sum_in_lanes).
  template <class V>
  static SF_HD SF_FORCEINLINE Acc add_lanes(Acc acc, const V* part, int m) {
    return sum_in_lanes(acc, m, [part](long j) { return Acc(part[j]); });
  }

  // g at the site at coordinate c (flat index x) of the line s: its own value, and that
  // value in Acc (0 for a g that returns nothing). The site is the by-value parameter
  // itself: passing g a returned temporary instead made GCC's SIMD loops 2–3× slower.
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

// Σ f(i) for i in [0, items) in double; on the calling thread (sum_in_lanes) when
// `on_caller`, else over Sys.
template <class Sys, class F>
double sum_items(long items, const F& f, bool on_caller) {
  if constexpr (Sys::backend == Backend::cpu) {
    if (on_caller) {
      return sum_in_lanes(0.0, items, f);
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
