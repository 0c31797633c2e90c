// Ranking evaluation. The default protocol ranks each user's held-out items against ALL items
// the user has not interacted with; the sampled protocol (N seeded negatives per user) exists
// only to compare with papers that used it. Scoring is batched users x items, with topk and no
// per-item loops.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

namespace deepcart::rec {

// users (B) int64 -> scores (B, I); higher is better.
using ScoreFn = std::function<at::Tensor(const at::Tensor& users)>;

struct RankingTask {
  std::vector<int64_t> users;                 // evaluated users
  std::vector<std::vector<int64_t>> targets;  // per evaluated user: held-out items (>= 1)
  // Per user id: items never ranked (what the user already interacted with). Not owned.
  const std::vector<std::vector<int64_t>>* exclude = nullptr;
  // Per user id: every item the user ever touched; sampled negatives avoid these. Not owned.
  const std::vector<std::vector<int64_t>>* seen = nullptr;
  std::vector<int> ks = {5, 10, 20};
  int64_t sampled_negatives = 0;  // 0 = full ranking
  uint64_t seed = 42;
  int64_t batch_users = 256;
};

// Metrics averaged over users, for each K: "hr@K" (any hit), "ndcg@K" (binary gains, ideal
// DCG over min(K, |targets|) hits), "recall@K" (hits / |targets|), "precision@K" (hits / K),
// "map@K" (sum of precision at each hit / |targets|, as the Microsoft Recommenders table
// computes it), "mrr@K" (1 / rank of the first hit). Also "users".
// Ties are broken pessimistically for the targets: among equal scores, non-target items rank
// first, so a constant scorer cannot look good.
std::map<std::string, double> rank_evaluate(const ScoreFn& score, int64_t num_items,
                                            const RankingTask& task);

// The protocol in words, for every report.
std::string ranking_protocol(const RankingTask& task);

}  // namespace deepcart::rec
