// Ranking evaluation over ALL items: each evaluated user's held-out item is ranked against
// every item the user has not interacted with. Scoring is batched users x items with no
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
  std::vector<int64_t> users;                  // users to evaluate
  std::vector<int64_t> targets;                // held-out item per evaluated user
  const std::vector<std::vector<int64_t>>* exclude = nullptr;  // per user id, items never ranked
  std::vector<int> ks = {10};
};

// Returns "hr@K" and "ndcg@K" for each K, averaged over users, and "users".
// The rank of the target counts the unexcluded items that score strictly higher, plus tied
// items (pessimistic, so a constant scorer cannot look good).
std::map<std::string, double> rank_full(const ScoreFn& score, int64_t num_items,
                                        const RankingTask& task, int64_t batch_users = 256);

// Ranks of each target (0 = first) for the same protocol; exposed for tests.
std::vector<int64_t> target_ranks(const ScoreFn& score, int64_t num_items, const RankingTask& task,
                                  int64_t batch_users = 256);

}  // namespace deepcart::rec
