// GRU4Rec (Hidasi et al. 2016): a GRU over the user's most recent items; the hidden state at
// each position scores the next item against the shared item embeddings.
#pragma once

#include <torch/nn/modules/embedding.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/rnn.h>
#include <nlohmann/json.hpp>

#include "deepcart/core/dropout.h"
#include "deepcart/rec/model.h"

namespace deepcart::rec {

struct Gru4RecOptions {
  int64_t items = 0;
  int64_t dim = 64;
  int64_t layers = 1;
  int64_t max_len = 50;
  double dropout = 0.2;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Gru4RecOptions, items, dim, layers, max_len,
                                                dropout)

class Gru4RecImpl : public SeqModelImpl {
 public:
  explicit Gru4RecImpl(const Gru4RecOptions& options);
  at::Tensor encode(const at::Tensor& history) override;  // (B, L) -> (B, L, D)
  at::Tensor item_vectors() override;                     // (I, D)

 private:
  torch::nn::Embedding item_emb_{nullptr};  // (I + 1, D), row 0 = padding
  torch::nn::GRU gru_{nullptr};
  torch::nn::Linear proj_{nullptr};  // D -> D, into the item space
  Dropout dropout_{nullptr};
};
TORCH_MODULE(Gru4Rec);

}  // namespace deepcart::rec
