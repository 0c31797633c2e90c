// The founding document's recurrent networks: a bidirectional GRU or LSTM over the token
// embeddings, then max or mean pooling over the real (non-padding) positions.
#pragma once

#include <torch/nn/modules/rnn.h>

#include "deepcart/core/dropout.h"
#include "deepcart/text/encoder.h"

namespace deepcart::text {

class RnnImpl : public TextEncoderImpl {
 public:
  explicit RnnImpl(const TextOptions& options);
  at::Tensor encode(const at::Tensor& embedded, const at::Tensor& ids) override;  // (B, 2 hidden)
  int64_t features() const override { return 2 * hidden_; }
  // The same network over a PackedSequence, as PyTorch runs it; kept as the reference for tests.
  at::Tensor encode_packed(const at::Tensor& embedded, const at::Tensor& ids);

 private:
  // One direction of one layer over x (B, L, F), left-aligned: (B, L, hidden).
  at::Tensor direction(const at::Tensor& x, int64_t layer, bool reverse);

  int64_t hidden_;
  int64_t layers_;
  double between_;  // dropout between layers
  std::string pooling_;
  torch::nn::GRU gru_{nullptr};
  torch::nn::LSTM lstm_{nullptr};
  Dropout dropout_{nullptr};
};
TORCH_MODULE(Rnn);

}  // namespace deepcart::text
