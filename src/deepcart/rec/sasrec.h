// SASRec (Kang & McAuley 2018): causal self-attention over the user's most recent items, with
// learned positions, pre-LayerNorm blocks and the item embeddings shared as the output layer.
#pragma once

#include <vector>

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <nlohmann/json.hpp>

#include "deepcart/core/dropout.h"
#include "deepcart/rec/model.h"

namespace deepcart::rec {

struct SasRecOptions {
  int64_t items = 0;
  int64_t dim = 64;
  int64_t blocks = 2;
  int64_t heads = 1;
  int64_t max_len = 50;
  double dropout = 0.2;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(SasRecOptions, items, dim, blocks, heads, max_len,
                                                dropout)

class SasRecBlockImpl : public torch::nn::Module {
 public:
  SasRecBlockImpl(int64_t dim, int64_t heads, double dropout);
  // x (L, B, D), causal mask (L, L) bool -> (L, B, D); weights (B, L, L) when asked
  // x (L, B, D) with a causal mask; with `weights`, the attention weights come back too.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& mask, at::Tensor* weights);
  at::Tensor causal_attention(const at::Tensor& h);
  // The same block over the real positions only: x (N, D), `real` their slots in the
  // row-major (batch, len) grid of a left-padded batch.
  at::Tensor forward_real(const at::Tensor& x, const at::Tensor& real, int64_t batch, int64_t len);

 private:
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  torch::nn::MultiheadAttention attention_{nullptr};
  torch::nn::Linear ff1_{nullptr}, ff2_{nullptr};
  Dropout dropout_{nullptr};
};
TORCH_MODULE(SasRecBlock);

class SasRecImpl : public SeqModelImpl {
 public:
  explicit SasRecImpl(const SasRecOptions& options);
  at::Tensor encode(const at::Tensor& history) override;       // (B, L) -> (B, L, D)
  at::Tensor encode_real(const at::Tensor& history) override;  // (B, L) -> (N, D)
  at::Tensor encode_last(const at::Tensor& history) override;  // (B, L) -> (B, D)
  at::Tensor item_vectors() override;                          // (I, D)
  at::Tensor last_attention() override { return last_attention_; }
  void record_attention(bool on) { record_attention_ = on; }

 private:
  SasRecOptions options_;
  torch::nn::Embedding item_emb_{nullptr};  // (I + 1, D), row 0 = padding
  torch::nn::Embedding pos_emb_{nullptr};   // (max_len, D)
  torch::nn::ModuleList blocks_;
  torch::nn::LayerNorm final_norm_{nullptr};
  Dropout dropout_{nullptr};
  bool record_attention_ = false;
  at::Tensor last_attention_;  // (B, L): last block's weights for the last position
};
TORCH_MODULE(SasRec);

}  // namespace deepcart::rec
