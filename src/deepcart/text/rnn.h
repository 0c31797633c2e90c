// The founding document's recurrent networks: a bidirectional GRU or LSTM over the token
// embeddings, then max or mean pooling over the real (non-padding) positions.
#pragma once

#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/rnn.h>

#include "deepcart/text/encoder.h"

namespace deepcart::text {

class RnnImpl : public TextEncoderImpl {
 public:
  explicit RnnImpl(const TextOptions& options);
  at::Tensor encode(const at::Tensor& embedded, const at::Tensor& ids) override;  // (B, 2 hidden)
  int64_t features() const override { return 2 * hidden_; }

 private:
  int64_t hidden_;
  std::string pooling_;
  torch::nn::GRU gru_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  torch::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(Rnn);

}  // namespace deepcart::text
