// `synfield bench CONFIG`: one training problem run by the field solver (on the best backend
// here, or --backend) and by the CPU gradient-descent reference (host/gd/gd.h train_gd), with
// each one's time per step, the speed-up, the agreement of their loss curves and each one's
// achieved bytes/s and flop/s against ceilings measured at start (a STREAM triad and a DGEMM).
//
// Counted work per step (what a step must at least move or compute; R = bytes per real,
// N sites, F·B = fields × replicas, M = n_out·B, P_s = examples a step uses (the minibatch m,
// else P; ×B for per-replica data)):
//   local terms (any config)  damped: 4·F·B·N·R (read and write w and π once),
//                             gradient flow: 2·F·B·N·R (read and write w)
//   factored model            + R·(2·P_s·N + 2·F·B·N) bytes (X streamed twice, the force
//                             written and read) and 4·P_s·N·M flop (R = sXWᵀ, F ∝ RᵀX)
//   dense model               + R·N² bytes (J₂ read once) and 2·M·N² flop (F ∝ W J₂)
//   gd reference              always the factored form in doubles (R = 8), no local terms
// Ratios: bytes/s over the triad of the backend that ran it (the device triad on CUDA), flop/s
// over the CPU DGEMM (on CUDA: no DGEMM ceiling is measured, the ratio is left out).
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include <synfield/portability.h>
#include <synfield/problem.h>

namespace synfield::bench {

struct Ceilings {
  double cpu_triad = 0;     // bytes/s, STREAM counting (3 words per element)
  double device_triad = 0;  // bytes/s, 0 without a CUDA device
  double cpu_dgemm = 0;     // flop/s of one n×n×n DGEMM, best of 3
  long triad_elements = 0;
  int dgemm_n = 0;
  int threads = 0;
};
// triad_elements doubles per array (keep 24·n ≫ last-level cache); dgemm_n the DGEMM size.
Ceilings measure_ceilings(long triad_elements, int dgemm_n, bool device);

struct Work {
  double bytes = 0, flops = 0;  // per step
};
Work field_work(const Problem& p);
Work gd_work(const Problem& p);

struct Side {
  bool ran = false;
  std::string note;                 // why it did not run
  double seconds = 0;               // the whole stepping loop, observations included
  std::vector<std::int64_t> steps;  // observed steps
  std::vector<double> loss;
};

struct Result {
  Backend backend = Backend::cpu;
  std::int64_t steps = 0;
  Side field, gd;
  Work field_work, gd_work;
  Ceilings ceilings;
  double max_rel_diff = 0;  // over the common observed steps (NaN when none)
  std::size_t common = 0;
  double seconds_per_step(const Side& s) const { return steps > 0 ? s.seconds / steps : 0.0; }
};

// Runs both (the field solver observes at [output].observe_every, the gd reference too).
Result run_bench(const Problem& p, Backend backend, const Ceilings& c);

// The report as printed by `synfield bench`; `rtol` the agreement tolerance.
void print(const Result& r, const Problem& p, double rtol, std::ostream& os);
// One CSV line (and the header when `header`), for benchmarks/compare.py.
std::string csv_row(const Result& r, const Problem& p, const std::string& label, bool header);

}  // namespace synfield::bench
