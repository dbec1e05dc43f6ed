// The synfield command line: `synfield run CONFIG.toml …`, `gd`, `sources`, `info`,
// `compare`, `--version`. Each subcommand is a cli::Command (host/cli/cli.h).
#include <omp.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <system_error>
#include <vector>

#include <synfield/config.h>
#include <synfield/solver.h>

#include "host/cli/cli.h"
#include "host/io/h5.h"
#include "host/io/inspect.h"
#include "host/run/mpi_world.h"
#include "host/run/run.h"
#include "host/model/sources.h"
#include "host/sweep/sweep.h"

namespace synfield::cli {

int guarded(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const ConfigError& e) {
    std::fprintf(stderr, "synfield: config error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "synfield: error: %s\n", e.what());
    return 1;
  }
  return 0;
}

void set_threads(int threads) {
  if (threads > 0) omp_set_num_threads(threads);
}

Command add_run(CLI::App& app) {
  struct Args {
    std::string config, output, backend = "auto", resume;
    std::vector<std::string> sets;
    int threads = 0;
    bool quiet = false, no_dt_check = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* run = app.add_subcommand("run", "Evolve the fields of CONFIG and write observables and snapshots");
  run->add_option("config", a->config, "TOML config file (optional with --resume: the checkpoint holds it)");
  run->add_option("-o,--output", a->output, "Output HDF5 file (default: [output].file)");
  // one value per --set, so `run --set a=1 CONFIG` leaves CONFIG to the positional
  run->add_option("--set", a->sets, "Override a config key: --set dynamics.dt=0.005 (repeatable)")
      ->allow_extra_args(false);
  run->add_option("--backend", a->backend, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  run->add_option("--threads", a->threads, "OpenMP threads for the CPU backend")->check(CLI::PositiveNumber);
  run->add_option("--resume", a->resume,
                  "Continue the run of checkpoint CKPT.h5 into its output file (exit 4 = stopped by a signal)");
  run->add_flag("--no-dt-check", a->no_dt_check, "Skip the stable-dt estimate before the run");
  run->add_flag("-q,--quiet", a->quiet, "Print nothing but warnings and errors");
  return {run, [a] {
            int status = 0;
            const World world;  // `mpirun -np R synfield run`: the lattice split over R ranks
            bool running = false;  // past the set-up every rank does alike (config, checkpoint)
            const int rc = guarded([&] {
              std::vector<std::string> sets = a->sets;
              // -o is an override of [output].file, so the config stored in the output names it
              if (!a->output.empty()) sets.push_back("output.file=" + toml_quote(a->output));
              RunOptions opt;
              opt.quiet = a->quiet || world.rank() > 0;
              opt.comm = world.comm();
              opt.check_dt = !a->no_dt_check;
              opt.config_file = a->config;
              Problem p;
              std::optional<Resume> resume;
              if (!a->resume.empty()) {
                try {
                  resume.emplace(load_resume(a->resume, a->config, sets));
                } catch (const CheckpointError& e) {  // rejected before anything is written
                  std::fprintf(stderr, "synfield: error: %s\n", e.what());
                  status = 2;
                  return;
                }
                const Checkpoint& c = resume->checkpoint;
                p = resume->problem;
                opt.resume = &c;
                opt.checkpoint = a->resume;
                opt.config_file = a->config.empty() ? c.config_file : a->config;
                // bit-identity needs the checkpoint's backend and thread count: take them
                // unless asked otherwise, and warn when asked otherwise
                if (a->backend == "auto") {
                  try {
                    opt.backend = resolve_backend(c.backend);
                  } catch (const std::exception&) {
                    opt.backend = resolve_backend("auto");
                  }
                } else {
                  opt.backend = resolve_backend(a->backend);
                }
                const bool say = world.rank() == 0;  // one warning, not one per rank
                if (backend_name(opt.backend) != c.backend && say)
                  std::fprintf(stderr, "synfield: warning: the checkpoint was written by backend %s, resuming on %s: "
                               "the result is not bit-identical to an uninterrupted run\n",
                               c.backend.c_str(), backend_name(opt.backend));
                set_threads(a->threads > 0 ? a->threads : c.threads);
                if (opt.backend == Backend::cpu && c.threads > 0 && omp_get_max_threads() != c.threads && say)
                  std::fprintf(stderr, "synfield: warning: the checkpoint was written with %d threads, resuming with "
                               "%d: reductions and BLAS sums round differently, so the result is not bit-identical "
                               "to an uninterrupted run\n", c.threads, omp_get_max_threads());
              } else {
                if (a->config.empty()) {
                  std::fprintf(stderr, "synfield: run: a CONFIG file is required (or --resume CKPT)\n");
                  status = 2;
                  return;
                }
                set_threads(a->threads);
                // split over ranks, each takes its share of the cores it may run on (unless
                // --threads or OMP_NUM_THREADS say otherwise; mpirun's binding sets the cores)
                if (world.comm() && a->threads == 0 && !std::getenv("OMP_NUM_THREADS"))
                  set_threads(std::max(1, omp_get_max_threads() / world.comm()->local_size()));
                opt.backend = resolve_backend(a->backend);
                // a problem that cannot fit is refused with the estimate before its data are built
                // (the whole problem's footprint: a split run's ranks each hold a part of it)
                const sweep::Estimate need = sweep::estimate(sweep::raw_footprint(a->config, sets), opt.backend);
                if (const std::string why = sweep::check_fits(need, opt.backend); !why.empty() && !world.comm())
                  throw std::runtime_error(a->config + ": the run " + why);
                p = load_config(a->config, sets);
                std::error_code ec;
                if (std::filesystem::equivalent(p.output.file, a->config, ec))
                  throw std::runtime_error("output file " + p.output.file + ": that is the config file");
              }
              opt.output = p.output.file;
              running = true;
              try {
                const RunSummary s = synfield::run(p, opt);
                if (s.signal) status = kExitSignal;
              } catch (const BlowUp& e) {  // every rank sees the same observables, so all of them stop
                if (world.rank() == 0) std::fprintf(stderr, "synfield: %s\n", e.what());
                status = kExitBlowUp;
              }
            });
            // an error in the run may be one rank's alone (rank 0's output file, say) and would
            // leave the others waiting in the next exchange: it ends them all
            if (rc && running && world.comm()) world.comm()->abort(rc);
            // no rank exits before rank 0 has written the file and checkpoint: mpirun ends the
            // whole job as soon as one rank exits with a non-zero status (4 after a signal)
            return world.meet(rc ? rc : status);
          }};
}

Command add_gd(CLI::App& app) {
  struct Args {
    std::string config, output;
    std::vector<std::string> sets;
    int threads = 0;
    bool quiet = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* gd = app.add_subcommand("gd", "Train CONFIG's model with the CPU gradient-descent reference");
  gd->add_option("config", a->config, "TOML config file with a [model]")->required();
  gd->add_option("-o,--output", a->output, "Output HDF5 file (default: [output].file with .gd.h5)");
  gd->add_option("--set", a->sets, "Override a config key (repeatable)")->allow_extra_args(false);
  gd->add_option("--threads", a->threads, "Threads")->check(CLI::PositiveNumber);
  gd->add_flag("-q,--quiet", a->quiet, "Print nothing but errors");
  return {gd, [a] {
            return guarded([&] {
              set_threads(a->threads);
              const Problem p = load_config(a->config, a->sets);
              std::string out = a->output;
              if (out.empty()) {
                out = p.output.file;
                out = (out.size() > 3 && out.compare(out.size() - 3, 3, ".h5") == 0 ? out.substr(0, out.size() - 3)
                                                                                     : out) +
                      ".gd.h5";
              }
              run_gd(p, out, a->quiet);
            });
          }};
}

Command add_sources(CLI::App& app) {
  struct Args {
    std::string config, output;
    std::vector<std::string> sets;
  };
  auto a = std::make_shared<Args>();
  CLI::App* sources = app.add_subcommand("sources", "Write the model's sources J0, J1, J2 (or its factor)");
  sources->add_option("config", a->config, "TOML config file with a [model]")->required();
  sources->add_option("-o,--output", a->output, "Output HDF5 file")->required();
  sources->add_option("--set", a->sets, "Override a config key (repeatable)")->allow_extra_args(false);
  return {sources, [a] {
            return guarded([&] {
              const Problem p = load_config(a->config, a->sets);
              if (!p.model.enabled) throw std::runtime_error("synfield sources needs a [model] in the config");
              write_sources(p, a->output);
            });
          }};
}

Command add_info(CLI::App& app) {
  auto file = std::make_shared<std::string>();
  CLI::App* info = app.add_subcommand("info", "Print a run file's status, progress, observables, datasets, config");
  info->add_option("file", *file, "HDF5 file (OUT.h5, or OUT.h5.partial while a run writes it)")->required();
  return {info, [file] { return inspect::info(*file, std::cout, std::cerr); }};
}

Command add_compare(CLI::App& app) {
  struct Args {
    std::string a, b;
    double rtol = 1e-12, atol = 0;
    bool strict = false;
  };
  auto a = std::make_shared<Args>();
  CLI::App* cmp = app.add_subcommand("compare", "Compare two run files' observables and snapshots (exit 0: equal)");
  cmp->add_option("a", a->a, "First HDF5 file")->required();
  cmp->add_option("b", a->b, "Second HDF5 file (the reference: the tolerance is relative to it)")->required();
  cmp->add_option("--rtol", a->rtol, "Relative tolerance (default 1e-12)")->check(CLI::NonNegativeNumber);
  cmp->add_option("--atol", a->atol, "Absolute tolerance (default 0)")->check(CLI::NonNegativeNumber);
  cmp->add_flag("--strict", a->strict, "Count datasets present in one file only as differences");
  return {cmp, [a] { return inspect::compare(a->a, a->b, a->rtol, a->atol, std::cout, std::cerr, a->strict); }};
}

}  // namespace synfield::cli

namespace {

void print_version() {
  std::printf("synfield %s\n", SYNFIELD_VERSION);
  std::printf("backends compiled in: cpu (Thrust OpenMP)%s\n", synfield::cuda_compiled() ? ", cuda (Thrust CUDA)" : "");
  std::printf("  cpu:  usable, %d OpenMP threads\n", omp_get_max_threads());
  if (synfield::cuda_compiled()) {
    const int n = synfield::cuda_device_count();
    if (n > 0)
      std::printf("  cuda: usable, %d device(s)\n", n);
    else
      std::printf("  cuda: compiled in, no usable device here\n");
  }
  std::printf("HDF5: %s\n", synfield::h5::parallel_io()
                                 ? "parallel (a run split over MPI ranks writes its file through MPI-IO)"
                                 : "serial (rank 0 writes the file of a run split over MPI ranks)");
}

}  // namespace

int main(int argc, char** argv) {
  namespace cli = synfield::cli;
  // `ulimit -f` makes a write past the limit fail with EFBIG (an error naming the file)
  // instead of killing the process with SIGXFSZ
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"synfield: lattice field solver for synaptic field theory"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "Print the version and the backends compiled in and usable here");
  const std::vector<cli::Command> commands{cli::add_run(app), cli::add_gd(app), cli::add_sources(app),
                                           cli::add_info(app), cli::add_compare(app),
                                           cli::add_sweep(app), cli::add_bench(app)};
  CLI11_PARSE(app, argc, argv);
  if (version) {
    print_version();
    return 0;
  }
  for (const cli::Command& c : commands)
    if (c.app->parsed()) return c.action();
  std::fputs(app.help().c_str(), stdout);
  return 0;
}
