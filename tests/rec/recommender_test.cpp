#include "deepcart/rec/recommender.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "deepcart/core/error.h"
#include "deepcart/data/shop_gen.h"
#include "deepcart/rec/workflow.h"

namespace deepcart::rec {
namespace {

namespace fs = std::filesystem;

class RecommenderTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = ::testing::TempDir() + "/rec_" + std::to_string(::getpid());
    data::ShopOptions shop;
    shop.users = 150;
    shop.items = 80;
    shop.seed = 9;
    data::shop_generate(dir_, shop);
  }
  static void TearDownTestSuite() { fs::remove_all(dir_); }

  static TrainSpec config(uint64_t seed) {
    TrainSpec c = default_spec("behaviour-mlp");
    c.data.path = events();
    c.data.load.features = {"price", "dwell_seconds"};
    c.data.load.fill_missing = 0.0;
    c.test_ks = {10};
    c.train.epochs = 3;
    c.train.lr = 0.01;
    c.train.batch_size = 256;
    c.train.monitor = "ndcg@10";
    c.train.seed = seed;
    c.train.quiet = true;
    return c;
  }
  static std::string events() { return dir_ + "/events.csv"; }
  static std::string dir_;
};
std::string RecommenderTest::dir_;

RecDataset read_log(const std::string& path) {
  RecLoadOptions options;
  options.keep_events = true;
  options.positive_event = "purchase";
  return rec_dataset_read(path, options);
}

TEST(BehaviourLog, LeaveOneOutHoldsOutLastTwoPurchasesAndTheirRows) {
  const std::string path = ::testing::TempDir() + "/loo_" + std::to_string(::getpid()) + ".csv";
  std::ofstream(path) << "user_id,item_id,event,timestamp\n"
                         "a,x,purchase,1\n"
                         "a,y,view,2\n"
                         "a,y,purchase,3\n"
                         "a,z,purchase,5\n"
                         "a,w,purchase,4\n"
                         "b,x,purchase,1\n"
                         "b,y,purchase,2\n";
  RecDataset log = read_log(path);
  ASSERT_EQ(log.events.rows(), 7);
  EXPECT_EQ(log.rows_not_positive, 1);
  RecSplit split = split_leave_one_out(log);
  const int64_t a = log.users.find("a"), b = log.users.find("b");
  ASSERT_EQ(split.test[a].size(), 1u);
  EXPECT_EQ(log.items.name(split.test[a][0]), "z");  // latest purchase, by time not file order
  EXPECT_EQ(log.items.name(split.valid[a][0]), "w");
  EXPECT_TRUE(split.test[b].empty()) << "b has only 2 distinct purchases";
  // a keeps x, both y rows; b keeps everything.
  EXPECT_EQ(split.train_rows, (std::vector<int64_t>{0, 1, 2, 5, 6}));
  // The training sequences are the purchases left, in time order.
  const int64_t x = log.items.find("x"), y = log.items.find("y");
  EXPECT_EQ(split.train[a], (std::vector<int64_t>{x, y}));
  EXPECT_EQ(split.train[b], (std::vector<int64_t>{x, y}));
  fs::remove(path);
}

TEST(BehaviourLog, MissingColumnAndNoPurchasesAreClearErrors) {
  const std::string path = ::testing::TempDir() + "/bad_" + std::to_string(::getpid()) + ".csv";
  std::ofstream(path) << "user_id,event\nu,view\n";
  try {
    read_log(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("missing required column 'item_id'"), std::string::npos)
        << e.what();
  }
  std::ofstream(path) << "user_id,item_id,event\nu,i,view\n";
  try {
    read_log(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path +
                                         ": column 'event' has no 'purchase' rows: expected some "
                                         "positive events (set --positive-event)");
  }
  fs::remove(path);
}

TEST_F(RecommenderTest, RecommendExcludesBoughtItemsAndSurvivesSaveLoad) {
  TrainReport out = train(config(1));
  const std::string path = dir_ + "/model.dcm";
  model_file_write(out.model, path);
  Recommender fresh(out.model);
  Recommender loaded = Recommender::load(path);
  int checked = 0;
  for (int64_t u = 0; u < loaded.users().size(); ++u) {
    const auto& bought = loaded.seen(u);
    if (bought.empty()) continue;
    const std::string user = loaded.users().name(u);
    auto recs = loaded.recommend(user, 10);
    ASSERT_EQ(recs.size(), 10u);
    for (const auto& r : recs) {
      const int64_t item = loaded.items().find(r.item);
      EXPECT_FALSE(std::binary_search(bought.begin(), bought.end(), item)) << user << " " << r.item;
      EXPECT_GE(r.score, 0.0);
      EXPECT_LE(r.score, 1.0);
    }
    EXPECT_TRUE(std::is_sorted(recs.begin(), recs.end(),
                               [](const auto& x, const auto& y) { return x.score > y.score; }));
    auto again = fresh.recommend(user, 10);
    for (size_t j = 0; j < recs.size(); ++j) {
      EXPECT_EQ(again[j].item, recs[j].item);
      EXPECT_FLOAT_EQ(static_cast<float>(again[j].score), static_cast<float>(recs[j].score));
    }
    // With bought items allowed, a bought item can appear; without, never.
    auto with_bought = loaded.recommend(user, static_cast<int>(loaded.items().size()), false, 0);
    EXPECT_EQ(static_cast<int64_t>(with_bought.size()), loaded.items().size());
    ++checked;
  }
  EXPECT_GT(checked, 100);
}

TEST_F(RecommenderTest, SameSeedSameMetricsAndBeatsChance) {
  TrainReport a = train(config(7));
  TrainReport b = train(config(7));
  EXPECT_EQ(a.test, b.test);
  EXPECT_EQ(a.result.best_metrics, b.result.best_metrics);
  TrainReport c = train(config(8));
  EXPECT_NE(a.test.at("auc"), c.test.at("auc"));
  // Random scores give AUC 0.5 and HR@10 about 10/80.
  EXPECT_GT(a.test.at("auc"), 0.6);
  EXPECT_GT(a.test.at("hr@10"), 0.2);
  EXPECT_TRUE(a.test.count("pop_hr@10"));
  EXPECT_TRUE(a.test.count("logloss"));
}

TEST_F(RecommenderTest, EvaluateReplaysTheSpecStoredInTheModel) {
  TrainReport out = train(config(1));
  EXPECT_EQ(out.model.arch, "behaviour-mlp");
  EXPECT_EQ(out.model.meta.at("spec").at("data").at("features"),
            nlohmann::json({"price", "dwell_seconds"}));
  const std::string path = dir_ + "/replay.dcm";
  model_file_write(out.model, path);
  Recommender model = Recommender::load(path);
  EvalOptions options;
  options.ks = {10};
  options.seed = 1;
  EvalReport replay = evaluate(model, options);
  EXPECT_EQ(replay.source, events());
  EXPECT_EQ(replay.metrics, out.test);
  EXPECT_EQ(replay.protocol, out.protocol);
}

TEST_F(RecommenderTest, EvaluateOnNewerDataMapsItOntoTheModelsIds) {
  TrainReport out = train(config(1));
  Recommender model(out.model);
  // The same log with two more customers the model has never seen, one of them with a new item.
  const std::string newer = dir_ + "/newer.csv";
  {
    std::ifstream in(events());
    std::ofstream copy(newer);
    copy << in.rdbuf() << "stranger,i0001,Dress,purchase,1,9.5,3,1\n"
         << "stranger2,brand-new,Dress,view,2,,,\n";
  }
  EvalOptions options;
  options.data = newer;
  options.ks = {10};
  options.seed = 1;
  EvalReport r = evaluate(model, options);
  EXPECT_EQ(r.source, newer);
  EXPECT_EQ(r.metrics.at("rows_dropped_unknown_ids"), 2.0);
  r.metrics.erase("rows_dropped_unknown_ids");
  EXPECT_EQ(r.metrics, out.test);
}

TEST_F(RecommenderTest, UnknownUserIsAClearError) {
  TrainReport out = train(config(1));
  Recommender rec(out.model);
  try {
    rec.recommend("nobody", 5);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), "unknown user 'nobody': the model knows 150 users (e.g. '" +
                                         rec.users().name(0) +
                                         "'); pass --history for a new customer");
  }
}

TEST(ScoredItems, JsonAndTheLinesACommandPrints) {
  const std::vector<ScoredItem> items = {{"i7", 0.91234, {"i1", "i2"}}, {"i9", 0.5, {}}};
  EXPECT_EQ(nlohmann::json(items[0]),
            nlohmann::json({{"item", "i7"}, {"score", 0.91234}, {"because", {"i1", "i2"}}}));
  EXPECT_EQ(describe("top 2 for u1:", items),
            "top 2 for u1:\n"
            "  1. i7               0.9123  because you bought i1 and i2\n"
            "  2. i9               0.5000\n");
}

}  // namespace
}  // namespace deepcart::rec
