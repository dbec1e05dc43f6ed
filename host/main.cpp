// The synfield command line: `synfield run CONFIG.toml …`, `synfield info|compare …`, `synfield --version`.
#include <CLI/CLI.hpp>
#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <string>
#include <system_error>
#include <vector>

#include <synfield/config.h>
#include <synfield/solver.h>

#include "h5.h"
#include "inspect.h"
#include "run.h"
#include "sources.h"

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
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"synfield: lattice field solver for synaptic field theory"};
  app.require_subcommand(0, 1);
  bool version = false;
  app.add_flag("--version", version, "Print the version and the backends compiled in and usable here");

  std::string config, output, backend = "auto";
  std::vector<std::string> sets;
  int threads = 0;
  bool quiet = false;
  CLI::App* run = app.add_subcommand("run", "Evolve the fields of CONFIG and write observables and snapshots");
  run->add_option("config", config, "TOML config file")->required();
  run->add_option("-o,--output", output, "Output HDF5 file (default: [output].file)");
  // one value per --set, so `run --set a=1 CONFIG` leaves CONFIG to the positional
  run->add_option("--set", sets, "Override a config key: --set dynamics.dt=0.005 (repeatable)")
      ->allow_extra_args(false);
  run->add_option("--backend", backend, "auto, cpu or cuda")->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  run->add_option("--threads", threads, "OpenMP threads for the CPU backend")->check(CLI::PositiveNumber);
  run->add_flag("-q,--quiet", quiet, "Print nothing but errors");

  std::string gd_config, gd_output;
  std::vector<std::string> gd_sets;
  CLI::App* gd = app.add_subcommand("gd", "Train CONFIG's model with the CPU gradient-descent reference");
  gd->add_option("config", gd_config, "TOML config file with a [model]")->required();
  gd->add_option("-o,--output", gd_output, "Output HDF5 file (default: [output].file with .gd.h5)");
  gd->add_option("--set", gd_sets, "Override a config key (repeatable)")->allow_extra_args(false);
  gd->add_option("--threads", threads, "Threads")->check(CLI::PositiveNumber);
  gd->add_flag("-q,--quiet", quiet, "Print nothing but errors");

  std::string src_config, src_output;
  std::vector<std::string> src_sets;
  CLI::App* sources = app.add_subcommand("sources", "Write the model's sources J0, J1, J2 (or its factor)");
  sources->add_option("config", src_config, "TOML config file with a [model]")->required();
  sources->add_option("-o,--output", src_output, "Output HDF5 file")->required();
  sources->add_option("--set", src_sets, "Override a config key (repeatable)")->allow_extra_args(false);

  std::string info_file, cmp_a, cmp_b;
  double rtol = 1e-12, atol = 0;
  bool strict = false;
  CLI::App* info = app.add_subcommand("info", "Print a run file's status, progress, observables, datasets, config");
  info->add_option("file", info_file, "HDF5 file (OUT.h5, or OUT.h5.partial while a run writes it)")->required();
  CLI::App* cmp = app.add_subcommand("compare", "Compare two run files' observables and snapshots (exit 0: equal)");
  cmp->add_option("a", cmp_a, "First HDF5 file")->required();
  cmp->add_option("b", cmp_b, "Second HDF5 file (the reference: the tolerance is relative to it)")->required();
  cmp->add_option("--rtol", rtol, "Relative tolerance (default 1e-12)")->check(CLI::NonNegativeNumber);
  cmp->add_option("--atol", atol, "Absolute tolerance (default 0)")->check(CLI::NonNegativeNumber);
  cmp->add_flag("--strict", strict, "Count datasets present in one file only as differences");

  CLI11_PARSE(app, argc, argv);
  if (version) {
    print_version();
    return 0;
  }
  if (info->parsed()) return synfield::inspect::info(info_file, std::cout, std::cerr);
  if (cmp->parsed()) return synfield::inspect::compare(cmp_a, cmp_b, rtol, atol, std::cout, std::cerr, strict);
  if (!run->parsed() && !gd->parsed() && !sources->parsed()) {
    std::fputs(app.help().c_str(), stdout);
    return 0;
  }
  try {
    if (gd->parsed()) {
      if (threads > 0) omp_set_num_threads(threads);
      const synfield::Problem p = synfield::load_config(gd_config, gd_sets);
      std::string out = gd_output;
      if (out.empty()) {
        out = p.output.file;
        out = (out.size() > 3 && out.compare(out.size() - 3, 3, ".h5") == 0 ? out.substr(0, out.size() - 3) : out) +
              ".gd.h5";
      }
      synfield::run_gd(p, out, quiet);
      return 0;
    }
    if (sources->parsed()) {
      const synfield::Problem p = synfield::load_config(src_config, src_sets);
      if (!p.model.enabled) throw std::runtime_error("synfield sources needs a [model] in the config");
      synfield::write_sources(p, src_output);
      return 0;
    }
    if (threads > 0) omp_set_num_threads(threads);
    // -o is an override of [output].file, so the config stored in the output names it
    if (!output.empty()) sets.push_back("output.file=" + synfield::toml_quote(output));
    const synfield::Problem p = synfield::load_config(config, sets);
    synfield::RunOptions opt;
    opt.output = p.output.file;
    std::error_code ec;
    if (std::filesystem::equivalent(opt.output, config, ec))
      throw std::runtime_error("output file " + opt.output + ": that is the config file");
    opt.backend = synfield::resolve_backend(backend);
    opt.quiet = quiet;
    synfield::run(p, opt);
  } catch (const synfield::ConfigError& e) {
    std::fprintf(stderr, "synfield: config error: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "synfield: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
