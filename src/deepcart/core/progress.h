// Progress on stderr: a live bar (steps/s, ETA, running loss) on a terminal, one plain line per
// epoch otherwise, nothing when quiet. Work other than training (embedding texts, say) uses
// start_task: the bar counts its units and shows no loss.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace deepcart {

class Progress {
 public:
  explicit Progress(bool quiet);
  void start_epoch(int epoch, int epochs, int64_t steps, int64_t first_step);
  // "LABEL [####....] done/steps  rate/s  ETA" from step(done, 0); end_epoch prints the summary.
  void start_task(const std::string& label, int64_t steps);
  void step(int64_t step, double running_loss);
  void end_epoch(const std::string& summary);
  bool interactive() const { return tty_; }

 private:
  bool quiet_, tty_;
  int epoch_ = 0, epochs_ = 0;
  int64_t steps_ = 0, first_step_ = 0;
  std::string task_;  // start_task's label; empty while training
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace deepcart
