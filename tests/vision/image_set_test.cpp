#include "deepcart/vision/image_set.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "deepcart/core/error.h"
#include "error_of.h"
#include "temp_dir.h"

namespace deepcart::vision {
namespace {

// A w x h RGB image of one colour.
data::Image solid(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  data::Image image{w, h, 3, {}};
  for (int i = 0; i < w * h; ++i) image.pixels.insert(image.pixels.end(), {r, g, b});
  return image;
}

class ImageSetTest : public test_data::TempDirTest {
 protected:
  std::string png(const std::string& name, const data::Image& image) {
    std::filesystem::create_directories(std::filesystem::path(dir_ + "/" + name).parent_path());
    return write(name, data::encode_png(image));
  }
  static std::string error_of(const std::function<void()>& f) { return test::error_of(f); }
};

TEST_F(ImageSetTest, FolderPerCategory) {
  png("shop/shoes/a.png", solid(40, 20, 255, 0, 0));
  png("shop/shoes/b.PNG", solid(10, 10, 255, 0, 0));
  png("shop/bags/c.png", solid(16, 16, 0, 0, 255));
  write("shop/bags/notes.txt", "not an image");
  ImageSourceOptions o;
  o.size = 8;
  ImageSet set = load_image_set(dir_ + "/shop", "train", o);
  EXPECT_EQ(set.classes, (std::vector<std::string>{"bags", "shoes"}));
  ASSERT_EQ(set.size(), 3);
  EXPECT_EQ(set.images.sizes(), (std::vector<int64_t>{3, 3, 8, 8}));
  EXPECT_TRUE(torch::equal(set.labels, torch::tensor({0, 1, 1}, torch::kLong)));
  // Resized but the colour is kept: bags are blue, shoes red.
  EXPECT_EQ(set.images[0][2].min().item<uint8_t>(), 255);
  EXPECT_EQ(set.images[1][0].min().item<uint8_t>(), 255);
  EXPECT_EQ(set.images[1][2].max().item<uint8_t>(), 0);
  EXPECT_FALSE(set.has_attributes());
  EXPECT_EQ(set.ids[0], dir_ + "/shop/bags/c.png");
  o.channels = 1;
  ImageSet grey = load_image_set(dir_ + "/shop", "train", o);
  EXPECT_EQ(grey.images.sizes(), (std::vector<int64_t>{3, 1, 8, 8}));
  EXPECT_EQ(grey.images[1][0][0][0].item<uint8_t>(), 76) << "BT.601 luma of pure red";
}

TEST_F(ImageSetTest, ManifestWithAttributes) {
  png("img/1.png", solid(8, 8, 10, 10, 10));
  png("img/2.png", solid(8, 8, 200, 200, 200));
  write("m.csv", "path,category,attributes\nimg/1.png,dress,black|long\nimg/2.png,shirt, white \n");
  ImageSourceOptions o;
  o.size = 8;
  o.channels = 1;
  ImageSet set = load_image_set(dir_ + "/m.csv", "train", o);
  EXPECT_EQ(set.classes, (std::vector<std::string>{"dress", "shirt"}));
  EXPECT_EQ(set.attribute_names, (std::vector<std::string>{"black", "long", "white"}));
  ASSERT_TRUE(set.has_attributes());
  EXPECT_TRUE(torch::equal(set.attributes,
                           torch::tensor({1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 1.0f}).reshape({2, 3})));
  EXPECT_EQ(set.images[1][0][3][3].item<uint8_t>(), 200);

  // Aligning a test set to a model's names renumbers labels and attribute columns.
  align_to(set, {"coat", "shirt", "dress"}, {"white", "black"});
  EXPECT_TRUE(torch::equal(set.labels, torch::tensor({2, 1}, torch::kLong)));
  EXPECT_TRUE(
      torch::equal(set.attributes, torch::tensor({0.0f, 1.0f, 1.0f, 0.0f}).reshape({2, 2})));
  EXPECT_EQ(error_of([&] { align_to(set, {"coat"}, {}); }),
            "category 'shirt' is not one the model knows");
}

TEST_F(ImageSetTest, BadImagesAndSourcesNameTheFile) {
  const std::string good = data::encode_png(solid(8, 8, 1, 2, 3));
  write("cut.png", good.substr(0, good.size() / 2));
  write("m.csv", "path,category\ncut.png,dress\n");
  EXPECT_EQ(error_of([&] {
              load_image_set(dir_ + "/m.csv", "train");
            }).rfind(dir_ + "/cut.png: truncated or corrupt PNG:", 0),
            0u)
      << error_of([&] { load_image_set(dir_ + "/m.csv", "train"); });
  write("cols.csv", "file,label\nx.png,a\n");
  EXPECT_EQ(
      error_of([&] { load_image_set(dir_ + "/cols.csv", "train"); }),
      dir_ + "/cols.csv: expected columns path,category[,attributes], found [\"file\",\"label\"]");
  EXPECT_EQ(error_of([&] { load_image_set(dir_ + "/nowhere", "train"); }),
            "--data: expected fashion-mnist, a folder of category sub-folders or a CSV manifest, "
            "found '" +
                dir_ + "/nowhere' (no such file or folder)");
  std::filesystem::create_directories(dir_ + "/empty");
  EXPECT_EQ(error_of([&] { load_image_set(dir_ + "/empty", "train"); }),
            dir_ + "/empty: expected one sub-folder of images per category, found none");
  EXPECT_EQ(error_of([&] { read_query_image("fashion-mnist:test:99999", 1, 28, 28); }),
            "fashion-mnist:test:99999: the test split has 10000 images");
  EXPECT_EQ(error_of([&] { read_query_image("fashion-mnist:dev:1", 1, 28, 28); }),
            "fashion-mnist:dev:1: expected fashion-mnist:train:N or fashion-mnist:test:N");
}

TEST_F(ImageSetTest, HoldOutIsSeededAndDisjoint) {
  ImageSet set;
  set.images = torch::arange(50, torch::kUInt8).reshape({50, 1, 1, 1});
  set.labels = torch::arange(50, torch::kLong) % 2;
  set.classes = {"a", "b"};
  for (int i = 0; i < 50; ++i) set.ids.push_back(std::to_string(i));
  auto [rest, held] = hold_out(set, 10, 7);
  EXPECT_EQ(rest.size(), 40);
  EXPECT_EQ(held.size(), 10);
  auto [rest2, held2] = hold_out(set, 10, 7);
  EXPECT_TRUE(torch::equal(held.images, held2.images));
  torch::Tensor all = torch::cat({rest.images.flatten(), held.images.flatten()});
  all = std::get<0>(all.sort());
  EXPECT_TRUE(torch::equal(all, torch::arange(50, torch::kUInt8)));
  EXPECT_EQ(held.ids[0], std::to_string(held.images[0].item<uint8_t>()));
}

}  // namespace
}  // namespace deepcart::vision
