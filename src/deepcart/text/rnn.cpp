#include "deepcart/text/rnn.h"

#include <torch/torch.h>

namespace deepcart::text {

RnnImpl::RnnImpl(const TextOptions& o) : hidden_(o.hidden), pooling_(o.pooling) {
  const double between = o.layers > 1 ? o.dropout : 0.0;
  if (o.arch == "gru") {
    gru_ = register_module("gru", torch::nn::GRU(torch::nn::GRUOptions(o.dim, o.hidden)
                                                     .num_layers(o.layers)
                                                     .bidirectional(true)
                                                     .batch_first(true)
                                                     .dropout(between)));
  } else {
    lstm_ = register_module("lstm", torch::nn::LSTM(torch::nn::LSTMOptions(o.dim, o.hidden)
                                                        .num_layers(o.layers)
                                                        .bidirectional(true)
                                                        .batch_first(true)
                                                        .dropout(between)));
  }
  dropout_ = register_module("dropout", torch::nn::Dropout(o.dropout));
}

at::Tensor RnnImpl::encode(const at::Tensor& embedded, const at::Tensor& ids) {
  at::Tensor keep = ids != 0;                                   // (B, L)
  at::Tensor lengths = keep.sum(1).clamp_min(1).to(torch::kCPU, torch::kLong);  // (B), on the CPU as packing wants
  // Packing makes the backward direction start at each text's last real token, not at padding.
  auto packed = torch::nn::utils::rnn::pack_padded_sequence(dropout_(embedded), lengths, /*batch_first=*/true,
                                                            /*enforce_sorted=*/false);
  torch::nn::utils::rnn::PackedSequence out =
      gru_ ? std::get<0>(gru_->forward_with_packed_input(packed)) : std::get<0>(lstm_->forward_with_packed_input(packed));
  at::Tensor states = std::get<0>(torch::nn::utils::rnn::pad_packed_sequence(out, /*batch_first=*/true, 0.0,
                                                                             ids.size(1)));  // (B, L, 2H)
  return masked_pool(states, keep, pooling_);
}

}  // namespace deepcart::text
