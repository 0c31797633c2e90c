#include "deepcart/rec/tower.h"

#include <torch/torch.h>

#include "deepcart/core/error.h"

namespace deepcart::rec {

TowerImpl::TowerImpl(int64_t user_in, int64_t item_in, const std::vector<int64_t>& layers,
                     double dropout) {
  if (layers.empty()) throw Error("--layers: expected at least one hidden layer, e.g. 64,32");
  for (int64_t width : layers) {
    if (width < 1)
      throw Error("--layers: expected positive widths, found " + std::to_string(width));
  }
  first_user_ = register_module(
      "first_user", torch::nn::Linear(torch::nn::LinearOptions(user_in, layers[0]).bias(false)));
  first_item_ = register_module("first_item", torch::nn::Linear(item_in, layers[0]));
  hidden_ = register_module("hidden", torch::nn::ModuleList());
  for (size_t l = 1; l < layers.size(); ++l)
    hidden_->push_back(torch::nn::Linear(layers[l - 1], layers[l]));
  dropout_ = register_module("dropout", Dropout(dropout));
  out_dim_ = layers.back();
  first_width_ = layers.front();
}

at::Tensor TowerImpl::rest(at::Tensor h) {
  h = dropout_(torch::relu(h));
  for (const auto& layer : *hidden_)
    h = dropout_(torch::relu(layer->as<torch::nn::Linear>()->forward(h)));
  return h;
}

at::Tensor TowerImpl::forward(const at::Tensor& u, const at::Tensor& i) {
  return rest(first_user_(u).unsqueeze(1) + first_item_(i));  // (B, C, H1) -> (B, C, H_last)
}

at::Tensor TowerImpl::forward_all(const at::Tensor& u, const at::Tensor& items) {
  return rest(first_user_(u).unsqueeze(1) + first_item_(items).unsqueeze(0));  // (B, I, H_last)
}

}  // namespace deepcart::rec
