#include "deepcart/rec/ranking.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace deepcart::rec {
namespace {

// 3 users x 6 items, hand-ranked below.
torch::Tensor table() {
  return torch::tensor({{0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f},
                        {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f},
                        {0.5f, 0.1f, 0.9f, 0.3f, 0.2f, 0.0f}});
}

TEST(Ranking, HandComputedMetricsFullRanking) {
  torch::Tensor t = table();
  ScoreFn score = [&](const at::Tensor& users) { return t.index_select(0, users); };
  std::vector<std::vector<int64_t>> exclude = {{0}, {}, {2}};
  RankingTask task;
  task.users = {0, 1, 2};
  // user 0: item 0 excluded -> list 1,2,3,4,5; targets {2, 4} at positions 1 and 3.
  // user 1: list 5,4,3,2,1,0; target {0} at position 5.
  // user 2: item 2 excluded -> list 0,3,4,1,5; target {3} at position 1.
  task.targets = {{2, 4}, {0}, {3}};
  task.exclude = &exclude;
  task.ks = {1, 2, 4};
  task.batch_users = 2;
  auto m = rank_evaluate(score, 6, task);
  auto lg = [](double pos) { return 1.0 / std::log2(pos + 2.0); };
  EXPECT_DOUBLE_EQ(m.at("hr@1"), 0.0);
  EXPECT_DOUBLE_EQ(m.at("hr@2"), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.at("hr@4"), 2.0 / 3);
  // ndcg@4: user 0 (lg(1)+lg(3)) / (lg(0)+lg(1)); user 2 lg(1) / lg(0).
  EXPECT_NEAR(m.at("ndcg@4"), ((lg(1) + lg(3)) / (lg(0) + lg(1)) + lg(1)) / 3, 1e-12);
  EXPECT_NEAR(m.at("ndcg@2"), (lg(1) / (lg(0) + lg(1)) + lg(1)) / 3, 1e-12);
  EXPECT_NEAR(m.at("recall@4"), (1.0 + 0 + 1.0) / 3, 1e-12);
  EXPECT_NEAR(m.at("recall@2"), (0.5 + 0 + 1.0) / 3, 1e-12);
  EXPECT_NEAR(m.at("precision@2"), (0.5 + 0 + 0.5) / 3, 1e-12);
  EXPECT_NEAR(m.at("precision@4"), (0.5 + 0 + 0.25) / 3, 1e-12);
  // map@4: user 0 (1/2 + 2/4) / 2; user 2 (1/2) / 1.
  EXPECT_NEAR(m.at("map@4"), ((0.5 + 0.5) / 2 + 0.5) / 3, 1e-12);
  EXPECT_NEAR(m.at("mrr@4"), (0.5 + 0 + 0.5) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(m.at("users"), 3.0);
}

TEST(Ranking, TiesArePessimistic) {
  ScoreFn constant = [](const at::Tensor& users) { return torch::ones({users.size(0), 4}); };
  RankingTask task;
  task.users = {0};
  task.targets = {{2}};
  task.ks = {3, 4};
  auto m = rank_evaluate(constant, 4, task);
  EXPECT_DOUBLE_EQ(m.at("hr@3"), 0.0);
  EXPECT_DOUBLE_EQ(m.at("hr@4"), 1.0);
}

TEST(Ranking, SampledProtocolIsEasierThanFull) {
  // 1 user, 101 items; the target scores below 50 items. Full ranking: position 50 -> miss at
  // 10. Sampled against 10 negatives drawn from 100: about half outrank it, so it is often a hit.
  torch::Tensor scores = torch::arange(101, torch::kFloat).flip(0).unsqueeze(0);  // item j: 100-j
  ScoreFn score = [&](const at::Tensor&) { return scores; };
  std::vector<std::vector<int64_t>> seen = {{50}};
  RankingTask task;
  task.users = {0};
  task.targets = {{50}};
  task.seen = &seen;
  task.ks = {10};
  EXPECT_DOUBLE_EQ(rank_evaluate(score, 101, task).at("hr@10"), 0.0);
  task.sampled_negatives = 10;
  auto m = rank_evaluate(score, 101, task);
  EXPECT_DOUBLE_EQ(m.at("hr@10"), 1.0);
  task.sampled_negatives = 99;
  task.ks = {1, 60};
  auto many = rank_evaluate(score, 101, task);
  EXPECT_DOUBLE_EQ(many.at("hr@1"), 0.0);
  EXPECT_EQ(
      ranking_protocol(task),
      "sampled ranking: each held-out item against 99 seeded never-seen items (for comparison "
      "with papers only)");
}

}  // namespace
}  // namespace deepcart::rec
