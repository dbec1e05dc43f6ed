// `synfield info` and `synfield compare`: reading run files of format "synfield-1"
// (host/io/output.h; the gradient-descent reference of host/gd/gd.h writes the same layout).
//
// Opening. A file is opened read-only, trying in turn
//   1. plain read-only;
//   2. read-only in SWMR mode — works while a writer that started SWMR writing holds it;
//   3. read-only with HDF5's file locking off — works while a writer that does not use
//      SWMR (synfield run, synfield gd: OUT.h5.partial) holds it in another process. Such
//      a writer flushes after every row, so the reader sees the file as of a recent flush;
//      a read that races a flush is retried.
// A missing, non-HDF5 or corrupt file, or one without the root attribute
// format = "synfield-1", is an error naming the file.
//
// Compare. Every numeric dataset under /observables and /snapshots of either file is
// listed. Rows are matched by step: a dataset under /observables whose first axis has at
// most as many rows as /observables/step is compared only at the steps both files hold
// (likewise /snapshots with /snapshots/step), so runs with different observe_every or
// snapshot_every compare at their common steps. Otherwise (no step dataset in one of the
// files) the whole arrays are compared and their shapes must agree. A dataset passes when
// |a − b| ≤ atol + rtol·|b| for every compared element (two NaNs are equal). Reported: the
// largest |a − b|, and the largest |a − b| / max(|a|, |b|) over the elements whose |b|
// exceeds 1e-8·max|b| over the dataset (smaller |b| are "tiny": rounding-level noise of a
// field crossing zero would dominate), and where the largest |a − b| sits.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <string>
#include <vector>

namespace synfield::inspect {

// Prints the file's attributes, progress, final observables, datasets and config to `out`.
// Returns 0, or 2 with a message naming the file on `err` when it cannot be read.
int info(const std::string& path, std::ostream& out, std::ostream& err);

struct DatasetDiff {
  enum class Kind {
    compared,        // values compared: see ok, max_abs, max_rel
    only_a,          // present in A only
    only_b,          // present in B only
    shape_mismatch,  // shapes (or, with step matching, the shapes after the first axis) differ
    no_common_rows,  // step matching found no common step
    not_numeric,     // not a number array in one of the files (not compared)
  };
  std::string name;  // "/observables/energy"
  Kind kind = Kind::compared;
  std::vector<std::uint64_t> shape_a, shape_b;  // full shapes in each file
  std::vector<std::uint64_t> compared;          // shape compared: [common rows, *inner] or the shape
  bool step_matched = false;                    // rows matched by step (else compared as whole arrays)
  double max_abs = 0;                           // max |a − b|
  double max_rel = 0;                           // max |a − b| / max(|a|, |b|) over non-tiny |b|
  bool has_rel = false;                         // false when every |b| is tiny
  std::uint64_t outside = 0;                    // elements with |a − b| > atol + rtol·|b|
  std::vector<std::uint64_t> worst;             // index (in A) of the max |a − b|
  bool worst_has_step = false;
  std::int64_t worst_step = 0;                  // its step, when step matched
  bool ok() const { return kind == Kind::compared && outside == 0; }
  // counts toward exit status 1 (only_a/only_b only with `strict`)
  bool fails(bool strict) const;
};

// How the rows of /observables (or /snapshots) of the two files were matched.
struct StepMatch {
  bool matched = false;  // both files have the step dataset
  std::uint64_t rows_a = 0, rows_b = 0, common = 0;
  bool identical = false;  // both step arrays are the same
};

struct Comparison {
  std::string a, b;
  std::string summary_a, summary_b;  // "synfield-1, cpu, float64, complete"
  StepMatch observables, snapshots;
  std::vector<DatasetDiff> datasets;  // sorted by name
  // 0: every common dataset compared and within tolerance (and with `strict`, none only in
  // one file); 1: otherwise, or when no dataset is common to both.
  int status(bool strict) const;
};

// Throws h5::Error naming the file when one cannot be read.
Comparison compare_files(const std::string& a, const std::string& b, double rtol, double atol);

// Prints the comparison as a table to `out`; returns 0 (within tolerance), 1 (differences)
// or 2 (a file cannot be read: message on `err`).
int compare(const std::string& a, const std::string& b, double rtol, double atol, std::ostream& out,
            std::ostream& err, bool strict = false);

}  // namespace synfield::inspect
