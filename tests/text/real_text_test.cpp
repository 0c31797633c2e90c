// Text on the real shop data sets in ../shared/data/text: short checks, each well under a minute.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>

#include "deepcart/text/classifier.h"
#include "shared_data.h"

namespace deepcart::text {
namespace {

std::string text_data(const std::string& name) { return test_data::shared_data_dir() + "/text/" + name; }

// The rows of `set` at `rows`, with its label names.
TextSet rows_of(const TextSet& set, const std::vector<int64_t>& rows) {
  TextSet out;
  out.label_names = set.label_names;
  for (int64_t r : rows) {
    out.texts.push_back(set.texts[r]);
    out.labels.push_back(set.labels[r]);
  }
  return out;
}

TEST(RealText, BitextIntentsAnswerAndRefuseNonsense) {
  const std::string path = text_data("bitext-customer-service/bitext_customer_service_8k.csv");
  REQUIRE_SHARED_DATA(path);
  TextSet set = read_text_set(path, TextColumns{{"utterance"}, "intent"});
  ASSERT_EQ(set.label_names.size(), 27u);
  TextSplit split = stratified_split(set.labels, 0.1, 0.2, 0);
  TextTrainConfig c;
  c.task = TextTask::kIntent;
  c.hparams = {{"arch", "bow"}, {"dim", 64}};
  c.train.epochs = 5;
  c.train.batch_size = 32;
  c.train.lr = 0.02;
  c.train.optimizer = "adamw";
  c.train.quiet = true;
  TextTrainOutput out = text_train(set, split, c);
  TextClassifier model(out.model);
  TextSet test = rows_of(set, split.test);
  TextReport r = text_evaluate(model, test);
  std::printf("bitext bow: test accuracy %.4f, threshold %.2f, not sure %.3f\n", r.accuracy, model.threshold(), r.not_sure_rate);
  EXPECT_GT(r.accuracy, 0.97) << "fastText reaches 98.8% on this split";
  at::Tensor p = model.probabilities({"where is my order?", "asdkj qwe zzkx blorp", "purple elephant dances at midnight"});
  EXPECT_EQ(model.labels()[p[0].argmax().item<int64_t>()], "track_order");
  EXPECT_GE(p[0].max().item<float>(), model.threshold());
  EXPECT_LT(p[1].max().item<float>(), model.threshold()) << "random letters";
  EXPECT_LT(r.not_sure_rate, 0.1) << "most real questions are answered";
}

TEST(RealText, ChineseReviewsSentimentWithCharacters) {
  const std::string path = text_data("online_shopping_10_cats.csv");
  REQUIRE_SHARED_DATA(path);
  TextSet set = read_text_set(path, TextColumns{{"review"}, "label"});
  ASSERT_EQ(set.report.empty_text, 1);
  TextSplit split = stratified_split(set.labels, 0.1, 0.2, 0);
  TextTrainConfig c;
  c.hparams = {{"arch", "bow"}, {"dim", 64}};
  c.train.epochs = 2;
  c.train.batch_size = 64;
  c.train.lr = 0.01;
  c.train.optimizer = "adamw";
  c.train.quiet = true;
  TextTrainOutput out = text_train(set, split, c);
  TextClassifier model(out.model);
  TextSet test = rows_of(set, split.test);
  TextReport r = text_evaluate(model, test);
  std::printf("online_shopping bow 2 epochs: test accuracy %.4f (%.0f texts/s)\n", r.accuracy, r.texts_per_second);
  EXPECT_GT(r.accuracy, 0.88);
  at::Tensor p = model.probabilities({"质量很好，非常满意！", "太差了，退货"});
  EXPECT_EQ(model.labels()[p[0].argmax().item<int64_t>()], "1");
  EXPECT_EQ(model.labels()[p[1].argmax().item<int64_t>()], "0");
}

}  // namespace
}  // namespace deepcart::text
