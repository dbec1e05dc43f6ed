// Per-element math of the perceptron's nonlocal force (the GEMMs themselves are BLAS
// calls, host/model/perceptron.h). Columns c of the residual are (output, replica) pairs in the
// weights' row order, c = o·B + r.
#pragma once

#include <synfield/portability.h>

namespace synfield::kernels {

// Shared examples: R[l][c] = Y[row(l)][o] − b[c], row(l) = rows ? rows[l] : l.
template <class Real>
struct ResidualInit {
  Real* R;
  const Real* Y;
  const long* rows;
  const Real* b;
  int outputs, replicas;
  long cols;  // M = outputs·replicas
  SF_HD void operator()(long i) const {
    const long l = i / cols, c = i % cols;
    const long row = rows ? rows[l] : l;
    R[i] = Y[row * outputs + c / replicas] - b[c];
  }
};

// Per-replica examples: R[r][l][o] = Y[row_r(l)][o] − b[o·B + r], row_r(l) = rows[r·m + l].
template <class Real>
struct ReplicaResidualInit {
  Real* R;
  const Real* Y;
  const long* rows;
  const Real* b;
  int outputs, replicas;
  long m;  // examples per replica
  SF_HD void operator()(long i) const {
    const int o = static_cast<int>(i % outputs);
    const long l = (i / outputs) % m, r = i / (outputs * m);
    R[i] = Y[rows[r * m + l] * outputs + o] - b[o * replicas + r];
  }
};

// dst[j][x] = src[rows[j]][x] for the selected example rows.
template <class Real>
struct GatherRows {
  Real* dst;
  const Real* src;
  const long* rows;
  long width;
  SF_HD void operator()(long i) const { dst[i] = src[rows[i / width] * width + i % width]; }
};

// Dense sources: F[c][x] −= (1/μ)(J₁[o][x] + 2 s b[c] Σ_l X^l(x)).
template <class Real>
struct DenseLinearForce {
  Real* F;
  long ld;  // F's leading dimension
  const Real* J1;
  const Real* colsum;
  const Real* b;
  long sites;
  int replicas;
  Real inv_mu, two_s;
  SF_HD void operator()(long i) const {
    const long c = i / sites, x = i % sites;
    F[c * ld + x] -= inv_mu * (J1[(c / replicas) * sites + x] + two_s * b[c] * colsum[x]);
  }
};

}  // namespace synfield::kernels
