// `synfield bench` (host/sweep/bench.h): the field solver against the gradient-descent reference.
#include "host/sweep/bench.h"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <memory>
#include <optional>
#include <sstream>
#include <stdexcept>

#include <synfield/blas.h>
#include <synfield/solver.h>

#include "host/util/stream_triad.h"
#include "host/gd/gd.h"
#include "host/run/run.h"

namespace synfield::bench {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double now() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

std::int64_t step_samples(const Problem& p) {
  const Model& m = p.model;
  std::int64_t P = m.data.samples();
  if (m.minibatch > 0 && m.minibatch < P) P = m.minibatch;
  if (m.replica_data != Model::ReplicaData::shared) P *= p.lattice.replicas;
  return P;
}

}  // namespace

double cpu_dgemm_flops(int n, int reps) {
  std::vector<double> A(static_cast<std::size_t>(n) * n, 1.0), B(A.size(), 0.5), C(A.size(), 0.0);
  double best = 1e300;
  for (int r = 0; r <= reps; ++r) {  // r = 0 warms up
    const double t0 = now();
    blas::gemm(blas::Trans::no, blas::Trans::no, n, n, n, 1.0, A.data(), n, B.data(), n, 0.0, C.data(), n);
    if (r > 0) best = std::min(best, now() - t0);
  }
  return 2.0 * n * static_cast<double>(n) * n / best;
}

Ceilings measure_ceilings(long triad_elements, int dgemm_n, bool device) {
  Ceilings c;
  c.triad_elements = triad_elements;
  c.dgemm_n = dgemm_n;
  c.threads = omp_get_max_threads();
  c.cpu_triad = cpu_stream_triad(triad_elements, 5).bytes_per_second;
  c.cpu_dgemm = cpu_dgemm_flops(dgemm_n, 3);
#if defined(SYNFIELD_HAVE_CUDA)
  if (device && cuda_device_count() > 0) c.device_triad = cuda_stream_triad(triad_elements, 5).bytes_per_second;
#else
  (void)device;
#endif
  return c;
}

Work field_work(const Problem& p) {
  const double R = p.dynamics.precision == Precision::float32 ? 4 : 8;
  const double N = static_cast<double>(p.lattice.sites());
  const double FB = static_cast<double>(p.lattice.fields.size()) * p.lattice.replicas;
  Work w;
  if (!p.terms.empty() || !p.model.enabled)
    w.bytes += (p.dynamics.equation == Equation::damped ? 4 : 2) * FB * N * R;
  if (p.model.enabled) {
    const double M = static_cast<double>(p.model.data.outputs) * p.lattice.replicas;
    if (p.model.coupling == Model::Coupling::dense) {
      w.bytes += R * N * N;
      w.flops += 2 * M * N * N;
    } else {
      const double Ps = static_cast<double>(step_samples(p));
      w.bytes += R * (2 * Ps * N + 2 * FB * N);
      w.flops += 4 * Ps * N * M;
    }
  }
  return w;
}

Work gd_work(const Problem& p) {
  Work w;
  if (!p.model.enabled) return w;
  const double N = static_cast<double>(p.lattice.sites());
  const double FB = static_cast<double>(p.lattice.fields.size()) * p.lattice.replicas;
  const double M = static_cast<double>(p.model.data.outputs) * p.lattice.replicas;
  const double Ps = static_cast<double>(step_samples(p));
  w.bytes = 8 * (2 * Ps * N + 2 * FB * N);
  w.flops = 4 * Ps * N * M;
  return w;
}

Result run_bench(const Problem& p, Backend backend, const Ceilings& c) {
  Result r;
  r.backend = backend;
  r.steps = p.dynamics.steps;
  r.ceilings = c;
  r.field_work = field_work(p);
  r.gd_work = gd_work(p);
  {
    auto solver = make_solver(p, backend);
    const std::int64_t steps = p.dynamics.steps, obs = p.output.observe_every;
    const double t0 = now();
    auto observe = [&] {
      const Observables o = solver->observe();
      r.field.steps.push_back(o.step);
      r.field.loss.push_back(o.loss);
    };
    observe();
    while (solver->step() < steps) {
      const std::int64_t n = solver->step(), next = std::min(steps, (n / obs + 1) * obs);
      solver->advance(next - n);
      observe();
    }
    r.field.seconds = now() - t0;
    r.field.ran = true;
  }
  std::optional<GdOptions> opt;
  try {
    opt = gd_options(p);
  } catch (const std::runtime_error& e) {
    r.gd.note = e.what();
  }
  if (opt) {
    const double t0 = now();
    const GdResult g = train_gd(p.model.data, *opt);
    r.gd.seconds = now() - t0;
    r.gd.ran = true;
    r.gd.steps = g.steps;
    r.gd.loss = g.loss;
  }
  r.max_rel_diff = kNaN;
  if (r.gd.ran) {
    double worst = 0;
    for (std::size_t i = 0, j = 0; i < r.field.steps.size() && j < r.gd.steps.size();) {
      if (r.field.steps[i] < r.gd.steps[j]) ++i;
      else if (r.field.steps[i] > r.gd.steps[j]) ++j;
      else {
        const double a = r.field.loss[i], b = r.gd.loss[j], scale = std::max(std::abs(a), std::abs(b));
        const double d = scale > 0 ? std::abs(a - b) / scale : (a == b ? 0.0 : kNaN);
        worst = std::isnan(d) || std::isnan(worst) ? kNaN : std::max(worst, d);
        ++r.common, ++i, ++j;
      }
    }
    if (r.common > 0) r.max_rel_diff = worst;
  }
  return r;
}

namespace {

struct Rates {
  double s_per_step, bytes_s, triad_ratio, flops_s, dgemm_ratio;
};

Rates rates(const Result& r, const Side& s, const Work& w, bool device) {
  Rates x;
  x.s_per_step = r.seconds_per_step(s);
  const double triad = device ? r.ceilings.device_triad : r.ceilings.cpu_triad;
  x.bytes_s = x.s_per_step > 0 ? w.bytes / x.s_per_step : kNaN;
  x.flops_s = x.s_per_step > 0 ? w.flops / x.s_per_step : kNaN;
  x.triad_ratio = triad > 0 ? x.bytes_s / triad : kNaN;
  x.dgemm_ratio = !device && r.ceilings.cpu_dgemm > 0 ? x.flops_s / r.ceilings.cpu_dgemm : kNaN;
  return x;
}

const char* coupling_name(const Problem& p) {
  if (!p.model.enabled) return "local";
  return p.model.coupling == Model::Coupling::dense ? "dense" : "factored";
}

}  // namespace

void print(const Result& r, const Problem& p, double rtol, std::ostream& os) {
  const bool dev = r.backend == Backend::cuda;
  char line[512];
  std::snprintf(line, sizeof line,
                "problem: %s, N = %lld sites, fields x replicas = %zu x %d, P = %lld, %s, %s %s, %lld steps, "
                "observed every %lld\n",
                coupling_name(p), static_cast<long long>(p.lattice.sites()), p.lattice.fields.size(), p.lattice.replicas,
                static_cast<long long>(p.model.enabled ? p.model.data.samples() : 0), to_string(p.dynamics.precision),
                to_string(p.dynamics.equation), to_string(p.dynamics.integrator), static_cast<long long>(r.steps),
                static_cast<long long>(p.output.observe_every));
  os << line;
  std::snprintf(line, sizeof line, "ceilings: STREAM triad %.1f GB/s (cpu, %d threads, %ld doubles/array)", 1e-9 * r.ceilings.cpu_triad,
                r.ceilings.threads, r.ceilings.triad_elements);
  os << line;
  if (r.ceilings.device_triad > 0) {
    std::snprintf(line, sizeof line, ", %.1f GB/s (cuda)", 1e-9 * r.ceilings.device_triad);
    os << line;
  }
  std::snprintf(line, sizeof line, "; DGEMM %.1f GFLOP/s (cpu, n = %d)\n", 1e-9 * r.ceilings.cpu_dgemm, r.ceilings.dgemm_n);
  os << line;
  std::snprintf(line, sizeof line, "%-22s %14s %10s %9s %10s %9s\n", "", "time/step", "GB/s", "of triad", "GFLOP/s",
                "of DGEMM");
  os << line;
  auto row = [&](const char* name, const Side& s, const Work& w, bool device) {
    if (!s.ran) {
      os << name << "  not run: " << s.note << "\n";
      return;
    }
    const Rates x = rates(r, s, w, device);
    std::snprintf(line, sizeof line, "%-22s %11.4g ms %10.3g %8.1f%% %10.3g %8.1f%%\n", name, 1e3 * x.s_per_step,
                  1e-9 * x.bytes_s, 100 * x.triad_ratio, 1e-9 * x.flops_s, 100 * x.dgemm_ratio);
    os << line;
  };
  row(dev ? "field solver (cuda)" : "field solver (cpu)", r.field, r.field_work, dev);
  row("gd reference (cpu)", r.gd, r.gd_work, false);
  if (r.gd.ran && r.field.seconds > 0) {
    std::snprintf(line, sizeof line, "speed-up (gd time / field time): %.3gx\n", r.gd.seconds / r.field.seconds);
    os << line;
    std::snprintf(line, sizeof line,
                  "loss agreement: max relative difference %.3g over %zu common observed steps (tolerance %.3g): %s\n",
                  r.max_rel_diff, r.common, rtol,
                  r.common > 0 && r.max_rel_diff <= rtol ? "agree" : "DIFFERENT");
    os << line;
  }
}

std::string csv_row(const Result& r, const Problem& p, const std::string& label, bool header) {
  std::ostringstream os;
  if (header)
    os << "label,backend,coupling,precision,sites,samples,M,steps,field_ms,gd_ms,speedup,max_rel_diff,"
          "field_GBps,field_of_triad,field_GFLOPs,field_of_dgemm,gd_GBps,gd_of_triad,gd_GFLOPs,gd_of_dgemm,"
          "triad_GBps,device_triad_GBps,dgemm_GFLOPs\n";
  const bool dev = r.backend == Backend::cuda;
  const Rates f = rates(r, r.field, r.field_work, dev);
  const Rates g = r.gd.ran ? rates(r, r.gd, r.gd_work, false) : Rates{kNaN, kNaN, kNaN, kNaN, kNaN};
  const long long M = p.model.enabled ? static_cast<long long>(p.model.data.outputs) * p.lattice.replicas : 0;
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "%s,%s,%s,%s,%lld,%lld,%lld,%lld,%.6g,%.6g,%.4g,%.3g,%.4g,%.4g,%.4g,%.4g,%.4g,%.4g,%.4g,%.4g,%.4g,%.4g,%.4g\n",
                label.c_str(), backend_name(r.backend), coupling_name(p), to_string(p.dynamics.precision),
                static_cast<long long>(p.lattice.sites()),
                static_cast<long long>(p.model.enabled ? p.model.data.samples() : 0), M,
                static_cast<long long>(r.steps), 1e3 * f.s_per_step, 1e3 * g.s_per_step,
                r.gd.ran ? r.gd.seconds / r.field.seconds : kNaN, r.max_rel_diff, 1e-9 * f.bytes_s, f.triad_ratio,
                1e-9 * f.flops_s, f.dgemm_ratio, 1e-9 * g.bytes_s, g.triad_ratio, 1e-9 * g.flops_s, g.dgemm_ratio,
                1e-9 * r.ceilings.cpu_triad, 1e-9 * r.ceilings.device_triad, 1e-9 * r.ceilings.cpu_dgemm);
  os << buf;
  return os.str();
}

}  // namespace synfield::bench
