// The run's HDF5 file (host/io/output.h).
#include "host/io/output.h"

#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <functional>
#include <mutex>
#include <system_error>
#include <type_traits>

#include "host/io/writer_thread.h"
#include "host/io/xdmf.h"

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

constexpr std::size_t kSnapshotsInFlight = 2;  // queued or being written
constexpr std::size_t kTasksQueued = 1024;     // observations are small
constexpr std::size_t kPooled = 4;             // written snapshot buffers kept for reuse()

}  // namespace

struct RunWriter::Impl {
  std::string path;
  h5::File file;
  bool finished = false, resumed = false;
  const Comm* mpi_io = nullptr;  // every rank writes its slab (output.h)
  Slab slab;                     // with mpi_io: this rank's rows of axis 0
  std::vector<std::string> fields;
  std::size_t block = 0;  // B·N values per field (N: this rank's sites with mpi_io)
  std::size_t bias_values = 0, test_pred_values = 0;
  h5::Series obs_step, obs_time, kinetic, potential, energy, dissipated;
  std::vector<h5::Series> mean, rms;
  h5::Series snap_step, snap_time;
  std::vector<h5::Series> snap_w, snap_v;
  std::unique_ptr<h5::Series> loss, test_loss, test_pred, snap_b, snap_vb;
  XdmfSnapshots xdmf;  // all but h5_file and times, filled by setup()
  std::unique_ptr<WriterThread> writer;
  std::exception_ptr error;  // without a writer thread: the first failed write, rethrown from then on
  // Buffers of written snapshots, kept for reuse() (at most kPooled of each precision).
  std::mutex pool_m;
  std::vector<std::vector<float>> pool_f;
  std::vector<std::vector<double>> pool_d;
  template <class Real>
  std::vector<std::vector<Real>>& pool() {
    if constexpr (std::is_same_v<Real, float>) return pool_f;
    else return pool_d;
  }
  template <class Real>
  void give_back(std::vector<Real>&& buffer) {
    std::lock_guard<std::mutex> lock(pool_m);
    if (pool<Real>().size() < kPooled) pool<Real>().push_back(std::move(buffer));
  }

  // Creates (create = true) or opens every dataset of the layout for `p`.
  void setup(const Problem& p, bool create);
  std::vector<h5::Series*> observation_series();
  std::vector<h5::Series*> snapshot_series();
  void start_writing();
  void close() noexcept;
  // Leaves SWMR mode: closes, reopens read-write, sets `status`, writes the XDMF file.
  void store_status(const std::string& status, const std::string& h5_location);
  void post(std::function<void()> task, bool heavy);
  // The rank that does what one process does alone (file names, status, XDMF).
  bool lead() const { return !mpi_io || mpi_io->rank() == 0; }
  // Flushes each dataset of a group (an error names the dataset), its step column (the
  // first) last, then the file: a SWMR reader that takes the step column's row count first
  // finds at least that many rows in every other column of the group.
  void flush(const std::vector<h5::Series*>& group) {
    for (std::size_t k = 1; k < group.size(); ++k) group[k]->flush();
    group.front()->flush();
    file.flush();
  }
};

void RunWriter::Impl::setup(const Problem& p, bool create) {
  const Lattice& lat = p.lattice;
  fields = lat.fields;
  block = static_cast<std::size_t>(lat.sites()) * lat.replicas;
  if (mpi_io) {
    slab = slab_of(lat.shape[0], mpi_io->size(), mpi_io->rank());
    block = block / lat.shape[0] * slab.count;
  }
  auto series = [&](const std::string& name, hid_t type, const std::vector<hsize_t>& inner, int deflate = 0) {
    if (create) return h5::Series(file, name, type, inner, deflate);
    if (!file.exists(name)) throw h5::Error(file.path() + ": no dataset " + name + " (not this run's file?)");
    h5::Series s = h5::Series::open(file, name);
    if (s.inner() != inner) throw h5::Error(s.name() + ": its shape does not match this run's (not this run's file?)");
    return s;
  };
  auto unique = [&](const std::string& name, hid_t type, const std::vector<hsize_t>& inner) {
    return std::make_unique<h5::Series>(series(name, type, inner));
  };
  const hid_t d = H5T_NATIVE_DOUBLE, i64 = H5T_NATIVE_INT64;
  obs_step = series("/observables/step", i64, {});
  obs_time = series("/observables/time", d, {});
  kinetic = series("/observables/kinetic", d, {});
  potential = series("/observables/potential", d, {});
  energy = series("/observables/energy", d, {});
  dissipated = series("/observables/dissipated", d, {});
  for (const auto& f : fields) {
    mean.push_back(series("/observables/mean/" + f, d, {}));
    rms.push_back(series("/observables/rms/" + f, d, {}));
  }
  snap_step = series("/snapshots/step", i64, {});
  snap_time = series("/snapshots/time", d, {});
  std::vector<hsize_t> inner{static_cast<hsize_t>(lat.replicas)};
  for (int mu = 0; mu < lat.dim; ++mu) inner.push_back(static_cast<hsize_t>(lat.shape[mu]));
  const bool fp32 = p.dynamics.precision == Precision::float32;
  const hid_t real = fp32 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
  for (const auto& f : fields) {
    snap_w.push_back(series("/snapshots/fields/" + f, real, inner, p.output.compression));
    snap_v.push_back(series("/snapshots/velocities/" + f, real, inner, p.output.compression));
  }
  if (p.model.enabled) {
    const auto B = static_cast<hsize_t>(lat.replicas), O = static_cast<hsize_t>(p.model.data.outputs);
    loss = unique("/observables/loss", d, {});
    if (p.model.data.test_samples() > 0) {
      test_loss = unique("/observables/test_loss", d, {});
      const auto Pt = static_cast<hsize_t>(p.model.data.test_samples());
      test_pred = unique("/observables/test_predictions", d, {B, Pt, O});
      test_pred_values = static_cast<std::size_t>(B * Pt * O);
    }
    if (p.model.bias) {
      snap_b = unique("/snapshots/fields/bias", d, {B, O});
      snap_vb = unique("/snapshots/velocities/bias", d, {B, O});
      bias_values = static_cast<std::size_t>(B * O);
    }
  }
  xdmf.dim = lat.dim;
  for (int mu = 0; mu < lat.dim; ++mu) xdmf.shape[mu] = lat.shape[mu];
  xdmf.spacing = lat.spacing;
  xdmf.replicas = lat.replicas;
  xdmf.precision = fp32 ? 4 : 8;
  xdmf.fields = fields;
}

std::vector<h5::Series*> RunWriter::Impl::observation_series() {
  std::vector<h5::Series*> out{&obs_step, &obs_time, &kinetic, &potential, &energy, &dissipated};
  for (auto& s : mean) out.push_back(&s);
  for (auto& s : rms) out.push_back(&s);
  for (auto* s : {&loss, &test_loss, &test_pred})
    if (*s) out.push_back(s->get());
  return out;
}

std::vector<h5::Series*> RunWriter::Impl::snapshot_series() {
  std::vector<h5::Series*> out{&snap_step, &snap_time};
  for (auto& s : snap_w) out.push_back(&s);
  for (auto& s : snap_v) out.push_back(&s);
  for (auto* s : {&snap_b, &snap_vb})
    if (*s) out.push_back(s->get());
  return out;
}

// SWMR from here on: only rows are appended, on the writer thread. With MPI-IO, on the
// caller's thread, collectively; with an HDF5 that is not thread-safe (parallel HDF5), on
// the caller's thread too.
void RunWriter::Impl::start_writing() {
  file.flush();
  if (mpi_io) return;
  file.start_swmr_write();
  if (h5::thread_safe())
    writer = std::make_unique<WriterThread>(kSnapshotsInFlight, kTasksQueued, [] { h5::quiet_this_thread(); });
}

void RunWriter::Impl::post(std::function<void()> task, bool heavy) {
  if (finished) throw h5::Error(file.path() + ": the output file is already closed");
  if (writer) {
    writer->post(std::move(task), heavy);
    return;
  }
  if (error) std::rethrow_exception(error);  // as the writer thread's error stays
  try {
    task();
  } catch (...) {
    error = std::current_exception();
    throw;
  }
}

// Datasets first: HDF5 keeps a file open while any of its objects is.
void RunWriter::Impl::close() noexcept {
  if (writer) writer->stop_nothrow();
  for (h5::Series* s : {&obs_step, &obs_time, &kinetic, &potential, &energy, &dissipated, &snap_step, &snap_time})
    *s = h5::Series();
  mean.clear();
  rms.clear();
  snap_w.clear();
  snap_v.clear();
  for (auto* s : {&loss, &test_loss, &test_pred, &snap_b, &snap_vb}) s->reset();
  file.close();
}

void RunWriter::Impl::store_status(const std::string& status, const std::string& h5_location) {
  const std::string partial = file.path();
  close();
  if (!lead()) return;
  h5::File f = h5::File::open_write(partial);
  f.set_attr("status", status);
  f.flush();
  std::vector<double> times;
  if (xdmf.dim >= 2) times = f.read("/snapshots/time");
  f.close();
  if (xdmf.dim >= 2) {
    XdmfSnapshots x = xdmf;
    x.h5_file = std::filesystem::path(h5_location).filename().string();
    x.times = std::move(times);
    write_xdmf(xdmf_path_for(path), x);
  }
}

RunWriter::RunWriter(const std::string& path, const Problem& p, Backend backend, int ranks, const Comm* mpi_io)
    : impl_(std::make_unique<Impl>()) {
  Impl& m = *impl_;
  m.path = path;
  m.mpi_io = mpi_io;
  m.file = h5::File::create(partial_path_for(path), /*swmr_ready=*/true, mpi_io);
  try {
    m.file.set_attr("format", std::string("synfield-1"));
    m.file.set_attr("version", std::string(SYNFIELD_VERSION));
    m.file.set_attr("config", p.config_text);
    m.file.set_attr("backend", std::string(backend_name(backend)));
    m.file.set_attr("ranks", static_cast<std::int64_t>(ranks));
    m.file.set_attr("io", std::string(mpi_io ? "mpi-io" : "swmr"));
    m.file.set_attr("precision", std::string(to_string(p.dynamics.precision)));
    m.file.set_attr("status", std::string("running"));
    m.setup(p, true);
    m.start_writing();
  } catch (...) {
    m.close();
    if (m.lead()) std::remove(m.file.path().c_str());
    throw;
  }
}

RunWriter RunWriter::resume(const std::string& path, const Problem& p, Backend backend, std::int64_t step,
                            int ranks, const Comm* mpi_io) {
  RunWriter w;
  w.impl_ = std::make_unique<Impl>();
  Impl& m = *w.impl_;
  m.path = path;
  m.resumed = true;
  m.mpi_io = mpi_io;
  const std::string partial = partial_path_for(path);
  std::error_code ec;
  if (!std::filesystem::exists(partial, ec))
    throw h5::Error(partial + ": no such file (nothing to resume: the interrupted run's output is missing)");
  // a writer that was killed leaves the superblock marked "open for SWMR writing"
  m.file = h5::File::open_write(partial, /*recover=*/true, mpi_io);
  try {
    std::string format;
    try {
      format = m.file.attr_string("format");
    } catch (const h5::Error&) {
    }
    if (format != "synfield-1")
      throw h5::Error(partial + ": not a synfield file (root attribute format is not \"synfield-1\")");
    std::string config;
    try {
      config = m.file.attr_string("config");
    } catch (const h5::Error&) {
      throw h5::Error(partial + ": has no stored config (not a synfield run file)");
    }
    if (config != p.config_text)
      throw h5::Error(partial + ": its stored config differs from this run's config (resume only the same run)");
    m.setup(p, false);
    // Keep the rows of steps ≤ step. Columns of a group may differ in length after a crash
    // mid-row: the shortest bounds the rows that are whole.
    auto keep_rows = [&](std::vector<h5::Series*> group, const std::string& step_dataset) {
      hsize_t n = group.front()->rows();
      for (auto* s : group) n = std::min(n, s->rows());
      const std::vector<double> steps = m.file.read(step_dataset);
      hsize_t keep = 0;
      while (keep < n && steps[keep] <= static_cast<double>(step)) ++keep;
      for (auto* s : group)
        if (s->rows() != keep) s->resize(keep);
    };
    keep_rows(m.observation_series(), "/observables/step");
    keep_rows(m.snapshot_series(), "/snapshots/step");
    m.file.set_attr("backend", std::string(backend_name(backend)));
    m.file.set_attr("ranks", static_cast<std::int64_t>(ranks));
    m.file.set_attr("io", std::string(mpi_io ? "mpi-io" : "swmr"));
    m.file.set_attr("status", std::string("running"));
    m.start_writing();
  } catch (...) {
    m.finished = true;  // leave the file as it is
    m.close();
    throw;
  }
  return w;
}

RunWriter::~RunWriter() {
  if (!impl_ || impl_->finished) return;
  if (impl_->mpi_io) {
    // closing is collective, and the other ranks are elsewhere (an error of this rank alone
    // unwinds here, and MPI_Abort follows): leave the file as its last flush did
    (void)impl_.release();
    return;
  }
  close_unstarted();
}

void RunWriter::close_unstarted() noexcept {
  if (!impl_ || impl_->finished) return;
  Impl& m = *impl_;
  m.finished = true;
  m.close();
  if (!m.resumed && m.lead()) std::remove(m.file.path().c_str());
}

RunWriter::RunWriter(RunWriter&&) noexcept = default;
RunWriter& RunWriter::operator=(RunWriter&& o) noexcept {
  if (this != &o) {
    RunWriter old(std::move(*this));  // finishes the writer held so far as its destructor does
    impl_ = std::move(o.impl_);
  }
  return *this;
}

const std::string& RunWriter::path() const { return impl_->path; }
const std::string& RunWriter::partial_path() const { return impl_->file.path(); }
std::string RunWriter::xdmf_path() const { return impl_->xdmf.dim >= 2 ? xdmf_path_for(impl_->path) : ""; }

void RunWriter::observe(const Observables& o) {
  Impl* m = impl_.get();
  if (o.mean.size() < m->fields.size() || o.rms.size() < m->fields.size())
    throw h5::Error(m->file.path() + ": observables hold fewer fields than the run");
  if (m->test_pred && o.test_predictions.size() != m->test_pred_values)
    throw h5::Error(m->file.path() + ": observables hold " + std::to_string(o.test_predictions.size()) +
                    " test predictions, expected " + std::to_string(m->test_pred_values));
  m->post(
      [m, o] {
        m->obs_step.append(&o.step);
        m->obs_time.append(&o.time);
        m->kinetic.append(&o.kinetic);
        m->potential.append(&o.potential);
        const double e = o.energy();
        m->energy.append(&e);
        m->dissipated.append(&o.dissipated);
        for (std::size_t f = 0; f < m->fields.size(); ++f) {
          m->mean[f].append(&o.mean[f]);
          m->rms[f].append(&o.rms[f]);
        }
        if (m->loss) m->loss->append(&o.loss);
        if (m->test_loss) {
          m->test_loss->append(&o.test_loss);
          m->test_pred->append(o.test_predictions.data());
        }
        m->flush(m->observation_series());
      },
      false);
}

template <class Real>
void RunWriter::snapshot(std::int64_t step, double time, std::vector<Real> w, std::vector<Real> v,
                         std::vector<double> b, std::vector<double> vb) {
  Impl* m = impl_.get();
  const std::size_t n = m->fields.size() * m->block;
  if (w.size() != n || v.size() != n)
    throw h5::Error(m->file.path() + ": snapshot of " + std::to_string(w.size()) + " values, expected " +
                    std::to_string(n));
  if (m->snap_b && (b.size() != m->bias_values || vb.size() != m->bias_values))
    throw h5::Error(m->file.path() + ": snapshot biases of " + std::to_string(b.size()) + " values, expected " +
                    std::to_string(m->bias_values));
  // The HDF5 write below runs on the writer thread and overlaps the solver's next steps.
  m->post(
      [m, step, time, w = std::move(w), v = std::move(v), b = std::move(b), vb = std::move(vb)]() mutable {
        m->snap_step.append(&step);
        m->snap_time.append(&time);
        for (std::size_t f = 0; f < m->fields.size(); ++f) {
          if (m->mpi_io) {  // this rank's rows of axis 0, the series' inner axis 1 ([B, n0, …])
            const auto first = static_cast<hsize_t>(m->slab.begin), count = static_cast<hsize_t>(m->slab.count);
            m->snap_w[f].append_part(w.data() + f * m->block, 1, first, count);
            m->snap_v[f].append_part(v.data() + f * m->block, 1, first, count);
          } else {
            m->snap_w[f].append(w.data() + f * m->block);
            m->snap_v[f].append(v.data() + f * m->block);
          }
        }
        if (m->snap_b) {
          m->snap_b->append(b.data());
          m->snap_vb->append(vb.data());
        }
        m->flush(m->snapshot_series());
        m->give_back(std::move(w));
        m->give_back(std::move(v));
      },
      true);
}

template <class Real>
void RunWriter::reuse(std::vector<Real>& w, std::vector<Real>& v) {
  Impl& m = *impl_;
  std::lock_guard<std::mutex> lock(m.pool_m);
  auto& pool = m.pool<Real>();
  for (auto* x : {&w, &v}) {
    if (pool.empty()) break;
    if (pool.back().capacity() > x->capacity()) std::swap(*x, pool.back());
    pool.pop_back();
  }
}
template void RunWriter::reuse<float>(std::vector<float>&, std::vector<float>&);
template void RunWriter::reuse<double>(std::vector<double>&, std::vector<double>&);
template void RunWriter::snapshot<float>(std::int64_t, double, std::vector<float>, std::vector<float>,
                                         std::vector<double>, std::vector<double>);
template void RunWriter::snapshot<double>(std::int64_t, double, std::vector<double>, std::vector<double>,
                                          std::vector<double>, std::vector<double>);

void RunWriter::flush() {
  Impl& m = *impl_;
  if (m.finished) throw h5::Error(m.file.path() + ": the output file is already closed");
  if (m.writer) m.writer->drain();  // without one, every write is done and flushed when its call returns
  else if (m.error) std::rethrow_exception(m.error);
}

void RunWriter::finish(const std::string& status) {
  Impl& m = *impl_;
  if (m.finished) throw h5::Error(m.file.path() + ": finish() after the file was closed");
  m.finished = true;
  const std::string partial = m.file.path();
  try {
    if (m.writer) m.writer->stop();
    else if (m.error) std::rethrow_exception(m.error);
  } catch (const std::exception& e) {
    // the queue's error: record it in the file, which stays at PATH.partial
    try {
      m.store_status(std::string("failed: ") + e.what(), partial);
    } catch (...) {
    }
    throw;
  }
  const bool complete = status == "complete";
  m.store_status(status, complete ? m.path : partial);
  if (!complete || !m.lead()) return;
  std::error_code ec;
  std::filesystem::rename(partial, m.path, ec);
  if (ec) {
    // keep the side file pointing at the data
    if (m.xdmf.dim >= 2) {
      try {
        m.store_status(status, partial);
      } catch (...) {
      }
    }
    throw h5::Error("cannot move " + partial + " to " + m.path + " (" + ec.message() +
                    "); the complete output is in " + partial);
  }
}

void RunWriter::fail(const std::string& reason) noexcept {
  if (!impl_ || impl_->finished) return;
  Impl& m = *impl_;
  m.finished = true;
  try {
    m.store_status("failed: " + reason, m.file.path());
  } catch (...) {  // the reason reaches the user through the exception anyway
  }
  m.close();
}

}  // namespace synfield
