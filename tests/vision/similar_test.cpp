#include "deepcart/vision/similar.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "temp_dir.h"

namespace deepcart::vision {
namespace {

class SimilarTest : public test_data::TempDirTest {
 protected:
  void SetUp() override {
    TempDirTest::SetUp();
    // Three bright-band classes; a small cnn learns them in a few steps.
    torch::manual_seed(5);
    set_.labels = torch::arange(300, torch::kLong) % 3;
    set_.images = torch::randint(0, 60, {300, 1, 28, 28}).to(torch::kUInt8);
    for (int64_t i = 0; i < 300; ++i) {
      const int64_t band = set_.labels[i].item<int64_t>() * 9;
      set_.images[i].slice(1, band, band + 9).fill_(220);
      set_.ids.push_back("item" + std::to_string(i));
    }
    set_.classes = {"top", "middle", "bottom"};
    TrainSpec c;
    c.hparams = {{"arch", "cnn"}, {"width", 8}};
    c.valid_count = 50;
    c.augment.flip = false;
    c.train.epochs = 2;
    c.train.batch_size = 50;
    c.train.quiet = true;
    file_ = vision_train(set_, c).model;
  }
  ImageSet set_;
  ModelFile file_;
};

TEST_F(SimilarTest, QueryFindsItselfFirstAndItsCategory) {
  ImageClassifier model(file_);
  LookAlikeIndex index = LookAlikeIndex::build(model, set_);
  EXPECT_FALSE(index.uses_faiss());
  at::Tensor queries = model.embeddings(set_.images.slice(0, 0, 6));
  EXPECT_TRUE(torch::allclose(queries.norm(2, 1), torch::ones({6}), 1e-4, 1e-5)) << "L2-normalised";
  auto found = index.search(queries, 8);
  for (int64_t q = 0; q < 6; ++q) {
    ASSERT_EQ(found[q].size(), 8u);
    EXPECT_EQ(found[q][0].item, q) << "the image itself comes first";
    EXPECT_NEAR(found[q][0].similarity, 1.0f, 1e-4);
    for (size_t j = 1; j < 8; ++j)
      EXPECT_LE(found[q][j].similarity, found[q][j - 1].similarity + 1e-6);
  }
  EXPECT_GT(index.precision_at(8), 0.9);
  // Excluding the item itself gives the next best.
  auto without = index.search(queries.slice(0, 0, 1), 3, {0});
  EXPECT_NE(without[0][0].item, 0);
  EXPECT_EQ(without[0][0].item, found[0][1].item);
}

TEST_F(SimilarTest, FaissAgreesWithExactSearchAndTheIndexRoundTrips) {
  ImageClassifier model(file_);
  LookAlikeIndex index = LookAlikeIndex::build(model, set_);
  const std::string path = dir_ + "/catalogue.dci";
  index.save(path);
  LookAlikeIndex loaded = LookAlikeIndex::load(path);
  EXPECT_EQ(loaded.ids(), index.ids());
  EXPECT_EQ(loaded.model_checksum(), model_fingerprint(file_));
  loaded.set_faiss_above(10);  // force the HNSW graph
  ASSERT_TRUE(loaded.uses_faiss());
  at::Tensor queries = model.embeddings(set_.images.slice(0, 0, 20));
  auto exact = index.search(queries, 5);
  auto approximate = loaded.search(queries, 5);
  for (int64_t q = 0; q < 20; ++q) {
    EXPECT_EQ(approximate[q][0].item, q);
    EXPECT_NEAR(approximate[q][0].similarity, exact[q][0].similarity, 1e-4);
  }
  EXPECT_NEAR(loaded.precision_at(8), index.precision_at(8), 0.05);
  try {
    index.search(queries, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--k: expected at least 1, found 0");
  }
}

}  // namespace
}  // namespace deepcart::vision
