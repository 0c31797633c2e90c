#include "deepcart/vision/spec.h"

#include <gtest/gtest.h>

#include "deepcart/vision/backbone.h"

namespace deepcart::vision {
namespace {

TEST(VisionSpec, JsonRoundTripKeepsEveryField) {
  TrainSpec spec = default_spec("resnet");
  spec.data.path = "photos/";
  spec.data.test_path = "test-photos/";
  spec.data.test_fraction = 0.2;
  spec.data.source.channels = 1;
  spec.data.source.size = 48;
  spec.hparams["width"] = 16;
  spec.augment.erase = 0.25;
  spec.augment.flip = false;
  spec.label_smoothing = 0.0;
  spec.valid_count = 300;
  spec.train.epochs = 3;

  const nlohmann::json j = spec;
  const TrainSpec back = j.get<TrainSpec>();
  EXPECT_EQ(nlohmann::json(back), j);
  EXPECT_EQ(back.data.path, "photos/");
  EXPECT_EQ(back.data.source.channels, 1);
  EXPECT_EQ(back.data.source.size, 48);
  EXPECT_EQ(back.hparams.at("arch"), "resnet");
  EXPECT_EQ(back.hparams.at("width"), 16);
  EXPECT_DOUBLE_EQ(back.augment.erase, 0.25);
  EXPECT_FALSE(back.augment.flip);
  EXPECT_EQ(back.valid_count, 300);
  EXPECT_EQ(back.train.epochs, 3);
}

TEST(VisionSpec, Defaults) {
  const TrainSpec spec = default_spec();
  EXPECT_EQ(spec.data.path, "fashion-mnist");
  EXPECT_EQ(spec.hparams.at("arch"), "cnn");
  EXPECT_EQ(spec.train.epochs, 15);
  EXPECT_EQ(spec.train.batch_size, 128);
  EXPECT_EQ(spec.train.optimizer, "adamw");
  EXPECT_EQ(spec.train.patience, 5);
  EXPECT_DOUBLE_EQ(spec.label_smoothing, 0.1);
  EXPECT_EQ(spec.valid_count, 5000);
}

TEST(VisionSpec, EverySettingPointsAtAFieldTheSpecReads) {
  nlohmann::json spec = default_spec();
  spec["hparams"] = VisionOptions{};
  for (const Setting& s : spec_settings())
    EXPECT_TRUE(spec.contains(nlohmann::json::json_pointer(s.path))) << s.name << " " << s.path;
}

TEST(VisionSpec, GivenSettingsReachTheSpec) {
  nlohmann::json j = default_spec("resnet");
  apply_settings(j, spec_settings(),
                 {{"width", {"16"}}, {"flip", {"false"}}, {"size", {"64"}}, {"valid", {"100"}}});
  const TrainSpec spec = j.get<TrainSpec>();
  EXPECT_EQ(spec.hparams.at("arch"), "resnet");
  EXPECT_EQ(spec.hparams.at("width"), 16);
  EXPECT_FALSE(spec.augment.flip);
  EXPECT_EQ(spec.data.source.size, 64);
  EXPECT_EQ(spec.valid_count, 100);
  EXPECT_EQ(spec.train.patience, 5);  // the vision default, not given
}

}  // namespace
}  // namespace deepcart::vision
