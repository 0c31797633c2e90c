// NeuMF (He et al. 2017): a GMF half and an MLP half with their own embeddings, joined by one
// Dense 1 over [GMF product, MLP output]. Can start from trained GMF and ncf-mlp models, as
// in the paper (output weights halved from each).
#pragma once

#include <vector>

#include <torch/nn/modules/linear.h>
#include <nlohmann/json.hpp>

#include "deepcart/rec/gmf.h"
#include "deepcart/rec/mlp.h"
#include "deepcart/rec/model.h"

namespace deepcart::rec {

struct NeuMfOptions {
  int64_t users = 0;
  int64_t items = 0;
  int64_t gmf_dim = 32;
  int64_t mlp_dim = 32;
  std::vector<int64_t> layers = {64, 32, 16};
  double dropout = 0.0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(NeuMfOptions, users, items, gmf_dim, mlp_dim,
                                                layers, dropout)

class NeuMfImpl : public PairModelImpl {
 public:
  explicit NeuMfImpl(const NeuMfOptions& options);
  at::Tensor score(const at::Tensor& users, const at::Tensor& items) override;  // (B),(B,C)->(B,C)
  at::Tensor score_all(const at::Tensor& users) override;                       // (B) -> (B, I)
  at::Tensor item_vectors() override;  // (I, Dg + Dm): both halves' item embeddings
  int64_t width_per_pair() const override { return mlp_->tower()->first_width(); }

  // Copies the trained halves in and sets the output to [0.5 w_gmf, 0.5 w_mlp].
  void init_from(GmfImpl& gmf, MlpImpl& mlp);

 private:
  Gmf gmf_{nullptr};
  Mlp mlp_{nullptr};
  torch::nn::Linear out_{nullptr};  // Dg + H_last -> 1
};
TORCH_MODULE(NeuMf);

}  // namespace deepcart::rec
