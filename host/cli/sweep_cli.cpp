// The `synfield sweep` and `synfield bench` subcommands (host/sweep/sweep.h, host/sweep/bench.h).
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <synfield/config.h>
#include <synfield/solver.h>

#include "host/sweep/bench.h"
#include "host/cli/cli.h"
#include "host/run/mpi_world.h"
#include "host/run/run.h"
#include "host/sweep/sweep.h"

namespace synfield::cli {

// `mpirun -np R synfield sweep`: rank r runs the points i with i mod R = r; the ranks meet
// at a barrier and rank 0 gathers the row files (a shared file system) into the summary.
Command add_sweep(CLI::App& app) {
  struct Args {
    std::string config, output, backend = "auto";
    std::vector<std::string> sets, over;
    double extent = 0;
    long index = -1;
    bool list = false, collect = false, quiet = false;
    int threads = 0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sw = app.add_subcommand("sweep", "Run CONFIG over the product of value lists; one file per point, a summary");
  sw->add_option("config", a->config, "TOML config file (its [sweep] table adds axes)")->required();
  sw->add_option("--over", a->over, "An axis: key=v1,v2,… (values as --set reads them; repeatable)")
      ->allow_extra_args(false);
  sw->add_option("--set", a->sets, "Override a config key for every point (repeatable)")->allow_extra_args(false);
  sw->add_option("-o,--output", a->output, "Base output file B.h5 (default: [output].file)");
  sw->add_option("--extent", a->extent, "Fixed extent L: lattice.spacing = L / shape[0] at every point")
      ->check(CLI::PositiveNumber);
  sw->add_option("--index", a->index, "Run point I only (job arrays; default: $SLURM_ARRAY_TASK_ID when set)")
      ->check(CLI::NonNegativeNumber);
  sw->add_flag("--list", a->list, "Print the points (index, values, output, memory estimate) and exit");
  sw->add_flag("--collect", a->collect, "Gather the points' row files into the summary (after --index runs)");
  sw->add_option("--backend", a->backend, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  sw->add_option("--threads", a->threads, "OpenMP threads for the CPU backend")->check(CLI::PositiveNumber);
  sw->add_flag("-q,--quiet", a->quiet, "Print nothing but errors");
  return {sw, [a] {
            int status = 0;
            const World world;
            bool pending_meet = false;  // this rank still owes the other ranks the barrier
            const int rc = guarded([&] {
              set_threads(a->threads);
              const sweep::Plan plan = sweep::make_plan(a->config, a->sets, a->over, a->output,
                                                        a->extent > 0 ? std::optional<double>(a->extent) : std::nullopt);
              const std::size_t n = plan.size();
              std::vector<std::string> keys;
              for (const auto& ax : plan.axes) keys.push_back(ax.key);
              // with MPI, the single-point modes are rank 0's alone
              if (world.rank() > 0 && (a->list || a->collect || a->index >= 0)) return;
              if (a->list) {
                const Backend b = resolve_backend(a->backend);
                for (std::size_t i = 0; i < n; ++i) {
                  std::string v;
                  const auto vals = plan.values(i);
                  for (std::size_t k = 0; k < vals.size(); ++k) v += (k ? " " : "") + keys[k] + "=" + vals[k];
                  const sweep::Estimate e = sweep::estimate(sweep::raw_footprint(plan.config, plan.overrides(i)), b);
                  const std::string fits = sweep::check_fits(e, b);
                  std::printf("%zu\t%s\t%s\t~%.4g GiB%s\n", i, v.c_str(), plan.point_output(i).c_str(),
                              e.total() / (1024.0 * 1024 * 1024), fits.empty() ? "" : ("\trefused: " + fits).c_str());
                }
                return;
              }
              if (a->collect) {
                std::vector<sweep::Row> rows;
                for (std::size_t i = 0; i < n; ++i) {
                  const std::string f = plan.row_file(i);
                  if (std::filesystem::exists(f)) {
                    rows.push_back(sweep::read_row_file(f, keys.size()));
                  } else {
                    sweep::Row r;
                    r.index = i;
                    r.values = plan.values(i);
                    r.output = plan.point_output(i);
                    r.status = "missing: no row file " + f;
                    r.loss = r.test_loss = r.potential = r.steps_per_second = r.peak_bytes = r.wall_seconds =
                        std::numeric_limits<double>::quiet_NaN();
                    rows.push_back(r);
                    std::fprintf(stderr, "synfield sweep: point %zu has no row file %s\n", i, f.c_str());
                  }
                  if (rows.back().status != "complete") status = 1;
                }
                sweep::write_summary(plan, rows, a->quiet);
                return;
              }
              long index = a->index;
              if (index < 0)
                if (const char* env = std::getenv("SLURM_ARRAY_TASK_ID")) {
                  char* end = nullptr;
                  index = std::strtol(env, &end, 10);
                  if (*end || index < 0) throw ConfigError(std::string("SLURM_ARRAY_TASK_ID = ") + env + ": not a point index");
                }
              const Backend b = resolve_backend(a->backend);
              if (index >= 0) {
                if (static_cast<std::size_t>(index) >= n)
                  throw ConfigError("--index " + std::to_string(index) + ": the sweep has " + std::to_string(n) +
                                    " points (0.." + std::to_string(n - 1) + ")");
                const sweep::Row r = sweep::run_point(plan, static_cast<std::size_t>(index), b, a->quiet);
                sweep::write_row_file(plan.row_file(r.index), keys, r);
                if (r.status != "complete") status = 1;
                return;
              }
              if (!a->quiet && world.rank() == 0)
                std::fprintf(stderr, "synfield sweep: %zu point(s) of %s%s\n", n, a->config.c_str(),
                             world.mpi() ? (" on " + std::to_string(world.size()) + " MPI ranks").c_str() : "");
              std::vector<sweep::Row> rows;
              pending_meet = world.size() > 1;
              for (std::size_t i = static_cast<std::size_t>(world.rank()); i < n; i += static_cast<std::size_t>(world.size())) {
                rows.push_back(sweep::run_point(plan, i, b, a->quiet));
                sweep::write_row_file(plan.row_file(i), keys, rows.back());
                if (rows.back().status != "complete") status = 1;
                if (rows.back().status.rfind("stopped:", 0) == 0) {  // SIGINT/SIGTERM: no further points
                  status = kExitSignal;
                  if (world.size() == 1) {
                    for (std::size_t j = i + 1; j < n; ++j) {
                      sweep::Row skipped;
                      skipped.index = j;
                      skipped.values = plan.values(j);
                      skipped.output = plan.point_output(j);
                      skipped.status = "not run: the sweep was stopped by a signal";
                      skipped.loss = skipped.test_loss = skipped.potential = skipped.steps_per_second =
                          skipped.peak_bytes = std::numeric_limits<double>::quiet_NaN();
                      rows.push_back(skipped);
                    }
                  }
                  break;
                }
              }
              if (world.size() > 1) {
                pending_meet = false;
                status = world.meet(status);
                if (world.rank() > 0) return;
                rows.clear();
                for (std::size_t i = 0; i < n; ++i) {
                  if (std::filesystem::exists(plan.row_file(i))) {
                    rows.push_back(sweep::read_row_file(plan.row_file(i), keys.size()));
                  } else {  // a rank stopped by a signal left its later points
                    sweep::Row r;
                    r.index = i;
                    r.values = plan.values(i);
                    r.output = plan.point_output(i);
                    r.status = "not run";
                    r.loss = r.test_loss = r.potential = r.steps_per_second = r.peak_bytes =
                        std::numeric_limits<double>::quiet_NaN();
                    rows.push_back(r);
                  }
                }
              }
              sweep::write_summary(plan, rows, a->quiet);
            });
            // a rank that failed before the barrier must not leave the others waiting
            if (pending_meet) world.meet(1);
            return rc != 0 ? rc : status;
          }};
}

Command add_bench(CLI::App& app) {
  struct Args {
    std::string config, backend = "auto", csv, label;
    std::vector<std::string> sets;
    double rtol = -1;
    long triad_elements = 1L << 24;
    int dgemm_n = 1024, threads = 0;
  };
  auto a = std::make_shared<Args>();
  CLI::App* b = app.add_subcommand("bench", "Time CONFIG's training by the field solver and the gd reference");
  b->add_option("config", a->config, "TOML config file (a [model] for the gd comparison)")->required();
  b->add_option("--set", a->sets, "Override a config key (repeatable)")->allow_extra_args(false);
  b->add_option("--backend", a->backend, "auto, cpu or cuda (the field solver's)")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  b->add_option("--threads", a->threads, "OpenMP threads")->check(CLI::PositiveNumber);
  b->add_option("--rtol", a->rtol, "Loss agreement tolerance (default 1e-6 for float64, 1e-3 for float32)")
      ->check(CLI::NonNegativeNumber);
  b->add_option("--triad-elements", a->triad_elements, "STREAM triad array length in doubles (default 2^24)")
      ->check(CLI::PositiveNumber);
  b->add_option("--dgemm-n", a->dgemm_n, "DGEMM ceiling size n (default 1024)")->check(CLI::PositiveNumber);
  b->add_option("--csv", a->csv, "Append one result row to this CSV file (header when new)");
  b->add_option("--label", a->label, "Label of the CSV row (default: the config file)");
  return {b, [a] {
            int status = 0;
            const int rc = guarded([&] {
              set_threads(a->threads);
              const Backend backend = resolve_backend(a->backend);
              // refused before the data set is built, as a sweep point (host/sweep/sweep.h)
              const std::string why =
                  sweep::check_fits(sweep::estimate(sweep::raw_footprint(a->config, a->sets), backend), backend);
              if (!why.empty()) throw std::runtime_error("refused: the problem " + why);
              const Problem p = load_config(a->config, a->sets);
              const bench::Ceilings c = bench::measure_ceilings(a->triad_elements, a->dgemm_n, backend == Backend::cuda);
              const bench::Result r = bench::run_bench(p, backend, c);
              const double rtol = a->rtol >= 0 ? a->rtol : p.dynamics.precision == Precision::float32 ? 1e-3 : 1e-6;
              bench::print(r, p, rtol, std::cout);
              if (r.gd.ran && !(r.common > 0 && r.max_rel_diff <= rtol)) status = 1;
              if (!a->csv.empty()) {
                const bool header = !std::filesystem::exists(a->csv) || std::filesystem::file_size(a->csv) == 0;
                std::ofstream out(a->csv, std::ios::app);
                out << bench::csv_row(r, p, a->label.empty() ? a->config : a->label, header);
                if (!out) throw std::runtime_error(a->csv + ": cannot append the result row");
              }
            });
            return rc != 0 ? rc : status;
          }};
}

}  // namespace synfield::cli
