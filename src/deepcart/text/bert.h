// The BERT encoder of pretrained sentence encoders such as all-MiniLM-L6-v2 (Devlin et al. 2019;
// Reimers and Gurevych 2019): learned positions and a token-type row added to the token
// embedding, post-LayerNorm blocks with erf GELU, then mean pooling over the real tokens and L2
// normalisation, so the features are the model's sentence embedding. Weights come from a
// pretrained folder (pretrained.h); the token embedding itself is the TextNet's.
#pragma once

#include <vector>

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

#include "deepcart/core/dropout.h"
#include "deepcart/text/encoder.h"

namespace deepcart::text {

class BertLayerImpl : public torch::nn::Module {
 public:
  BertLayerImpl(int64_t dim, int64_t heads, int64_t hidden, double eps, double dropout);
  // Packed tokens: x (N, dim) holds only the real tokens of a (B, L) batch, `where` (N) their
  // flat positions b * L + l; attend (B, 1, 1, L) bool: true for keys a query may look at. Every
  // per-token step (projections, LayerNorms, feed-forward) runs on the N real tokens only;
  // attention sees them in place in the padded grid. -> (N, dim)
  at::Tensor forward(const at::Tensor& x, const at::Tensor& where, int64_t b, int64_t l,
                     const at::Tensor& attend);
  // The same in ATen's fused CPU kernel, for inference. padding (B, L) bool: true for padding
  // keys; rows at padding positions are not meaningful.
  at::Tensor forward_fused(const at::Tensor& x, const at::Tensor& padding);

 private:
  int64_t heads_;
  double eps_;
  torch::nn::Linear qkv_{nullptr}, proj_{nullptr}, ff1_{nullptr}, ff2_{nullptr};
  torch::nn::LayerNorm norm1_{nullptr}, norm2_{nullptr};
  Dropout dropout_{nullptr};
};
TORCH_MODULE(BertLayer);

class BertEncoderImpl : public TextEncoderImpl {
 public:
  explicit BertEncoderImpl(const TextOptions& options);
  // The sentence embedding: (B, dim), each row of norm 1.
  at::Tensor encode(const at::Tensor& embedded, const at::Tensor& ids) override;
  int64_t features() const override { return dim_; }
  // Every layer's output, the embedding layer's first (layers + 1 tensors of (B, L, dim)), on
  // the training path with every position kept: for tests against reference states.
  std::vector<at::Tensor> states(const at::Tensor& embedded, const at::Tensor& ids);

 private:
  at::Tensor add_positions(const at::Tensor& embedded);  // (B, L, dim), before the LayerNorm
  int64_t dim_, max_length_;
  torch::nn::Embedding positions_{nullptr};
  at::Tensor type0_;  // the token-type embedding of segment 0, added to every token
  torch::nn::LayerNorm norm_{nullptr};
  std::vector<BertLayer> layers_;
  Dropout dropout_{nullptr};
};
TORCH_MODULE(BertEncoder);

}  // namespace deepcart::text
