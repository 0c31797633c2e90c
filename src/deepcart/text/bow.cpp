#include "deepcart/text/bow.h"

#include <torch/torch.h>

namespace deepcart::text {

BowImpl::BowImpl(const TextOptions& o) : dim_(o.dim), buckets_(o.buckets) {
  if (buckets_ > 0) {
    bigrams_ = register_module("bigrams", torch::nn::Embedding(buckets_, o.dim));
    torch::NoGradGuard no_grad;
    bigrams_->weight.uniform_(-1.0 / o.dim, 1.0 / o.dim);
  }
}

at::Tensor BowImpl::encode(const at::Tensor& embedded, const at::Tensor& ids) {
  at::Tensor keep = (ids != 0).to(embedded.dtype()).unsqueeze(2);  // (B, L, 1)
  at::Tensor sum = (embedded * keep).sum(1);                        // (B, dim)
  at::Tensor count = keep.sum(1);                                   // (B, 1)
  if (buckets_ > 0 && ids.size(1) > 1) {
    at::Tensor left = ids.narrow(1, 0, ids.size(1) - 1), right = ids.narrow(1, 1, ids.size(1) - 1);
    // A multiplicative hash of the id pair into the bucket table (collisions are accepted, as
    // in fastText).
    at::Tensor bucket = (left * 1000003 + right * 7919).remainder(buckets_);
    at::Tensor pair_keep = ((left != 0) & (right != 0)).to(embedded.dtype()).unsqueeze(2);
    sum = sum + (bigrams_(bucket) * pair_keep).sum(1);
    count = count + pair_keep.sum(1);
  }
  return sum / count.clamp_min(1.0);
}

}  // namespace deepcart::text
