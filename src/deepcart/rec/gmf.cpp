#include "deepcart/rec/gmf.h"

#include <torch/torch.h>

namespace deepcart::rec {

GmfImpl::GmfImpl(const GmfOptions& o) {
  user_emb_ = register_module("user_emb", torch::nn::Embedding(o.users, o.dim));
  item_emb_ = register_module("item_emb", torch::nn::Embedding(o.items, o.dim));
  out_ = register_module("out", torch::nn::Linear(o.dim, 1));
  torch::NoGradGuard no_grad;
  user_emb_->weight.normal_(0.0, 0.1);
  item_emb_->weight.normal_(0.0, 0.1);
}

at::Tensor GmfImpl::product(const at::Tensor& users, const at::Tensor& items) {
  return user_emb_(users).unsqueeze(1) * item_emb_(items);  // (B, C, D)
}

at::Tensor GmfImpl::score(const at::Tensor& users, const at::Tensor& items) {
  return out_(product(users, items)).squeeze(-1);  // (B, C)
}

at::Tensor GmfImpl::score_all(const at::Tensor& users) {
  // out(u * i) = (u * w) . i + b: one GEMM instead of a (B, I, D) product.
  at::Tensor weighted = user_emb_(users) * out_->weight;             // (B, D)
  return torch::addmm(out_->bias, weighted, item_emb_->weight.t());  // (B, I)
}

}  // namespace deepcart::rec
