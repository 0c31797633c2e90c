#include "deepcart/core/dropout.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "error_of.h"

namespace deepcart {
namespace {

// Every element is zeroed or scaled by 1 / (1 - p); the kept share is 1 - p within sampling
// noise; the gradient is the same mask; and a seed replays the same mask.
TEST(Dropout, KeepsOneMinusPScaledAndReplaysUnderASeed) {
  const double p = 0.3;
  at::Tensor x =
      torch::ones({1000, 201}, torch::requires_grad());  // odd size: the last pair is half used
  torch::manual_seed(11);
  at::Tensor y = parallel_dropout(x, p, true);
  const float scale = static_cast<float>(1.0 / (1.0 - p));
  at::Tensor kept = y != 0;
  EXPECT_TRUE(torch::allclose(y.masked_select(kept), torch::full({1}, scale)));
  const double share = kept.to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(share, 1.0 - p, 0.005);  // 201,000 draws: the standard error is 0.001
  // Neighbouring elements and the two halves of one draw are independent: P(both kept) = (1-p)^2.
  const double both =
      (kept.narrow(1, 0, 200) & kept.narrow(1, 1, 200)).to(torch::kDouble).mean().item<double>();
  EXPECT_NEAR(both, (1.0 - p) * (1.0 - p), 0.006);
  y.sum().backward();
  EXPECT_TRUE(torch::equal(x.grad(), y.detach()));  // d(sum)/dx = the mask itself
  torch::manual_seed(11);
  EXPECT_TRUE(torch::equal(parallel_dropout(x, p, true), y));
  EXPECT_FALSE(torch::equal(parallel_dropout(x, p, true), y));  // the next call draws afresh
}

TEST(Dropout, EvaluationZeroAndOneAndBadProbabilities) {
  at::Tensor x = torch::randn({4, 5});
  EXPECT_TRUE(torch::equal(parallel_dropout(x, 0.5, false), x));
  EXPECT_TRUE(torch::equal(parallel_dropout(x, 0.0, true), x));
  EXPECT_TRUE(torch::equal(parallel_dropout(x, 1.0, true), torch::zeros_like(x)));
  Dropout module(0.5);
  module->eval();
  EXPECT_TRUE(torch::equal(module(x), x));
  module->train();
  const int64_t zeros = (module(torch::ones({1000})) == 0).sum().item<int64_t>();
  EXPECT_GT(zeros, 430);  // about 500
  EXPECT_LT(zeros, 570);
  EXPECT_EQ(test::error_of([] { Dropout(1.5); }),
            "dropout: expected a probability from 0 to 1, found 1.500000");
}

}  // namespace
}  // namespace deepcart
