#include "deepcart/core/alloc_cap.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <torch/version.h>

#include "deepcart/core/error.h"

namespace deepcart {
namespace {

thread_local AllocationCap* active_cap = nullptr;

}  // namespace

// Wraps LibTorch's CPU allocator: counts against the thread's cap, then delegates. Memory comes
// from, and goes back to, the wrapped allocator (its DataPtr carries its own deleter).
class CappedCpuAllocator final : public c10::Allocator {
 public:
  explicit CappedCpuAllocator(c10::Allocator* base) : base_(base) {}

#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 3)
  c10::DataPtr allocate(size_t n) override {
    charge(n);
    return base_->allocate(n);
  }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    base_->copy_data(dest, src, count);
  }
#else
  c10::DataPtr allocate(size_t n) const override {
    charge(n);
    return base_->allocate(n);
  }
#endif
  c10::DeleterFnPtr raw_deleter() const override { return base_->raw_deleter(); }

 private:
  static void charge(size_t n) {
    AllocationCap* cap = active_cap;
    if (cap == nullptr) return;
    if (n > cap->limit_ - cap->used_) {
      throw Error(cap->what_ + ": it asks for more than " + std::to_string(cap->limit_ >> 20) +
                  " MB, more than the file's own tensors can fill");
    }
    cap->used_ += n;
  }

  c10::Allocator* base_;
};

namespace {

// Installed once, at load time, before any thread exists to race with it (c10 does not lock
// its allocator table).
const bool installed = [] {
  static CappedCpuAllocator allocator(c10::GetCPUAllocator());
  c10::SetCPUAllocator(&allocator, /*priority=*/1);
  return true;
}();

}  // namespace

AllocationCap::AllocationCap(size_t bytes, std::string what)
    : limit_(bytes), what_(std::move(what)), outer_(active_cap) {
  (void)installed;
  active_cap = this;
}

AllocationCap::~AllocationCap() { active_cap = outer_; }

}  // namespace deepcart
