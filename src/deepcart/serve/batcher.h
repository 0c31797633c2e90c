// Micro-batching: requests for one model that arrive close together run as one model call.
// `workers` threads (one per core by default) each take every request waiting, up to
// `max_items` items, then keep collecting until `max_delay` has passed since the first one
// (0 = no wait: batches are what queued while the workers were busy, so they grow with the
// load), and run the batch function once.
// Each caller blocks on its own result; an exception from the batch function reaches every
// caller of that batch.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

namespace deepcart::serve {

template <class In, class Out>
class MicroBatcher {
 public:
  // run(inputs) -> one output per input, in order. size(input) counts its items (texts,
  // images) toward max_items; on_batch(items) is told the size of each call.
  using Run = std::function<std::vector<Out>(std::vector<In>&)>;
  using Size = std::function<int64_t(const In&)>;

  MicroBatcher(Run run, Size size, int64_t max_items, std::chrono::microseconds max_delay,
               std::function<void(int64_t)> on_batch, int workers = 1)
      : run_(std::move(run)),
        size_(std::move(size)),
        max_items_(std::max<int64_t>(1, max_items)),
        max_delay_(max_delay),
        on_batch_(std::move(on_batch)) {
    for (int i = 0; i < std::max(1, workers); ++i) workers_.emplace_back([this] { loop(); });
  }

  ~MicroBatcher() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (auto& w : workers_) w.join();
  }
  MicroBatcher(const MicroBatcher&) = delete;
  MicroBatcher& operator=(const MicroBatcher&) = delete;

  Out submit(In input) {
    Job job{std::move(input), {}};
    std::future<Out> result = job.done.get_future();
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(job));
    }
    wake_.notify_one();
    return result.get();
  }

 private:
  struct Job {
    In input;
    std::promise<Out> done;
  };

  void loop() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to answer
      const auto deadline = std::chrono::steady_clock::now() + max_delay_;
      std::vector<Job> jobs;
      int64_t items = 0;
      for (;;) {
        while (!queue_.empty() &&
               (jobs.empty() || items + size_(queue_.front().input) <= max_items_)) {
          items += size_(queue_.front().input);
          jobs.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        if (items >= max_items_ || !queue_.empty() || stopping_) break;
        if (!wake_.wait_until(lock, deadline, [this] { return stopping_ || !queue_.empty(); }))
          break;
      }
      lock.unlock();
      std::vector<In> inputs;
      inputs.reserve(jobs.size());
      for (auto& j : jobs) inputs.push_back(std::move(j.input));
      try {
        std::vector<Out> outputs = run_(inputs);
        if (outputs.size() != jobs.size())
          throw std::logic_error("micro-batch: one output per input expected");
        if (on_batch_) on_batch_(items);
        for (size_t i = 0; i < jobs.size(); ++i) jobs[i].done.set_value(std::move(outputs.at(i)));
      } catch (...) {
        for (auto& j : jobs) j.done.set_exception(std::current_exception());
      }
      lock.lock();
    }
  }

  Run run_;
  Size size_;
  int64_t max_items_;
  std::chrono::microseconds max_delay_;
  std::function<void(int64_t)> on_batch_;
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;  // last: they start after everything above is ready
};

}  // namespace deepcart::serve
