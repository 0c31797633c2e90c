#include "deepcart/text/rnn.h"

#include <torch/torch.h>

namespace deepcart::text {

RnnImpl::RnnImpl(const TextOptions& o)
    : hidden_(o.hidden),
      layers_(o.layers),
      between_(o.layers > 1 ? o.dropout : 0.0),
      pooling_(o.pooling) {
  const double between = between_;
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
  dropout_ = register_module("dropout", Dropout(o.dropout));
}

// Texts are left-aligned: real tokens first, padding after. Over a PackedSequence, LibTorch's
// CPU recurrence narrows the packed input at every time step, and the backward of each narrow
// writes a zero tensor the size of the whole input: quadratic in the length, 57% of a GRU
// training step in zero-fills and adds (bench/RESULTS.md). So training runs unpacked (inference,
// with no backward, stays packed, which skips the padding). Unpacked, the forward direction
// reads the real tokens before the padding, so its outputs at real positions are the packed
// ones; the backward direction reads each text reversed within its own length, which starts
// it at the last real token as packing does. Equal to encode_packed (tests/text/models_test.cpp).
at::Tensor RnnImpl::encode(const at::Tensor& embedded, const at::Tensor& ids) {
  // Without gradients there is no backward to pay for, and packing skips the padding.
  if (!torch::GradMode::is_enabled()) return encode_packed(embedded, ids);
  at::Tensor keep = ids != 0;  // (B, L)
  const int64_t len = ids.size(1);
  // reversed[b][t] = x[b][n_b - 1 - t] for t < n_b (n_b real tokens), padding where it was.
  at::Tensor n = keep.sum(1, /*keepdim=*/true);                                       // (B, 1)
  at::Tensor t = torch::arange(len, ids.options().dtype(torch::kLong)).unsqueeze(0);  // (1, L)
  at::Tensor flip = torch::where(t < n, n - 1 - t, t);                                // (B, L)
  auto reverse = [&](const at::Tensor& x) {
    return x.gather(1, flip.unsqueeze(2).expand({flip.size(0), len, x.size(2)}));
  };
  at::Tensor x = dropout_(embedded);
  for (int64_t layer = 0; layer < layers_; ++layer) {
    if (layer > 0) x = parallel_dropout(x, between_, is_training());
    at::Tensor forward = direction(x, layer, false);
    at::Tensor backward = reverse(direction(reverse(x), layer, true));
    x = torch::cat({forward, backward}, 2);  // (B, L, 2H)
  }
  return masked_pool(x, keep, pooling_);
}

at::Tensor RnnImpl::direction(const at::Tensor& x, int64_t layer, bool reverse) {
  const std::string suffix = "_l" + std::to_string(layer) + (reverse ? "_reverse" : "");
  torch::nn::Module& rnn = gru_ ? static_cast<torch::nn::Module&>(*gru_) : *lstm_;
  const auto& p = rnn.named_parameters(/*recurse=*/false);
  const std::vector<at::Tensor> weights{p["weight_ih" + suffix], p["weight_hh" + suffix],
                                        p["bias_ih" + suffix], p["bias_hh" + suffix]};
  at::Tensor h0 = torch::zeros({1, x.size(0), hidden_}, x.options());
  if (gru_) {
    return std::get<0>(at::gru(x, h0, weights, /*has_biases=*/true, /*num_layers=*/1,
                               /*dropout=*/0.0, is_training(), /*bidirectional=*/false,
                               /*batch_first=*/true));
  }
  return std::get<0>(at::lstm(x, {h0, h0}, weights, /*has_biases=*/true, /*num_layers=*/1,
                              /*dropout=*/0.0, is_training(), /*bidirectional=*/false,
                              /*batch_first=*/true));
}

at::Tensor RnnImpl::encode_packed(const at::Tensor& embedded, const at::Tensor& ids) {
  at::Tensor keep = ids != 0;  // (B, L)
  at::Tensor lengths =
      keep.sum(1).clamp_min(1).to(torch::kCPU, torch::kLong);  // (B), on the CPU as packing wants
  // Packing makes the backward direction start at each text's last real token, not at padding.
  auto packed =
      torch::nn::utils::rnn::pack_padded_sequence(dropout_(embedded), lengths, /*batch_first=*/true,
                                                  /*enforce_sorted=*/false);
  torch::nn::utils::rnn::PackedSequence out =
      gru_ ? std::get<0>(gru_->forward_with_packed_input(packed))
           : std::get<0>(lstm_->forward_with_packed_input(packed));
  at::Tensor states =
      std::get<0>(torch::nn::utils::rnn::pad_packed_sequence(out, /*batch_first=*/true, 0.0,
                                                             ids.size(1)));  // (B, L, 2H)
  return masked_pool(states, keep, pooling_);
}

}  // namespace deepcart::text
