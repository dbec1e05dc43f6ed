// host/cli: the command line — one cli::Command per subcommand (run, gd, sources, info and
// compare in main.cpp; sweep and bench in sweep_cli.cpp), the mapping of failures to exit
// statuses, and the MPI world of `mpirun`. The top of the house: nothing includes it; it
// includes include/synfield, host/run, host/sweep, host/io and host/model.
//
// The command line's building blocks: each subcommand registers itself on the app and
// returns the action main() runs when it was chosen (host/cli/main.cpp wires them up).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

namespace synfield::cli {

struct Command {
  CLI::App* app = nullptr;
  std::function<int()> action;  // the process's exit status
};

// Runs fn and maps its failure to an exit status with a message on stderr: a ConfigError
// → 2 ("config error: …"), any other exception → 1 ("error: …").
int guarded(const std::function<void()>& fn);

// Applies --threads (0: leave OpenMP's default).
void set_threads(int threads);

Command add_run(CLI::App& app);
Command add_gd(CLI::App& app);
Command add_sources(CLI::App& app);
Command add_info(CLI::App& app);
Command add_compare(CLI::App& app);
Command add_sweep(CLI::App& app);  // host/cli/sweep_cli.cpp
Command add_bench(CLI::App& app);  // host/cli/sweep_cli.cpp

}  // namespace synfield::cli
