// The MLP tower shared by behaviour-mlp, ncf-mlp and neumf: [user part, item part] through
// Dense+ReLU layers. The first layer is split into a user half and an item half, so that
// scoring U users against all I items computes each half once and broadcasts (U, I, H1).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/linear.h>
#include "deepcart/core/dropout.h"

namespace deepcart::rec {

class TowerImpl : public torch::nn::Module {
 public:
  TowerImpl(int64_t user_in, int64_t item_in, const std::vector<int64_t>& layers, double dropout);
  // u (B, Du), i (B, C, Di) -> (B, C, H_last)
  at::Tensor forward(const at::Tensor& u, const at::Tensor& i);
  // u (B, Du), items (I, Di) -> (B, I, H_last)
  at::Tensor forward_all(const at::Tensor& u, const at::Tensor& items);
  int64_t out_dim() const { return out_dim_; }
  int64_t first_width() const { return first_width_; }

 private:
  at::Tensor rest(at::Tensor first);  // (..., H1) pre-activation -> (..., H_last)

  torch::nn::Linear first_user_{nullptr};  // Du -> H1, no bias
  torch::nn::Linear first_item_{nullptr};  // Di -> H1
  torch::nn::ModuleList hidden_;           // H1 -> H2 -> ...
  Dropout dropout_{nullptr};
  int64_t out_dim_, first_width_;
};
TORCH_MODULE(Tower);

}  // namespace deepcart::rec
