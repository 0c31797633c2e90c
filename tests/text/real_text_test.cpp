// Text on the real shop data sets in ../shared/data/text: short checks, each well under a minute.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdio>

#include "deepcart/text/classifier.h"
#include "shared_data.h"

namespace deepcart::text {
namespace {

std::string text_data(const std::string& name) {
  return test_data::shared_data_dir() + "/text/" + name;
}

// A 64-wide bow trained with AdamW, quietly: the setting every test here starts from.
TrainSpec bow_config(TextTask task, int epochs, int64_t batch_size, double lr) {
  TrainSpec c;
  c.task = task;
  c.hparams = {{"arch", "bow"}, {"dim", 64}};
  c.train.epochs = epochs;
  c.train.batch_size = batch_size;
  c.train.lr = lr;
  c.train.optimizer = "adamw";
  c.train.quiet = true;
  return c;
}

TEST(RealText, BitextIntentsAnswerAndRefuseNonsense) {
  const std::string path = text_data("bitext-customer-service/bitext_customer_service_8k.csv");
  REQUIRE_SHARED_DATA(path);
  TextSet set = read_text_set(path, TextColumns{{"utterance"}, "intent"});
  ASSERT_EQ(set.label_names.size(), 27u);
  TextSplit split = stratified_split(set.labels, 0.1, 0.2, 0);
  TrainSpec c = bow_config(TextTask::kIntent, 5, 32, 0.02);
  TextTrainOutput out = text_train(set, split, c);
  TextClassifier model(out.model);
  TextSet test = rows_of(set, split.test);
  TextReport r = text_evaluate(model, test);
  std::printf("bitext bow: test accuracy %.4f, threshold %.2f, not sure %.3f\n", r.accuracy,
              model.threshold(), r.not_sure_rate);
  EXPECT_GT(r.accuracy, 0.97) << "fastText reaches 98.8% on this split";
  at::Tensor p = model.probabilities(
      {"where is my order?", "asdkj qwe zzkx blorp", "purple elephant dances at midnight"});
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
  TrainSpec c = bow_config(TextTask::kSentiment, 1, 64, 0.01);
  TextTrainOutput out = text_train(set, split, c);
  TextClassifier model(out.model);
  TextSet test = rows_of(set, split.test);
  TextReport r = text_evaluate(model, test);
  std::printf("online_shopping bow 1 epoch: test accuracy %.4f (%.0f texts/s)\n", r.accuracy,
              r.texts_per_second);
  EXPECT_GT(r.accuracy, 0.88);
  at::Tensor p = model.probabilities({"质量很好，非常满意！", "太差了，退货"});
  EXPECT_EQ(model.labels()[p[0].argmax().item<int64_t>()], "1");
  EXPECT_EQ(model.labels()[p[1].argmax().item<int64_t>()], "0");
}

TEST(RealText, Banking77IntentsOnTheOfficialSplit) {
  const std::string train_path = text_data("banking77/train.csv"),
                    test_path = text_data("banking77/test.csv");
  REQUIRE_SHARED_DATA(train_path);
  REQUIRE_SHARED_DATA(test_path);
  const TextColumns columns{{"text"}, "category"};
  TextSet set = read_text_set(train_path, columns);
  ASSERT_EQ(set.label_names.size(), 77u);
  TextSet test = read_text_set(test_path, columns, set.label_names);
  ASSERT_EQ(test.texts.size(), 3080u);
  TextSplit split = stratified_split(set.labels, 0.1, 0.0, 0);
  TrainSpec c = bow_config(TextTask::kIntent, 4, 64, 0.01);
  TextTrainOutput out = text_train(set, split, c);
  TextClassifier model(out.model);
  TextReport r = text_evaluate(model, test);
  std::printf("banking77 bow 4 epochs: test accuracy %.4f, not sure %.3f\n", r.accuracy,
              r.not_sure_rate);
  EXPECT_GE(r.accuracy, 0.80) << "the issue's bar; fastText gets about 0.86";
  const Answer a =
      model.answer("my card still has not arrived", {{"card_arrival", "It ships in 5 days."}});
  EXPECT_EQ(a.intent, "card_arrival");
  EXPECT_TRUE(a.sure) << a.confidence << " vs " << model.threshold();
  EXPECT_EQ(a.answer, "It ships in 5 days.");
}

}  // namespace
}  // namespace deepcart::text
