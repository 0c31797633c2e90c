#include "deepcart/core/settings.h"

#include <gtest/gtest.h>

#include "deepcart/core/trainer.h"
#include "error_of.h"

namespace deepcart {
namespace {

using test::error_of;

Setting named(const std::string& name, SettingKind kind, std::vector<std::string> choices = {}) {
  return {name, "/x/" + name, kind, "help", std::move(choices)};
}

TEST(Settings, EachKindTurnsTextIntoItsJsonValue) {
  EXPECT_EQ(setting_value(named("n", SettingKind::kInt), {"-12"}), -12);
  EXPECT_DOUBLE_EQ(setting_value(named("x", SettingKind::kNumber), {"2.5e-3"}).get<double>(),
                   0.0025);
  EXPECT_EQ(setting_value(named("t", SettingKind::kText), {"a b"}), "a b");
  EXPECT_EQ(setting_value(named("b", SettingKind::kBool), {"false"}), false);
  EXPECT_EQ(setting_value(named("b", SettingKind::kBool), {"1"}), true);
  EXPECT_EQ(setting_value(named("s", SettingKind::kSwitch), {"true"}), true);
  EXPECT_EQ(setting_value(named("l", SettingKind::kInts), {"64,32,16"}),
            nlohmann::json({64, 32, 16}));
  EXPECT_EQ(setting_value(named("l", SettingKind::kNumbers), {"0.5,2"}),
            nlohmann::json({0.5, 2.0}));
  EXPECT_EQ(setting_value(named("l", SettingKind::kNames), {"price,dwell"}),
            nlohmann::json({"price", "dwell"}));
  EXPECT_EQ(setting_value(named("r", SettingKind::kRepeated), {"Title", "Review, Text"}),
            nlohmann::json({"Title", "Review, Text"}));
}

TEST(Settings, BadTextIsAnErrorNamingTheFlag) {
  EXPECT_EQ(error_of([] { setting_value(named("epochs", SettingKind::kInt), {"3x"}); }),
            "--epochs: expected an integer, found '3x'");
  EXPECT_EQ(error_of([] { setting_value(named("lr", SettingKind::kNumber), {"nan"}); }),
            "--lr: expected a number, found 'nan'");
  EXPECT_EQ(error_of([] { setting_value(named("flip", SettingKind::kBool), {"maybe"}); }),
            "--flip: expected true or false, found 'maybe'");
  EXPECT_EQ(error_of([] { setting_value(named("layers", SettingKind::kInts), {"64,x"}); }),
            "--layers: expected an integer, found 'x'");
  EXPECT_EQ(error_of([] { setting_value(named("k", SettingKind::kInts), {","}); }),
            "--k: expected a comma-separated list, found ','");
  EXPECT_EQ(error_of([] {
              setting_value(named("optimizer", SettingKind::kText, {"adam", "sgd"}), {"lion"});
            }),
            "--optimizer: expected one of adam, sgd, found 'lion'");
  EXPECT_EQ(error_of([] {
              setting_value(named("epochs", SettingKind::kInt), {"1", "2"});
            }),
            "--epochs: given more than once");
}

TEST(Settings, ApplyWritesOnlyTheGivenOnesIntoTheSpec) {
  TrainOptions options;
  options.epochs = 7;
  nlohmann::json spec = {{"train", options}, {"name", "kept"}};
  apply_settings(spec, train_settings("/train"),
                 {{"lr", {"0.03"}}, {"lr-schedule", {"cosine"}}, {"clip", {"1"}}});
  const TrainOptions back = spec.at("train").get<TrainOptions>();
  EXPECT_DOUBLE_EQ(back.lr, 0.03);
  EXPECT_EQ(back.schedule, "cosine");
  EXPECT_DOUBLE_EQ(back.clip_norm, 1.0);
  EXPECT_EQ(back.epochs, 7);  // not given: as it was
  EXPECT_EQ(spec.at("name"), "kept");
  EXPECT_EQ(error_of([&] {
              apply_settings(spec, train_settings("/train"), {{"dim", {"8"}}});
            }),
            "--dim: not a setting here");
}

TEST(Settings, EveryTrainSettingPointsAtATrainOptionsField) {
  const nlohmann::json spec = {{"train", TrainOptions{}}};
  for (const Setting& s : train_settings("/train")) {
    EXPECT_TRUE(spec.contains(nlohmann::json::json_pointer(s.path))) << s.name << " " << s.path;
  }
}

TEST(Settings, TextShowsTheValueAsAUserTypesIt) {
  const nlohmann::json spec = {{"x", {{"l", {64, 32}}, {"t", "adam"}, {"n", 0.5}, {"z", nullptr}}}};
  EXPECT_EQ(setting_text(spec, named("l", SettingKind::kInts)), "64,32");
  EXPECT_EQ(setting_text(spec, named("t", SettingKind::kText)), "adam");
  EXPECT_EQ(setting_text(spec, named("n", SettingKind::kNumber)), "0.5");
  EXPECT_EQ(setting_text(spec, named("z", SettingKind::kNumber)), "");
  EXPECT_EQ(setting_text(spec, named("absent", SettingKind::kText)), "");
}

}  // namespace
}  // namespace deepcart
