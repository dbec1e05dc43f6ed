// The run's HDF5 file (host/output.h).
#include "output.h"

#include <cstdio>
#include <filesystem>
#include <system_error>

namespace synfield {
namespace {

// PATH.partial, after checking that PATH itself could be written: named reasons for the
// common mistakes rather than HDF5's "unable to open file".
std::string partial_path_for(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) throw h5::Error("the output file name is empty");
  std::error_code ec;
  if (fs::is_directory(path, ec)) throw h5::Error("it is a folder");
  const fs::path dir = fs::path(path).parent_path();
  if (!dir.empty() && !fs::is_directory(dir, ec))
    throw h5::Error(fs::exists(dir, ec) ? dir.string() + " is not a folder" : "folder " + dir.string() + " does not exist");
  return path + ".partial";
}

}  // namespace

RunWriter::RunWriter(const std::string& path, const Problem& p, Backend backend)
    : path_(path), file_(h5::File::create(partial_path_for(path))), fields_(p.lattice.fields) {
  try {
    init(p, backend);
  } catch (...) {
    close();
    std::remove(file_.path().c_str());
    throw;
  }
}

RunWriter::~RunWriter() {
  if (finished_) return;
  close();
  std::remove(file_.path().c_str());
}

// Datasets first: HDF5 keeps a file open while any of its objects is.
void RunWriter::close() noexcept {
  for (h5::Series* s : {&obs_step_, &obs_time_, &kinetic_, &potential_, &energy_, &dissipated_, &snap_step_,
                        &snap_time_})
    *s = h5::Series();
  mean_.clear();
  rms_.clear();
  snap_w_.clear();
  snap_v_.clear();
  for (auto* s : {&loss_, &test_loss_, &test_pred_, &snap_b_, &snap_vb_}) s->reset();
  file_.close();
}

void RunWriter::init(const Problem& p, Backend backend) {
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
  if (p.model.enabled) {
    const auto B = static_cast<hsize_t>(lat.replicas), O = static_cast<hsize_t>(p.model.data.outputs);
    loss_ = std::make_unique<h5::Series>(file_, "/observables/loss", d, std::vector<hsize_t>{});
    if (p.model.data.test_samples() > 0) {
      test_loss_ = std::make_unique<h5::Series>(file_, "/observables/test_loss", d, std::vector<hsize_t>{});
      const auto Pt = static_cast<hsize_t>(p.model.data.test_samples());
      test_pred_ = std::make_unique<h5::Series>(file_, "/observables/test_predictions", d,
                                                std::vector<hsize_t>{B, Pt, O});
    }
    if (p.model.bias) {
      snap_b_ = std::make_unique<h5::Series>(file_, "/snapshots/fields/bias", d, std::vector<hsize_t>{B, O});
      snap_vb_ = std::make_unique<h5::Series>(file_, "/snapshots/velocities/bias", d, std::vector<hsize_t>{B, O});
    }
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
  if (loss_) loss_->append(&o.loss);
  if (test_loss_) {
    test_loss_->append(&o.test_loss);
    test_pred_->append(o.test_predictions.data());
  }
  file_.flush();
}

template <class Real>
void RunWriter::snapshot(std::int64_t step, double time, const std::vector<Real>& w, const std::vector<Real>& v,
                         const std::vector<double>& b, const std::vector<double>& vb) {
  snap_step_.append(&step);
  snap_time_.append(&time);
  for (std::size_t f = 0; f < fields_.size(); ++f) {
    snap_w_[f].append(w.data() + f * block_);
    snap_v_[f].append(v.data() + f * block_);
  }
  if (snap_b_) {
    snap_b_->append(b.data());
    snap_vb_->append(vb.data());
  }
  file_.flush();
}
template void RunWriter::snapshot<float>(std::int64_t, double, const std::vector<float>&, const std::vector<float>&,
                                         const std::vector<double>&, const std::vector<double>&);
template void RunWriter::snapshot<double>(std::int64_t, double, const std::vector<double>&,
                                          const std::vector<double>&, const std::vector<double>&,
                                          const std::vector<double>&);

void RunWriter::finish(const std::string& status) {
  finished_ = true;
  file_.set_attr("status", status);
  file_.flush();
  close();
  if (status != "complete") return;
  std::error_code ec;
  std::filesystem::rename(file_.path(), path_, ec);
  if (ec)
    throw h5::Error("cannot move " + file_.path() + " to " + path_ + " (" + ec.message() +
                    "); the complete output is in " + file_.path());
}

void RunWriter::fail(const std::string& reason) noexcept {
  if (finished_) return;
  finished_ = true;
  try {
    file_.set_attr("status", "failed: " + reason);
    file_.flush();
  } catch (...) {  // the reason reaches the user through the exception anyway
  }
  close();
}

}  // namespace synfield
