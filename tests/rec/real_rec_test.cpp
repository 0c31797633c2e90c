// Trains on the real MovieLens-100K file with the published protocol and checks the figure the
// benchmark reports, so a regression in loading, splitting, EASE or the metrics shows here.
#include <gtest/gtest.h>

#include "shared_data.h"

#include <cstdlib>
#include <filesystem>

#include "deepcart/rec/dataset.h"
#include "deepcart/rec/rec_task.h"
#include "deepcart/rec/recommender.h"

namespace deepcart::rec {
namespace {

TEST(RealRec, EaseOnMovieLens100kBeatsTheTarget) {
  const std::string path = ::deepcart::test_data::shared_data_dir() + "/rec/ml-100k/u.data";
  REQUIRE_SHARED_DATA(path);
  RecDataset data = rec_dataset_read(path, RecLoadOptions{});
  RecSplit split = split_by_name(data, "random:0.25", 0.05, 42);
  TrainSpec c;
  c.arch = "ease";
  c.train.quiet = true;
  Recommender model(rec_train(data, split, c).model);
  auto m = rec_evaluate_split(model, split, true, {10}, 0, 42);
  EXPECT_EQ(m.at("users"), 943);
  // Microsoft Recommenders' table: BiVAE 0.475, BPR 0.442; the target is 0.45.
  EXPECT_GT(m.at("ndcg@10"), 0.45);
  EXPECT_GT(m.at("precision@10"), 0.40);
  EXPECT_EQ(model.file().hparams.at("l2"), 400.0) << "chosen on validation";
}

}  // namespace
}  // namespace deepcart::rec
