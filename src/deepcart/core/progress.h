// Training progress on stderr: a live bar (steps/s, ETA, running loss) on a terminal, one
// plain line per epoch otherwise, nothing when quiet.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace deepcart {

class Progress {
 public:
  explicit Progress(bool quiet);
  void start_epoch(int epoch, int epochs, int64_t steps, int64_t first_step);
  void step(int64_t step, double running_loss);
  void end_epoch(const std::string& summary);
  bool interactive() const { return tty_; }

 private:
  bool quiet_, tty_;
  int epoch_ = 0, epochs_ = 0;
  int64_t steps_ = 0, first_step_ = 0;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace deepcart
