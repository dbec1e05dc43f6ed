// host/engine: the field solver — Engine<System, Real> per backend and precision, the only
// loops over sites (launch.h), a rank's slab of a split lattice (slab.h), the backends'
// translation units and the backend choice (solver.cpp, backends.h). It includes
// include/synfield, kernels/, host/model (a model's nonlocal force), host/config (initial
// data) and host/util (huge pages); host/model includes launch.h and slab.h in turn.
//
// Engine<Sys, Real>: the Solver for one backend system and precision. Included by the
// backend translation units (engine_cpu.cpp, engine_cuda_f32.cu, engine_cuda_f64.cu), which
// instantiate it; everything per-site lives in kernels/, everything that loops in launch.h.
// A model's nonlocal force (host/model/perceptron.h) is computed into an array before each
// force-consuming update and added there; its biases are a handful of global degrees of
// freedom (μ_b = 1) stepped on the host by the same formulas.
//
// Split over MPI ranks (a Comm), each rank's engine evolves its slab of the lattice
// (host/engine/slab.h): the ghost rows are filled before each force, the sums over sites (energy,
// dissipated energy, means) add over the ranks, and the state, force and bias accessors
// are collective and exchange the whole lattice, so every rank sees what an unsplit
// engine would. The per-site arithmetic is the same, so the fields equal the unsplit
// run's bit for bit (without a model; a model's sums over sites split into per-rank
// parts, equal to rounding).
#pragma once

#include <synfield/solver.h>

#include <thrust/copy.h>
#include <thrust/fill.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/integrate.h"
#include "host/config/initial.h"
#include "host/engine/integrator_weights.h"
#include "host/engine/launch.h"
#include "host/model/perceptron.h"
#include "host/engine/slab.h"
#include "host/util/sysinfo.h"

namespace synfield {

template <class Sys, class Real>
class Engine final : public Solver {
  template <class T>
  using vec = typename Sys::template vector<T>;

  // A state-sized array: w, π or a scratch array. On the CPU each one sits in an allocation
  // padded by one 4 KiB page and starts `slot` × kStagger bytes past a page boundary (slot:
  // w 0, π 1, scratch k 2 + k). Unpadded, arrays of 2^24 elements come from malloc exactly
  // 128 MiB + 4 KiB apart, a placement that makes the fused fp64 kick-drift (loads w, π;
  // stores π and w') slower than the two-pass step. The gap between the arrays is what matters,
  // not their offset in a page (a page of padding at malloc's offset serves as well); the
  // in-page stagger guards against 4K aliasing between one array's stores and another's
  // loads (measurements: benchmarks/RESULTS.md, "Staggered arrays"). Arrays swap whole (buffer and
  // offset), so w and the fused pass's output stay apart after the swap. A CPU array is
  // backed by transparent huge pages where Linux allows (advise_huge_pages). On the GPU: no
  // padding, offset 0.
  class Array {
   public:
    // n elements; data() points `origin` elements past the first (a slab's first owned site).
    Array(long n, int slot, long origin) : n_(n - origin) {
      if constexpr (Sys::backend == Backend::cpu) {
        constexpr long kPage = 4096, kWord = static_cast<long>(sizeof(Real));
        const long len = n + kPage / kWord;
        buf_.reserve(len);
        buf_.resize(1, Real(0));  // a valid data(); the other pages are not yet touched
        advise_huge_pages(raw(buf_), static_cast<std::size_t>(len * kWord));
        buf_.resize(len, Real(0));
        const long at = static_cast<long>(reinterpret_cast<std::uintptr_t>(raw(buf_)) % kPage);
        off_ = ((slot * kStagger - at) % kPage + kPage) % kPage / kWord;  // < one page
      } else {
        buf_.resize(n, Real(0));
      }
      off_ += origin;
    }
    Real* data() { return raw(buf_) + off_; }
    const Real* data() const { return raw(buf_) + off_; }
    auto begin() { return buf_.begin() + off_; }
    auto end() { return buf_.begin() + off_ + n_; }
    auto begin() const { return buf_.begin() + off_; }
    auto end() const { return buf_.begin() + off_ + n_; }
    long size() const { return n_; }
    void swap(Array& o) {
      buf_.swap(o.buf_);
      std::swap(off_, o.off_);
      std::swap(n_, o.n_);
    }

   private:
    vec<Real> buf_;
    long off_ = 0, n_ = 0;
  };
  static constexpr long kStagger = 1024 + 64;  // bytes between the slots' in-page offsets

 public:
  // comm: the ranks the lattice is split over (null or one rank: not split).
  Engine(const Problem& p, bool generic_only, const Comm* comm)
      : p_(p),
        free_(free_path(p, generic_only)),
        // the stencil's reach: the free field's force reads ±1, a generic term's ±2 (the
        // adjoint of a difference at a neighbour whose own differences reach one further)
        lay_(slab_layout(p.lattice, comm, free_ ? 1 : 2)),
        N_(lay_.stride),
        B_(p.lattice.replicas),
        F_(static_cast<int>(p.lattice.fields.size())),
        rows_(static_cast<long>(F_) * B_),
        total_(rows_ * N_),
        mu_(p.lattice.mu()),
        mu_v_(p.lattice.units == Units::continuum ? p.lattice.mu() : 1.0),
        w_(total_, 0, lay_.origin()),
        pi_(total_, 1, lay_.origin()),
        t_(p.dynamics.t0) {
    scratch_.reserve(kScratch);  // raw pointers into scratch arrays stay valid as it grows
    if (static_cast<int>(p.terms.size()) > kernels::kMaxTerms)
      throw std::invalid_argument("too many potential terms after expansion (" + std::to_string(p.terms.size()) +
                                  " > " + std::to_string(kernels::kMaxTerms) + ")");
    if (p.model.enabled) {
      model_ = std::make_unique<Perceptron<Sys, Real>>(p.model, B_, mu_, lay_);
      nl_ = std::make_unique<Array>(total_, 0, lay_.origin());
      if (p.model.bias) b_.assign(rows_, 0.0), pb_.assign(rows_, 0.0);
    }
    // per-site coefficients: this slab's sites and its ghost rows (wrapping when periodic;
    // beyond an open or Dirichlet end never read)
    const long n0 = p.lattice.shape[0], ghost = lay_.origin();
    for (const Term& t : p.terms) {
      coef_fields_.emplace_back();
      if (!t.per_site()) continue;
      std::vector<Real> c(lay_.stride, Real(0));
      const long at = lay_.slab.begin * lay_.plane - ghost, all = n0 * lay_.plane;
      for (long k = 0; k < lay_.stride; ++k) {
        const long x = at + k;
        if (x >= 0 && x < all) c[k] = Real(t.coefficient_field[x]);
        else if (p.lattice.boundary[0] == Boundary::periodic) c[k] = Real(t.coefficient_field[(x + all) % all]);
      }
      coef_fields_.back().resize(c.size());
      thrust::copy(c.begin(), c.end(), coef_fields_.back().begin());
    }
  }

  static bool free_path(const Problem& p, bool generic_only) {
    return !generic_only && static_cast<int>(p.lattice.fields.size()) <= kernels::kMaxFields &&
           std::all_of(p.terms.begin(), p.terms.end(), [](const Term& t) {
             return !t.per_site() && (t.kind == "mass" || t.kind == "gradient" || t.kind == "source");
           });
  }

  Backend backend() const override { return Sys::backend; }
  const Comm* comm() const override { return lay_.comm; }
  Precision precision() const override {
    return sizeof(Real) == sizeof(float) ? Precision::float32 : Precision::float64;
  }
  std::int64_t step() const override { return step_; }
  double dissipated() const override { return lay_.split() ? D_ + site_sum(D_sites_) : D_; }
  double time() const override { return t_; }

  void advance(std::int64_t steps) override {
    if (steps <= 0) return;
    const Dynamics& d = p_.dynamics;
    if (d.equation == Equation::damped) {
      if (d.integrator == Integrator::rk4)
        for (std::int64_t k = 0; k < steps; ++k) damped_rk4_step();
      else
        splitting_steps(steps, splitting_weights(d.integrator == Integrator::yoshida4));
    } else {
      for (std::int64_t k = 0; k < steps; ++k) {
        if (d.integrator == Integrator::rk4)
          flow_rk4_step();
        else
          flow_euler_step();
      }
    }
  }

  Observables observe() override {
    Observables o;
    o.step = step_;
    o.time = t_;
    o.dissipated = dissipated();
    // the sums over sites, added over the ranks at once: V, K, then Σw and Σw² per field
    std::vector<double> sums{local_potential_part(), 0.0};
    if (p_.dynamics.equation == Equation::damped) sums[1] = 0.5 * mu_ * sum_owned<true>(raw(pi_), rows_);
    for (int f = 0; f < F_; ++f) {
      const Real* wf = raw(w_) + f * B_ * N_;
      sums.push_back(sum_owned<false>(wf, B_));
      sums.push_back(sum_owned<true>(wf, B_));
    }
    if (lay_.split()) lay_.comm->sum(sums.data(), static_cast<long>(sums.size()));
    o.potential = sums[0];
    o.kinetic = sums[1];
    if (p_.dynamics.equation == Equation::damped)
      for (double v : pb_) o.kinetic += 0.5 * v * v;
    if (model_) {
      o.loss = model_->loss(raw(w_), b_);
      o.potential += o.loss;
      if (p_.model.data.test_samples() > 0) o.test_loss = model_->test_loss(raw(w_), b_, &o.test_predictions);
    }
    const double block = static_cast<double>(B_) * p_.lattice.sites();
    for (int f = 0; f < F_; ++f) {
      o.mean.push_back(sums[2 + 2 * f] / block);
      o.rms.push_back(std::sqrt(sums[3 + 2 * f] / block));
    }
    return o;
  }

  void get_state(std::vector<double>& w, std::vector<double>& v, Gather to) override { download_state(w, v, to); }
  void get_state(std::vector<float>& w, std::vector<float>& v, Gather to) override { download_state(w, v, to); }

  void set_state(const std::vector<double>& w, const std::vector<double>& pi, Gather from) override {
    const bool own = from == Gather::slab;  // each rank its own sites, else the whole lattice
    const long stride = own ? lay_.sites : p_.lattice.sites(), first = own ? 0 : lay_.slab.begin * lay_.plane;
    if (static_cast<long>(w.size()) != rows_ * stride || static_cast<long>(pi.size()) != rows_ * stride)
      throw std::invalid_argument("set_state: expected " + std::to_string(rows_ * stride) + " values per array");
    upload(w, w_, stride, first);
    upload(pi, pi_, stride, first);
    D_ = D_sites_ = 0.0;
  }

  std::pair<std::int64_t, std::int64_t> slab_sites() const override {
    return {lay_.slab.begin * lay_.plane, lay_.sites};
  }

  void set_initial_state() override {
    std::vector<double> w, pi;
    const auto [first, count] = slab_sites();
    initial_state(p_, w, pi, first, count);
    set_state(w, pi, Gather::slab);
  }

  void set_clock(std::int64_t step, double time, double dissipated) override {
    step_ = step;
    t_ = time;
    D_ = dissipated;
    D_sites_ = 0.0;
  }

  std::vector<double> force(Gather to) override {
    flow_velocity(Real(1), Real(0), tmp(0));
    std::vector<double> out;
    download(tmp(0), out, to);
    return out;
  }

  double potential() override {
    return site_sum(local_potential_part()) + (model_ ? model_->loss(raw(w_), b_) : 0.0);
  }

  // [replica][output] order, as written to files.
  void get_bias(std::vector<double>& b, std::vector<double>& v) override {
    b.clear();
    v.clear();
    if (b_.empty()) return;
    b.resize(rows_);
    v.resize(rows_);
    std::vector<double> vel = pb_;
    if (p_.dynamics.equation == Equation::gradient_flow) {
      model_->force(raw(w_), b_, raw(*nl_), fb_, step_);
      for (long c = 0; c < rows_; ++c) vel[c] = p_.dynamics.eta * fb_[c];
    }
    for (long c = 0; c < rows_; ++c) {
      const long r = c % B_, o = c / B_;
      b[r * F_ + o] = b_[c];
      v[r * F_ + o] = vel[c];
    }
  }
  void set_bias(const std::vector<double>& b, const std::vector<double>& v) override {
    if (b_.empty()) return;
    if (static_cast<long>(b.size()) != rows_ || static_cast<long>(v.size()) != rows_)
      throw std::invalid_argument("set_bias: expected " + std::to_string(rows_) + " values per array");
    for (long c = 0; c < rows_; ++c) {
      b_[c] = b[(c % B_) * F_ + c / B_];
      pb_[c] = v[(c % B_) * F_ + c / B_];
    }
  }

 private:
  // This rank's part of the local potential (the whole of it when not split).
  double local_potential_part() {
    double v = 0.0;
    exchange(w_);
    dispatch([&](auto geo, auto pot) {
      constexpr int D = decltype(geo)::dim;
      v = reduce_sites<Sys, D>(geo, B_, kernels::EnergyDensity<D, decltype(pot), Real>{pot, raw(w_), N_});
    });
    return v;
  }

  static Real* raw(vec<Real>& v) { return thrust::raw_pointer_cast(v.data()); }
  static const Real* raw(const vec<Real>& v) { return thrust::raw_pointer_cast(v.data()); }
  static Real* raw(Array& v) { return v.data(); }
  static const Real* raw(const Array& v) { return v.data(); }

  // Scratch array k (allocated on first use).
  static constexpr std::size_t kScratch = 6;
  static constexpr std::size_t kDriftOut = 0;  // the fused kick-drift's new w
  Array& tmp(std::size_t k) {
    if (k >= kScratch) throw std::logic_error("Engine: scratch index out of range");
    while (scratch_.size() <= k) scratch_.emplace_back(total_, 2 + static_cast<int>(scratch_.size()), lay_.origin());
    return scratch_[k];
  }

  kernels::StateShape shape() const { return {N_, B_}; }

  // --- the slab's sums, ghosts and transfers (host/engine/slab.h) -----------------------------

  // Σ over the owned sites of `rows` rows from a (Square: Σ a²), this rank's part; the
  // same sum, element for element, as over a contiguous array when not split.
  template <bool Square>
  double sum_owned(const Real* a, long rows) const {
    using Whole = std::conditional_t<Square, kernels::SquareAt<Real>, kernels::ValueAt<Real>>;
    if (!lay_.split()) return reduce_elements<Sys>(rows * N_, Whole{a});
    return reduce_elements<Sys>(rows * lay_.sites, kernels::StridedSum<Real, Square>{a, N_, lay_.sites});
  }
  // A sum over sites added over the ranks.
  double site_sum(double v) const {
    if (lay_.split()) lay_.comm->sum(&v, 1);
    return v;
  }
  // Dissipated energy summed over this rank's sites.
  void add_site_dissipation(double v) { (lay_.split() ? D_sites_ : D_) += v; }

  // Fills the ghost rows of `a` (every row) from the neighbouring ranks: each rank sends
  // its first `halo` owned rows of axis 0 down and its last ones up.
  void exchange(Array& a) {
    if (!lay_.split()) return;
    const long chunk = lay_.origin(), K = rows_ * chunk;  // elements per row and side; per side
    const Boundary bc = p_.lattice.boundary[0];
    halo_buf_.resize(4 * K);  // [send down | send up | from below | from above]
    Real* hb = raw(halo_buf_);
    Real* base = raw(a);
    for_each_element<Sys>(K, kernels::CopyBlock<Real>{base, N_, hb, chunk, chunk});
    for_each_element<Sys>(K, kernels::CopyBlock<Real>{base + lay_.sites - chunk, N_, hb + K, chunk, chunk});
    with_host<Sys, Real>(halo_buf_, 4 * K, true, [&](Real* h) {
      const long bytes = K * static_cast<long>(sizeof(Real));
      lay_.comm->shift(h + K, h + 2 * K, bytes, lay_.above(bc), lay_.below(bc));
      lay_.comm->shift(h, h + 3 * K, bytes, lay_.below(bc), lay_.above(bc));
    });
    if (lay_.below(bc) >= 0) for_each_element<Sys>(K, kernels::CopyBlock<Real>{hb + 2 * K, chunk, base - chunk, N_, chunk});
    if (lay_.above(bc) >= 0)
      for_each_element<Sys>(K, kernels::CopyBlock<Real>{hb + 3 * K, chunk, base + lay_.sites, N_, chunk});
  }

  template <class T>
  void download_state(std::vector<T>& w, std::vector<T>& v, Gather to) {
    download(w_, w, to);
    if (p_.dynamics.equation == Equation::damped) {
      download(pi_, v, to);
    } else {
      flow_velocity(Real(p_.dynamics.eta), Real(0), tmp(0));
      download(tmp(0), v, to);
    }
  }

  // The [row][site] values of src where `to` says (Solver::get_state). Unsplit: in the run's
  // precision straight into dst (whose memory a snapshot's caller may reuse), in the other
  // one through a copy.
  template <class T>
  void download(const Array& src, std::vector<T>& dst, Gather to = Gather::everywhere) {
    if (!lay_.split()) {
      if constexpr (std::is_same_v<T, Real>) {
        dst.resize(src.size());
        thrust::copy(src.begin(), src.end(), dst.begin());
      } else {
        std::vector<Real> h(src.size());
        thrust::copy(src.begin(), src.end(), h.begin());
        dst.assign(h.begin(), h.end());
      }
      return;
    }
    if (to == Gather::slab) {
      pack_slab<Sys>(lay_, raw(src), rows_, N_, stage_);
      with_host<Sys, Real>(stage_, rows_ * lay_.sites, false, [&](Real* h) { dst.assign(h, h + rows_ * lay_.sites); });
      return;
    }
    std::vector<Real> whole = gather_slab<Sys>(lay_, raw(src), rows_, N_, stage_, to == Gather::root);
    if constexpr (std::is_same_v<T, Real>)
      dst = std::move(whole);
    else
      dst.assign(whole.begin(), whole.end());
  }
  // This rank's sites of dst from [row][site] values src with rows `stride` apart, the
  // slab's first site at `first` in each (the whole lattice: stride N, first the slab's).
  void upload(const std::vector<double>& src, Array& dst, long stride, long first) {
    std::vector<Real> h(rows_ * lay_.sites);
    for (long r = 0; r < rows_; ++r)
      std::copy(src.begin() + r * stride + first, src.begin() + r * stride + first + lay_.sites,
                h.begin() + r * lay_.sites);
    if (!lay_.split()) {
      thrust::copy(h.begin(), h.end(), dst.begin());
      return;
    }
    stage_.resize(h.size());
    thrust::copy(h.begin(), h.end(), stage_.begin());
    for_each_element<Sys>(static_cast<long>(h.size()),
                          kernels::CopyBlock<Real>{raw(stage_), lay_.sites, raw(dst), N_, lay_.sites});
  }

  template <int D>
  kernels::Geometry<D> geometry() const {
    kernels::Geometry<D> g{};
    long stride = 1;
    for (int mu = D - 1; mu >= 0; --mu) {
      g.n[mu] = p_.lattice.shape[mu];
      g.stride[mu] = stride;
      stride *= g.n[mu];
      g.bc[mu] = p_.lattice.boundary[mu] == Boundary::periodic ? kernels::kPeriodic
                 : p_.lattice.boundary[mu] == Boundary::open   ? kernels::kOpen
                                                               : kernels::kDirichlet;
    }
    g.n[0] = lay_.slab.count;  // this rank's rows of axis 0 (all of them when not split)
    g.sites = lay_.sites;
    if (lay_.split()) {
      g.halo[0] = lay_.below(p_.lattice.boundary[0]) >= 0;
      g.halo[1] = lay_.above(p_.lattice.boundary[0]) >= 0;
    }
    return g;
  }

  template <int D>
  kernels::GenericPotential<D, Real> generic_potential() const {
    kernels::GenericPotential<D, Real> pot{};
    pot.geo = geometry<D>();
    pot.inv_a = Real(1.0 / p_.lattice.spacing);
    pot.inv_mu = Real(1.0 / mu_);
    pot.field_stride = static_cast<long>(B_) * N_;
    pot.nterms = static_cast<int>(p_.terms.size());
    for (int i = 0; i < pot.nterms; ++i) {
      const Term& t = p_.terms[i];
      kernels::TermDesc<Real>& d = pot.term[i];
      d.coef = Real(t.per_site() ? mu_v_ : mu_v_ * t.coefficient);
      d.coef_field = t.per_site() ? raw(coef_fields_[i]) + lay_.origin() : nullptr;
      d.nfac = static_cast<int>(t.factors.size());
      for (int k = 0; k < d.nfac; ++k) {
        const Factor& f = t.factors[k];
        d.fac[k] = {f.field, static_cast<int>(f.op), f.axis, f.power};
      }
    }
    return pot;
  }

  template <int D>
  kernels::FreePotential<D, Real> free_potential() const {
    kernels::FreePotential<D, Real> pot{};
    pot.geo = geometry<D>();
    pot.inv_a = Real(1.0 / p_.lattice.spacing);
    pot.mu_v = Real(mu_v_);
    pot.field_stride = static_cast<long>(B_) * N_;
    pot.nfields = F_;
    std::vector<double> m2(F_, 0.0), K(F_, 0.0), J(F_, 0.0);
    for (const Term& t : p_.terms) {
      const int f = t.factors[0].field;
      if (t.kind == "mass") m2[f] += 2.0 * t.coefficient;
      if (t.kind == "source") J[f] += t.coefficient;
      // a gradient shorthand is one (K/2)(d_μ w)² term per axis; count its K once
      if (t.kind == "gradient" && t.factors[0].axis == 0) K[f] += 2.0 * t.coefficient;
    }
    for (int f = 0; f < F_; ++f) {
      pot.c[f] = {Real(m2[f]), Real(K[f]), Real(J[f])};
      pot.fc[f] = kernels::force_coefs<Real>(m2[f], K[f], J[f], mu_v_, mu_, p_.lattice.spacing);
    }
    return pot;
  }

  // Calls fn(geometry, potential) with the lattice's dimension and evaluator.
  template <class Fn>
  void dispatch(Fn&& fn) {
    switch (p_.lattice.dim) {
      case 1: return dispatch_dim<1>(fn);
      case 2: return dispatch_dim<2>(fn);
      default: return dispatch_dim<3>(fn);
    }
  }
  template <int D, class Fn>
  void dispatch_dim(Fn& fn) {
    if (free_)
      fn(geometry<D>(), free_potential<D>());
    else
      fn(geometry<D>(), generic_potential<D>());
  }

  // Calls fn(extra) with the nonlocal force at (W, b) for this step's examples (fb_ gets
  // the bias force), or fn(nullptr) when the potential is local only.
  template <class Fn>
  void with_nonlocal(const Real* W, const std::vector<double>& b, Fn&& fn) {
    if (model_) {
      model_->force(W, b, raw(*nl_), fb_, step_);
      fn(static_cast<const Real*>(raw(*nl_)));
    } else {
      fn(nullptr);
    }
  }

  // --- damped equation: symmetric splitting with exact kicks ---------------------------

  // The kick with weights k of the state (w, π_) (π updated in place), with the nonlocal
  // force `extra` (nullptr: none).
  template <int D, class Pot, class Extra>
  kernels::Kick<D, Pot, Real, Extra> kick_op(const Pot& pot, Array& w, Extra extra, const KickWeights& k) {
    return {pot, shape(), raw(w), raw(pi_), extra, Real(k.e), Real(k.phi), Real(k.alpha), Real(2.0 * k.beta),
            Real(k.delta)};
  }

  // A kick by h (π ← eπ + φF(w), summing the energy it dissipates) and, when `fused`, the
  // drift by h_drift that follows it (w ← w + h_drift π) in the same pass over the sites:
  // the new w goes to a scratch array, since the kick's stencil reads the old one, and
  // then takes w_'s place.
  void kick(double h, bool fused = false, double h_drift = 0.0) {
    const KickWeights k = kick_weights(p_.dynamics.damping.gamma_at(t_), h);
    const bool sum = k.alpha != 0.0 || k.beta != 0.0 || k.delta != 0.0;  // γ = 0: nothing to sum
    exchange(w_);
    with_nonlocal(raw(w_), b_, [&](auto extra) {
      dispatch([&](auto geo, auto pot) {
        constexpr int D = decltype(geo)::dim;
        const auto run = [&](const auto& op) {
          if (sum)
            add_site_dissipation(mu_ * reduce_sites<Sys, D>(geo, rows_, op));
          else
            for_each_site<Sys, D>(geo, rows_, op);
        };
        const auto kop = kick_op<D>(pot, w_, extra, k);
        if (fused)
          run(kernels::KickDrift<D, decltype(pot), Real, decltype(extra)>{kop, raw(tmp(kDriftOut)), Real(h_drift)});
        else
          run(kop);
      });
    });
    for (std::size_t c = 0; c < pb_.size(); ++c) {
      D_ += k.alpha * pb_[c] * pb_[c] + 2.0 * k.beta * pb_[c] * fb_[c] + k.delta * fb_[c] * fb_[c];
      pb_[c] = k.e * pb_[c] + k.phi * fb_[c];
    }
    if (!fused) return;
    w_.swap(tmp(kDriftOut));
    for (std::size_t c = 0; c < b_.size(); ++c) b_[c] += h_drift * pb_[c];
    t_ += h_drift;
  }

  // n (≤ kMaxChain) fused kick-drifts, (h[i], h_drift[i]), in one sweep over the sites
  // (reduce_sites_chained: each follows the one before plane by plane, while its planes
  // are still in cache); the same values as kick(h[i], true, h_drift[i]) for i = 0 … n − 1.
  // For the CPU free field of an unsplit lattice of D ≥ 2 (chained()). `tick` is called
  // after each kick's drift, to move the clock on as kick() would; each kick's weights are
  // taken at the time that leaves.
  template <class Tick>
  void kick_chain(int n, const double* h, const double* h_drift, const Tick& tick) {
    KickWeights k[kMaxChain];
    for (int i = 0; i < n; ++i) {
      k[i] = kick_weights(p_.dynamics.damping.gamma_at(t_), h[i]);
      t_ += h_drift[i];
      tick();
    }
    if constexpr (Sys::walk_lines) {
      dispatch([&](auto geo, auto pot) {
        constexpr int D = decltype(geo)::dim;
        if constexpr (D >= 2 && std::is_same_v<decltype(pot), kernels::FreePotential<D, Real>>) {
          kernels::KickDrift<D, decltype(pot), Real> ops[kMaxChain];
          for (int i = 0; i < n; ++i) {  // w → the scratch array → w → …
            Array& from = i % 2 ? tmp(kDriftOut) : w_;
            Array& to = i % 2 ? w_ : tmp(kDriftOut);
            ops[i] = {kick_op<D>(pot, from, nullptr, k[i]), raw(to), Real(h_drift[i])};
          }
          double d[kMaxChain];
          reduce_sites_chained<Sys, D>(geo, rows_, ops, n, d);
          for (int i = 0; i < n; ++i) add_site_dissipation(mu_ * d[i]);
        }
      });
    }
    if (n % 2) w_.swap(tmp(kDriftOut));
  }
  // Whether kick_chain serves this run.
  bool chained() const {
    return Sys::walk_lines && free_ && !model_ && !lay_.split() && p_.lattice.dim >= 2;
  }

  // `steps` steps of the composition K(c₀/2) D(c₀) K((c₀+c₁)/2) … D(c_last) K(c_last/2),
  // with the closing half-kick of each step merged into the opening one of the next; the
  // fused kick-drifts go kMaxChain at a time through kick_chain where it serves.
  void splitting_steps(std::int64_t steps, const std::vector<double>& c) {
    const double h = p_.dynamics.dt;
    const std::int64_t s = static_cast<std::int64_t>(c.size()), kicks = steps * s;
    double pending = 0.5 * c[0];
    std::int64_t i = 0;  // fused kicks done
    const auto tick = [&] {  // after fused kick i: the clock at the end of a step
      if (++i % s == 0) {
        ++step_;
        t_ = p_.dynamics.t0 + static_cast<double>(step_) * h;
      }
    };
    const bool chain = chained();
    while (i < kicks) {
      const int n = chain ? static_cast<int>(std::min<std::int64_t>(kMaxChain, kicks - i)) : 1;
      double hk[kMaxChain], hd[kMaxChain];
      for (int j = 0; j < n; ++j) {  // a kick and the drift after it
        const double d = c[(i + j) % s];
        hk[j] = pending * h;
        hd[j] = d * h;
        pending = 0.5 * (d + c[(i + j + 1) % s]);
      }
      if (n > 1) {
        kick_chain(n, hk, hd, tick);
      } else {
        kick(hk[0], true, hd[0]);  // fused
        tick();
      }
    }
    kick(0.5 * c[s - 1] * h);
  }

  // Classical RK4 on (w, π) and the biases (b, π_b); the dissipated energy by the same
  // quadrature, Σ_i b_i h γ(t_i) Σ μ π_i².
  void damped_rk4_step() {
    static constexpr double a[4] = {0.5, 0.5, 1.0, 0.0};
    static constexpr double b[4] = {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6};
    static constexpr double c[4] = {0.0, 0.5, 0.5, 1.0};
    const double h = p_.dynamics.dt;
    Real* ws = raw(w_);
    Real* ps = raw(pi_);
    std::vector<double> bs = b_, qs = pb_, acc_b(b_.size()), acc_q(b_.size());
    for (int i = 0; i < 4; ++i) {
      const double gamma = p_.dynamics.damping.gamma_at(t_ + c[i] * h);
      Array& wa = i == 0 ? w_ : tmp(2 + 2 * ((i - 1) % 2));  // the stage's w
      Real* wn = raw(tmp(2 + 2 * (i % 2)));
      Real* pn = raw(tmp(3 + 2 * (i % 2)));
      exchange(wa);
      with_nonlocal(ws, bs, [&](auto extra) {
        dispatch([&](auto geo, auto pot) {
          constexpr int D = decltype(geo)::dim;
          const kernels::DampedRK4Stage<D, decltype(pot), Real, decltype(extra)> op{
              pot, shape(), ws, ps, extra, raw(w_), raw(pi_), raw(tmp(0)), raw(tmp(1)), wn, pn,
              Real(gamma), Real(b[i] * h), Real(a[i] * h), i == 0};
          add_site_dissipation(b[i] * h * gamma * mu_ * reduce_sites<Sys, D>(geo, rows_, op));
        });
      });
      for (std::size_t k = 0; k < bs.size(); ++k) {
        const double kb = qs[k], kq = -gamma * qs[k] + fb_[k];
        D_ += b[i] * h * gamma * qs[k] * qs[k];
        acc_b[k] = (i == 0 ? b_[k] : acc_b[k]) + b[i] * h * kb;
        acc_q[k] = (i == 0 ? pb_[k] : acc_q[k]) + b[i] * h * kq;
        bs[k] = b_[k] + a[i] * h * kb;
        qs[k] = pb_[k] + a[i] * h * kq;
      }
      ws = wn;
      ps = pn;
    }
    w_.swap(tmp(0));
    pi_.swap(tmp(1));
    b_.swap(acc_b);
    pb_.swap(acc_q);
    ++step_;
    t_ = p_.dynamics.t0 + static_cast<double>(step_) * h;
  }

  // --- gradient flow -------------------------------------------------------------------

  // out = η F(w) (h = 0) or w + h η F(w); returns Σ F² over the weights (fb_ gets the
  // bias force).
  double flow_velocity(Real eta, Real h, Array& out) {
    double f2 = 0.0;
    exchange(w_);
    with_nonlocal(raw(w_), b_, [&](auto extra) {
      dispatch([&](auto geo, auto pot) {
        constexpr int D = decltype(geo)::dim;
        const kernels::FlowVelocity<D, decltype(pot), Real, decltype(extra)> op{pot,   shape(),  raw(w_), extra,
                                                                                eta,   raw(out), h};
        f2 = reduce_sites<Sys, D>(geo, rows_, op);
      });
    });
    return f2;
  }

  void flow_euler_step() {
    const double h = p_.dynamics.dt, eta = p_.dynamics.eta;
    add_site_dissipation(h * eta * mu_ * flow_velocity(Real(eta), Real(h), tmp(0)));
    for (std::size_t k = 0; k < b_.size(); ++k) {
      D_ += h * eta * fb_[k] * fb_[k];
      b_[k] += h * eta * fb_[k];
    }
    w_.swap(tmp(0));
    ++step_;
    t_ = p_.dynamics.t0 + static_cast<double>(step_) * h;
  }

  void flow_rk4_step() {
    static constexpr double a[4] = {0.5, 0.5, 1.0, 0.0};
    static constexpr double b[4] = {1.0 / 6, 1.0 / 3, 1.0 / 3, 1.0 / 6};
    const double h = p_.dynamics.dt, eta = p_.dynamics.eta;
    Real* ws = raw(w_);
    std::vector<double> bs = b_, acc_b(b_.size());
    for (int i = 0; i < 4; ++i) {
      Array& wa = i == 0 ? w_ : tmp(1 + (i - 1) % 2);  // the stage's w
      Real* wn = raw(tmp(1 + i % 2));
      exchange(wa);
      with_nonlocal(ws, bs, [&](auto extra) {
        dispatch([&](auto geo, auto pot) {
          constexpr int D = decltype(geo)::dim;
          const kernels::FlowRK4Stage<D, decltype(pot), Real, decltype(extra)> op{
              pot, shape(), ws, extra, raw(w_), raw(tmp(0)), wn, Real(eta), Real(b[i] * h), Real(a[i] * h), i == 0};
          add_site_dissipation(b[i] * h * eta * mu_ * reduce_sites<Sys, D>(geo, rows_, op));
        });
      });
      for (std::size_t k = 0; k < bs.size(); ++k) {
        const double kb = eta * fb_[k];
        D_ += b[i] * h * eta * fb_[k] * fb_[k];
        acc_b[k] = (i == 0 ? b_[k] : acc_b[k]) + b[i] * h * kb;
        bs[k] = b_[k] + a[i] * h * kb;
      }
      ws = wn;
    }
    w_.swap(tmp(0));
    b_.swap(acc_b);
    ++step_;
    t_ = p_.dynamics.t0 + static_cast<double>(step_) * h;
  }

  Problem p_;
  bool free_;        // the free-field fast path
  SlabLayout lay_;   // this rank's part of the lattice
  long N_;           // elements per state row (the owned sites, plus ghost rows when split)
  int B_, F_;
  long rows_, total_;
  double mu_, mu_v_;
  Array w_, pi_;
  std::vector<Array> scratch_;
  std::vector<vec<Real>> coef_fields_;
  std::unique_ptr<Perceptron<Sys, Real>> model_;
  std::unique_ptr<Array> nl_;          // the model's force on the weights
  vec<Real> halo_buf_, stage_;         // ghost rows in transit; the owned sites, packed
  std::vector<double> b_, pb_, fb_;    // biases, their momenta and force (c = o·B + r)
  double t_;
  double D_ = 0.0;        // dissipated energy (split: the biases' part, the same on every rank)
  double D_sites_ = 0.0;  // split: this rank's sites' part
  std::int64_t step_ = 0;
};

template <class Sys>
std::unique_ptr<Solver> make_engine(const Problem& p, bool generic_only, const Comm* comm) {
  if (p.dynamics.precision == Precision::float32) return std::make_unique<Engine<Sys, float>>(p, generic_only, comm);
  return std::make_unique<Engine<Sys, double>>(p, generic_only, comm);
}

// One precision only: the CUDA backend builds each in its own translation unit.
template <class Sys, class Real>
std::unique_ptr<Solver> make_engine_of(const Problem& p, bool generic_only, const Comm* comm) {
  return std::make_unique<Engine<Sys, Real>>(p, generic_only, comm);
}

}  // namespace synfield
