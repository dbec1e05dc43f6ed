// The run loop (host/run/run.h).
#include "host/run/run.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <synfield/config.h>

#include "host/gd/gd.h"
#include "host/config/initial.h"
#include "host/io/output.h"
#include "host/run/progress.h"
#include "host/run/stability.h"

namespace synfield {
namespace {

// The signal that asked the run to stop (0: none). The handler only sets it.
volatile std::sig_atomic_t g_stop_signal = 0;

extern "C" void on_stop_signal(int sig) { g_stop_signal = sig; }

// Installs on_stop_signal for the stop signals while a run loops, and restores the
// previous handlers afterwards. SA_RESETHAND: a second signal takes the default action.
class StopSignals {
 public:
  static constexpr int kSignals[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
  StopSignals() {
    g_stop_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESETHAND;
    for (std::size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &sa, &old_[i]);
  }
  ~StopSignals() {
    for (std::size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &old_[i], nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

 private:
  struct sigaction old_[std::size(kSignals)];
};

const char* signal_name(int sig) {
  switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGHUP: return "SIGHUP";
    case SIGUSR1: return "SIGUSR1";
    default: return "signal";
  }
}

template <class T>
bool all_finite(const std::vector<T>& v) {
  return std::all_of(v.begin(), v.end(), [](T x) { return std::isfinite(x); });
}

bool all_finite(const Observables& o) {
  return std::isfinite(o.kinetic) && std::isfinite(o.potential) && std::isfinite(o.dissipated) &&
         all_finite(o.mean) && all_finite(o.rms) && !std::isinf(o.loss) && !std::isinf(o.test_loss);
}

// The state in the run's precision, downloaded once for a snapshot or checkpoint.
template <class Real>
struct HostState {
  std::vector<Real> w, v;
  std::vector<double> b, vb;
  bool finite() const { return all_finite(w) && all_finite(v) && all_finite(b) && all_finite(vb); }
};

// `out`, when given, lends the buffers of snapshots it has written (RunWriter::reuse), so
// the copy fills memory already mapped rather than faulting in fresh pages.
// `to`: split over ranks, rank 0 gets the whole state (a checkpoint; a snapshot rank 0
// writes alone) or each rank its slab (a snapshot written through MPI-IO).
template <class Real>
HostState<Real> download(Solver& s, Solver::Gather to, RunWriter* out) {
  HostState<Real> h;
  if (out) out->reuse(h.w, h.v);
  s.get_state(h.w, h.v, to);
  s.get_bias(h.b, h.vb);
  return h;
}

std::string shape_text(const std::vector<std::uint64_t>& s) {
  std::string t = "[";
  for (std::size_t i = 0; i < s.size(); ++i) t += (i ? ", " : "") + std::to_string(s[i]);
  return t + "]";
}

// The first line where two texts differ, for "checkpoint from another config".
std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ga = static_cast<bool>(std::getline(sa, la)), gb = static_cast<bool>(std::getline(sb, lb));
    if (!ga && !gb) return "";
    if (!ga) la = "(end)";
    if (!gb) lb = "(end)";
    if (!ga || !gb || la != lb) return "line " + std::to_string(line) + ": \"" + la + "\" vs \"" + lb + "\"";
  }
}

}  // namespace

GdOptions gd_options(const Problem& p) {
  if (!p.model.enabled) throw std::runtime_error("synfield gd needs a [model] in the config");
  if (!p.terms.empty())
    throw std::runtime_error("synfield gd trains the bare network: the config's [[potential]] terms have no "
                             "gradient-descent counterpart");
  if (p.model.replica_data != Model::ReplicaData::shared)
    throw std::runtime_error("synfield gd trains every replica on the same examples ([model].replica_data = "
                             "\"shared\")");
  const Dynamics& d = p.dynamics;
  GdOptions opt;
  if (d.equation == Equation::gradient_flow && d.integrator == Integrator::euler) {
    match_gradient_flow(opt, d.dt, d.eta, p.lattice.mu());
  } else if (d.equation == Equation::damped && d.integrator == Integrator::leapfrog &&
             d.damping.kind == Damping::Kind::constant) {
    match_damped_leapfrog(opt, d.dt, d.damping.gamma, p.lattice.mu());
  } else {
    throw std::runtime_error(std::string("synfield gd has no counterpart of ") + to_string(d.equation) + " with " +
                             to_string(d.integrator) +
                             (d.damping.kind == Damping::Kind::expansion ? " and a time-dependent γ" : "") +
                             ": use gradient_flow + euler (plain GD) or damped + leapfrog with constant friction "
                             "(heavy-ball momentum)");
  }
  opt.steps = d.steps;
  // as the field solver (host/model/perceptron.h): a minibatch of P or more is every example
  opt.minibatch = p.model.minibatch < p.model.data.samples() ? p.model.minibatch : 0;
  opt.seed = p.model.seed;
  opt.bias = p.model.bias;
  opt.scale = p.model.scale;
  opt.replicas = p.lattice.replicas;
  std::vector<double> pi;
  initial_state(p, opt.W0, pi);
  // heavy ball starts from rest (v₋₁ = 0 ⇔ π₀ = 0): an initial velocity has no counterpart
  if (d.equation == Equation::damped && std::any_of(pi.begin(), pi.end(), [](double v) { return v != 0.0; }))
    throw std::runtime_error("synfield gd starts the heavy ball from rest: the config's [initial.<field>].velocity "
                             "must be zero");
  opt.observe_every = p.output.observe_every;
  opt.field_names = p.lattice.fields;  // as the field solver's file names them
  return opt;
}

void run_gd(const Problem& p, const std::string& output, bool quiet) {
  GdOptions opt = gd_options(p);
  opt.snapshot_every = p.output.snapshot_every;
  opt.output = output;
  if (!quiet)
    std::fprintf(stderr, "synfield %s | gd reference (CPU BLAS) | lr %.6g, momentum %.6g, first lr %.6g | %lld steps\n",
                 SYNFIELD_VERSION, opt.lr, opt.momentum, opt.first_lr.value_or(opt.lr),
                 static_cast<long long>(opt.steps));
  const auto t0 = std::chrono::steady_clock::now();
  const GdResult r = train_gd(p.model.data, opt);
  const double sec = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (!quiet)
    std::fprintf(stderr, "  done: %lld steps in %.3f s (%.4g steps/s); loss = %.10g -> %s\n",
                 static_cast<long long>(opt.steps), sec, sec > 0 ? opt.steps / sec : 0.0,
                 r.loss.empty() ? 0.0 : r.loss.back(), output.c_str());
}

std::string describe(const Problem& p) {
  const Lattice& l = p.lattice;
  std::ostringstream os;
  os << "lattice [";
  for (int mu = 0; mu < l.dim; ++mu) os << (mu ? ", " : "") << l.shape[mu];
  os << "] a=" << l.spacing << " " << to_string(l.boundary[0]) << ", " << l.fields.size() << " field(s) x "
     << l.replicas << " replica(s), " << to_string(l.units) << " units; " << to_string(p.dynamics.equation) << " "
     << to_string(p.dynamics.integrator) << " dt=" << p.dynamics.dt << " steps=" << p.dynamics.steps << " "
     << to_string(p.dynamics.precision);
  return os.str();
}


namespace {

// The runaway rule. Without negative friction the energy E = K + V of the damped equation
// can only decrease (dE/dt = −γ Σ μπ² ≤ 0, up to the integrator's error) and the gradient
// flow's V likewise (dV/dt = −η Σ μ F² ≤ 0); minibatch (SGD) sources change every step, so
// E is the full-data cost plus K and can rise by the sampling noise, but not by orders of
// magnitude. A run whose E exceeds its first observed E₀ by more than 1e6·(K₀ + |V₀|) has
// blown up numerically (a legitimate instability — a potential unbounded below — lowers E,
// it does not raise it). When K₀ + |V₀| = 0 (zero initial state), the first observation
// where it is non-zero is the reference. With negative friction (hubble < 0, expansion
// p < 0) E may grow physically and only non-finite values count.
constexpr double kRunawayFactor = 1e6;

bool energy_cannot_grow(const Dynamics& d) {
  if (d.equation == Equation::gradient_flow) return d.eta >= 0;
  return d.damping.kind == Damping::Kind::constant ? d.damping.gamma >= 0 : d.damping.p >= 0;
}

template <class Real>
void fill_state(Checkpoint& c, HostState<Real>& h, bool flow) {
  if (flow) {  // the "velocity" of the flow is ηF, a function of w: store π = 0
    std::fill(h.v.begin(), h.v.end(), Real(0));
    std::fill(h.vb.begin(), h.vb.end(), 0.0);
  }
  if constexpr (sizeof(Real) == sizeof(float)) {
    c.w32 = std::move(h.w);
    c.pi32 = std::move(h.v);
  } else {
    c.w64 = std::move(h.w);
    c.pi64 = std::move(h.v);
  }
  c.bias = std::move(h.b);
  c.bias_velocity = std::move(h.vb);
}

std::vector<std::uint64_t> state_shape(const Problem& p) {
  std::vector<std::uint64_t> s{p.lattice.fields.size(), static_cast<std::uint64_t>(p.lattice.replicas)};
  for (int mu = 0; mu < p.lattice.dim; ++mu) s.push_back(static_cast<std::uint64_t>(p.lattice.shape[mu]));
  return s;
}

// Sets the solver to the checkpoint's state and clock (CheckpointError when it does not fit).
void restore(Solver& s, const Problem& p, const Checkpoint& c, const std::string& path) {
  if (c.shape != state_shape(p))
    throw CheckpointError("checkpoint " + path + ": its state has shape " + shape_text(c.shape) + ", the config's " +
                          shape_text(state_shape(p)));
  if (c.precision != p.dynamics.precision)
    throw CheckpointError("checkpoint " + path + ": precision " + to_string(c.precision) + ", the config's " +
                          to_string(p.dynamics.precision));
  const bool fp32 = c.precision == Precision::float32;
  const std::vector<double> w = fp32 ? std::vector<double>(c.w32.begin(), c.w32.end()) : c.w64;
  const std::vector<double> pi = fp32 ? std::vector<double>(c.pi32.begin(), c.pi32.end()) : c.pi64;
  s.set_state(w, pi);
  std::vector<double> b, vb;
  s.get_bias(b, vb);
  if (b.size() != c.bias.size())
    throw CheckpointError("checkpoint " + path + ": it holds " + std::to_string(c.bias.size()) +
                          " biases, the config's model " + std::to_string(b.size()));
  s.set_bias(c.bias, c.bias_velocity);
  s.set_clock(c.step, c.time, c.dissipated);
}

}  // namespace

Resume load_resume(const std::string& checkpoint, const std::string& config, const std::vector<std::string>& sets) {
  Resume r;
  r.checkpoint = read_checkpoint(checkpoint);
  const Checkpoint& c = r.checkpoint;
  const std::string origin = c.config_file.empty() ? "" : " (from " + c.config_file + ")";
  Problem base;
  try {
    base = parse_config(c.config);
  } catch (const ConfigError& e) {
    throw CheckpointError("checkpoint " + checkpoint + ": its stored config no longer loads" + origin + ": " +
                          e.what());
  }
  if (!config.empty()) {
    r.problem = load_config(config, sets);
    if (r.problem.config_text != c.config && r.problem.config_text != base.config_text)
      throw CheckpointError("checkpoint from another config: " + checkpoint + " was written by a run of " +
                               (c.config_file.empty() ? "another config" : c.config_file) + ", and " + config +
                               " resolves to a different config (first difference, " + config + " vs checkpoint: " +
                               first_difference(r.problem.config_text, c.config) +
                               "); resume without CONFIG to use the checkpoint's own config");
  } else if (!sets.empty()) {
    r.problem = parse_config(c.config, sets);
    if (r.problem.config_text != base.config_text)
      throw CheckpointError("checkpoint " + checkpoint + ": --set/-o would change the checkpoint's config (" +
                               first_difference(r.problem.config_text, base.config_text) +
                               "); a run resumes with the config it started with");
  } else {
    r.problem = std::move(base);
  }
  r.problem.config_text = c.config;  // the text the output file stores (RunWriter::resume checks it)
  if (initial_seeds(r.problem) != c.initial_seeds || r.problem.model.seed != c.model_seed)
    throw CheckpointError("checkpoint " + checkpoint + ": its seeds (initial data, minibatch sampler) differ from "
                          "its config's");
  if (c.step < 0 || c.step > r.problem.dynamics.steps || c.steps != r.problem.dynamics.steps)
    throw CheckpointError("checkpoint " + checkpoint + ": step " + std::to_string(c.step) + " of " +
                          std::to_string(c.steps) + " does not fit its config's " +
                          std::to_string(r.problem.dynamics.steps) + " steps");
  // the state must fit the config's lattice and model (checked before the output is opened)
  if (c.shape != state_shape(r.problem))
    throw CheckpointError("checkpoint " + checkpoint + ": its state has shape " + shape_text(c.shape) +
                          ", its config's lattice " + shape_text(state_shape(r.problem)));
  const std::size_t biases = r.problem.model.enabled && r.problem.model.bias
                                 ? static_cast<std::size_t>(r.problem.lattice.replicas) * r.problem.lattice.fields.size()
                                 : 0;
  if (c.bias.size() != biases || c.bias_velocity.size() != biases)
    throw CheckpointError("checkpoint " + checkpoint + ": it holds " + std::to_string(c.bias.size()) +
                          " biases, its config's model " + std::to_string(biases));
  r.problem.output.file = c.output;
  r.problem.output.checkpoint = checkpoint;
  return r;
}

RunSummary run(const Problem& p, const RunOptions& opt) {
  namespace fs = std::filesystem;
  RunSummary sum;
  sum.output = opt.output.empty() ? p.output.file : opt.output;
  sum.checkpoint = opt.checkpoint.empty() ? p.output.checkpoint : opt.checkpoint;
  // an output chosen by the caller (opt.output, e.g. a sweep's point) gets its own default
  // checkpoint name, so that runs into different files never share a checkpoint
  auto default_checkpoint = [](const std::string& file) {
    const bool h5 = file.size() > 3 && file.compare(file.size() - 3, 3, ".h5") == 0;
    return (h5 ? file.substr(0, file.size() - 3) : file) + ".ckpt.h5";
  };
  if (opt.checkpoint.empty() && sum.output != p.output.file &&
      p.output.checkpoint == default_checkpoint(p.output.file))
    sum.checkpoint = default_checkpoint(sum.output);
  const Checkpoint* resume = opt.resume;
  // The output first: a bad path fails at once, before any set-up. It is written as
  // OUTPUT.partial and becomes OUTPUT only when complete (output.h); if the solver
  // cannot be built, the writer removes the partial file again (a resumed one stays).
  // Split over ranks, every rank writes its slab through MPI-IO (parallel HDF5), or rank 0
  // alone writes what it gathers (output.h).
  const bool lead = !opt.comm || opt.comm->rank() == 0;
  const Comm* mpi_io = opt.comm && opt.comm->size() > 1 && p.output.mpi_io && h5::parallel_io() &&
                               opt.comm->mpi_comm()
                           ? opt.comm
                           : nullptr;
  std::optional<RunWriter> out;
  try {
    const int ranks = opt.comm ? opt.comm->size() : 1;
    if ((lead || mpi_io) && resume)
      out.emplace(RunWriter::resume(sum.output, p, opt.backend, resume->step, ranks, mpi_io));
    else if (lead || mpi_io)
      out.emplace(sum.output, p, opt.backend, ranks, mpi_io);
  } catch (const h5::Error& e) {
    throw std::runtime_error("output file " + sum.output + ": " + e.what());
  }
  // The set-up (no exchanges between ranks). Its errors (a path, a lattice too small for the
  // ranks, the data) are alike on every rank: the ranks agree that it failed, the new file is
  // closed and removed (with MPI-IO by all ranks together: one rank cannot), and only then
  // does any rank go on to end the job (MPI_Abort, host/cli/main.cpp), which would otherwise
  // kill rank 0 before it removed the file.
  std::unique_ptr<Solver> solver;
  std::exception_ptr failed;
  try {
    // a checkpoint that could never be written fails now, not after hours of steps (the
    // output's own errors first; a new partial output is removed again)
    const fs::path dir = fs::path(sum.checkpoint).parent_path();
    std::error_code ec;
    if (!dir.empty() && !fs::is_directory(dir, ec))
      throw std::runtime_error("checkpoint file " + sum.checkpoint + ": folder " + dir.string() + " does not exist");
    if (fs::is_directory(sum.checkpoint, ec))
      throw std::runtime_error("checkpoint file " + sum.checkpoint + ": it is a folder");
    solver = make_solver(p, opt.backend, opt.comm);
    if (resume) restore(*solver, p, *resume, sum.checkpoint);
  } catch (...) {
    failed = std::current_exception();
  }
  if (max_over(opt.comm, failed != nullptr)) {
    if (out) out->close_unstarted();
    max_over(opt.comm, 0);  // every rank past the removal
    if (failed) std::rethrow_exception(failed);
    throw std::runtime_error("the run's set-up failed on another MPI rank (see its message)");
  }
  const Dynamics& dyn = p.dynamics;
  const bool fp32 = dyn.precision == Precision::float32, flow = dyn.equation == Equation::gradient_flow;
  if (!opt.quiet) {
    std::fprintf(stderr, "synfield %s | backend %s", SYNFIELD_VERSION, backend_name(opt.backend));
    if (opt.backend == Backend::cpu) std::fprintf(stderr, " (OpenMP, %d threads)", omp_get_max_threads());
    if (opt.comm) {
      const int n0 = p.lattice.shape[0], R = opt.comm->size();
      const int most = slab_of(n0, R, 0).count, least = slab_of(n0, R, R - 1).count;
      std::fprintf(stderr, " x %d MPI ranks (slabs of %s rows of axis 0; output %s)", R,
                   (most == least ? std::to_string(most) : std::to_string(least) + "-" + std::to_string(most)).c_str(),
                   mpi_io ? "through MPI-IO" : "written by rank 0");
    }
    std::fprintf(stderr, "\n  %s\n", describe(p).c_str());
    if (resume)
      std::fprintf(stderr, "  resuming from %s at step %lld\n", sum.checkpoint.c_str(),
                   static_cast<long long>(resume->step));
  }

  const StopSignals signals;  // from here on SIGTERM/SIGINT stop the run at a boundary
  std::optional<StabilityEstimate> est;
  if (opt.check_dt && dyn.steps > solver->step()) {
    est = estimate_stability(*solver, p);
    if (!opt.quiet)
      std::fprintf(stderr, "  dt check: lambda_max ~ %.6g (%d Jacobian products%s) -> stable for dt < %.6g (%s)\n",
                   est->lambda, est->iterations, est->converged ? "" : ", not converged: a lower bound",
                   est->dt_max, to_string(dyn.integrator));
    if (dyn.dt > est->dt_max && lead)
      std::fprintf(stderr,
                   "synfield: warning: dt = %g is above the estimated stability limit %.6g of %s (largest "
                   "curvature lambda_max ~ %.6g of -dF/dw): expect a blow-up; reduce dt\n",
                   dyn.dt, est->dt_max, to_string(dyn.integrator), est->lambda);
  }

  // --- the checks and writes of one boundary -------------------------------------------
  const bool runaway_rule = energy_cannot_grow(dyn);
  bool have_ref = resume && std::isfinite(resume->scale_ref) && resume->scale_ref > 0;
  double e_ref = have_ref ? resume->energy_ref : 0.0, s_ref = have_ref ? resume->scale_ref : 0.0;
  std::int64_t last_snapshot = -1, last_checkpoint = -1;
  auto cause = [&]() -> std::string {
    char buf[512];
    if (est && dyn.dt > est->dt_max)
      std::snprintf(buf, sizeof buf, "dt = %g is above the estimated stability limit %.6g of %s (lambda_max ~ %.6g): "
                    "reduce dt", dyn.dt, est->dt_max, to_string(dyn.integrator), est->lambda);
    else if (est)
      std::snprintf(buf, sizeof buf, "dt = %g is below the stability limit %.6g estimated at the start, so a "
                    "nonlinear term likely drove the field into a stiffer regime, or the potential is unbounded "
                    "below: check the potential, or reduce dt", dyn.dt, est->dt_max);
    else
      std::snprintf(buf, sizeof buf, "dt = %g is likely too large for the stiffest mode (the dt check was skipped)",
                    dyn.dt);
    return buf;
  };
  auto blow_up = [&](std::int64_t step, const std::string& what) {
    throw BlowUp("blow-up at step " + std::to_string(step) + ": " + what + "; likely cause: " + cause());
  };
  auto observe = [&] {
    Observables o = solver->observe();
    if (!all_finite(o)) blow_up(o.step, "the observables are not finite (energy " + std::to_string(o.energy()) + ")");
    const double scale = o.kinetic + std::fabs(o.potential);
    if (!have_ref && scale > 0) {
      have_ref = true;
      e_ref = o.energy();
      s_ref = scale;
    }
    const bool runaway = runaway_rule && have_ref && o.energy() - e_ref > kRunawayFactor * s_ref;
    if (out) out->observe(o);  // a runaway row is finite: it stays in the file as evidence
    sum.last = std::move(o);
    if (runaway) {
      char buf[256];
      std::snprintf(buf, sizeof buf, "runaway energy: E = %.6g rose from %.6g by more than %g x (K0 + |V0|) = %.6g",
                    sum.last.energy(), e_ref, kRunawayFactor, kRunawayFactor * s_ref);
      blow_up(sum.last.step, buf);
    }
  };
  // A checkpoint of state h (moved from) at the solver's step.
  auto checkpoint = [&](auto& h) {
    Checkpoint c;
    fill_state(c, h, flow);
    c.config = p.config_text;
    c.config_file = opt.config_file;
    std::error_code ec;
    const fs::path abs = fs::absolute(sum.output, ec);
    c.output = ec ? sum.output : abs.lexically_normal().string();
    c.backend = backend_name(opt.backend);
    c.precision = dyn.precision;
    c.threads = omp_get_max_threads();
    c.step = solver->step();
    c.steps = dyn.steps;
    c.time = solver->time();
    c.dissipated = solver->dissipated();
    c.model_seed = p.model.seed;
    c.initial_seeds = initial_seeds(p);
    c.shape = state_shape(p);
    if (!c.bias.empty()) c.bias_shape = {static_cast<std::uint64_t>(p.lattice.replicas), p.lattice.fields.size()};
    c.energy_ref = have_ref ? e_ref : std::nan("");
    c.scale_ref = have_ref ? s_ref : std::nan("");
    if (lead) {
      out->flush();  // the rows up to this step are on disk before a checkpoint names it
      write_checkpoint(sum.checkpoint, c);
    }
    last_checkpoint = c.step;
  };
  // A snapshot and/or a checkpoint at this boundary. A checkpoint takes the whole state on
  // rank 0, and so does a snapshot unless it is written through MPI-IO (each rank its slab):
  // a boundary that is both downloads once then (the checkpoint takes a host copy), else twice.
  auto save = [&](bool snap, bool ck) {
    auto go = [&](auto h, bool to_snapshot, bool to_checkpoint) {
      // split: rank 0 has the fields (or each rank its slab) and tells the others
      if (max_over(opt.comm, !h.finite())) blow_up(solver->step(), "the fields are not finite");
      std::optional<decltype(h)> kept;
      if (to_snapshot && to_checkpoint) kept = h;
      if (to_snapshot) {
        if (out)
          out->snapshot(solver->step(), solver->time(), std::move(h.w), std::move(h.v), std::move(h.b), std::move(h.vb));
        last_snapshot = solver->step();
      }
      if (to_checkpoint) checkpoint(kept ? *kept : h);
    };
    auto take = [&](Solver::Gather to, bool to_snapshot, bool to_checkpoint) {
      RunWriter* lend = out && to_snapshot ? &*out : nullptr;
      fp32 ? go(download<float>(*solver, to, lend), to_snapshot, to_checkpoint)
           : go(download<double>(*solver, to, lend), to_snapshot, to_checkpoint);
    };
    const Solver::Gather snap_to = mpi_io ? Solver::Gather::slab : Solver::Gather::root;
    const bool one = snap && ck && snap_to == Solver::Gather::root;  // one download serves both
    if (snap) take(snap_to, true, one);
    if (ck && !one) take(Solver::Gather::root, false, true);
  };

  const auto t_start = std::chrono::steady_clock::now();
  const std::int64_t first = solver->step();
  try {
    const std::int64_t steps = dyn.steps, obs = p.output.observe_every, snap = p.output.snapshot_every,
                       ck = p.output.checkpoint_every;
    Progress progress(first, steps, opt.quiet);
    if (!resume) {  // a resumed run's rows at its checkpoint's step are in the file already
      observe();
      save(true, false);
    }
    while (solver->step() < steps) {
      // a signal stops every rank at the same boundary (mpirun forwards it to all of them)
      if (const int sig = max_over(opt.comm, g_stop_signal)) {
        sum.signal = sig;
        break;
      }
      const std::int64_t n = solver->step();
      std::int64_t next = std::min(steps, (n / obs + 1) * obs);
      if (snap > 0) next = std::min(next, (n / snap + 1) * snap);
      if (ck > 0) next = std::min(next, (n / ck + 1) * ck);
      solver->advance(next - n);
      if (next % obs == 0 || next == steps) observe();
      save((snap > 0 && next % snap == 0) || next == steps, ck > 0 && next % ck == 0 && next < steps);
      progress.update(next, sum.last.energy());
    }
    progress.done();
    sum.step = solver->step();
    if (sum.signal) {
      save(false, true);
      if (out)
        out->finish("interrupted at step " + std::to_string(sum.step) + " (signal " + signal_name(sum.signal) +
                  "); resume with: synfield run --resume " + sum.checkpoint);
    }
  } catch (const BlowUp& e) {
    if (out) out->fail(e.what());  // every rank sees the blow-up: with MPI-IO all of them close
    if (!lead) throw;
    std::string where = "; partial output, status \"failed\": " + out->partial_path();
    where += last_snapshot >= 0 ? ", last good snapshot at step " + std::to_string(last_snapshot) : "";
    where += last_checkpoint >= 0 ? "; last good checkpoint " + sum.checkpoint + " at step " +
                                        std::to_string(last_checkpoint)
                                  : "; no checkpoint written by this run";
    if (fs::exists(sum.output)) where += "; " + sum.output + " left as it was";
    throw BlowUp(std::string(e.what()) + where);
  } catch (const std::exception& e) {
    // perhaps this rank's alone (MPI_Abort follows): an MPI-IO file cannot be closed then
    if (!lead || mpi_io) throw;
    out->fail(e.what());
    throw std::runtime_error(std::string(e.what()) + " [partial output, status \"failed\": " + out->partial_path() +
                             (std::filesystem::exists(sum.output) ? "; " + sum.output + " left as it was" : "") + "]");
  }
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  const double rate = sum.seconds > 0 ? (sum.step - first) / sum.seconds : 0.0;
  if (out && !sum.signal) out->finish("complete");
  if (!lead) return sum;
  if (sum.signal) {
    std::fprintf(stderr,
                 "synfield: %s: stopped at step %lld of %lld; checkpoint %s, partial output %s; resume with: "
                 "synfield run --resume %s\n",
                 signal_name(sum.signal), static_cast<long long>(sum.step), static_cast<long long>(dyn.steps),
                 sum.checkpoint.c_str(), out->partial_path().c_str(), sum.checkpoint.c_str());
    return sum;
  }
  // the run is complete: its checkpoint would only be stale
  std::error_code ec;
  fs::remove(sum.checkpoint, ec);
  if (!opt.quiet)
    std::fprintf(stderr, "  done: %lld steps in %.3f s (%.4g steps/s); E = %.10g, D = %.6g -> %s\n",
                 static_cast<long long>(sum.step - first), sum.seconds, rate, sum.last.energy(),
                 sum.last.dissipated, sum.output.c_str());
  return sum;
}

}  // namespace synfield
