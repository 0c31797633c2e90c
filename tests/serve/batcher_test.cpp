// MicroBatcher: requests that queue while the workers are busy run as one call, several
// workers run batches at once, an error reaches every caller of its batch, and max_items holds.
#include "deepcart/serve/batcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <stdexcept>

namespace deepcart::serve {
namespace {

using namespace std::chrono_literals;

// A gate the batch function can wait at, released by the test.
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int waiting = 0;
  void wait() {
    std::unique_lock<std::mutex> lock(mu);
    ++waiting;
    cv.notify_all();
    cv.wait(lock, [this] { return open; });
  }
  bool wait_for_waiters(int n, std::chrono::milliseconds limit) {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, limit, [&] { return waiting >= n; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mu);
    open = true;
    cv.notify_all();
  }
};

TEST(MicroBatcher, RequestsQueuedWhileBusyRunAsOneCall) {
  Gate gate;
  std::vector<int64_t> batch_sizes;
  std::mutex sizes_mu;
  MicroBatcher<int, int> batcher(
      [&](std::vector<int>& in) {
        if (in.size() == 1 && in[0] == 0) gate.wait();  // the first call holds the only worker
        std::vector<int> out;
        for (int v : in) out.push_back(v * 10);
        return out;
      },
      [](const int&) { return int64_t{1}; }, 64, 0us,
      [&](int64_t items) {
        std::lock_guard<std::mutex> lock(sizes_mu);
        batch_sizes.push_back(items);
      },
      1);
  auto first = std::async(std::launch::async, [&] { return batcher.submit(0); });
  ASSERT_TRUE(gate.wait_for_waiters(1, 5000ms));
  std::vector<std::future<int>> rest;
  for (int i = 1; i <= 5; ++i)
    rest.push_back(std::async(std::launch::async, [&batcher, i] { return batcher.submit(i); }));
  std::this_thread::sleep_for(200ms);  // all five are queued behind the busy worker
  gate.release();
  EXPECT_EQ(first.get(), 0);
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(rest[i - 1].get(), i * 10);
  ASSERT_EQ(batch_sizes.size(), 2u);
  EXPECT_EQ(batch_sizes[0], 1);
  EXPECT_EQ(batch_sizes[1], 5);
}

TEST(MicroBatcher, TwoWorkersRunTwoBatchesAtOnce) {
  Gate gate;
  MicroBatcher<int, int> batcher(
      [&](std::vector<int>& in) {
        gate.wait();
        return std::vector<int>(in.size(), 1);
      },
      [](const int&) { return int64_t{1}; }, 64, 0us, nullptr, 2);
  auto a = std::async(std::launch::async, [&] { return batcher.submit(1); });
  ASSERT_TRUE(gate.wait_for_waiters(1, 5000ms));
  auto b = std::async(std::launch::async, [&] { return batcher.submit(2); });
  const bool both_running = gate.wait_for_waiters(2, 5000ms);
  gate.release();
  EXPECT_TRUE(both_running) << "the second batch waited for the first: one worker only";
  EXPECT_EQ(a.get() + b.get(), 2);
}

TEST(MicroBatcher, MaxItemsSplitsAndErrorsReachEveryCaller) {
  std::atomic<int> calls{0};
  MicroBatcher<int, int> batcher(
      [&](std::vector<int>& in) -> std::vector<int> {
        ++calls;
        for (int v : in) {
          if (v < 0) throw std::runtime_error("negative input " + std::to_string(v));
        }
        return in;
      },
      [](const int& v) { return int64_t{v < 0 ? 1 : v}; }, 4, 50ms, nullptr, 1);
  EXPECT_EQ(batcher.submit(3), 3);
  EXPECT_EQ(batcher.submit(7), 7);  // larger than max_items alone: still runs, alone
  try {
    batcher.submit(-2);
    FAIL() << "no exception";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "negative input -2");
  }
  EXPECT_EQ(calls.load(), 3);
}

}  // namespace
}  // namespace deepcart::serve
