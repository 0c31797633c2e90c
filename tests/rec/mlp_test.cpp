#include "deepcart/rec/mlp.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace deepcart::rec {
namespace {

MlpOptions small() {
  MlpOptions o;
  o.users = 4;
  o.items = 6;
  o.features = 2;
  o.dim = 8;
  return o;
}

TEST(Mlp, ShapesAndScoreAllMatchesForward) {
  torch::manual_seed(0);
  Mlp model(small());
  model->set_item_features(torch::randn({6, 2}));
  torch::Tensor users = torch::tensor({0, 1, 3}, torch::kLong);
  torch::Tensor items = torch::tensor({5, 0, 2}, torch::kLong);
  EXPECT_EQ(model->forward(users, items).sizes(), (std::vector<int64_t>{3}));
  torch::Tensor all = model->score_all(users);  // (3, 6)
  ASSERT_EQ(all.sizes(), (std::vector<int64_t>{3, 6}));
  torch::Tensor picked = all.gather(1, items.unsqueeze(1)).squeeze(1);
  EXPECT_TRUE(torch::allclose(picked, model->forward(users, items), 1e-5, 1e-6));
}

TEST(Mlp, LayersDefaultToTheSeed64And32) {
  Mlp model(small());
  EXPECT_EQ(model->options().layers, (std::vector<int64_t>{64, 32}));
  auto params = model->named_parameters();
  EXPECT_EQ(params["tower.first_user.weight"].sizes(), (std::vector<int64_t>{64, 8}));
  EXPECT_EQ(params["tower.hidden.0.weight"].sizes(), (std::vector<int64_t>{32, 64}));
  EXPECT_EQ(params["out.weight"].sizes(), (std::vector<int64_t>{1, 32}));
}

TEST(Mlp, OverfitsATinyBatchAndPredictsProbabilities) {
  torch::manual_seed(1);
  Mlp model(small());
  torch::Tensor users = torch::tensor({0, 0, 1, 1, 2, 2, 3, 3}, torch::kLong);
  torch::Tensor items = torch::tensor({0, 1, 2, 3, 4, 5, 0, 5}, torch::kLong);
  torch::Tensor labels = torch::tensor({1.f, 0.f, 1.f, 0.f, 0.f, 1.f, 0.f, 1.f});
  torch::optim::Adam adam(model->parameters(), torch::optim::AdamOptions(0.01));
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    adam.zero_grad();
    auto loss = torch::binary_cross_entropy_with_logits(model->forward(users, items), labels);
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
    loss.backward();
    adam.step();
  }
  EXPECT_GT(first, 0.5);
  EXPECT_LT(last, 0.02) << "from " << first;
  torch::Tensor p = torch::sigmoid(model->score_all(torch::arange(4)));
  EXPECT_GE(p.min().item<float>(), 0.0f);
  EXPECT_LE(p.max().item<float>(), 1.0f);
  EXPECT_GT(p[0][0].item<float>(), 0.9f);
  EXPECT_LT(p[0][1].item<float>(), 0.1f);
}

}  // namespace
}  // namespace deepcart::rec
