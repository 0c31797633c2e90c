#include "deepcart/rec/model.h"

#include <torch/torch.h>

#include <cmath>

#include "deepcart/core/error.h"
#include "deepcart/core/model_file.h"
#include "deepcart/rec/bpr_mf.h"
#include "deepcart/rec/gmf.h"
#include "deepcart/rec/gru4rec.h"
#include "deepcart/rec/mlp.h"
#include "deepcart/rec/neumf.h"
#include "deepcart/rec/sasrec.h"

namespace deepcart::rec {

torch::nn::Embedding seq_item_embedding(int64_t items, int64_t dim) {
  torch::nn::Embedding emb(torch::nn::EmbeddingOptions(items + 1, dim).padding_idx(0));
  torch::NoGradGuard no_grad;
  emb->weight.normal_(0.0, 1.0 / std::sqrt(static_cast<double>(dim)));
  emb->weight[0].zero_();
  return emb;
}

at::Tensor SeqModelImpl::encode_real(const at::Tensor& history) {
  at::Tensor hidden = encode(history);  // (B, L, D)
  return hidden.reshape({-1, hidden.size(2)})
      .index_select(0, history.flatten().nonzero().squeeze(1));
}

at::Tensor SeqModelImpl::encode_last(const at::Tensor& history) {
  return encode(history).select(1, history.size(1) - 1);
}

RecFamily rec_family(const std::string& arch) {
  if (arch == "pop") return RecFamily::kPop;
  if (arch == "bpr-mf" || arch == "gmf" || arch == "ncf-mlp" || arch == "neumf" ||
      arch == "behaviour-mlp" || arch == "mlp") {
    return RecFamily::kPair;
  }
  if (arch == "sasrec" || arch == "gru4rec") return RecFamily::kSeq;
  if (arch == "ease") return RecFamily::kItemItem;
  throw Error(
      "--model: expected pop, bpr-mf, gmf, ncf-mlp, neumf, behaviour-mlp (or mlp), sasrec, gru4rec "
      "or ease, found '" +
      arch + "'");
}

namespace {

template <typename Options>
nlohmann::json resolve(const std::string& arch, const nlohmann::json& hp) {
  nlohmann::json full = hparams_as<Options>(hp, arch);
  for (const auto& [key, value] : hp.items()) {
    if (!full.contains(key)) {
      throw Error(arch + ": unknown hyper-parameter '" + key + "' (known: " + full.dump() + ")");
    }
  }
  return full;
}

}  // namespace

nlohmann::json rec_resolve_hparams(const std::string& arch, const nlohmann::json& hp) {
  if (arch == "pop" || arch == "ease") return hp;
  if (arch == "bpr-mf") return resolve<MfOptions>(arch, hp);
  if (arch == "gmf") return resolve<GmfOptions>(arch, hp);
  if (arch == "neumf") return resolve<NeuMfOptions>(arch, hp);
  if (arch == "behaviour-mlp" || arch == "mlp" || arch == "ncf-mlp")
    return resolve<MlpOptions>(arch, hp);
  if (arch == "sasrec") return resolve<SasRecOptions>(arch, hp);
  if (arch == "gru4rec") {
    // --layers is a list for the MLP towers; gru4rec's is one number of stacked GRU layers.
    nlohmann::json gru = hp;
    if (gru.contains("layers") && gru["layers"].is_array() && gru["layers"].size() == 1)
      gru["layers"] = gru["layers"][0];
    return resolve<Gru4RecOptions>(arch, gru);
  }
  rec_family(arch);  // throws the message listing the architectures
  return hp;
}

std::shared_ptr<PairModelImpl> make_pair_model(const std::string& arch, const nlohmann::json& hp) {
  if (arch == "bpr-mf") return std::make_shared<BprMfImpl>(hparams_as<MfOptions>(hp, arch));
  if (arch == "gmf") return std::make_shared<GmfImpl>(hparams_as<GmfOptions>(hp, arch));
  if (arch == "neumf") return std::make_shared<NeuMfImpl>(hparams_as<NeuMfOptions>(hp, arch));
  if (arch == "behaviour-mlp" || arch == "mlp" || arch == "ncf-mlp")
    return std::make_shared<MlpImpl>(hparams_as<MlpOptions>(hp, arch));
  throw Error("'" + arch + "' is not a pair model");
}

std::shared_ptr<SeqModelImpl> make_seq_model(const std::string& arch, const nlohmann::json& hp) {
  if (arch == "sasrec") return std::make_shared<SasRecImpl>(hparams_as<SasRecOptions>(hp, arch));
  if (arch == "gru4rec") return std::make_shared<Gru4RecImpl>(hparams_as<Gru4RecOptions>(hp, arch));
  throw Error("'" + arch + "' is not a sequence model");
}

}  // namespace deepcart::rec
