#include "deepcart/text/bert.h"

#include <torch/torch.h>

#include "deepcart/core/error.h"

namespace deepcart::text {

BertLayerImpl::BertLayerImpl(int64_t dim, int64_t heads, int64_t hidden, double eps, double dropout)
    : heads_(heads), eps_(eps) {
  if (heads < 1 || dim % heads != 0) {
    throw Error("bert: the width " + std::to_string(dim) + " is not divisible by " +
                std::to_string(heads) + " heads");
  }
  auto norm = [&] { return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps)); };
  qkv_ = register_module("qkv", torch::nn::Linear(dim, 3 * dim));
  proj_ = register_module("proj", torch::nn::Linear(dim, dim));
  norm1_ = register_module("norm1", norm());
  ff1_ = register_module("ff1", torch::nn::Linear(dim, hidden));
  ff2_ = register_module("ff2", torch::nn::Linear(hidden, dim));
  norm2_ = register_module("norm2", norm());
  dropout_ = register_module("dropout", Dropout(dropout));
}

at::Tensor BertLayerImpl::forward(const at::Tensor& x, const at::Tensor& where, int64_t b,
                                  int64_t l, const at::Tensor& attend) {
  const int64_t d = x.size(1);
  // Queries, keys and values of the real tokens, placed in the padded grid; padding keys are
  // masked out and padding queries dropped, so their zeros never count.
  at::Tensor grid = torch::zeros({b * l, 3 * d}, x.options()).index_copy(0, where, qkv_(x));
  auto parts = grid.view({b, l, 3, heads_, d / heads_}).permute({2, 0, 3, 1, 4});
  // No dropout on the attention weights: LibTorch draws that mask on one core, and fine-tuning
  // keeps dropout on each sub-layer's output.
  at::Tensor mixed = at::scaled_dot_product_attention(parts[0], parts[1], parts[2], attend)
                         .transpose(1, 2)
                         .reshape({b * l, d})
                         .index_select(0, where);
  // Post-LayerNorm, as BERT: each sub-layer's output is added, then normalised.
  at::Tensor h = norm1_(x + dropout_(proj_(mixed)));
  return norm2_(h + dropout_(ff2_(torch::gelu(ff1_(h)))));
}

at::Tensor BertLayerImpl::forward_fused(const at::Tensor& x, const at::Tensor& padding) {
  constexpr int64_t kKeyPaddingMask = 1;  // ATen's mask_type for a (B, L) key padding mask
  return at::_transformer_encoder_layer_fwd(
      x, x.size(2), heads_, qkv_->weight, qkv_->bias, proj_->weight, proj_->bias,
      /*use_gelu=*/true, /*norm_first=*/false, eps_, norm1_->weight, norm1_->bias, norm2_->weight,
      norm2_->bias, ff1_->weight, ff1_->bias, ff2_->weight, ff2_->bias, padding, kKeyPaddingMask);
}

BertEncoderImpl::BertEncoderImpl(const TextOptions& o) : dim_(o.dim), max_length_(o.max_length) {
  positions_ = register_module("positions", torch::nn::Embedding(o.max_length, o.dim));
  type0_ = register_parameter("type0", torch::zeros({o.dim}));
  norm_ = register_module(
      "norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim}).eps(o.norm_eps)));
  for (int64_t i = 0; i < o.layers; ++i) {
    layers_.push_back(register_module("layer" + std::to_string(i),
                                      BertLayer(o.dim, o.heads, o.hidden, o.norm_eps, o.dropout)));
  }
  dropout_ = register_module("dropout", Dropout(o.dropout));
  // A BERT is meant to start from pretrained weights; this is its own initialisation, for
  // tests and for training one from zero.
  torch::NoGradGuard no_grad;
  positions_->weight.normal_(0.0, 0.02);
}

at::Tensor BertEncoderImpl::add_positions(const at::Tensor& embedded) {
  const int64_t l = embedded.size(1);
  if (l > max_length_) {
    throw Error("bert: a text of " + std::to_string(l) + " tokens is longer than the " +
                std::to_string(max_length_) + " positions of the model");
  }
  return embedded + positions_->weight.narrow(0, 0, l).unsqueeze(0) + type0_;
}

std::vector<at::Tensor> BertEncoderImpl::states(const at::Tensor& embedded, const at::Tensor& ids) {
  const int64_t b = ids.size(0), l = ids.size(1);
  at::Tensor attend = (ids != 0).view({b, 1, 1, l});
  at::Tensor all = torch::arange(b * l, ids.options());
  at::Tensor x = dropout_(norm_(add_positions(embedded))).reshape({b * l, dim_});
  std::vector<at::Tensor> out = {x.view({b, l, dim_})};
  for (auto& layer : layers_) {
    x = layer->forward(x, all, b, l, attend);
    out.push_back(x.view({b, l, dim_}));
  }
  return out;
}

at::Tensor BertEncoderImpl::encode(const at::Tensor& embedded, const at::Tensor& ids) {
  const int64_t b = ids.size(0), l = ids.size(1);
  at::Tensor keep = ids != 0;  // (B, L)
  // A text with no tokens at all keeps its first key, so attention has a finite row.
  at::Tensor usable = keep.clone();
  usable.select(1, 0).fill_(true);
  at::Tensor x = add_positions(embedded);
  if (!is_training() && !at::GradMode::is_enabled()) {
    // Inference batches are sorted by length, so they hold little padding: the fused kernels.
    x = norm_(x);
    at::Tensor padding = ~usable;
    for (auto& layer : layers_) x = layer->forward_fused(x, padding);
    x = masked_pool(x, keep, "mean");
  } else {
    // Training batches are drawn at random and padded to their longest text, often several
    // times the typical one: the layers run on the real tokens only.
    at::Tensor where = keep.reshape(-1).nonzero().squeeze(1);
    at::Tensor h = dropout_(norm_(x.reshape({b * l, dim_}).index_select(0, where)));
    at::Tensor attend = usable.view({b, 1, 1, l});
    for (auto& layer : layers_) h = layer->forward(h, where, b, l, attend);
    // Mean over each text's tokens: sum the packed rows into their texts.
    at::Tensor text_of = torch::div(where, l, "floor");
    at::Tensor sums = torch::zeros({b, dim_}, h.options()).index_add(0, text_of, h);
    x = sums / keep.sum(1, true).clamp_min(1).to(h.dtype());
  }
  // Mean pooling, then unit length (sentence-transformers' Pooling and Normalize).
  return torch::nn::functional::normalize(
      x, torch::nn::functional::NormalizeFuncOptions().dim(1).eps(1e-12));
}

}  // namespace deepcart::text
