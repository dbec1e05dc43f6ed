// The run's HDF5 file (format "synfield-1"): root attributes, observables and snapshots.
//
//   /                      attrs format, version, config, backend, precision, status
//   /observables/step, time, kinetic, potential, energy, dissipated      [S_obs]
//   /observables/mean/<field>, /observables/rms/<field>                  [S_obs]
//   /snapshots/step, time                                                [S]
//   /snapshots/fields/<field>, /snapshots/velocities/<field>             [S, B, *shape]
// `status` is "running" while the run writes, then "complete" or "failed: <reason>".
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <synfield/solver.h>

#include "h5.h"

namespace synfield {

class RunWriter {
 public:
  RunWriter(const std::string& path, const Problem& p, Backend backend);
  void observe(const Observables& o);
  // w and v in the run's precision, [field][replica][site].
  template <class Real>
  void snapshot(std::int64_t step, double time, const std::vector<Real>& w, const std::vector<Real>& v);
  void finish(const std::string& status);
  const std::string& path() const { return file_.path(); }

 private:
  h5::File file_;
  std::vector<std::string> fields_;
  std::size_t block_;  // B·N values per field
  h5::Series obs_step_, obs_time_, kinetic_, potential_, energy_, dissipated_;
  std::vector<h5::Series> mean_, rms_;
  h5::Series snap_step_, snap_time_;
  std::vector<h5::Series> snap_w_, snap_v_;
};

}  // namespace synfield
