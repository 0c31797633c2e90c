// A trained recommender loaded from its ModelFile: top-K for a known user with bought items
// excluded, scores over all items, and the held-out evaluation (AUC, log-loss, HR/NDCG@K).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "deepcart/core/model_file.h"
#include "deepcart/data/id_map.h"
#include "deepcart/rec/interactions.h"
#include "deepcart/rec/mlp.h"

namespace deepcart::rec {

struct ScoredItem {
  std::string item;
  double score;  // purchase probability
};

class Recommender {
 public:
  explicit Recommender(ModelFile file);
  static Recommender load(const std::string& path);

  // Top-k items for a known user, best first; bought items are skipped unless asked otherwise.
  std::vector<ScoredItem> recommend(const std::string& user, int k, bool exclude_bought = true);
  // users (U) int64 -> logits (U, I)
  at::Tensor score_all(const at::Tensor& users);
  // users (B), items (B) -> purchase probabilities (B)
  at::Tensor probability(const at::Tensor& users, const at::Tensor& items);

  const data::IdMap& users() const { return users_; }
  const data::IdMap& items() const { return items_; }
  const std::vector<int64_t>& bought(int64_t user) const { return bought_.at(user); }
  const at::Tensor& popularity() const { return popularity_; }  // (I) purchases in training
  const ModelFile& file() const { return file_; }

 private:
  ModelFile file_;
  Mlp model_{nullptr};
  data::IdMap users_, items_;
  std::vector<std::vector<int64_t>> bought_;
  at::Tensor popularity_;
};

// Held-out evaluation with the leave-one-out protocol: AUC and log-loss on the test purchases
// against `negatives` sampled never-seen items each (seeded), and HR/NDCG@K of the test item
// ranked against all items the user has not interacted with. Also the popularity baseline.
// `log` must already use the model's ids (see interactions_remap).
std::map<std::string, double> rec_evaluate(Recommender& model, const Interactions& log,
                                           const LooSplit& split, const std::vector<int>& ks,
                                           int negatives, uint64_t seed);

// Re-maps a log read from a file onto the model's id maps; rows with unknown users or items are
// dropped and counted in `dropped`.
Interactions interactions_remap(const Interactions& log, const data::IdMap& users,
                                const data::IdMap& items, int64_t* dropped);

}  // namespace deepcart::rec
