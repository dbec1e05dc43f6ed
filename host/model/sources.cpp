// The perceptron's sources (host/model/sources.h), computed on the host with the BLAS.
#include "host/model/sources.h"

#include <synfield/blas.h>

#include "host/io/h5.h"

namespace synfield {

void write_sources(const Problem& p, const std::string& path) {
  const Model& m = p.model;
  const Dataset& d = m.data;
  const long N = d.features(), P = d.samples(), O = d.outputs;
  const double s = m.scale;
  std::vector<hsize_t> site_dims(d.shape.begin(), d.shape.end());

  std::vector<double> J0(O, 0.0);
  for (long l = 0; l < P; ++l)
    for (long o = 0; o < O; ++o) J0[o] += d.Y[l * O + o] * d.Y[l * O + o];
  std::vector<double> J1(O * N);
  blas::gemm(blas::Trans::yes, blas::Trans::no, O, N, P, -2.0 * s, d.Y.data(), O, d.X.data(), N, 0.0, J1.data(), N);

  h5::File f = h5::File::create(path);
  f.set_attr("format", std::string("synfield-sources-1"));
  f.set_attr("coupling", std::string(m.coupling == Model::Coupling::dense ? "dense" : "factored"));
  f.set_attr("scale", s);
  f.write("/J0", J0, {static_cast<hsize_t>(O)});
  std::vector<hsize_t> j1_dims{static_cast<hsize_t>(O)};
  j1_dims.insert(j1_dims.end(), site_dims.begin(), site_dims.end());
  f.write("/J1", J1, j1_dims);
  if (m.coupling == Model::Coupling::dense) {
    std::vector<double> J2(N * N);
    blas::gemm(blas::Trans::yes, blas::Trans::no, N, N, P, s * s, d.X.data(), N, d.X.data(), N, 0.0, J2.data(), N);
    f.write("/J2", J2, {static_cast<hsize_t>(N), static_cast<hsize_t>(N)});
  } else {
    std::vector<double> factor(d.X);
    for (double& v : factor) v *= s;
    std::vector<hsize_t> dims{static_cast<hsize_t>(P)};
    dims.insert(dims.end(), site_dims.begin(), site_dims.end());
    f.write("/J2_factor", factor, dims);
  }
  f.close();
}

}  // namespace synfield
