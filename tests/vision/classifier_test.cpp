#include "deepcart/vision/classifier.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <filesystem>

#include "deepcart/vision/cnn.h"

namespace deepcart::vision {
namespace {

TEST(Cnn, ShapesAndEmbedding) {
  Cnn model(CnnOptions{});
  model->eval();
  torch::Tensor x = torch::randn({3, 1, 28, 28});
  EXPECT_EQ(model->forward(x).sizes(), (std::vector<int64_t>{3, 10}));
  EXPECT_EQ(model->embed(x).sizes(), (std::vector<int64_t>{3, 128}));
  CnnOptions rgb;
  rgb.channels = 3;
  rgb.size = 32;
  rgb.classes = 5;
  EXPECT_EQ(Cnn(rgb)->forward(torch::randn({2, 3, 32, 32})).sizes(), (std::vector<int64_t>{2, 5}));
}

TEST(Cnn, OverfitsATinyBatch) {
  torch::manual_seed(0);
  Cnn model(CnnOptions{});
  torch::Tensor x = torch::randn({16, 1, 28, 28});
  torch::Tensor y = torch::arange(16, torch::kLong) % 10;
  torch::optim::Adam adam(model->parameters(), 0.003);
  double first = 0, last = 0;
  for (int step = 0; step < 60; ++step) {
    adam.zero_grad();
    auto loss = torch::cross_entropy_loss(model->forward(x), y);
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
    loss.backward();
    adam.step();
  }
  EXPECT_GT(first, 1.8);
  EXPECT_LT(last, 0.05) << "from " << first;
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

TEST(Classifier, TrainsSavesAndLoadsWithIdenticalPredictions) {
  // 600 synthetic 28x28 images of 3 classes: a bright band at the top, middle or bottom.
  torch::manual_seed(2);
  ImageSet set;
  set.labels = torch::arange(600, torch::kLong) % 3;
  set.images = torch::randint(0, 60, {600, 1, 28, 28}).to(torch::kUInt8);
  for (int64_t i = 0; i < 600; ++i) {
    const int64_t band = set.labels[i].item<int64_t>() * 9;
    set.images[i].slice(1, band, band + 9).fill_(220);
  }
  set.classes = {"top", "middle", "bottom"};
  VisionTrainConfig c;
  c.valid_count = 100;
  c.augment.flip = false;
  c.train.epochs = 2;
  c.train.batch_size = 50;
  c.train.quiet = true;
  VisionTrainOutput out = vision_train(set, c);
  EXPECT_GT(out.result.best_metrics.at("accuracy"), 0.95);

  const std::string path = ::testing::TempDir() + "/cnn_" + std::to_string(::getpid()) + ".dcm";
  model_file_write(out.model, path);
  ImageClassifier fresh(out.model);
  ImageClassifier loaded = ImageClassifier::load(path);
  torch::Tensor a = fresh.probabilities(set.images.slice(0, 0, 40));
  torch::Tensor b = loaded.probabilities(set.images.slice(0, 0, 40));
  EXPECT_TRUE(torch::equal(a, b));
  EXPECT_EQ(loaded.classes(), set.classes);
  VisionReport r = vision_evaluate(loaded, set);
  EXPECT_GT(r.accuracy, 0.95);
  int64_t total = 0;
  for (const auto& row : r.confusion) for (int64_t v : row) total += v;
  EXPECT_EQ(total, 600);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace deepcart::vision

namespace deepcart::vision {
namespace {

TEST(Cnn, FusedBatchNormGivesTheSameOutputs) {
  torch::manual_seed(4);
  Cnn model(CnnOptions{});
  // Non-trivial running statistics and affine parameters.
  torch::Tensor x = torch::randn({32, 1, 28, 28}) * 2 + 0.5;
  model->train();
  for (int i = 0; i < 5; ++i) model->forward(x);
  model->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor before = model->forward(x);
  model->fuse_batchnorm();
  torch::Tensor after = model->forward(x);
  EXPECT_TRUE(torch::allclose(before, after, 1e-4, 1e-5)) << (before - after).abs().max();
  EXPECT_TRUE(model->named_parameters().contains("conv1.bias")) << "the fused conv is registered";
}

}  // namespace
}  // namespace deepcart::vision
