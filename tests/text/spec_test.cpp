#include "deepcart/text/spec.h"

#include <gtest/gtest.h>

#include "deepcart/text/encoder.h"

#include "error_of.h"

namespace deepcart::text {
namespace {

TEST(TextSpec, JsonRoundTripKeepsEveryField) {
  TrainSpec spec = default_spec("transformer");
  spec.data.path = "reviews.csv";
  spec.data.test_path = "test.csv";
  spec.data.columns = {{"Title", "Review Text"}, "Rating"};
  spec.data.valid_fraction = 0.15;
  spec.task = TextTask::kStars;
  spec.tokenizer.kind = "unigram";
  spec.tokenizer.vocab_size = 8000;
  spec.tokenizer.max_length = 128;
  spec.hparams["layers"] = 2;
  spec.label_smoothing = 0.05;
  spec.answers = {{"refund", "Refunds take 5 days."}};
  spec.export_split = "parts";
  spec.train.seed = 7;
  spec.shots = 10;
  spec.head_epochs = 12;

  const nlohmann::json j = spec;
  const TrainSpec back = j.get<TrainSpec>();
  EXPECT_EQ(nlohmann::json(back), j);
  EXPECT_EQ(back.data.columns.text, (std::vector<std::string>{"Title", "Review Text"}));
  EXPECT_EQ(back.data.columns.label, "Rating");
  EXPECT_DOUBLE_EQ(back.data.valid_fraction, 0.15);
  EXPECT_EQ(back.task, TextTask::kStars);
  EXPECT_EQ(back.tokenizer.kind, "unigram");
  EXPECT_EQ(back.tokenizer.vocab_size, 8000);
  EXPECT_EQ(back.hparams.at("arch"), "transformer");
  EXPECT_EQ(back.answers.at("refund"), "Refunds take 5 days.");
  EXPECT_EQ(back.train.seed, 7u);
  EXPECT_EQ(back.shots, 10);
  EXPECT_EQ(back.head_epochs, 12);
}

// The pretrained encoder's defaults, each chosen on banking77's validation questions.
TEST(TextSpec, MiniLmDefaultsForEachWayOfFineTuning) {
  const TrainSpec head = default_spec("minilm");
  EXPECT_EQ(head.finetune, "head");
  EXPECT_DOUBLE_EQ(head.train.lr, 0.01);
  EXPECT_EQ(head.head_epochs, 0);
  const TrainSpec shots = default_spec("minilm", "shots");
  EXPECT_EQ(shots.finetune, "head");
  EXPECT_DOUBLE_EQ(shots.train.lr, 0.03);
  const TrainSpec full = default_spec("minilm", "full");
  EXPECT_EQ(full.finetune, "full");
  EXPECT_EQ(full.head_epochs, 30);
  EXPECT_DOUBLE_EQ(full.head_lr, 0.01);
  EXPECT_DOUBLE_EQ(full.train.lr, 1e-4);
  EXPECT_EQ(full.train.epochs, 3);
  EXPECT_DOUBLE_EQ(full.layer_decay, 0.9);
  const TrainSpec setfit = default_spec("minilm", "setfit");
  EXPECT_EQ(setfit.finetune, "setfit");
  EXPECT_EQ(setfit.train.batch_size, 16);
  EXPECT_DOUBLE_EQ(setfit.head_lr, 0.03);
  EXPECT_EQ(setfit.head_epochs, 30);
}

TEST(TextSpec, DefaultsAndBadTaskNames) {
  const TrainSpec spec = default_spec();
  EXPECT_EQ(spec.hparams.at("arch"), "bow");
  EXPECT_EQ(spec.train.optimizer, "adamw");
  EXPECT_DOUBLE_EQ(spec.train.lr, 0.002);
  EXPECT_EQ(spec.train.schedule, "cosine");
  EXPECT_EQ(spec.train.batch_size, 64);
  EXPECT_EQ(spec.train.patience, 3);
  EXPECT_DOUBLE_EQ(spec.data.test_fraction, 0.2);
  nlohmann::json j = spec;
  j["task"] = "topic";
  EXPECT_EQ(test::error_of([&] { j.get<TrainSpec>(); }),
            "--task: expected sentiment, stars or intent, found 'topic'");
}

TEST(TextSpec, EverySettingPointsAtAFieldTheSpecReads) {
  nlohmann::json spec = default_spec();
  spec["hparams"] = TextOptions{};
  for (const Setting& s : spec_settings())
    EXPECT_TRUE(spec.contains(nlohmann::json::json_pointer(s.path))) << s.name << " " << s.path;
}

TEST(TextSpec, GivenSettingsReachTheSpec) {
  nlohmann::json j = default_spec("gru");
  apply_settings(j, spec_settings(),
                 {{"text-col", {"Title", "Review Text"}},
                  {"label-col", {"Rating"}},
                  {"task", {"stars"}},
                  {"hidden", {"32"}},
                  {"tokenizer", {"bpe"}},
                  {"epochs", {"4"}}});
  const TrainSpec spec = j.get<TrainSpec>();
  EXPECT_EQ(spec.data.columns.text, (std::vector<std::string>{"Title", "Review Text"}));
  EXPECT_EQ(spec.data.columns.label, "Rating");
  EXPECT_EQ(spec.task, TextTask::kStars);
  EXPECT_EQ(spec.hparams.at("arch"), "gru");
  EXPECT_EQ(spec.hparams.at("hidden"), 32);
  EXPECT_EQ(spec.tokenizer.kind, "bpe");
  EXPECT_EQ(spec.train.epochs, 4);
  EXPECT_EQ(spec.train.optimizer, "adamw");  // the text default, not given
}

}  // namespace
}  // namespace deepcart::text
