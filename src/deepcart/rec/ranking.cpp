#include "deepcart/rec/ranking.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <random>
#include <unordered_set>

#include "deepcart/core/device.h"
#include "deepcart/core/error.h"

namespace deepcart::rec {
namespace {

struct Sums {
  std::map<int, double> hr, ndcg, recall, precision, map, mrr;
};

// Adds one user's metrics, given the 0-based positions of the targets that made the ranked list.
void accumulate(Sums& s, const std::vector<int64_t>& hit_positions, size_t num_targets,
                const std::vector<int>& ks) {
  for (int k : ks) {
    double hits = 0, dcg = 0, ap = 0, rr = 0;
    for (int64_t pos : hit_positions) {
      if (pos >= k) continue;
      hits += 1;
      dcg += 1.0 / std::log2(static_cast<double>(pos) + 2.0);
      ap += hits / static_cast<double>(pos + 1);
      if (rr == 0) rr = 1.0 / static_cast<double>(pos + 1);
    }
    double idcg = 0;
    for (size_t j = 0; j < std::min<size_t>(k, num_targets); ++j) idcg += 1.0 / std::log2(j + 2.0);
    s.hr[k] += hits > 0;
    s.ndcg[k] += dcg / idcg;
    s.recall[k] += hits / static_cast<double>(num_targets);
    s.precision[k] += hits / k;
    s.map[k] += ap / static_cast<double>(num_targets);
    s.mrr[k] += rr;
  }
}

}  // namespace

std::string ranking_protocol(const RankingTask& task) {
  if (task.sampled_negatives > 0) {
    return "sampled ranking: each held-out item against " + std::to_string(task.sampled_negatives) +
           " seeded never-seen items (for comparison with papers only)";
  }
  return "full ranking: held-out items against all items the user has not interacted with";
}

std::map<std::string, double> rank_evaluate(const ScoreFn& score, int64_t num_items,
                                            const RankingTask& task) {
  if (task.users.size() != task.targets.size()) throw Error("ranking: users and targets differ");
  if (task.ks.empty()) throw Error("ranking: expected at least one cut-off K");
  c10::InferenceMode guard;
  const int max_k = *std::max_element(task.ks.begin(), task.ks.end());
  const float kExcluded = -std::numeric_limits<float>::infinity();
  Sums sums;
  int64_t evaluated = 0;
  const int64_t n = static_cast<int64_t>(task.users.size());
  std::mt19937_64 rng(task.seed);
  std::uniform_int_distribution<int64_t> pick(0, num_items - 1);

  for (int64_t begin = 0; begin < n; begin += task.batch_users) {
    const int64_t end = std::min(n, begin + task.batch_users);
    std::vector<int64_t> batch(task.users.begin() + begin, task.users.begin() + end);
    // Users go to the device; the (B, I) scores come back for the exact ranking below.
    at::Tensor scores =
        on_cpu(score(on_device(torch::tensor(batch, torch::kLong)))).to(torch::kFloat).contiguous();
    TORCH_CHECK(scores.dim() == 2 && scores.size(0) == end - begin && scores.size(1) == num_items,
                "score function: expected (", end - begin, ", ", num_items, "), got ",
                scores.sizes());
    float* s = scores.data_ptr<float>();
    for (int64_t b = 0; b < end - begin; ++b) {
      const auto& targets = task.targets[begin + b];
      if (targets.empty()) continue;
      float* row = s + b * num_items;
      const int64_t user = batch[b];
      std::vector<int64_t> hit_positions;
      if (task.sampled_negatives > 0) {
        // Each target against the same N sampled negatives: its position among them.
        const auto* seen = task.seen ? &(*task.seen)[user] : nullptr;
        std::vector<float> negatives;
        while (static_cast<int64_t>(negatives.size()) < task.sampled_negatives) {
          const int64_t item = pick(rng);
          if (seen && std::binary_search(seen->begin(), seen->end(), item)) continue;
          negatives.push_back(row[item]);
        }
        // One target per list (leave-one-out papers); several targets average as separate lists.
        for (int64_t target : targets) {
          int64_t above = 0;
          for (float v : negatives) above += v >= row[target];
          Sums one;
          accumulate(one, {above}, 1, task.ks);
          for (int k : task.ks) {
            sums.hr[k] += one.hr[k] / targets.size();
            sums.ndcg[k] += one.ndcg[k] / targets.size();
            sums.recall[k] += one.recall[k] / targets.size();
            sums.precision[k] += one.precision[k] / targets.size();
            sums.map[k] += one.map[k] / targets.size();
            sums.mrr[k] += one.mrr[k] / targets.size();
          }
        }
        ++evaluated;
        continue;
      }
      if (task.exclude) {
        for (int64_t item : (*task.exclude)[user]) row[item] = kExcluded;
      }
      // Pessimistic ties: a target's score is nudged just below itself, so equal non-targets
      // rank ahead of it.
      std::unordered_set<int64_t> target_set(targets.begin(), targets.end());
      for (int64_t t : targets) row[t] = std::nextafter(row[t], kExcluded);
      at::Tensor top = std::get<1>(scores[b].topk(std::min<int64_t>(max_k, num_items)));
      auto idx = top.accessor<int64_t, 1>();
      for (int64_t j = 0; j < idx.size(0); ++j) {
        if (target_set.count(idx[j]) && row[idx[j]] != kExcluded) hit_positions.push_back(j);
      }
      accumulate(sums, hit_positions, targets.size(), task.ks);
      ++evaluated;
    }
  }
  std::map<std::string, double> out;
  const double users = std::max<int64_t>(1, evaluated);
  for (int k : task.ks) {
    const std::string at = "@" + std::to_string(k);
    out["hr" + at] = sums.hr[k] / users;
    out["ndcg" + at] = sums.ndcg[k] / users;
    out["recall" + at] = sums.recall[k] / users;
    out["precision" + at] = sums.precision[k] / users;
    out["map" + at] = sums.map[k] / users;
    out["mrr" + at] = sums.mrr[k] / users;
  }
  out["users"] = static_cast<double>(evaluated);
  return out;
}

}  // namespace deepcart::rec
