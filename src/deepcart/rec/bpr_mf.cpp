#include "deepcart/rec/bpr_mf.h"

#include <torch/torch.h>

namespace deepcart::rec {

BprMfImpl::BprMfImpl(const MfOptions& o) {
  user_emb_ = register_module("user_emb", torch::nn::Embedding(o.users, o.dim));
  item_emb_ = register_module("item_emb", torch::nn::Embedding(o.items, o.dim));
  item_bias_ = register_parameter("item_bias", torch::zeros({o.items}));
  torch::NoGradGuard no_grad;
  user_emb_->weight.normal_(0.0, 0.1);
  item_emb_->weight.normal_(0.0, 0.1);
}

at::Tensor BprMfImpl::score(const at::Tensor& users, const at::Tensor& items) {
  at::Tensor u = user_emb_(users).unsqueeze(1);                       // (B, 1, D)
  return (u * item_emb_(items)).sum(-1) + item_bias_.index({items});  // (B, C)
}

at::Tensor BprMfImpl::score_all(const at::Tensor& users) {
  return torch::addmm(item_bias_.unsqueeze(0), user_emb_(users), item_emb_->weight.t());  // (B, I)
}

}  // namespace deepcart::rec
