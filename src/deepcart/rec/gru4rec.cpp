#include "deepcart/rec/gru4rec.h"

#include <torch/torch.h>

#include <cmath>

#include "deepcart/core/error.h"

namespace deepcart::rec {

Gru4RecImpl::Gru4RecImpl(const Gru4RecOptions& o) {
  if (o.items < 1) throw Error("gru4rec: expected at least one item");
  max_len_ = o.max_len;
  item_emb_ = register_module("item_emb", seq_item_embedding(o.items, o.dim));
  gru_ = register_module(
      "gru",
      torch::nn::GRU(torch::nn::GRUOptions(o.dim, o.dim).num_layers(o.layers).batch_first(true)));
  proj_ = register_module("proj", torch::nn::Linear(o.dim, o.dim));
  dropout_ = register_module("dropout", Dropout(o.dropout));
}

at::Tensor Gru4RecImpl::encode(const at::Tensor& history) {
  at::Tensor x = dropout_(item_emb_(history));  // (B, L, D); padding rows are zero
  at::Tensor h = std::get<0>(gru_(x));          // (B, L, D)
  return proj_(dropout_(h));                    // (B, L, D)
}

at::Tensor Gru4RecImpl::item_vectors() { return item_emb_->weight.slice(0, 1); }

}  // namespace deepcart::rec
