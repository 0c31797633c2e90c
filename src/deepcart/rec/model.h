// What every trainable recommender offers the tasks, the evaluator and the Recommender.
// Two families: pair models score (user, item) pairs from ids (bpr-mf, gmf, ncf-mlp, neumf,
// behaviour-mlp); sequence models encode a user's recent items (sasrec, gru4rec).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/embedding.h>
#include <nlohmann/json.hpp>

namespace deepcart::rec {

class PairModelImpl : public torch::nn::Module {
 public:
  // users (B), items (B, C) -> logits (B, C)
  virtual at::Tensor score(const at::Tensor& users, const at::Tensor& items) = 0;
  // users (B) -> logits (B, I) over every item
  virtual at::Tensor score_all(const at::Tensor& users) = 0;
  // (I, D) item vectors used for look-alikes and for anonymous histories
  virtual at::Tensor item_vectors() = 0;
  // Floats score_all allocates per (user, item): the evaluator sizes its user batches by it.
  virtual int64_t width_per_pair() const { return 1; }
};

class SeqModelImpl : public torch::nn::Module {
 public:
  // history (B, L) int64 item id + 1, 0 = padding, left-padded, most recent last
  //   -> hidden states (B, L, D)
  virtual at::Tensor encode(const at::Tensor& history) = 0;
  // The hidden states at the real (non-zero) positions of `history` only, row by row: (N, D)
  // for N real positions. Equal to picking them out of encode(); a model may skip the padding.
  virtual at::Tensor encode_real(const at::Tensor& history);
  // The hidden state at each row's last position, (B, D): what scores the next item.
  virtual at::Tensor encode_last(const at::Tensor& history);
  // (I, D) output item embeddings, shared with the input (index i = item id i)
  virtual at::Tensor item_vectors() = 0;
  // Per-position weights over the history for the last position, (B, L), from the last
  // encode() call when it recorded them; undefined tensor when the model has none.
  virtual at::Tensor last_attention() { return {}; }
  int64_t max_len() const { return max_len_; }

 protected:
  int64_t max_len_ = 50;
};

// Item embeddings of a sequence model: (items + 1, dim), row 0 = padding, rows of unit scale.
// The default N(0, 1) would start every output logit (a dot product with these same rows)
// around +-sqrt(dim), which saturates the softmax.
torch::nn::Embedding seq_item_embedding(int64_t items, int64_t dim);

// Architecture names and their family.
enum class RecFamily { kPop, kPair, kSeq, kItemItem };
RecFamily rec_family(const std::string& arch);  // throws Error for unknown names

// Every hyper-parameter of `arch`: the given ones, defaults for the rest; unknown keys are errors.
nlohmann::json rec_resolve_hparams(const std::string& arch, const nlohmann::json& hp);

// Builds an untrained model from its hyper-parameters (a ModelFile's hparams).
std::shared_ptr<PairModelImpl> make_pair_model(const std::string& arch, const nlohmann::json& hp);
std::shared_ptr<SeqModelImpl> make_seq_model(const std::string& arch, const nlohmann::json& hp);

}  // namespace deepcart::rec
