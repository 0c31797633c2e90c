// The seed's recommender: user and item embeddings plus per-item numeric behaviour features,
// through Dense 64 ReLU -> Dense 32 ReLU -> Dense 1 (a sigmoid turns the logit into the
// purchase probability).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/container/modulelist.h>
#include <nlohmann/json.hpp>

namespace deepcart::rec {

struct MlpOptions {
  int64_t users = 0;
  int64_t items = 0;
  int64_t features = 0;  // numeric item features (standardised), 0 for none
  int64_t dim = 32;      // embedding size
  std::vector<int64_t> layers = {64, 32};
  double dropout = 0.0;

  nlohmann::json to_json() const;
  static MlpOptions from_json(const nlohmann::json& j);
};

class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const MlpOptions& options);

  // users (B) int64, items (B) int64 -> logits (B)
  at::Tensor forward(const at::Tensor& users, const at::Tensor& items);
  // users (U) int64 -> logits (U, I) over every item. The first layer's user half is
  // computed once per user and its item half once per item, then broadcast.
  at::Tensor score_all(const at::Tensor& users);
  // Item representation used for similarity: (I, dim)
  at::Tensor item_vectors() const { return item_emb_->weight; }

  const MlpOptions& options() const { return options_; }
  void set_item_features(const at::Tensor& features);  // (I, F) float32

 private:
  at::Tensor hidden_from_first(at::Tensor first);  // (..., H1) pre-activation -> logits (...)

  MlpOptions options_;
  torch::nn::Embedding user_emb_{nullptr};  // (U, D)
  torch::nn::Embedding item_emb_{nullptr};  // (I, D)
  torch::nn::Linear first_user_{nullptr};   // D -> H1, no bias
  torch::nn::Linear first_item_{nullptr};   // D + F -> H1
  torch::nn::ModuleList hidden_;            // H1 -> H2 -> ...
  torch::nn::Linear out_{nullptr};          // H_last -> 1
  torch::nn::Dropout dropout_{nullptr};
  at::Tensor item_features_;                // (I, F) buffer, saved with the weights
};
TORCH_MODULE(Mlp);

}  // namespace deepcart::rec
