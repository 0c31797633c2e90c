// The behaviour-log MLP recommender (arch "behaviour-mlp"), also NCF's MLP (He et al. 2017,
// arch "ncf-mlp"): user and item embeddings, plus optional per-item numeric behaviour features,
// through the Dense+ReLU tower (64 -> 32 by default) and Dense 1; a sigmoid turns the logit into
// the purchase probability.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <nlohmann/json.hpp>

#include "deepcart/rec/model.h"
#include "deepcart/rec/tower.h"

namespace deepcart::rec {

struct MlpOptions {
  int64_t users = 0;
  int64_t items = 0;
  int64_t features = 0;  // numeric item features (standardised), 0 for none
  int64_t dim = 32;      // embedding size
  std::vector<int64_t> layers = {64, 32};
  double dropout = 0.0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(MlpOptions, users, items, features, dim, layers,
                                                dropout)

class MlpImpl : public PairModelImpl {
 public:
  explicit MlpImpl(const MlpOptions& options);

  // users (B), items (B, C) -> logits (B, C)
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override;
  // users (B), items (B) -> logits (B)
  at::Tensor forward(const at::Tensor& users, const at::Tensor& items);
  at::Tensor score_all(const at::Tensor& users) override;           // (B) -> (B, I)
  at::Tensor item_vectors() override { return item_emb_->weight; }  // (I, D)
  int64_t width_per_pair() const override { return tower_->first_width(); }

  const MlpOptions& options() const { return options_; }
  void set_item_features(const at::Tensor& features);  // (I, F) float32
  torch::nn::Embedding user_embedding() const { return user_emb_; }
  torch::nn::Embedding item_embedding() const { return item_emb_; }
  Tower tower() const { return tower_; }
  torch::nn::Linear output() const { return out_; }

 private:
  at::Tensor item_inputs() const;  // (I, D + F)

  MlpOptions options_;
  torch::nn::Embedding user_emb_{nullptr};  // (U, D)
  torch::nn::Embedding item_emb_{nullptr};  // (I, D)
  Tower tower_{nullptr};                    // (D, D + F) -> H_last
  torch::nn::Linear out_{nullptr};          // H_last -> 1
  at::Tensor item_features_;                // (I, F) buffer, saved with the weights
};
TORCH_MODULE(Mlp);

}  // namespace deepcart::rec
