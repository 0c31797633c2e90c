#include "deepcart/core/metrics.h"

#include <gtest/gtest.h>

#include <cmath>

#include "deepcart/core/error.h"

namespace deepcart {
namespace {

TEST(Metrics, AucMatchesHandComputedValue) {
  // Pairs (pos, neg): (0.35 > 0.1) (0.35 < 0.4) (0.8 > 0.1) (0.8 > 0.4) -> 3 of 4.
  EXPECT_DOUBLE_EQ(auc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}), 0.75);
  // A tie between a positive and a negative counts one half.
  EXPECT_DOUBLE_EQ(auc({0.5f, 0.5f}, {1, 0}), 0.5);
  EXPECT_DOUBLE_EQ(auc({0.9f, 0.1f, 0.2f}, {1, 0, 0}), 1.0);
}

TEST(Metrics, AucNeedsBothClasses) {
  try {
    auc({0.1f, 0.2f}, {1, 1});
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "auc: needs both positive and negative labels");
  }
}

TEST(Metrics, LogLossMatchesFormula) {
  const double expected = -(std::log(0.9) + std::log(1 - 0.2)) / 2;
  EXPECT_NEAR(log_loss({0.9f, 0.2f}, {1, 0}), expected, 1e-7);
  // Clamped: a confident wrong answer costs about -log(1e-7), not infinity.
  EXPECT_NEAR(log_loss({0.0f}, {1}), -std::log(1e-7), 1e-3);
}

TEST(Metrics, AveragePrecisionMatchesHandComputedValue) {
  // Ranked: 0.9 (+), 0.8 (-), 0.7 (+), 0.1 (-): precision at the positives 1/1 and 2/3.
  EXPECT_NEAR(average_precision({0.1f, 0.9f, 0.7f, 0.8f}, {0, 1, 1, 0}), (1.0 + 2.0 / 3.0) / 2,
              1e-12);
  EXPECT_DOUBLE_EQ(average_precision({0.5f, 0.5f}, {1, 0}), 0.5) << "ties ranked pessimistically";
  EXPECT_DOUBLE_EQ(average_precision({0.3f, 0.2f}, {0, 0}), 0.0);
}

TEST(Metrics, F1FromCounts) {
  EXPECT_DOUBLE_EQ(f1_from_counts(3, 1, 2), 6.0 / 9.0);
  EXPECT_DOUBLE_EQ(f1_from_counts(0, 0, 0), 0.0);
}
}  // namespace
}  // namespace deepcart
