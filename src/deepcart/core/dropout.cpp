#include "deepcart/core/dropout.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <mutex>

#include "deepcart/core/error.h"

namespace deepcart {
namespace {

// splitmix64's output function: a well-mixed 64-bit number from a counter.
inline uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t next_seed() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get<at::CPUGeneratorImpl>()->random64();
}

}  // namespace

DropoutImpl::DropoutImpl(double p) : p_(p) {
  if (!(p >= 0.0 && p <= 1.0))
    throw Error("dropout: expected a probability from 0 to 1, found " + std::to_string(p));
}

at::Tensor parallel_dropout(const at::Tensor& x, double p, bool training) {
  if (!training || p == 0.0 || x.numel() == 0) return x;
  if (!x.device().is_cpu()) return torch::dropout(x, p, true);
  if (p >= 1.0) return x * torch::zeros_like(x);
  at::Tensor mask = torch::empty(x.sizes(), x.options().dtype(torch::kFloat).requires_grad(false));
  float* m = mask.data_ptr<float>();
  const uint64_t seed = next_seed();
  // An element is kept when its 32-bit draw is below (1 - p) * 2^32.
  const uint64_t keep_below = static_cast<uint64_t>((1.0 - p) * 4294967296.0);
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  const int64_t pairs = (mask.numel() + 1) / 2;  // one 64-bit draw serves two elements
  const int64_t n = mask.numel();
  at::parallel_for(0, pairs, 16384, [&](int64_t begin, int64_t end) {
    for (int64_t k = begin; k < end; ++k) {
      const uint64_t r = mix(seed + static_cast<uint64_t>(k) * 0x9e3779b97f4a7c15ULL);
      m[2 * k] = (r & 0xffffffffULL) < keep_below ? scale : 0.0f;
      if (2 * k + 1 < n) m[2 * k + 1] = (r >> 32) < keep_below ? scale : 0.0f;
    }
  });
  return x * (x.scalar_type() == torch::kFloat ? mask : mask.to(x.scalar_type()));
}

}  // namespace deepcart
