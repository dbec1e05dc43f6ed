// The progress bar and log lines (host/run/progress.h).
#include "host/run/progress.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>

namespace synfield {
namespace {

std::string clock_text(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0) return "--:--";
  const long s = std::lround(seconds);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
  else
    std::snprintf(buf, sizeof buf, "%02ld:%02ld", s / 60, s % 60);
  return buf;
}

// Log lines go to stderr (spdlog's default logger writes to stdout), timestamped.
spdlog::logger& log() {
  static const std::shared_ptr<spdlog::logger> logger = [] {
    auto l = std::make_shared<spdlog::logger>("synfield", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    l->set_pattern("[%Y-%m-%d %H:%M:%S] %v");
    return l;
  }();
  return *logger;
}

}  // namespace

Progress::Progress(std::int64_t first, std::int64_t last, bool quiet, double interval)
    : first_(first), last_(last), quiet_(quiet), tty_(isatty(fileno(stderr)) != 0), interval_(interval),
      start_(Clock::now()), last_draw_(start_) {}

std::string Progress::line(std::int64_t step, double energy) const {
  const double sec = std::chrono::duration<double>(Clock::now() - start_).count();
  const double rate = sec > 0 ? (step - first_) / sec : 0.0;
  const double eta = rate > 0 ? (last_ - step) / rate : NAN;
  const double frac = last_ > 0 ? static_cast<double>(step) / last_ : 1.0;
  char buf[256];
  std::snprintf(buf, sizeof buf, "step %lld/%lld (%.0f%%), %.4g steps/s, ETA %s, E = %.6g",
                static_cast<long long>(step), static_cast<long long>(last_), 100.0 * frac, rate,
                clock_text(eta).c_str(), energy);
  return buf;
}

void Progress::update(std::int64_t step, double energy) {
  if (quiet_) return;
  const auto now = Clock::now();
  const double since = std::chrono::duration<double>(now - last_draw_).count();
  if (tty_) {
    if (since < 0.1 && step < last_) return;
    const double frac = last_ > 0 ? static_cast<double>(step) / last_ : 1.0;
    constexpr int width = 30;
    const int full = static_cast<int>(frac * width);
    std::string bar(static_cast<std::size_t>(std::max(0, std::min(width, full))), '#');
    bar.resize(width, '.');
    std::fprintf(stderr, "\r  [%s] %s\033[K", bar.c_str(), line(step, energy).c_str());
    std::fflush(stderr);
    drawn_ = true;
  } else {
    if (since < interval_) return;
    log().info("{}", line(step, energy));
  }
  last_draw_ = now;
}

void Progress::done() {
  if (drawn_) std::fputc('\n', stderr);
  drawn_ = false;
}

}  // namespace synfield
