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
// `status` is "running" while the run writes, then "complete", "failed: <reason>" or what
// the run loop passes to finish() (e.g. "interrupted at step N: …").
// The file is written as PATH.partial and renamed to PATH only when complete, so PATH
// never holds a partial or failed run and an earlier file there survives until then; a
// failed run's file stays at PATH.partial for inspection.
//
// Every dataset is chunked and extendible; the snapshot fields and velocities are deflate-
// compressed at level [output].compression (0: none). After the datasets exist the file
// switches to HDF5 SWMR writing, so h5py (`h5py.File(path, "r", swmr=True)`) and `synfield
// info` read it while it grows; every observation and snapshot is flushed when written.
//
// The HDF5 writes run on one writer thread owned by the RunWriter: observe() and
// snapshot() take their data by value and queue it (at most 2 snapshots in flight — the
// caller blocks for the third — so memory stays bounded), and the write of snapshot k
// overlaps the solver's steps after it. The device-to-host copy (Solver::get_state) stays
// on the caller's thread. An error on the writer thread is rethrown, as h5::Error naming the
// file and dataset, by the next observe/snapshot/flush/finish. An HDF5 that is not
// thread-safe (parallel HDF5, h5::thread_safe()) gets no writer thread: every write is done
// on the caller's thread before the call returns.
//
// finish() also writes an XDMF side file for 2-D and 3-D lattices (host/io/xdmf.h): PATH with
// .xmf in place of .h5, referring to PATH when complete and to PATH.partial otherwise.
//
// A run split over MPI ranks writes its one file in one of two ways (root attribute `io`):
//   "swmr"    rank 0 alone has a RunWriter, and passes it the state gathered from the ranks;
//   "mpi-io"  (parallel HDF5) every rank has one, on the file opened by all of them through
//             MPI-IO, and passes its own slab of the state; each rank writes its rows of
//             axis 0 of every snapshot and rank 0 the rest, collectively, on the caller's
//             thread (no writer thread, no SWMR: a reader during the run has no guarantee
//             of consistency; the file is flushed after every row).
//             Every call is collective: every rank makes it, with the same arguments (the
//             observables are sums over the ranks already). A writer dropped without
//             finish()/fail() (an error of one rank: MPI_Abort follows) leaves the file as
//             its last flush did, as a run killed would.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <synfield/solver.h>

#include "host/io/h5.h"

namespace synfield {

class WriterThread;

class RunWriter {
 public:
  // Creates PATH.partial (h5::Error naming the path and the reason when it cannot), all its
  // datasets, and starts SWMR writing and the writer thread. `ranks`: the MPI ranks the
  // lattice is split over (root attribute `ranks`). `mpi_io`: those ranks, every one of them
  // writing its slab through MPI-IO (above; h5::parallel_io() must hold).
  RunWriter(const std::string& path, const Problem& p, Backend backend, int ranks = 1, const Comm* mpi_io = nullptr);
  // Reopens PATH.partial of an interrupted run to continue it after a checkpoint at `step`:
  // drops every observation and snapshot row whose step is > step, sets status "running"
  // and appends again (SWMR). h5::Error naming the file when it is missing, not a synfield
  // file, its datasets do not match p, or its stored config differs from p.config_text.
  static RunWriter resume(const std::string& path, const Problem& p, Backend backend, std::int64_t step, int ranks = 1,
                          const Comm* mpi_io = nullptr);
  // Removes PATH.partial when neither finish() nor fail() was called on a new file (the run
  // never started); a resumed file is only closed (the interrupted run's rows stay).
  ~RunWriter();
  RunWriter(RunWriter&&) noexcept;
  RunWriter& operator=(RunWriter&&) noexcept;
  RunWriter(const RunWriter&) = delete;
  RunWriter& operator=(const RunWriter&) = delete;

  // Queues one row of every observable (written and flushed on the writer thread).
  void observe(const Observables& o);
  // w and v in the run's precision, [field][replica][site] (F·B·N values each; with mpi_io
  // the sites of this rank's slab, Solver::Gather::slab); a model's biases b and velocities
  // vb are [replica][output] (empty without biases). Moved in and queued; blocks while 2
  // snapshots are in flight.
  template <class Real>
  void snapshot(std::int64_t step, double time, std::vector<Real> w, std::vector<Real> v,
                std::vector<double> b = {}, std::vector<double> vb = {});
  // Hands the caller the buffers of snapshots already written (their contents are stale,
  // their capacity kept), when there are any, for the next Solver::get_state to fill: that
  // copy then writes into memory already mapped instead of faulting in fresh pages (a few
  // ms per 4 MiB snapshot on a busy machine). Optional; w and v keep theirs when none is
  // larger.
  template <class Real>
  void reuse(std::vector<Real>& w, std::vector<Real>& v);
  // Waits until everything queued is written and flushed; rethrows a writer-thread error.
  void flush();
  // Drains the queue, stores `status` (leaving SWMR mode to do so), writes the XDMF side
  // file and closes; "complete" moves the file to path(). When the queue held an error the
  // file gets status "failed: <error>" and the error is rethrown.
  void finish(const std::string& status);
  // finish("failed: <reason>") that never throws; the file stays at partial_path().
  void fail(const std::string& reason) noexcept;
  // Closes a writer whose run never started, as the destructor does in one process: a new
  // file is removed, a resumed one kept as it was. Collective with mpi_io (where the
  // destructor cannot close).
  void close_unstarted() noexcept;
  const std::string& path() const;
  const std::string& partial_path() const;
  // The XDMF side file finish() writes ("" for a 1-D lattice).
  std::string xdmf_path() const;

 private:
  struct Impl;
  RunWriter() = default;
  std::unique_ptr<Impl> impl_;
};

}  // namespace synfield
