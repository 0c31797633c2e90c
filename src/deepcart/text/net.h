// A text network: token embedding, an encoder (bow, gru, lstm or transformer) and a linear
// head over the labels.
#pragma once

#include <memory>

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>

#include "deepcart/core/dropout.h"
#include "deepcart/text/encoder.h"

namespace deepcart::text {

class TextNetImpl : public torch::nn::Module {
 public:
  explicit TextNetImpl(const TextOptions& options);
  at::Tensor forward(const at::Tensor& ids) { return logits(embed(ids), ids); }  // (B, classes)
  at::Tensor embed(const at::Tensor& ids) { return embedding_(ids); }            // (B, L, dim)
  at::Tensor logits(const at::Tensor& embedded, const at::Tensor& ids);
  // What the head sees: the encoder's (B, features) (for bert, the sentence embedding).
  at::Tensor features(const at::Tensor& ids) { return encoder_->encode(embed(ids), ids); }
  TextEncoderImpl& encoder() { return *encoder_; }
  at::Tensor head_logits(const at::Tensor& features) { return head_(dropout_(features)); }
  const TextOptions& options() const { return options_; }

 private:
  TextOptions options_;
  torch::nn::Embedding embedding_{nullptr};
  std::shared_ptr<TextEncoderImpl> encoder_;
  Dropout dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(TextNet);

}  // namespace deepcart::text
