// The run's HDF5 file (format "synfield-1"): root attributes, observables and snapshots.
//
//   /                      attrs format, version, config, backend, precision, status
//   /observables/step, time, kinetic, potential, energy, dissipated      [S_obs]
//   /observables/mean/<field>, /observables/rms/<field>                  [S_obs]
//   /snapshots/step, time                                                [S]
//   /snapshots/fields/<field>, /snapshots/velocities/<field>             [S, B, *shape]
// Model runs add
//   /observables/loss [S_obs], and with test data /observables/test_loss [S_obs] and
//   /observables/test_predictions [S_obs, B, P_test, n_out];
//   /snapshots/fields/bias, /snapshots/velocities/bias                   [S, B, n_out]
// `status` is "running" while the run writes, then "complete" or "failed: <reason>".
// The file is written as PATH.partial and renamed to PATH only when complete, so PATH
// never holds a partial or failed run and an earlier file there survives until then; a
// failed run's file stays at PATH.partial for inspection.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <synfield/solver.h>

#include "h5.h"

namespace synfield {

class RunWriter {
 public:
  // Creates PATH.partial (h5::Error naming the path and the reason when it cannot).
  RunWriter(const std::string& path, const Problem& p, Backend backend);
  // Removes PATH.partial when neither finish() nor fail() was called (the run never started).
  ~RunWriter();
  RunWriter(const RunWriter&) = delete;
  RunWriter& operator=(const RunWriter&) = delete;
  void observe(const Observables& o);
  // w and v in the run's precision, [field][replica][site].
  // A model's biases b and velocities vb are [replica][output] (empty without biases).
  template <class Real>
  void snapshot(std::int64_t step, double time, const std::vector<Real>& w, const std::vector<Real>& v,
                const std::vector<double>& b = {}, const std::vector<double>& vb = {});
  // Stores `status` and closes the file; "complete" moves it to path().
  void finish(const std::string& status);
  // finish("failed: <reason>") that never throws; the file stays at partial_path().
  void fail(const std::string& reason) noexcept;
  const std::string& path() const { return path_; }
  const std::string& partial_path() const { return file_.path(); }

 private:
  void init(const Problem& p, Backend backend);
  void close() noexcept;

  std::string path_;
  h5::File file_;
  bool finished_ = false;
  std::vector<std::string> fields_;
  std::size_t block_;  // B·N values per field
  h5::Series obs_step_, obs_time_, kinetic_, potential_, energy_, dissipated_;
  std::vector<h5::Series> mean_, rms_;
  h5::Series snap_step_, snap_time_;
  std::vector<h5::Series> snap_w_, snap_v_;
  std::unique_ptr<h5::Series> loss_, test_loss_, test_pred_, snap_b_, snap_vb_;
};

}  // namespace synfield
