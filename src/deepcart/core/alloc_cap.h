// A cap on what LibTorch may allocate on the current thread while it is in force. The model
// loaders build networks from a file's hyper-parameters under one, sized from the file's own
// tensors, so a crafted file ("dim": 1000000) is refused instead of allocating gigabytes.
#pragma once

#include <cstddef>
#include <string>

namespace deepcart {

class AllocationCap {
 public:
  // Allocations on this thread beyond `bytes` in total throw Error("<what>: ...").
  AllocationCap(size_t bytes, std::string what);
  ~AllocationCap();
  AllocationCap(const AllocationCap&) = delete;
  AllocationCap& operator=(const AllocationCap&) = delete;

  size_t used() const { return used_; }

 private:
  friend class CappedCpuAllocator;
  size_t limit_;
  size_t used_ = 0;
  std::string what_;
  AllocationCap* outer_;
};

}  // namespace deepcart
