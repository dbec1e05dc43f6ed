// Benchmark of the output's overhead on the run loop (host/io/output.h): the damped free field
// (mass + gradient, leapfrog) on a 2-D lattice, CPU backend, advanced 1000 steps per
// iteration as the run loop does, and
//   baseline   the run loop without snapshots: a RunWriter, an observation every 100 steps;
//   snapshots  the same plus a snapshot every 100 steps (the device-to-host copy on the
//              caller's thread, the HDF5 write and flush on the writer thread, overlapping
//              the next steps);
//   blocking   the same, but waiting for each write to reach the file (RunWriter::flush())
//              before stepping on: what the output would cost without the overlap;
//   copy only  the same with the host copy (Solver::get_state) but no snapshot written: the
//              part of the overhead that is the copy, not the HDF5 write.
// (mode 0 = overlapped, 1 = blocking, 2 = copy only). reuse = 1: the host buffers of
// written snapshots are handed back by RunWriter::reuse() before each copy (no fresh pages).
// Each iteration runs the baseline and then the output loop on the same solver, so the two
// see the same machine load (this is a shared machine); counters:
//   overhead_pct      100 · (t_output − t_baseline) / t_baseline, from the sums over all
//                     iterations (time is the output loop's, manual)
//   median_overhead_pct  the median over iterations of 100 · (t_output / t_baseline − 1),
//                     each pair run back to back: the figure least disturbed by other load
//   best_overhead_pct the same from the best (least) iteration time of each loop
//   cpu_overhead_pct  the same in process CPU time (all threads): the work the snapshots
//                     add, whether or not it overlaps
//   snapshot_MiB      bytes one snapshot writes (w and π, fp64), in MiB
//   write_MBps        snapshot bytes written per second of output-loop time
//   copy_ms           mean time of one host copy (Solver::get_state) on the caller's thread
//   hand_over_ms      mean time the caller spends in RunWriter::snapshot (and flush when
//                     blocking): queueing, or waiting while two snapshots are in flight
// The target: an overhead below 5 % at one snapshot every 100 steps (benchmarks/RESULTS.md).
//
// Run: build/benchmarks/bench_output [--benchmark_filter=...]; OMP_NUM_THREADS sets the
// solver's threads (the writer thread is one more).
#include <benchmark/benchmark.h>

#include <synfield/config.h>
#include <synfield/solver.h>

#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <ctime>
#include <vector>

#include "host/io/output.h"

namespace {

using synfield::Backend;
using Clock = std::chrono::steady_clock;

constexpr std::int64_t kSteps = 1000, kSnapshotEvery = 100;

std::string config_text(int n) {
  return "[lattice]\nshape = [" + std::to_string(n) + ", " + std::to_string(n) +
         "]\nspacing = 0.1\n"
         "[dynamics]\nequation = \"damped\"\ngamma = 0.5\nintegrator = \"leapfrog\"\ndt = 0.01\n"
         "steps = " + std::to_string(kSteps) + "\nprecision = \"float64\"\n"
         "[[potential]]\nterm = \"mass\"\nfield = \"w\"\ncoefficient = 1.0\n"
         "[[potential]]\nterm = \"gradient\"\nfield = \"w\"\ncoefficient = 1.0\n"
         "[initial.w]\nkind = \"mode\"\nwavevector = [3, 1]\namplitude = 1.0\n"
         "[output]\nobserve_every = 100\nsnapshot_every = 100\n";
}

std::string temp_file() {
  const auto dir = std::filesystem::temp_directory_path();
  return (dir / ("synfield-bench-output-" + std::to_string(::getpid()) + ".h5")).string();
}

double cpu_seconds() {
  timespec t{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
  return t.tv_sec + 1e-9 * t.tv_nsec;
}

struct Times {
  double wall = 0, cpu = 0;
  double copy = 0, hand_over = 0;  // seconds in get_state and in RunWriter::snapshot (+ flush)
};

// The run loop of host/run/run.cpp reduced to its output: a RunWriter, an observation every
// 100 steps and, with `snapshots`, a snapshot there too — the state copied to the host on
// this thread and moved to the writer (no second copy).
enum Mode { kOverlapped = 0, kBlocking = 1, kCopyOnly = 2 };

Times run_loop(synfield::Solver& s, const synfield::Problem& p, const std::string& path, bool snapshots, Mode mode,
               bool reuse) {
  const auto t0 = Clock::now();
  const double c0 = cpu_seconds();
  Times t;
  {
    synfield::RunWriter out(path, p, Backend::cpu);
    auto output = [&] {
      out.observe(s.observe());
      if (!snapshots) return;
      std::vector<double> w, v;
      if (reuse) out.reuse(w, v);
      const auto a = Clock::now();
      s.get_state(w, v);  // the device-to-host copy stays on this thread
      const auto b = Clock::now();
      t.copy += std::chrono::duration<double>(b - a).count();
      if (mode == kCopyOnly) return;
      out.snapshot<double>(s.step(), s.time(), std::move(w), std::move(v));
      if (mode == kBlocking) out.flush();
      t.hand_over += std::chrono::duration<double>(Clock::now() - b).count();
    };
    const std::int64_t end = s.step() + kSteps;
    output();
    while (s.step() < end) {
      s.advance(kSnapshotEvery);
      output();
    }
    out.finish("complete");
  }
  t.wall = std::chrono::duration<double>(Clock::now() - t0).count();
  t.cpu = cpu_seconds() - c0;
  return t;
}

void BM_OutputOverhead(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const Mode mode = static_cast<Mode>(state.range(1));
  const bool reuse = state.range(2) != 0;
  const synfield::Problem p = synfield::parse_config(config_text(n));
  auto solver = synfield::make_solver(p, Backend::cpu);
  const std::string path = temp_file();
  Times sum_base, sum_out;
  double best_base = std::numeric_limits<double>::max(), best_out = best_base;
  std::vector<double> ratios;  // per iteration: output loop / baseline, run back to back
  run_loop(*solver, p, path, true, kOverlapped, reuse);  // warm up (first touch, caches, the file system)
  for (auto _ : state) {
    const Times b = run_loop(*solver, p, path, false, mode, reuse);
    const Times o = run_loop(*solver, p, path, true, mode, reuse);
    state.SetIterationTime(o.wall);
    sum_base.wall += b.wall;
    sum_base.cpu += b.cpu;
    sum_out.wall += o.wall;
    sum_out.cpu += o.cpu;
    sum_out.copy += o.copy;
    sum_out.hand_over += o.hand_over;
    ratios.push_back(o.wall / b.wall);
    best_base = std::min(best_base, b.wall);
    best_out = std::min(best_out, o.wall);
  }
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::filesystem::remove(path + ".partial", ec);
  const double snap_bytes = 2.0 * n * n * sizeof(double);
  const double snaps = static_cast<double>(kSteps / kSnapshotEvery + 1) * state.iterations();
  state.counters["overhead_pct"] = 100.0 * (sum_out.wall - sum_base.wall) / sum_base.wall;
  std::sort(ratios.begin(), ratios.end());
  state.counters["median_overhead_pct"] = 100.0 * (ratios[ratios.size() / 2] - 1.0);
  state.counters["best_overhead_pct"] = 100.0 * (best_out - best_base) / best_base;
  state.counters["cpu_overhead_pct"] = 100.0 * (sum_out.cpu - sum_base.cpu) / sum_base.cpu;
  state.counters["snapshot_MiB"] = snap_bytes / (1 << 20);
  state.counters["write_MBps"] = snaps * snap_bytes / sum_out.wall / 1e6;
  state.counters["copy_ms"] = 1e3 * sum_out.copy / snaps;
  state.counters["hand_over_ms"] = 1e3 * sum_out.hand_over / snaps;
  state.counters["ms_per_step"] = 1e3 * sum_base.wall / (kSteps * state.iterations());
  const char* what[] = {"overlapped", "blocking", "host copy only, no snapshot write"};
  state.SetLabel(std::string(what[mode]) + (reuse ? ", buffers reused" : "") + ", " + std::to_string(omp_get_max_threads()) +
                 " solver thread(s)");
}

BENCHMARK(BM_OutputOverhead)
    ->ArgNames({"n", "mode", "reuse"})
    ->ArgsProduct({{512, 1024}, {kOverlapped, kBlocking, kCopyOnly}, {0, 1}})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond)
    ->Iterations(9);

}  // namespace

BENCHMARK_MAIN();
