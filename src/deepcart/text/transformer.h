// The other network the founding document names: a Transformer encoder with pre-LayerNorm
// blocks (Xiong et al. 2020: stable without warm-up tricks), learned positions, and max or
// mean pooling over the real tokens.
#pragma once

#include <vector>

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "deepcart/core/dropout.h"
#include "deepcart/text/encoder.h"

namespace deepcart::text {

class EncoderBlockImpl : public torch::nn::Module {
 public:
  EncoderBlockImpl(int64_t dim, int64_t heads, double dropout);
  // x (B, L, dim), bias (B, 1, 1, L): 0 for tokens, -inf for padding keys
  at::Tensor forward(const at::Tensor& x, const at::Tensor& bias);
  // The same block in ATen's fused CPU kernel (the one behind PyTorch's fast path), for
  // inference only. padding (B, L) bool: true for padding keys. Rows at padding positions are
  // not meaningful; the caller pools over real tokens only.
  at::Tensor forward_fused(const at::Tensor& x, const at::Tensor& padding);

 private:
  int64_t heads_;
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr}, ff1_{nullptr}, ff2_{nullptr};
  Dropout dropout_{nullptr};
};
TORCH_MODULE(EncoderBlock);

class TransformerImpl : public TextEncoderImpl {
 public:
  explicit TransformerImpl(const TextOptions& options);
  at::Tensor encode(const at::Tensor& embedded, const at::Tensor& ids) override;  // (B, dim)
  int64_t features() const override { return dim_; }

 private:
  int64_t dim_, max_length_;
  std::string pooling_;
  torch::nn::Embedding positions_{nullptr};
  std::vector<EncoderBlock> blocks_;
  torch::nn::LayerNorm final_norm_{nullptr};
  Dropout dropout_{nullptr};
};
TORCH_MODULE(Transformer);

}  // namespace deepcart::text
