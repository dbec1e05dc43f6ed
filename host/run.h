// The run loop of `synfield run`: build the solver, step it, observe and snapshot on
// their cadences, and write the output file.
#pragma once

#include <string>

#include <synfield/solver.h>

namespace synfield {

struct RunOptions {
  std::string output;  // overrides [output].file when not empty
  Backend backend = Backend::cpu;
  bool quiet = false;
};

struct RunSummary {
  Observables last;
  double seconds = 0.0;
  std::string output;
};

RunSummary run(const Problem& p, const RunOptions& opt);

// `synfield gd`: trains the model of `p` with the CPU gradient-descent reference
// (host/gd.h), its learning rate, momentum and first step mapped from [dynamics] so that
// its weights follow the field solver's (gradient_flow + euler, or damped + leapfrog with
// constant γ), from the same initial weights and minibatch sequence.
void run_gd(const Problem& p, const std::string& output, bool quiet);

// One line describing the lattice and dynamics, printed at start-up.
std::string describe(const Problem& p);

}  // namespace synfield
