#include "deepcart/serve/run.h"

#include <gtest/gtest.h>

#include "error_of.h"
#include "temp_dir.h"

namespace deepcart::serve {
namespace {

using test::error_of;

class ModelsToServeTest : public test_data::TempDirTest {};

TEST_F(ModelsToServeTest, FolderModelsAreNamedAfterTheirFilesThenPairsFollow) {
  write("reviews-sentiment.dcm", "x");
  write("catalogue.dci", "x");
  write("rec.dcm.ckpt", "x");  // checkpoints are not served
  write("notes.txt", "x");
  const auto models = models_to_serve({"extra=/m/extra.dcm"}, dir_);
  ASSERT_EQ(models.size(), 3u);
  EXPECT_EQ(models[0], std::make_pair(std::string("catalogue"), dir_ + "/catalogue.dci"));
  EXPECT_EQ(models[1],
            std::make_pair(std::string("reviews-sentiment"), dir_ + "/reviews-sentiment.dcm"));
  EXPECT_EQ(models[2], std::make_pair(std::string("extra"), std::string("/m/extra.dcm")));
}

TEST_F(ModelsToServeTest, BadInputIsAnErrorSayingWhatToGive) {
  EXPECT_EQ(error_of([] { models_to_serve({"no-equals"}, ""); }),
            "--model: expected NAME=PATH, found 'no-equals'");
  EXPECT_EQ(error_of([] { models_to_serve({"=a.dcm"}, ""); }),
            "--model: expected NAME=PATH, found '=a.dcm'");
  EXPECT_EQ(error_of([&] { models_to_serve({}, dir_ + "/missing"); }),
            "--models " + dir_ + "/missing: not a folder");
  EXPECT_EQ(error_of([&] { models_to_serve({}, dir_); }),
            "serve: no models: give --models DIR or --model NAME=PATH");
}

}  // namespace
}  // namespace deepcart::serve
