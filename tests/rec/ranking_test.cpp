#include "deepcart/rec/ranking.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

namespace deepcart::rec {
namespace {

TEST(Ranking, HandComputedHitRateAndNdcg) {
  // 3 users x 5 items.
  torch::Tensor table = torch::tensor({{0.9f, 0.8f, 0.7f, 0.6f, 0.5f},
                                       {0.1f, 0.2f, 0.3f, 0.4f, 0.5f},
                                       {0.5f, 0.1f, 0.9f, 0.3f, 0.2f}});
  ScoreFn score = [&](const at::Tensor& users) { return table.index_select(0, users); };
  std::vector<std::vector<int64_t>> exclude = {{0}, {}, {2}};
  RankingTask task;
  task.users = {0, 1, 2};
  task.targets = {2, 0, 3};  // user 0: item 0 excluded, so item 2 is 2nd (rank 1)
  task.exclude = &exclude;   // user 1: item 0 is last (rank 4); user 2: item 3 after 0 (rank 1)
  task.ks = {1, 2, 5};
  EXPECT_EQ(target_ranks(score, 5, task, 2), (std::vector<int64_t>{1, 4, 1}));
  auto m = rank_full(score, 5, task, 2);
  EXPECT_DOUBLE_EQ(m.at("hr@1"), 0.0);
  EXPECT_DOUBLE_EQ(m.at("hr@2"), 2.0 / 3);
  EXPECT_DOUBLE_EQ(m.at("hr@5"), 1.0);
  const double at_rank1 = 1.0 / std::log2(3.0), at_rank4 = 1.0 / std::log2(6.0);
  EXPECT_NEAR(m.at("ndcg@2"), 2 * at_rank1 / 3, 1e-12);
  EXPECT_NEAR(m.at("ndcg@5"), (2 * at_rank1 + at_rank4) / 3, 1e-12);
  EXPECT_DOUBLE_EQ(m.at("users"), 3.0);
}

TEST(Ranking, TiesArePessimistic) {
  ScoreFn constant = [](const at::Tensor& users) { return torch::ones({users.size(0), 4}); };
  RankingTask task;
  task.users = {0};
  task.targets = {2};
  EXPECT_EQ(target_ranks(constant, 4, task), (std::vector<int64_t>{3}));
}

}  // namespace
}  // namespace deepcart::rec
