#include "deepcart/rec/mlp.h"

#include <torch/torch.h>

#include "deepcart/core/error.h"

namespace deepcart::rec {

nlohmann::json MlpOptions::to_json() const {
  return {{"users", users}, {"items", items},   {"features", features},
          {"dim", dim},     {"layers", layers}, {"dropout", dropout}};
}

MlpOptions MlpOptions::from_json(const nlohmann::json& j) {
  MlpOptions o;
  o.users = j.at("users");
  o.items = j.at("items");
  o.features = j.at("features");
  o.dim = j.at("dim");
  o.layers = j.at("layers").get<std::vector<int64_t>>();
  o.dropout = j.at("dropout");
  return o;
}

MlpImpl::MlpImpl(const MlpOptions& o) : options_(o) {
  if (o.users < 1 || o.items < 1) throw Error("mlp: expected at least one user and one item");
  if (o.layers.empty()) throw Error("--layers: expected at least one hidden layer, e.g. 64,32");
  for (int64_t width : o.layers) {
    if (width < 1) throw Error("--layers: expected positive widths, found " + std::to_string(width));
  }
  user_emb_ = register_module("user_emb", torch::nn::Embedding(o.users, o.dim));
  item_emb_ = register_module("item_emb", torch::nn::Embedding(o.items, o.dim));
  torch::NoGradGuard no_grad;
  user_emb_->weight.normal_(0.0, 0.05);
  item_emb_->weight.normal_(0.0, 0.05);
  first_user_ = register_module(
      "first_user", torch::nn::Linear(torch::nn::LinearOptions(o.dim, o.layers[0]).bias(false)));
  first_item_ = register_module("first_item", torch::nn::Linear(o.dim + o.features, o.layers[0]));
  hidden_ = register_module("hidden", torch::nn::ModuleList());
  for (size_t l = 1; l < o.layers.size(); ++l) {
    hidden_->push_back(torch::nn::Linear(o.layers[l - 1], o.layers[l]));
  }
  out_ = register_module("out", torch::nn::Linear(o.layers.back(), 1));
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
  item_features_ = register_buffer("item_features", torch::zeros({o.items, o.features}));
}

void MlpImpl::set_item_features(const at::Tensor& features) {
  TORCH_CHECK(features.sizes() == item_features_.sizes(), "item features: expected shape ",
              item_features_.sizes(), ", got ", features.sizes());
  torch::NoGradGuard no_grad;
  item_features_.copy_(features);
}

at::Tensor MlpImpl::hidden_from_first(at::Tensor h) {
  h = dropout_(torch::relu(h));
  for (const auto& layer : *hidden_) {
    h = dropout_(torch::relu(layer->as<torch::nn::Linear>()->forward(h)));
  }
  return out_(h).squeeze(-1);
}

at::Tensor MlpImpl::forward(const at::Tensor& users, const at::Tensor& items) {
  TORCH_CHECK(users.sizes() == items.sizes(), "users and items must have the same shape");
  at::Tensor u = user_emb_(users);                                             // (B, D)
  at::Tensor i = torch::cat({item_emb_(items), item_features_.index_select(0, items)}, 1);  // (B, D+F)
  return hidden_from_first(first_user_(u) + first_item_(i));                   // (B)
}

at::Tensor MlpImpl::score_all(const at::Tensor& users) {
  at::Tensor u = first_user_(user_emb_(users));                                  // (U, H1)
  at::Tensor i = first_item_(torch::cat({item_emb_->weight, item_features_}, 1));  // (I, H1)
  return hidden_from_first(u.unsqueeze(1) + i.unsqueeze(0));                     // (U, I)
}

}  // namespace deepcart::rec
