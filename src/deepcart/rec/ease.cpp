#include "deepcart/rec/ease.h"

#include <torch/torch.h>

#include "deepcart/core/error.h"

namespace deepcart::rec {

at::Tensor ease_matrix(const std::vector<std::vector<int64_t>>& lists, int64_t items) {
  at::Tensor x = torch::zeros({static_cast<int64_t>(lists.size()), items});
  auto a = x.accessor<float, 2>();
  for (size_t u = 0; u < lists.size(); ++u) {
    for (int64_t i : lists[u]) a[u][i] = 1.0f;
  }
  return x;
}

at::Tensor ease_fit(const at::Tensor& gram, double l2) {
  if (gram.size(0) > kEaseMaxItems) {
    throw Error("ease: " + std::to_string(gram.size(0)) + " items is more than the " +
                std::to_string(kEaseMaxItems) + " its I x I inverse allows; use bpr-mf or sasrec");
  }
  if (l2 <= 0) throw Error("ease: --l2 must be positive, found " + std::to_string(l2));
  c10::InferenceMode guard;
  // Double precision: the Gram matrix of a large log is badly conditioned for small l2.
  at::Tensor g = gram.to(torch::kDouble) + l2 * torch::eye(gram.size(0), torch::kDouble);
  at::Tensor p = at::linalg_inv(g);
  at::Tensor b = -p / p.diagonal().unsqueeze(0);
  b.fill_diagonal_(0.0);
  return b.to(torch::kFloat);
}

}  // namespace deepcart::rec
