// The run's HDF5 file (host/output.h).
#include "output.h"

namespace synfield {

RunWriter::RunWriter(const std::string& path, const Problem& p, Backend backend)
    : file_(h5::File::create(path)), fields_(p.lattice.fields) {
  const Lattice& lat = p.lattice;
  block_ = static_cast<std::size_t>(lat.sites()) * lat.replicas;
  file_.set_attr("format", std::string("synfield-1"));
  file_.set_attr("version", std::string(SYNFIELD_VERSION));
  file_.set_attr("config", p.config_text);
  file_.set_attr("backend", std::string(backend_name(backend)));
  file_.set_attr("precision", std::string(to_string(p.dynamics.precision)));
  file_.set_attr("status", std::string("running"));

  const hid_t d = H5T_NATIVE_DOUBLE, i64 = H5T_NATIVE_INT64;
  obs_step_ = h5::Series(file_, "/observables/step", i64, {});
  obs_time_ = h5::Series(file_, "/observables/time", d, {});
  kinetic_ = h5::Series(file_, "/observables/kinetic", d, {});
  potential_ = h5::Series(file_, "/observables/potential", d, {});
  energy_ = h5::Series(file_, "/observables/energy", d, {});
  dissipated_ = h5::Series(file_, "/observables/dissipated", d, {});
  for (const auto& f : fields_) {
    mean_.emplace_back(file_, "/observables/mean/" + f, d, std::vector<hsize_t>{});
    rms_.emplace_back(file_, "/observables/rms/" + f, d, std::vector<hsize_t>{});
  }
  snap_step_ = h5::Series(file_, "/snapshots/step", i64, {});
  snap_time_ = h5::Series(file_, "/snapshots/time", d, {});
  std::vector<hsize_t> inner{static_cast<hsize_t>(lat.replicas)};
  for (int mu = 0; mu < lat.dim; ++mu) inner.push_back(static_cast<hsize_t>(lat.shape[mu]));
  const hid_t real = p.dynamics.precision == Precision::float32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
  for (const auto& f : fields_) {
    snap_w_.emplace_back(file_, "/snapshots/fields/" + f, real, inner);
    snap_v_.emplace_back(file_, "/snapshots/velocities/" + f, real, inner);
  }
  file_.flush();
}

void RunWriter::observe(const Observables& o) {
  obs_step_.append(&o.step);
  obs_time_.append(&o.time);
  kinetic_.append(&o.kinetic);
  potential_.append(&o.potential);
  const double e = o.energy();
  energy_.append(&e);
  dissipated_.append(&o.dissipated);
  for (std::size_t f = 0; f < fields_.size(); ++f) {
    mean_[f].append(&o.mean[f]);
    rms_[f].append(&o.rms[f]);
  }
  file_.flush();
}

template <class Real>
void RunWriter::snapshot(std::int64_t step, double time, const std::vector<Real>& w, const std::vector<Real>& v) {
  snap_step_.append(&step);
  snap_time_.append(&time);
  for (std::size_t f = 0; f < fields_.size(); ++f) {
    snap_w_[f].append(w.data() + f * block_);
    snap_v_[f].append(v.data() + f * block_);
  }
  file_.flush();
}
template void RunWriter::snapshot<float>(std::int64_t, double, const std::vector<float>&, const std::vector<float>&);
template void RunWriter::snapshot<double>(std::int64_t, double, const std::vector<double>&,
                                          const std::vector<double>&);

void RunWriter::finish(const std::string& status) {
  file_.set_attr("status", status);
  file_.flush();
  file_.close();
}

}  // namespace synfield
