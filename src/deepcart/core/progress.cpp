#include "deepcart/core/progress.h"

#include <unistd.h>

#include <cstdio>

namespace deepcart {

Progress::Progress(bool quiet) : quiet_(quiet), tty_(!quiet && isatty(fileno(stderr))) {}

void Progress::start_epoch(int epoch, int epochs, int64_t steps, int64_t first_step) {
  epoch_ = epoch;
  epochs_ = epochs;
  steps_ = steps;
  first_step_ = first_step;
  task_.clear();
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

void Progress::start_task(const std::string& label, int64_t steps) {
  start_epoch(1, 1, steps, 0);
  task_ = label;
}

void Progress::step(int64_t step, double running_loss) {
  if (!tty_) return;
  auto now = std::chrono::steady_clock::now();
  if (step < steps_ && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double rate = elapsed > 0 ? (step - first_step_) / elapsed : 0.0;
  double eta = rate > 0 ? (steps_ - step) / rate : 0.0;
  constexpr int kWidth = 28;
  int filled = steps_ > 0 ? static_cast<int>(kWidth * step / steps_) : kWidth;
  std::string bar(filled, '#');
  bar.resize(kWidth, '.');
  if (!task_.empty()) {
    std::fprintf(stderr, "\r%s [%s] %lld/%lld  %.1f/s  ETA %.0fs   ", task_.c_str(), bar.c_str(),
                 static_cast<long long>(step), static_cast<long long>(steps_), rate, eta);
  } else {
    std::fprintf(stderr, "\repoch %d/%d [%s] %lld/%lld  %.1f steps/s  ETA %.0fs  loss %.4f   ",
                 epoch_, epochs_, bar.c_str(), static_cast<long long>(step),
                 static_cast<long long>(steps_), rate, eta, running_loss);
  }
  std::fflush(stderr);
}

void Progress::end_epoch(const std::string& summary) {
  if (quiet_) return;
  if (tty_) std::fprintf(stderr, "\r\033[K");
  std::fprintf(stderr, "%s\n", summary.c_str());
  std::fflush(stderr);
}

}  // namespace deepcart
