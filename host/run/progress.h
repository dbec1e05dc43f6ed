// Progress of `synfield run`: a bar with steps/s and ETA redrawn in place (\r) when stderr
// is a terminal, at most 10 times a second; otherwise one plain log line (spdlog) every
// `interval` seconds, for batch jobs whose stderr goes to a file. Nothing with `quiet`.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace synfield {

class Progress {
 public:
  // Steps run from `first` to `last`; `interval`: seconds between log lines off a terminal.
  Progress(std::int64_t first, std::int64_t last, bool quiet, double interval = 5.0);
  ~Progress() { done(); }
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  // Reports that `step` was reached; `energy`: the last observed energy (or loss).
  void update(std::int64_t step, double energy);
  // Ends the bar's line (a terminal) so later messages start on their own line.
  void done();
  bool terminal() const { return tty_; }

 private:
  using Clock = std::chrono::steady_clock;
  std::string line(std::int64_t step, double energy) const;
  std::int64_t first_, last_;
  bool quiet_, tty_;
  double interval_;
  Clock::time_point start_, last_draw_;
  bool drawn_ = false;
};

}  // namespace synfield
