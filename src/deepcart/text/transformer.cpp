#include "deepcart/text/transformer.h"

#include <torch/torch.h>

#include <cmath>
#include <limits>

#include "deepcart/core/error.h"

namespace deepcart::text {

EncoderBlockImpl::EncoderBlockImpl(int64_t dim, int64_t heads, double dropout) : heads_(heads) {
  if (dim % heads != 0) {
    throw Error("transformer: --dim " + std::to_string(dim) + " is not divisible by --heads " +
                std::to_string(heads));
  }
  norm1_ = register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  qkv_ = register_module("qkv", torch::nn::Linear(dim, 3 * dim));
  proj_ = register_module("proj", torch::nn::Linear(dim, dim));
  norm2_ = register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim})));
  ff1_ = register_module("ff1", torch::nn::Linear(dim, 4 * dim));
  ff2_ = register_module("ff2", torch::nn::Linear(4 * dim, dim));
  dropout_ = register_module("dropout", Dropout(dropout));
}

at::Tensor EncoderBlockImpl::forward(const at::Tensor& x, const at::Tensor& bias) {
  const int64_t b = x.size(0), l = x.size(1), d = x.size(2), hd = d / heads_;
  // Self-attention on the normalised input, added back to the residual stream.
  auto parts =
      qkv_(norm1_(x)).view({b, l, 3, heads_, hd}).permute({2, 0, 3, 1, 4});  // (3, B, H, L, hd)
  at::Tensor scores =
      torch::matmul(parts[0], parts[1].transpose(-2, -1)) / std::sqrt(static_cast<double>(hd));
  at::Tensor attention = dropout_(torch::softmax(scores + bias, -1));  // (B, H, L, L)
  at::Tensor mixed = torch::matmul(attention, parts[2]).transpose(1, 2).reshape({b, l, d});
  at::Tensor h = x + dropout_(proj_(mixed));
  return h + dropout_(ff2_(dropout_(torch::gelu(ff1_(norm2_(h))))));
}

at::Tensor EncoderBlockImpl::forward_fused(const at::Tensor& x, const at::Tensor& padding) {
  const int64_t d = x.size(2);
  constexpr int64_t kKeyPaddingMask = 1;  // ATen's mask_type for a (B, L) key padding mask
  return at::_transformer_encoder_layer_fwd(
      x, d, heads_, qkv_->weight, qkv_->bias, proj_->weight, proj_->bias, /*use_gelu=*/true,
      /*norm_first=*/true, norm1_->options.eps(), norm1_->weight, norm1_->bias, norm2_->weight,
      norm2_->bias, ff1_->weight, ff1_->bias, ff2_->weight, ff2_->bias, padding, kKeyPaddingMask);
}

TransformerImpl::TransformerImpl(const TextOptions& o)
    : dim_(o.dim), max_length_(o.max_length), pooling_(o.pooling) {
  positions_ = register_module("positions", torch::nn::Embedding(o.max_length, o.dim));
  {
    torch::NoGradGuard no_grad;
    positions_->weight.normal_(0.0, 0.02);
  }
  for (int64_t i = 0; i < o.layers; ++i) {
    blocks_.push_back(
        register_module("block" + std::to_string(i), EncoderBlock(o.dim, o.heads, o.dropout)));
  }
  final_norm_ =
      register_module("final_norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({o.dim})));
  dropout_ = register_module("dropout", Dropout(o.dropout));
}

at::Tensor TransformerImpl::encode(const at::Tensor& embedded, const at::Tensor& ids) {
  const int64_t l = std::min<int64_t>(embedded.size(1), max_length_);
  at::Tensor x = embedded.narrow(1, 0, l), keep = ids.narrow(1, 0, l) != 0;  // (B, L, D), (B, L)
  x = dropout_(x + positions_->weight.narrow(0, 0, l).unsqueeze(0));
  // Padding keys get -inf; a text with no tokens at all keeps its first key so softmax has a finite
  // row.
  at::Tensor usable = keep.clone();
  usable.select(1, 0).fill_(true);
  if (!is_training() && !at::GradMode::is_enabled()) {
    at::Tensor padding = ~usable;
    for (auto& block : blocks_) x = block->forward_fused(x, padding);
    return masked_pool(final_norm_(x), keep, pooling_);
  }
  at::Tensor bias = torch::zeros(usable.sizes(), x.options())
                        .masked_fill(~usable, -std::numeric_limits<float>::infinity())
                        .view({x.size(0), 1, 1, l});
  for (auto& block : blocks_) x = block->forward(x, bias);
  return masked_pool(final_norm_(x), keep, pooling_);
}

}  // namespace deepcart::text
