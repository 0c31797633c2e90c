#include "deepcart/vision/classifier.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "deepcart/vision/cnn.h"
#include "deepcart/vision/net.h"
#include "deepcart/vision/resnet.h"
#include "error_of.h"
#include "temp_dir.h"

namespace deepcart::vision {
namespace {

VisionOptions options_for(const std::string& arch) {
  VisionOptions o;
  o.arch = arch;
  o.width = 8;
  return o;
}

TEST(VisionNet, ShapesOfEveryArchitecture) {
  for (const std::string arch : {"cnn", "resnet"}) {
    VisionOptions o = options_for(arch);
    o.attributes = 4;
    VisionNet model(o);
    model->eval();
    torch::Tensor x = torch::randn({3, 1, 28, 28});
    VisionOutput out = model->forward(x);
    EXPECT_EQ(out.logits.sizes(), (std::vector<int64_t>{3, 10})) << arch;
    EXPECT_EQ(out.attribute_logits.sizes(), (std::vector<int64_t>{3, 4})) << arch;
    EXPECT_EQ(model->embed(x).size(0), 3) << arch;
  }
  // cnn: embedding = hidden; resnet on 28x28: three stages, 4W features at 7x7.
  VisionNet resnet(options_for("resnet"));
  EXPECT_EQ(resnet->feature_map(torch::randn({2, 1, 28, 28})).sizes(),
            (std::vector<int64_t>{2, 32, 7, 7}));
  EXPECT_EQ(VisionNet(options_for("cnn"))->embed(torch::randn({2, 1, 28, 28})).sizes(),
            (std::vector<int64_t>{2, 128}));
  // Larger RGB photos: resnet gets a strided stem and a fourth stage.
  VisionOptions big = options_for("resnet");
  big.channels = 3;
  big.rows = big.cols = 64;
  big.classes = 5;
  VisionNet photo(big);
  // 64 -> 32 (stem) -> 16 (pool) -> 16, 8, 4, 2 (stages)
  EXPECT_EQ(photo->feature_map(torch::randn({2, 3, 64, 64})).sizes(),
            (std::vector<int64_t>{2, 64, 2, 2}));
  EXPECT_EQ(photo->forward(torch::randn({2, 3, 64, 64})).logits.sizes(),
            (std::vector<int64_t>{2, 5}));
  // Non-square input (two products side by side).
  VisionOptions wide = options_for("cnn");
  wide.cols = 56;
  EXPECT_EQ(VisionNet(wide)->forward(torch::randn({2, 1, 28, 56})).logits.sizes(),
            (std::vector<int64_t>{2, 10}));
}

TEST(VisionNet, UnknownArchitectureAndBadSizesAreErrors) {
  VisionOptions o;
  o.arch = "vit";
  try {
    VisionNet bad(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--model: expected cnn or resnet, found 'vit'");
  }
  o.arch = "cnn";
  o.rows = 30;
  try {
    VisionNet bad(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "cnn: image rows and columns must be divisible by 4, found 30x28");
  }
}

TEST(VisionNet, EveryArchitectureOverfitsATinyBatch) {
  for (const std::string arch : {"cnn", "resnet"}) {
    torch::manual_seed(0);
    VisionNet model(options_for(arch));
    torch::Tensor x = torch::randn({16, 1, 28, 28});
    torch::Tensor y = torch::arange(16, torch::kLong) % 10;
    torch::optim::Adam adam(model->parameters(), 0.01);
    double first = 0, last = 0;
    for (int step = 0; step < 80; ++step) {
      adam.zero_grad();
      auto loss = torch::cross_entropy_loss(model->forward(x).logits, y);
      if (step == 0) first = loss.item<double>();
      last = loss.item<double>();
      loss.backward();
      adam.step();
    }
    EXPECT_GT(first, 1.8) << arch;
    EXPECT_LT(last, 0.05) << arch << " from " << first;
  }
}

TEST(VisionNet, FusedBatchNormGivesTheSameOutputs) {
  for (const std::string arch : {"cnn", "resnet"}) {
    torch::manual_seed(4);
    VisionNet model(options_for(arch));
    // Non-trivial running statistics and BatchNorm scales (resnet starts its block scales at 0).
    torch::Tensor x = torch::randn({32, 1, 28, 28}) * 2 + 0.5;
    {
      torch::NoGradGuard no_grad;
      for (auto& p : model->named_parameters()) {
        if (p.key().find("bn") != std::string::npos) p.value().uniform_(0.5, 1.5);
      }
    }
    model->train();
    for (int i = 0; i < 5; ++i) model->forward(x);
    model->eval();
    torch::NoGradGuard no_grad;
    torch::Tensor before = model->forward(x).logits;
    model->fuse_batchnorm();
    torch::Tensor after = model->forward(x).logits;
    EXPECT_TRUE(torch::allclose(before, after, 1e-4, 1e-4))
        << arch << " " << (before - after).abs().max();
    EXPECT_TRUE(model->named_parameters().contains("backbone.conv1.bias") ||
                model->named_parameters().contains("backbone.stem.bias"))
        << arch << ": the fused conv is registered";
  }
}

TEST(Augment, KeepsShapeAndContentMass) {
  torch::manual_seed(1);
  torch::Tensor x = torch::zeros({8, 1, 28, 28});
  x.slice(2, 10, 18).slice(3, 10, 18).fill_(1.0f);  // an 8x8 square in the middle
  std::mt19937_64 rng(3);
  Augment a;  // pad-crop 2 and flips: the square moves but stays whole
  torch::Tensor out = augment_batch(x, a, rng);
  ASSERT_EQ(out.sizes(), x.sizes());
  for (int64_t i = 0; i < 8; ++i) EXPECT_FLOAT_EQ(out[i].sum().item<float>(), 64.0f);
  EXPECT_FALSE(torch::equal(out, x)) << "some image must have moved";
  std::mt19937_64 again(3);
  EXPECT_TRUE(torch::equal(augment_batch(x, a, again), out)) << "seeded";
  Augment erase;
  erase.pad_crop = 0;
  erase.flip = false;
  erase.erase = 1.0;
  torch::Tensor ones = torch::ones({4, 1, 28, 28});
  torch::Tensor erased = augment_batch(ones, erase, rng);
  for (int64_t i = 0; i < 4; ++i) EXPECT_LT(erased[i].sum().item<float>(), 28 * 28);
  EXPECT_EQ(ones.sum().item<float>(), 4 * 28 * 28) << "the input is not modified";
}

TEST(Thresholds, TunedPerAttributeForBestF1) {
  // Attribute 0 separates at 0.3 (positives 0.35 and 0.4); attribute 1 at 0.8.
  torch::Tensor p =
      torch::tensor({0.1f, 0.9f, 0.35f, 0.85f, 0.2f, 0.5f, 0.4f, 0.95f}).reshape({4, 2});
  torch::Tensor y = torch::tensor({0.0f, 1.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f, 1.0f}).reshape({4, 2});
  std::vector<float> t = tune_thresholds(p, y);
  ASSERT_EQ(t.size(), 2u);
  EXPECT_GT(t[0], 0.2f);
  EXPECT_LE(t[0], 0.35f);
  EXPECT_GT(t[1], 0.5f);
  EXPECT_LE(t[1], 0.85f);
}

// 600 synthetic 28x28 images of 3 classes: a bright band at the top, middle or bottom.
ImageSet bands() {
  torch::manual_seed(2);
  ImageSet set;
  set.labels = torch::arange(600, torch::kLong) % 3;
  set.images = torch::randint(0, 60, {600, 1, 28, 28}).to(torch::kUInt8);
  for (int64_t i = 0; i < 600; ++i) {
    const int64_t band = set.labels[i].item<int64_t>() * 9;
    set.images[i].slice(1, band, band + 9).fill_(220);
  }
  set.classes = {"top", "middle", "bottom"};
  return set;
}

TrainSpec quick_config(const std::string& arch) {
  TrainSpec c;
  c.hparams = {{"arch", arch}, {"width", 8}};
  c.valid_count = 100;
  c.augment.flip = false;
  c.train.epochs = 4;
  c.train.batch_size = 50;
  c.train.lr = 0.003;
  c.train.quiet = true;
  return c;
}

class ClassifierTest : public test_data::TempDirTest {};

TEST(VisionTrain, ResNetUnderEightFiltersIsRefused) {
  TrainSpec c = quick_config("resnet");
  c.hparams["width"] = 4;
  EXPECT_EQ(test::error_of([&] { vision_train(bands(), c); }),
            "--width: resnet needs at least 8 filters; below 8 the CPU convolution library "
            "(oneDNN) computes wrong gradients for its shortcuts, found 4");
}

TEST_F(ClassifierTest, TrainsSavesAndLoadsWithIdenticalPredictions) {
  ImageSet set = bands();
  for (const std::string arch : {"cnn", "resnet"}) {
    VisionTrainOutput out = vision_train(set, quick_config(arch));
    EXPECT_GT(out.result.best_metrics.at("accuracy"), 0.95) << arch;
    const std::string path = dir_ + "/" + arch + ".dcm";
    model_file_write(out.model, path);
    ImageClassifier fresh(out.model);
    ImageClassifier loaded = ImageClassifier::load(path);
    torch::Tensor a = fresh.probabilities(set.images.slice(0, 0, 40));
    torch::Tensor b = loaded.probabilities(set.images.slice(0, 0, 40));
    EXPECT_TRUE(torch::equal(a, b)) << arch;
    EXPECT_EQ(loaded.classes(), set.classes);
    VisionReport r = vision_evaluate(loaded, set);
    EXPECT_GT(r.accuracy, 0.95) << arch;
    int64_t total = 0;
    for (const auto& row : r.confusion)
      for (int64_t v : row) total += v;
    EXPECT_EQ(total, 600);
    // The product sheet: the top category first, probabilities summing to at most 1.
    nlohmann::json sheet = loaded.sheet(loaded.predict(set.images.slice(0, 0, 1)), 0);
    EXPECT_EQ(sheet["category"], "top");
    EXPECT_EQ(sheet["top"].size(), 3u);
    EXPECT_GE(sheet["top"][0]["probability"].get<double>(),
              sheet["top"][1]["probability"].get<double>());
    EXPECT_TRUE(sheet["attributes"].empty());
  }
}

TEST_F(ClassifierTest, GradCamHighlightsTheBand) {
  ImageSet set = bands();
  ImageClassifier model(vision_train(set, quick_config("cnn")).model, false);
  // A "bottom" image: the heat must sit lower than on a "top" image.
  auto centre_row = [&](int64_t i) {
    torch::Tensor cam =
        model.grad_cam(set.images.slice(0, i, i + 1), set.labels[i].item<int64_t>());
    EXPECT_EQ(cam.sizes(), (std::vector<int64_t>{28, 28}));
    EXPECT_LE(cam.max().item<float>(), 1.0f);
    EXPECT_GE(cam.min().item<float>(), 0.0f);
    torch::Tensor rows = cam.sum(1);
    return (rows * torch::arange(28, torch::kFloat)).sum().item<float>() / rows.sum().item<float>();
  };
  EXPECT_LT(centre_row(0), centre_row(2)) << "top band above bottom band";
}

TEST(VisionDescribe, ReportLinesWithAttributes) {
  VisionReport r;
  r.accuracy = 0.9;
  r.macro_f1 = 0.8;
  r.ece = 0.05;
  r.images_per_second = 1000;
  r.precision = {1.0};
  r.recall = {0.9};
  r.f1 = {0.94};
  r.has_attributes = true;
  r.attribute_map = 0.7;
  r.attribute_micro_f1 = 0.6;
  r.attribute_macro_f1 = 0.5;
  r.attribute_ap = {0.7};
  r.attribute_f1 = {0.5};
  EXPECT_EQ(r.describe({"Dress"}, {"striped"}, {0.35f}),
            "accuracy 0.9000  macro-F1 0.8000  ECE 0.0500  (1000 images/s)\n"
            "  category             precision    recall        F1\n"
            "  Dress                   1.0000    0.9000    0.9400\n"
            "attributes: mAP 0.7000  micro-F1 0.6000  macro-F1 0.5000 (thresholds tuned on "
            "validation)\n"
            "  striped              AP 0.7000  F1 0.5000  threshold 0.35\n");
}

}  // namespace
}  // namespace deepcart::vision
