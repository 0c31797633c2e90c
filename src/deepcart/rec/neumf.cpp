#include "deepcart/rec/neumf.h"

#include <torch/torch.h>

#include "deepcart/core/error.h"

namespace deepcart::rec {

NeuMfImpl::NeuMfImpl(const NeuMfOptions& o) {
  gmf_ = register_module("gmf", Gmf(GmfOptions{o.users, o.items, o.gmf_dim}));
  MlpOptions m;
  m.users = o.users;
  m.items = o.items;
  m.dim = o.mlp_dim;
  m.layers = o.layers;
  m.dropout = o.dropout;
  mlp_ = register_module("mlp", Mlp(m));
  out_ = register_module("out", torch::nn::Linear(o.gmf_dim + mlp_->tower()->out_dim(), 1));
}

at::Tensor NeuMfImpl::score(const at::Tensor& users, const at::Tensor& items) {
  at::Tensor g = gmf_->product(users, items);  // (B, C, Dg)
  at::Tensor m =
      mlp_->tower()(mlp_->user_embedding()(users), mlp_->item_embedding()(items));  // (B, C, H)
  return out_(torch::cat({g, m}, -1)).squeeze(-1);                                  // (B, C)
}

at::Tensor NeuMfImpl::score_all(const at::Tensor& users) {
  const int64_t dg = gmf_->user_emb_->weight.size(1);
  at::Tensor w = out_->weight.squeeze(0);  // (Dg + H)
  // GMF half as one GEMM; MLP half through the broadcast tower.
  at::Tensor g = torch::mm(gmf_->user_emb_(users) * w.slice(0, 0, dg), gmf_->item_emb_->weight.t());
  at::Tensor m = mlp_->tower()->forward_all(mlp_->user_embedding()(users),
                                            mlp_->item_embedding()->weight);  // (B, I, H)
  return g + torch::matmul(m, w.slice(0, dg)) + out_->bias;                   // (B, I)
}

at::Tensor NeuMfImpl::item_vectors() {
  return torch::cat({gmf_->item_emb_->weight, mlp_->item_embedding()->weight}, 1);
}

void NeuMfImpl::init_from(GmfImpl& gmf, MlpImpl& mlp) {
  torch::NoGradGuard no_grad;
  auto copy = [](torch::nn::Module& to, torch::nn::Module& from, const std::string& what) {
    auto dst = to.named_parameters(true);
    auto src = from.named_parameters(true);
    for (auto& p : dst) {
      const at::Tensor* s = src.find(p.key());
      if (!s || s->sizes() != p.value().sizes()) {
        throw Error("--init-" + what + ": parameter '" + p.key() +
                    "' missing or of another shape: "
                    "train it with the same users, items and sizes");
      }
      p.value().copy_(*s);
    }
  };
  copy(*gmf_, gmf, "gmf");
  copy(*mlp_->tower(), *mlp.tower(), "mlp");
  mlp_->user_embedding()->weight.copy_(mlp.user_embedding()->weight);
  mlp_->item_embedding()->weight.copy_(mlp.item_embedding()->weight);
  const int64_t dg = gmf.out_->weight.size(1);
  out_->weight.slice(1, 0, dg).copy_(0.5 * gmf.out_->weight);
  out_->weight.slice(1, dg).copy_(0.5 * mlp.output()->weight);
  out_->bias.copy_(0.5 * (gmf.out_->bias + mlp.output()->bias));
}

}  // namespace deepcart::rec
