// A trained recommender loaded from its ModelFile, whatever its architecture: top-K for a known
// user (seen items excluded), for an anonymous history (cold start), look-alike items, and the
// "because you bought" reasons; plus evaluation on a split.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "deepcart/core/model_file.h"
#include "deepcart/data/id_map.h"
#include "deepcart/rec/dataset.h"
#include "deepcart/rec/model.h"

namespace deepcart::rec {

struct ScoredItem {
  std::string item;
  double score;                      // probability for BCE-trained models, else the raw score
  std::vector<std::string> because;  // history items that contributed most
};
// {"item", "score", "because"}: what the CLI, the server and the demo report for each item.
void to_json(nlohmann::json& j, const ScoredItem& item);
// A title line, then one numbered line per item with its reasons (`rec recommend`, `similar`).
std::string describe(const std::string& title, const std::vector<ScoredItem>& items);

class Recommender {
 public:
  explicit Recommender(ModelFile file);
  static Recommender load(const std::string& path);

  // Top-k for a known user, best first; items the user interacted with are skipped unless
  // asked otherwise. An unknown user is an error naming how many users the model knows.
  std::vector<ScoredItem> recommend(const std::string& user, int k, bool exclude_seen = true,
                                    int reasons = 2);
  // Top-k for an anonymous history (item ids, oldest first); unknown items are errors.
  std::vector<ScoredItem> recommend_history(const std::vector<std::string>& history, int k,
                                            int reasons = 2);
  // Top-k for every user into a CSV: user_id,rank,item_id,score.
  void write_top_k_csv(const std::string& path, int k, bool exclude_seen = true);
  // Nearest items by cosine similarity of the item vectors.
  std::vector<ScoredItem> similar(const std::string& item, int k);

  // users (B) -> scores (B, I); sequence models read each user's history from `histories`
  // (per user id) or, when null, the history stored in the model.
  at::Tensor score_users(const at::Tensor& users,
                         const std::vector<std::vector<int64_t>>* histories = nullptr);
  // One anonymous history (item ids) -> scores (I)
  at::Tensor score_history(const std::vector<int64_t>& history);
  // Pair models: users (B), items (B) -> probabilities (B)
  at::Tensor probability(const at::Tensor& users, const at::Tensor& items);
  // Users per scoring batch that keeps score_users within a few hundred MB.
  int64_t batch_users() const;

  const data::IdMap& users() const { return users_; }
  const data::IdMap& items() const { return items_; }
  const std::vector<int64_t>& history(int64_t user) const { return history_.at(user); }
  const std::vector<int64_t>& seen(int64_t user) const { return seen_.at(user); }
  const at::Tensor& popularity() const { return popularity_; }  // (I) training interactions
  const ModelFile& file() const { return file_; }
  RecFamily family() const { return family_; }

 private:
  std::vector<ScoredItem> top(at::Tensor scores, int k, const std::vector<int64_t>& history,
                              int reasons);
  std::vector<std::string> because(const std::vector<int64_t>& history, int64_t item, int reasons);
  double present(double raw) const;

  ModelFile file_;
  RecFamily family_;
  std::shared_ptr<PairModelImpl> pair_;
  std::shared_ptr<SeqModelImpl> seq_;
  at::Tensor ease_;  // (I, I) item-item weights
  data::IdMap users_, items_;
  std::vector<std::vector<int64_t>> history_;  // per user, time order
  std::vector<std::vector<int64_t>> seen_;     // per user, sorted unique
  at::Tensor popularity_;
  at::Tensor unit_vectors_;  // (I, D) L2-normalised item vectors, for similarity
  bool probabilities_ = false;
};

// Ranking metrics of `split`'s test items (or valid items when !test), with the user's train
// (and, for test, valid) items as history and excluded from the ranking.
std::map<std::string, double> rec_evaluate_split(Recommender& model, const RecSplit& split,
                                                 bool test, const std::vector<int>& ks,
                                                 int64_t sampled_negatives, uint64_t seed);

// behaviour-mlp's protocol on a behaviour log split leave-one-out: AUC and log-loss of the test
// purchases against `negatives` sampled never-seen items each; HR/NDCG@K (and the other ranking
// metrics) of the test item against all items the user has not interacted with; and the same
// ranking metrics of popularity (pop_...). `data` must use the model's ids.
std::map<std::string, double> rec_evaluate_behaviour(Recommender& model, const RecDataset& data,
                                                     const RecSplit& split,
                                                     const std::vector<int>& ks, int negatives,
                                                     uint64_t seed);

}  // namespace deepcart::rec
