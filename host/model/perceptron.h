// host/model: a network's training cost as a nonlocal force — the perceptron's matrix products
// (perceptron.h), the BLAS behind one interface (device_blas.h, blas.cpp), the rows each
// replica trains on (model.cpp) and `synfield sources`. It includes include/synfield,
// kernels/model.h, host/engine (launch.h, slab.h), host/config (the SplitMix64 generator)
// and host/io (the sources file).
//
// The perceptron's nonlocal force on a backend: the J₂ coupling as matrix products.
//
// Weights W are the [output][replica][site] state read as an M×N row-major matrix
// (row c = o·B + r, M = n_out·B); biases b are M numbers in the same order. With the
// examples S selected for this step (all of them, a minibatch, or each replica's own):
//   residual  R = Y_S − s X_S Wᵀ − b              (P_S × M)
//   force     F = −(1/μ) ∂C/∂W = (2s/μ) Rᵀ X_S      (M × N)
//   bias      F_b = −∂C/∂b = 2 Σ_l R_l              (μ_b = 1)
// Representations:
//   factored   the two GEMMs above, O(N·P) a column;
//   dense      J₂ = s² XᵀX stored (N²), F = −(1/μ)(2 W J₂ + J₁ + 2s b ⊗ Σ_l X^l), one GEMM;
//   replicas   each replica its own examples (bootstrap resample and/or its own
//              minibatch stream): strided-batched GEMMs over the replicas.
// W and F are read and written with a leading dimension `ld` ≥ N (the engine's rows may
// carry ghost rows). Split over ranks (host/engine/slab.h), a rank owns the columns (sites)
// [first, first + N) of W, F and X:
//   factored   its slice of X; each rank's product X_S Wᵀ is its part of the residual,
//              added over the ranks (rank 0 also adds Y − b): every rank has all of R,
//              and its columns of the force are local;
//   dense      its block of columns of J₂ (N_all × N, J₂ symmetric: rows, read as
//              columns) and of J₁, Σ_l X^l; W's columns are gathered from every rank for
//              the product.
#pragma once

#include <synfield/data.h>
#include <synfield/problem.h>

#include <thrust/copy.h>
#include <thrust/fill.h>

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <vector>

#include "kernels/model.h"
#include "host/model/device_blas.h"
#include "host/engine/launch.h"
#include "host/model/perceptron_rows.h"
#include "host/engine/slab.h"

namespace synfield {

template <class Sys, class Real>
class Perceptron {
  template <class T>
  using vec = typename Sys::template vector<T>;
  using Trans = blas::Trans;

 public:
  Perceptron(const Model& m, int replicas, double mu, const SlabLayout& lay)
      : N_(lay.sites),
        Nall_(m.data.features()),
        ld_(lay.stride),
        lay_(lay),
        P_(m.data.samples()),
        Pt_(m.data.test_samples()),
        O_(m.data.outputs),
        B_(replicas),
        M_(static_cast<long>(O_) * B_),
        s_(m.scale),
        inv_mu_(1.0 / mu),
        bias_(m.bias),
        dense_(m.coupling == Model::Coupling::dense),
        per_replica_(m.replica_data != Model::ReplicaData::shared),
        batch_(m.minibatch > 0 && m.minibatch < m.data.samples() ? m.minibatch : 0),
        X_(to_dev(columns(m.data.X))),
        Y_(to_dev(m.data.Y)),
        Xt_(to_dev(columns(m.data.X_test))),
        Yt_(to_dev(m.data.Y_test)),
        rows_of_(training_rows(m, replicas)),
        test_targets_(m.data.Y_test) {
    rows_dev_.resize(per_replica_ ? B_ * P_ : P_);
    R_.resize(std::max<long>(P_, Pt_) * M_);
    ones_.assign(std::max<long>(P_, Pt_), Real(1));
    bdev_.resize(M_);
    fbdev_.resize(M_);
    if (batch_ > 0) {
      if (per_replica_)
        for (int r = 0; r < B_; ++r) samplers_.emplace_back(P_, batch_, m.seed + 1 + r);
      else
        samplers_.emplace_back(P_, batch_, m.seed);
    }
    if (per_replica_) Xsel_.resize(B_ * P_ * N_);
    else if (batch_ > 0) Xsel_.resize(batch_ * N_);
    if (dense_) build_dense(m);
  }

  // F (M×N) and fb (M) for the examples of step `step`.
  void force(const Real* W, const std::vector<double>& b, Real* F, std::vector<double>& fb, std::int64_t step) {
    upload_bias(b);
    fb.assign(M_, 0.0);
    if (dense_) {
      dense_force(W, b, F, fb);
      return;
    }
    const long m = select(step);
    residual(W, m, Xs_);
    if (per_replica_) {
      gemm_.gemm_batched(Trans::yes, Trans::no, O_, N_, m, Real(2 * s_ * inv_mu_), raw(R_), O_, m * O_, Xs_, N_,
                         m * N_, Real(0), F, B_ * ld_, ld_, B_);
    } else {
      gemm_.gemm(Trans::yes, Trans::no, M_, N_, m, Real(2 * s_ * inv_mu_), raw(R_), M_, Xs_, N_, Real(0), F, ld_);
    }
    if (bias_) bias_force(m, fb);
  }

  // Σ over replicas of the cost C on each replica's full training rows.
  double loss(const Real* W, const std::vector<double>& b) {
    upload_bias(b);
    const long m = select_all();
    residual(W, m, Xs_);
    return reduce_elements<Sys>(m * M_, kernels::SquareAt<Real>{raw(R_)});
  }

  // Σ over replicas of the test cost; predictions as [B][P_test][n_out] when asked.
  double test_loss(const Real* W, const std::vector<double>& b, std::vector<double>* pred) {
    if (Pt_ == 0) return 0.0;
    upload_bias(b);
    if (lead())
      for_each_element<Sys>(Pt_ * M_, kernels::ResidualInit<Real>{raw(R_), raw(Yt_), nullptr, raw(bdev_), O_, B_, M_});
    else
      thrust::fill(R_.begin(), R_.begin() + Pt_ * M_, Real(0));
    gemm_.gemm(Trans::no, Trans::yes, Pt_, M_, N_, Real(-s_), raw(Xt_), N_, W, ld_, Real(1), raw(R_), M_);
    sum_over_ranks(R_, Pt_ * M_);
    const double c = reduce_elements<Sys>(Pt_ * M_, kernels::SquareAt<Real>{raw(R_)});
    if (pred) {
      std::vector<Real> r(Pt_ * M_);
      thrust::copy(R_.begin(), R_.begin() + Pt_ * M_, r.begin());
      const std::vector<double>& yt = test_targets_;
      pred->assign(Pt_ * M_, 0.0);
      for (int rep = 0; rep < B_; ++rep)
        for (long l = 0; l < Pt_; ++l)
          for (int o = 0; o < O_; ++o)
            (*pred)[(rep * Pt_ + l) * O_ + o] = yt[l * O_ + o] - r[l * M_ + o * B_ + rep];
    }
    return c;
  }

 private:
  // Rank 0 of a split lattice, or the only process: the one that adds Y − b to R.
  bool lead() const { return !lay_.split() || lay_.comm->rank() == 0; }
  // Adds the first n values of d over the ranks (nothing when not split).
  void sum_over_ranks(vec<Real>& d, long n) {
    if (lay_.split()) with_host<Sys, Real>(d, n, true, [&](Real* h) { lay_.comm->sum(h, n); });
  }
  // This rank's columns [first, first + N) of a row-major matrix of Nall_ columns.
  std::vector<double> columns(const std::vector<double>& a) const {
    if (!lay_.split()) return a;
    const long rows = static_cast<long>(a.size()) / Nall_, first = lay_.first[lay_.comm->rank()];
    std::vector<double> c(rows * N_);
    for (long r = 0; r < rows; ++r) std::copy_n(a.begin() + r * Nall_ + first, N_, c.begin() + r * N_);
    return c;
  }

  static vec<Real> to_dev(const std::vector<double>& h) {
    std::vector<Real> r(h.begin(), h.end());
    vec<Real> d(r.size());
    thrust::copy(r.begin(), r.end(), d.begin());
    return d;
  }
  static Real* raw(vec<Real>& v) { return thrust::raw_pointer_cast(v.data()); }

  // The CPU backend's arrays are host memory: the per-step bias upload and downloads are
  // plain loops there, with no staging vector and no copy launch. (The element loops next
  // to the GEMMs are small, so on the CPU they run on the calling thread: host/engine/launch.h.)
  static constexpr bool kHost = Sys::backend == Backend::cpu;

  // h[0..M) = fbdev_ (device → host).
  void download_fb(std::vector<Real>& h) {
    h.resize(M_);
    if constexpr (kHost)
      std::copy_n(raw(fbdev_), M_, h.begin());
    else
      thrust::copy(fbdev_.begin(), fbdev_.end(), h.begin());
  }

  void upload_bias(const std::vector<double>& b) {
    if constexpr (kHost) {
      Real* d = raw(bdev_);
      for (long c = 0; c < M_; ++c) d[c] = bias_ ? Real(b[c]) : Real(0);
    } else {
      std::vector<Real> h(M_, Real(0));
      if (bias_)
        for (long c = 0; c < M_; ++c) h[c] = Real(b[c]);
      thrust::copy(h.begin(), h.end(), bdev_.begin());
    }
  }

  void upload_rows(const std::vector<long>& rows) { thrust::copy(rows.begin(), rows.end(), rows_dev_.begin()); }

  // Chooses this step's examples; sets Xs_ and the device row list; returns examples per replica.
  long select(std::int64_t step) {
    if (batch_ == 0) return select_all();
    std::vector<long> rows;
    if (per_replica_) {
      for (int r = 0; r < B_; ++r)
        for (std::int64_t j : samplers_[r].batch(step)) rows.push_back(rows_of_[r][j]);
    } else {
      for (std::int64_t j : samplers_[0].batch(step)) rows.push_back(j);
    }
    gather(rows);
    return static_cast<long>(rows.size()) / (per_replica_ ? B_ : 1);
  }

  long select_all() {
    if (!per_replica_) {
      Xs_ = raw(X_);
      rows_live_ = false;
      return P_;
    }
    if (all_gathered_) return P_;
    std::vector<long> rows;
    for (int r = 0; r < B_; ++r) rows.insert(rows.end(), rows_of_[r].begin(), rows_of_[r].end());
    gather(rows);
    all_gathered_ = true;
    return P_;
  }

  void gather(const std::vector<long>& rows) {
    upload_rows(rows);
    for_each_element<Sys>(static_cast<long>(rows.size()) * N_,
                          kernels::GatherRows<Real>{raw(Xsel_), raw(X_), thrust::raw_pointer_cast(rows_dev_.data()), N_});
    Xs_ = raw(Xsel_);
    rows_live_ = true;
    all_gathered_ = false;
  }

  // R = Y_S − b − s X_S Wᵀ for m examples per replica.
  void residual(const Real* W, long m, const Real* Xs) {
    const long* rows = rows_live_ ? thrust::raw_pointer_cast(rows_dev_.data()) : nullptr;
    if (!lead())
      thrust::fill(R_.begin(), R_.begin() + m * M_, Real(0));
    else if (per_replica_)
      for_each_element<Sys>(B_ * m * O_,
                            kernels::ReplicaResidualInit<Real>{raw(R_), raw(Y_), rows, raw(bdev_), O_, B_, m});
    else
      for_each_element<Sys>(m * M_, kernels::ResidualInit<Real>{raw(R_), raw(Y_), rows, raw(bdev_), O_, B_, M_});
    if (per_replica_)
      gemm_.gemm_batched(Trans::no, Trans::yes, m, O_, N_, Real(-s_), Xs, N_, m * N_, W, B_ * ld_, ld_, Real(1),
                         raw(R_), O_, m * O_, B_);
    else
      gemm_.gemm(Trans::no, Trans::yes, m, M_, N_, Real(-s_), Xs, N_, W, ld_, Real(1), raw(R_), M_);
    sum_over_ranks(R_, m * M_);
  }

  // F_b = 2 Σ_l R_l, as one product with a vector of ones.
  void bias_force(long m, std::vector<double>& fb) {
    std::vector<Real>& h = fb_host_;
    if (per_replica_) {
      gemm_.gemm_batched(Trans::yes, Trans::no, O_, 1, m, Real(2), raw(R_), O_, m * O_, raw(ones_), 1, 0, Real(0),
                         raw(fbdev_), 1, O_, B_);
      download_fb(h);
      for (int r = 0; r < B_; ++r)
        for (int o = 0; o < O_; ++o) fb[o * B_ + r] = h[r * O_ + o];
    } else {
      gemm_.gemm(Trans::yes, Trans::no, M_, 1, m, Real(2), raw(R_), M_, raw(ones_), 1, Real(0), raw(fbdev_), 1);
      download_fb(h);
      for (long c = 0; c < M_; ++c) fb[c] = h[c];
    }
  }

  void build_dense(const Model& m) {
    // J₂ = s² XᵀX (this rank's columns: N_all × N), J₁ = −2s XᵀY (n_out × N), Σ_l X^l, Σ_l Y^l
    J2_.resize(Nall_ * N_);
    vec<Real> all = lay_.split() ? to_dev(m.data.X) : vec<Real>();
    const Real* Xall = lay_.split() ? raw(all) : raw(X_);
    gemm_.gemm(Trans::yes, Trans::no, Nall_, N_, P_, Real(s_ * s_), Xall, Nall_, raw(X_), N_, Real(0), raw(J2_), N_);
    J1_.resize(O_ * N_);
    gemm_.gemm(Trans::yes, Trans::no, O_, N_, P_, Real(-2 * s_), raw(Y_), O_, raw(X_), N_, Real(0), raw(J1_), N_);
    colsum_.resize(N_);
    gemm_.gemm(Trans::yes, Trans::no, N_, 1, P_, Real(1), raw(X_), N_, raw(ones_), 1, Real(0), raw(colsum_), 1);
    ysum_.assign(O_, 0.0);
    for (long l = 0; l < P_; ++l)
      for (int o = 0; o < O_; ++o) ysum_[o] += m.data.Y[l * O_ + o];
  }

  // W's columns from every rank (M × N_all, row-major) in Wall_.
  const Real* gather_weights(const Real* W) {
    const std::vector<Real> all = gather_slab<Sys>(lay_, W, M_, ld_, Wstage_, false);
    Wall_.resize(all.size());
    thrust::copy(all.begin(), all.end(), Wall_.begin());
    return raw(Wall_);
  }

  void dense_force(const Real* W, const std::vector<double>& b, Real* F, std::vector<double>& fb) {
    const Real* Wall = lay_.split() ? gather_weights(W) : W;
    gemm_.gemm(Trans::no, Trans::no, M_, N_, Nall_, Real(-2 * inv_mu_), Wall, lay_.split() ? Nall_ : ld_, raw(J2_),
               N_, Real(0), F, ld_);
    for_each_element<Sys>(M_ * N_, kernels::DenseLinearForce<Real>{F, ld_, raw(J1_), raw(colsum_), raw(bdev_), N_,
                                                                   B_, Real(inv_mu_), Real(2 * s_)});
    if (!bias_) return;
    // F_b = 2 (Σ_l Y_o − s (Σ_l X^l)·w_c − P b_c); (Σ_l X^l)·w_c adds over the ranks' columns
    gemm_.gemm(Trans::no, Trans::no, M_, 1, N_, Real(1), W, ld_, raw(colsum_), 1, Real(0), raw(fbdev_), 1);
    std::vector<Real>& xw = fb_host_;
    download_fb(xw);
    if (lay_.split()) lay_.comm->sum(xw.data(), M_);
    for (long c = 0; c < M_; ++c) fb[c] = 2.0 * (ysum_[c / B_] - s_ * xw[c] - static_cast<double>(P_) * b[c]);
  }

  long N_, Nall_, ld_;  // this rank's columns (sites), all of them, W's and F's leading dimension
  SlabLayout lay_;
  long P_, Pt_;
  int O_, B_;
  long M_;
  double s_, inv_mu_;
  bool bias_, dense_, per_replica_;
  long batch_;
  vec<Real> X_, Y_, Xt_, Yt_;
  std::vector<std::vector<std::int64_t>> rows_of_;
  std::vector<MinibatchSampler> samplers_;
  vec<Real> R_, ones_, bdev_, fbdev_, Xsel_, J2_, J1_, colsum_, Wall_, Wstage_;
  vec<long> rows_dev_;
  std::vector<double> ysum_, test_targets_;
  std::vector<Real> fb_host_;  // the bias force (or X̄·w) on the host
  const Real* Xs_ = nullptr;
  bool rows_live_ = false;     // residuals read Y through rows_dev_
  bool all_gathered_ = false;  // Xsel_ holds every replica's full training rows
  DeviceGemm gemm_;
};

}  // namespace synfield
