// Dot-product matrix factorisation (Rendle et al.): score = <user, item> + item bias. Trained
// with BPR (pairwise) or BCE; Rendle et al. 2020 show it, well tuned, matching NeuMF.
#pragma once

#include <torch/nn/modules/embedding.h>
#include <nlohmann/json.hpp>

#include "deepcart/rec/model.h"

namespace deepcart::rec {

struct MfOptions {
  int64_t users = 0;
  int64_t items = 0;
  int64_t dim = 64;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(MfOptions, users, items, dim)

class BprMfImpl : public PairModelImpl {
 public:
  explicit BprMfImpl(const MfOptions& options);
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override;  // (B),(B,C)->(B,C)
  at::Tensor score_all(const at::Tensor& users) override;                       // (B) -> (B, I)
  at::Tensor item_vectors() override { return item_emb_->weight; }              // (I, D)

 private:
  torch::nn::Embedding user_emb_{nullptr};  // (U, D)
  torch::nn::Embedding item_emb_{nullptr};  // (I, D)
  at::Tensor item_bias_;                    // (I)
};
TORCH_MODULE(BprMf);

}  // namespace deepcart::rec
