// The run loop (host/run.h).
#include "run.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "gd.h"
#include "initial.h"
#include "output.h"

namespace synfield {
namespace {

template <class Real>
void write_snapshot(Solver& s, RunWriter& out) {
  std::vector<Real> w, v;
  std::vector<double> b, vb;
  s.get_state(w, v);
  s.get_bias(b, vb);
  out.snapshot(s.step(), s.time(), w, v, b, vb);
}

}  // namespace

void run_gd(const Problem& p, const std::string& output, bool quiet) {
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
  // as the field solver (host/perceptron.h): a minibatch of P or more is every example
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

RunSummary run(const Problem& p, const RunOptions& opt) {
  RunSummary sum;
  sum.output = opt.output.empty() ? p.output.file : opt.output;
  // The output first: a bad path fails at once, before any set-up. It is written as
  // OUTPUT.partial and becomes OUTPUT only when complete (output.h); if the solver
  // cannot be built, the writer removes the partial file again.
  std::optional<RunWriter> out;
  try {
    out.emplace(sum.output, p, opt.backend);
  } catch (const h5::Error& e) {
    throw std::runtime_error("output file " + sum.output + ": " + e.what());
  }
  auto solver = make_solver(p, opt.backend);
  if (!opt.quiet) {
    std::fprintf(stderr, "synfield %s | backend %s", SYNFIELD_VERSION, backend_name(opt.backend));
    if (opt.backend == Backend::cpu) std::fprintf(stderr, " (OpenMP, %d threads)", omp_get_max_threads());
    std::fprintf(stderr, "\n  %s\n", describe(p).c_str());
  }
  const bool fp32 = p.dynamics.precision == Precision::float32;
  auto snapshot = [&] { fp32 ? write_snapshot<float>(*solver, *out) : write_snapshot<double>(*solver, *out); };
  auto observe = [&] {
    sum.last = solver->observe();
    out->observe(sum.last);
    if (!std::isfinite(sum.last.energy()))
      throw std::runtime_error("blow-up: the energy is not finite at step " + std::to_string(sum.last.step) +
                               " (is dt too large for the stiffest mode?)");
  };

  const auto t_start = std::chrono::steady_clock::now();
  try {
    const std::int64_t steps = p.dynamics.steps, obs = p.output.observe_every, snap = p.output.snapshot_every;
    observe();
    snapshot();
    while (solver->step() < steps) {
      const std::int64_t n = solver->step();
      std::int64_t next = std::min(steps, (n / obs + 1) * obs);
      if (snap > 0) next = std::min(next, (n / snap + 1) * snap);
      solver->advance(next - n);
      if (next % obs == 0 || next == steps) observe();
      if ((snap > 0 && next % snap == 0) || next == steps) snapshot();
    }
  } catch (const std::exception& e) {
    out->fail(e.what());
    throw std::runtime_error(std::string(e.what()) + " [partial output, status \"failed\": " + out->partial_path() +
                             (std::filesystem::exists(sum.output) ? "; " + sum.output + " left as it was" : "") + "]");
  }
  out->finish("complete");
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  if (!opt.quiet) {
    const double rate = sum.seconds > 0 ? p.dynamics.steps / sum.seconds : 0.0;
    std::fprintf(stderr, "  done: %lld steps in %.3f s (%.4g steps/s); E = %.10g, D = %.6g -> %s\n",
                 static_cast<long long>(p.dynamics.steps), sum.seconds, rate, sum.last.energy(),
                 sum.last.dissipated, sum.output.c_str());
  }
  return sum;
}

}  // namespace synfield
