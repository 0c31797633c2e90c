// Generalised matrix factorisation (He et al. 2017): the element-wise product of user and item
// embeddings, weighted by a learned Dense 1.
#pragma once

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <nlohmann/json.hpp>

#include "deepcart/rec/model.h"

namespace deepcart::rec {

struct GmfOptions {
  int64_t users = 0;
  int64_t items = 0;
  int64_t dim = 32;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(GmfOptions, users, items, dim)

class GmfImpl : public PairModelImpl {
 public:
  explicit GmfImpl(const GmfOptions& options);
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override;  // (B),(B,C)->(B,C)
  at::Tensor score_all(const at::Tensor& users) override;                       // (B) -> (B, I)
  at::Tensor item_vectors() override { return item_emb_->weight; }              // (I, D)
  // (B), (B, C) -> the product (B, C, D), NeuMF's GMF half
  at::Tensor product(const at::Tensor& users, const at::Tensor& items);

  torch::nn::Embedding user_emb_{nullptr};  // (U, D)
  torch::nn::Embedding item_emb_{nullptr};  // (I, D)
  torch::nn::Linear out_{nullptr};          // D -> 1
};
TORCH_MODULE(Gmf);

}  // namespace deepcart::rec
