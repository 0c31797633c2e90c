#include "deepcart/text/bow.h"

#include <torch/torch.h>

#include "deepcart/core/error.h"

namespace deepcart::text {

BowImpl::BowImpl(const TextOptions& o) : dim_(o.dim), buckets_(o.buckets), ngrams_(o.ngrams) {
  if (ngrams_ < 1 || ngrams_ > 3)
    throw Error("--ngrams: expected 1, 2 or 3, found " + std::to_string(ngrams_));
  if (buckets_ > 0 && ngrams_ > 1) {
    // The parameter keeps its first name, "bigrams", so model files from before trigrams load.
    ngram_table_ = register_module("bigrams", torch::nn::Embedding(buckets_, o.dim));
    torch::NoGradGuard no_grad;
    ngram_table_->weight.uniform_(-1.0 / o.dim, 1.0 / o.dim);
  }
}

at::Tensor BowImpl::encode(const at::Tensor& embedded, const at::Tensor& ids) {
  at::Tensor keep = (ids != 0).to(embedded.dtype()).unsqueeze(2);  // (B, L, 1)
  at::Tensor sum = (embedded * keep).sum(1);                       // (B, dim)
  at::Tensor count = keep.sum(1);                                  // (B, 1)
  if (!ngram_table_) return sum / count.clamp_min(1.0);
  const int64_t length = ids.size(1);
  // A multiplicative hash of each run of n ids into the shared bucket table (collisions are
  // accepted, as in fastText). Runs that touch padding are masked out.
  static constexpr int64_t kMultipliers[] = {1000003, 7919, 104729};
  for (int64_t n = 2; n <= ngrams_ && n <= length; ++n) {
    at::Tensor hash = at::zeros({ids.size(0), length - n + 1}, ids.options());
    at::Tensor run_keep = at::ones({ids.size(0), length - n + 1}, ids.options().dtype(at::kBool));
    for (int64_t i = 0; i < n; ++i) {
      at::Tensor part = ids.narrow(1, i, length - n + 1);
      hash = hash + part * kMultipliers[i];
      run_keep = run_keep & (part != 0);
    }
    at::Tensor bucket =
        (n == 2 ? hash : hash + 31).remainder(buckets_);  // 2-grams keep their old slots
    at::Tensor k = run_keep.to(embedded.dtype()).unsqueeze(2);
    sum = sum + (ngram_table_(bucket) * k).sum(1);
    count = count + k.sum(1);
  }
  return sum / count.clamp_min(1.0);
}

}  // namespace deepcart::text
