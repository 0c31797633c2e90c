#include "deepcart/rec/mlp.h"

#include <torch/torch.h>

#include "deepcart/core/error.h"

namespace deepcart::rec {

MlpImpl::MlpImpl(const MlpOptions& o) : options_(o) {
  if (o.users < 1 || o.items < 1) throw Error("mlp: expected at least one user and one item");
  user_emb_ = register_module("user_emb", torch::nn::Embedding(o.users, o.dim));
  item_emb_ = register_module("item_emb", torch::nn::Embedding(o.items, o.dim));
  {
    torch::NoGradGuard no_grad;
    user_emb_->weight.normal_(0.0, 0.05);
    item_emb_->weight.normal_(0.0, 0.05);
  }
  tower_ = register_module("tower", Tower(o.dim, o.dim + o.features, o.layers, o.dropout));
  out_ = register_module("out", torch::nn::Linear(tower_->out_dim(), 1));
  item_features_ = register_buffer("item_features", torch::zeros({o.items, o.features}));
}

void MlpImpl::set_item_features(const at::Tensor& features) {
  TORCH_CHECK(features.sizes() == item_features_.sizes(), "item features: expected shape ",
              item_features_.sizes(), ", got ", features.sizes());
  torch::NoGradGuard no_grad;
  item_features_.copy_(features);
}

at::Tensor MlpImpl::item_inputs() const {
  return options_.features ? torch::cat({item_emb_->weight, item_features_}, 1) : item_emb_->weight;
}

at::Tensor MlpImpl::score(const at::Tensor& users, const at::Tensor& items) {
  at::Tensor i = item_emb_(items);  // (B, C, D)
  if (options_.features) i = torch::cat({i, item_features_.index({items})}, 2);
  return out_(tower_(user_emb_(users), i)).squeeze(-1);  // (B, C)
}

at::Tensor MlpImpl::forward(const at::Tensor& users, const at::Tensor& items) {
  return score(users, items.unsqueeze(1)).squeeze(1);  // (B)
}

at::Tensor MlpImpl::score_all(const at::Tensor& users) {
  return out_(tower_->forward_all(user_emb_(users), item_inputs())).squeeze(-1);  // (B, I)
}

}  // namespace deepcart::rec
