// host/sweep: many runs and their summaries — `synfield sweep` (sweep.*) and `synfield
// bench` (bench.*). It includes include/synfield, host/run, host/gd (bench's reference),
// host/io and host/util (memory, the STREAM triad); sweep.cpp also calls the HDF5 C API
// for its summary file and for reading run files.
//
// `synfield sweep`: one config run over the product of value lists (--over key=v1,v2,… or a
// [sweep] table), one HDF5 file per point, a summary table (CSV and HDF5), the memory check
// that refuses a point before it is built, job-array support (--index, --list, --collect)
// and, for width sweeps, the continuum limit (field differences between successive widths,
// the observed order, a Richardson-extrapolated final loss).
//
// Points. Axes a = 0…A−1 with n_a values each; point i has the mixed-radix digits of i with
// the LAST axis fastest (so `--over x=1,2 --over y=a,b` runs (1,a) (1,b) (2,a) (2,b)). A
// point's config is load_config(CONFIG, sets + {key_a=value_a} + [lattice.spacing=L/n₀ when
// an extent L is given]); values are TOML text (`[1024]`, `0.1`, `"name"`, bare words read
// as strings), exactly as --set reads them.
//
// Files, from the base output B.h5 (-o, else the config's [output].file):
//   B.p<i>_<key>-<value>…h5    the point's run file (i zero-padded to the width of the
//                              largest index; <key> the last part of the dotted key,
//                              <value> with brackets, quotes and spaces dropped, commas → x)
//   B.p<i>.row.csv             the point's summary row (written by every point)
//   B.sweep.csv, B.sweep.h5    the summary of all points (not with --index; --collect)
//   B.continuum.csv            the continuum-limit table of a width sweep
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <synfield/problem.h>
#include <synfield/portability.h>

namespace synfield::sweep {

// One swept key and its values (TOML text each).
struct Axis {
  std::string key;
  std::vector<std::string> values;
};

// "key=v1,v2,…" → Axis. Values are split at commas outside [ ], { } and quotes, so
// `lattice.shape=[64,64],[128,128]` has two values. Throws ConfigError naming the key and
// value for an empty key or value, unbalanced brackets or quotes, or a repeated value.
Axis parse_over(const std::string& spec);
// The value list alone ("[1],[2]" → {"[1]", "[2]"}); `key` names the list in errors.
std::vector<std::string> split_values(const std::string& list, const std::string& key);

struct Plan {
  std::string config;             // the config file
  std::vector<std::string> sets;  // --set overrides for every point
  std::vector<Axis> axes;         // [sweep].over first, then --over (a --over key replaces the same key)
  std::optional<double> extent;   // fixed extent L: lattice.spacing = L / shape[0] at each point
  std::string output;             // base output file name

  std::size_t size() const;                                       // Π n_a (1 without axes)
  std::vector<std::string> values(std::size_t i) const;           // point i's value per axis
  std::vector<std::string> overrides(std::size_t i) const;        // sets + axis values (+ spacing)
  std::string point_output(std::size_t i) const;                  // B.p<i>_….h5
  std::string row_file(std::size_t i) const;                      // B.p<i>.row.csv
  std::string stem() const;                                       // B without .h5
};

// Reads CONFIG's [sweep] table (over = [{key = "...", values = [...]}, …], extent = L), adds
// the --over axes and the base output (`output` when not empty, else [output].file after
// `sets`). Throws ConfigError naming the key and value.
Plan make_plan(const std::string& config, const std::vector<std::string>& sets, const std::vector<std::string>& over,
               const std::string& output, std::optional<double> extent);

// ---- memory -------------------------------------------------------------------------------
// What a run allocates, from its sizes (not measured): N sites, F fields, B replicas,
// P (+ P_test) examples, precision R bytes. Device arrays: 8·F·B·N·R (w, π and up to six
// scratch arrays: rk4/yoshida), the model's X and X_test (P+P_test)·N·R, the dense J₂ N²·R,
// per-replica or minibatch row copies; host: the data set in doubles 8·(P+P_test)·N twice (the
// Problem's and the solver's own copy of it) plus a conversion copy (P+P_test)·N·R, 4·F·B·N·8 for the initial state and snapshot buffers, and
// 64 MiB for the program. On the CPU both live in RAM.
struct Footprint {
  std::int64_t sites = 1, fields = 1, replicas = 1, samples = 0, test_samples = 0, minibatch = 0;
  bool model = false, dense = false, per_replica = false;
  int real_bytes = 8;
};
struct Estimate {
  double host_bytes = 0, device_bytes = 0;  // device_bytes = 0 on the CPU (all counted as host)
  double total() const { return host_bytes + device_bytes; }
};
Estimate estimate(const Footprint& f, Backend backend);
Footprint footprint(const Problem& p);
// The same from the raw config with the overrides applied, without building the Problem
// (which would already allocate the data set): read from [lattice], [model], [data],
// [dynamics]; a data file's sizes from its /X, /X_test, /Y (HDF5) or its size (CSV).
Footprint raw_footprint(const std::string& config, const std::vector<std::string>& overrides);

// The free device memory for CUDA (cudaMemGetInfo; 0 without CUDA or a device); the host's
// is host_available_bytes() (host/util/sysinfo.h).
double device_free_bytes();
// Empty when `e` fits, else "needs ~X GiB … but only Y GiB …".
std::string check_fits(const Estimate& e, Backend backend);

// ---- running and the summary --------------------------------------------------------------
struct Row {
  std::size_t index = 0;
  std::vector<std::string> values;  // per axis
  std::string output;               // the point's run file
  std::string status;               // "complete", "refused: …", "failed: …", "stopped: signal …"
  std::int64_t sites = 0, steps = 0;
  double spacing = 0;
  double loss = 0, test_loss = 0, potential = 0;  // the last observation (NaN when absent)
  double steps_per_second = 0, wall_seconds = 0;
  double peak_bytes = 0;      // peak resident memory of the process during the point (VmHWM)
  double estimated_bytes = 0;
};

// Runs point i: memory check (raw, then from the Problem), synfield::run (checkpoint
// B.p<i>_….ckpt.h5), the row. Never throws for a point's own failure: the row says "failed: …"
// or "refused: …", and "stopped: signal …" when a signal stopped the run (the sweep then stops).
Row run_point(const Plan& plan, std::size_t i, Backend backend, bool quiet);

void write_row_file(const std::string& path, const std::vector<std::string>& keys, const Row& r);
Row read_row_file(const std::string& path, std::size_t naxes);

// ---- the continuum limit ------------------------------------------------------------------
// Observed order from three successive errors-of-differences: with u(h) = u* + C·h^p,
// d₁ = u(h₁) − u(h₀), d₂ = u(h₂) − u(h₁) give d₁/d₂ = (h₀^p − h₁^p)/(h₁^p − h₂^p)
// (= r^p for a constant ratio r = h₀/h₁ = h₁/h₂). Solved for p (bisection on (0.01, 30) for
// unequal ratios); NaN when d₁/d₂ ≤ 0 or no p matches.
double observed_order(double h0, double h1, double h2, double d1, double d2);
// Richardson: u* ≈ u₁ + (u₁ − u₀)/((h₀/h₁)^p − 1).
double richardson(double h0, double h1, double u0, double u1, double p);
// The fine field (shape `fine`, row-major) multilinearly interpolated at the coarse sites'
// fractional positions i/n (periodic wrap, else clamped at the last site): exact injection when
// the fine lattice refines the coarse one by an integer factor.
std::vector<double> to_coarse(const std::vector<double>& fine, const std::vector<int>& fine_shape,
                              const std::vector<int>& coarse_shape, bool periodic);

struct ContinuumRow {
  std::size_t index = 0;  // the point
  std::int64_t sites = 0;
  double spacing = 0, loss = 0;
  double field_difference = 0;  // RMS of (this field → previous lattice) − previous field; NaN first
  double order = 0;             // observed order of the field differences ending here; NaN first two
  double loss_order = 0;        // the same from the losses
};
struct Continuum {
  std::string group;  // the other axes' values ("" when shape is the only axis)
  std::vector<ContinuumRow> rows;
  double richardson_loss = 0;  // from the last two widths with the last loss order (else field order)
  double richardson_order = 0; // the order used
};
// Groups the complete points by their non-shape values and analyses each group with two or
// more widths; the final fields come from the points' run files (last snapshot).
std::vector<Continuum> continuum(const Plan& plan, const std::vector<Row>& rows);

// Fit of time/step ∝ N^p over all complete points (least squares of log(1/steps_per_s)
// against log N); NaN with fewer than two distinct sizes.
double scaling_exponent(const std::vector<Row>& rows);

// Writes B.sweep.csv, B.sweep.h5 and (width sweeps) B.continuum.csv; prints a table.
void write_summary(const Plan& plan, const std::vector<Row>& rows, bool quiet);

}  // namespace synfield::sweep
