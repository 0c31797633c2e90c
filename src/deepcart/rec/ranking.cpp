#include "deepcart/rec/ranking.h"

#include <torch/torch.h>

#include <cmath>

#include "deepcart/core/error.h"

namespace deepcart::rec {

std::vector<int64_t> target_ranks(const ScoreFn& score, int64_t num_items, const RankingTask& task,
                                  int64_t batch_users) {
  if (task.users.size() != task.targets.size()) throw Error("ranking: users and targets differ");
  c10::InferenceMode guard;
  std::vector<int64_t> ranks;
  ranks.reserve(task.users.size());
  const int64_t n = static_cast<int64_t>(task.users.size());
  for (int64_t begin = 0; begin < n; begin += batch_users) {
    const int64_t end = std::min(n, begin + batch_users);
    std::vector<int64_t> batch(task.users.begin() + begin, task.users.begin() + end);
    at::Tensor users = torch::tensor(batch, torch::kLong);
    at::Tensor scores = score(users).to(torch::kFloat).clone();  // (B, I)
    TORCH_CHECK(scores.size(0) == end - begin && scores.size(1) == num_items,
                "score function: expected (", end - begin, ", ", num_items, "), got ", scores.sizes());
    at::Tensor targets = torch::tensor(
        std::vector<int64_t>(task.targets.begin() + begin, task.targets.begin() + end), torch::kLong);
    at::Tensor target_scores = scores.gather(1, targets.unsqueeze(1));  // (B, 1)
    // Excluded items can never outrank the target.
    if (task.exclude) {
      std::vector<int64_t> rows, cols;
      for (int64_t b = 0; b < end - begin; ++b) {
        for (int64_t item : (*task.exclude)[batch[b]]) {
          rows.push_back(b);
          cols.push_back(item);
        }
      }
      if (!rows.empty()) {
        scores.index_put_({torch::tensor(rows, torch::kLong), torch::tensor(cols, torch::kLong)},
                          -std::numeric_limits<float>::infinity());
      }
    }
    scores.scatter_(1, targets.unsqueeze(1), -std::numeric_limits<float>::infinity());
    at::Tensor above = (scores >= target_scores).sum(1);  // (B)
    auto a = above.accessor<int64_t, 1>();
    for (int64_t b = 0; b < end - begin; ++b) ranks.push_back(a[b]);
  }
  return ranks;
}

std::map<std::string, double> rank_full(const ScoreFn& score, int64_t num_items,
                                        const RankingTask& task, int64_t batch_users) {
  const std::vector<int64_t> ranks = target_ranks(score, num_items, task, batch_users);
  std::map<std::string, double> out;
  for (int k : task.ks) {
    double hits = 0, ndcg = 0;
    for (int64_t r : ranks) {
      if (r < k) {
        hits += 1;
        ndcg += 1.0 / std::log2(static_cast<double>(r) + 2.0);
      }
    }
    const double n = ranks.empty() ? 1.0 : static_cast<double>(ranks.size());
    out["hr@" + std::to_string(k)] = hits / n;
    out["ndcg@" + std::to_string(k)] = ndcg / n;
  }
  out["users"] = static_cast<double>(ranks.size());
  return out;
}

}  // namespace deepcart::rec
