// Every recommender architecture: shapes, SASRec's causal mask, NeuMF's initialisation from
// GMF and MLP, and a planted-taste data set on which every trained model must beat popularity.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <random>

#include "deepcart/core/error.h"
#include "deepcart/core/model_file.h"

#include "deepcart/rec/gmf.h"
#include "deepcart/rec/mlp.h"
#include "deepcart/rec/model.h"
#include "deepcart/rec/neumf.h"
#include "deepcart/rec/rec_task.h"
#include "deepcart/rec/recommender.h"
#include "deepcart/rec/sasrec.h"
#include "rec/planted_taste.h"

namespace deepcart::rec {
namespace {

double test_hr10(const std::string& arch, const RecDataset& d, const RecSplit& split, int epochs) {
  RecTrainOutput out = rec_train(d, split, planted_taste_config(arch, epochs));
  Recommender model(out.model);
  return rec_evaluate_split(model, split, true, {10}, 0, 1).at("hr@10");
}

TEST(RecModels, EveryModelBeatsPopularityOnPlantedTastes) {
  RecDataset d = planted_taste();
  RecSplit split = split_leave_one_out(d);
  const double pop = test_hr10("pop", d, split, 1);
  EXPECT_LT(pop, 0.6) << "the set must not be solvable by popularity";
  for (const auto& [arch, epochs] : std::vector<std::pair<std::string, int>>{{"bpr-mf", 15},
                                                                             {"gmf", 15},
                                                                             {"ncf-mlp", 15},
                                                                             {"neumf", 15},
                                                                             {"sasrec", 15},
                                                                             {"gru4rec", 15},
                                                                             {"ease", 1}}) {
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
  torch::Tensor ha = model->encode(a), hb = model->encode(b);           // (1, 6, 16)
  ASSERT_EQ(ha.sizes(), (std::vector<int64_t>{1, 6, 16}));
  EXPECT_TRUE(torch::allclose(ha.slice(1, 0, 4), hb.slice(1, 0, 4), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(ha.slice(1, 4), hb.slice(1, 4), 1e-3, 1e-3));
  EXPECT_EQ(model->item_vectors().sizes(), (std::vector<int64_t>{20, 16}));
}

// The fused attention (scaled_dot_product_attention) and LibTorch's MultiheadAttention, same
// weights: the same outputs and the same gradients.
TEST(RecModels, SasRecFusedAttentionEqualsTheModule) {
  torch::manual_seed(4);
  SasRecBlock block(16, 2, 0.0);
  const int64_t len = 7, batch = 3;
  at::Tensor mask = torch::zeros({len, len})
                        .masked_fill(torch::ones({len, len}, torch::kBool).triu(1),
                                     -std::numeric_limits<float>::infinity());
  at::Tensor x = torch::randn({len, batch, 16}, torch::requires_grad());
  at::Tensor weights;
  at::Tensor fused = block->forward(x, mask, nullptr);
  at::Tensor module = block->forward(x, mask, &weights);
  ASSERT_EQ(fused.sizes(), module.sizes());
  EXPECT_TRUE(torch::allclose(fused, module, 1e-5, 1e-6)) << (fused - module).abs().max();
  at::Tensor g_fused = torch::autograd::grad({fused.pow(2).sum()}, {x})[0];
  at::Tensor g_module = torch::autograd::grad({module.pow(2).sum()}, {x})[0];
  EXPECT_TRUE(torch::allclose(g_fused, g_module, 1e-4, 1e-5)) << (g_fused - g_module).abs().max();
  EXPECT_EQ(weights.sizes(), (std::vector<int64_t>{batch, len, len}));
}

// SASRec over the real positions only (encode_real, encode_last) and over the padded batch
// (encode): the same outputs and the same gradients, for rows of every length from 0 to full.
TEST(RecModels, SasRecSkippingThePaddingEqualsThePaddedBatch) {
  torch::manual_seed(5);
  SasRecOptions o;
  o.items = 30;
  o.dim = 16;
  o.heads = 2;
  o.max_len = 9;
  o.dropout = 0.0;
  SasRec model(o);
  {  // non-zero norm biases, so that the padding's keys and values are not trivial
    torch::NoGradGuard no_grad;
    for (auto& p : model->named_parameters()) {
      if (p.key().find("bias") != std::string::npos) p.value().normal_(0.0, 0.5);
    }
  }
  const int64_t len = 7;  // shorter than max_len: positions count from the end
  at::Tensor history = torch::zeros({4, len}, torch::kLong);
  const std::vector<int64_t> lengths{3, 7, 0, 1};
  for (int64_t r = 0; r < 4; ++r) {
    for (int64_t c = len - lengths[r]; c < len; ++c) history[r][c] = 1 + (r * 11 + c * 5) % 30;
  }
  at::Tensor real = history.flatten().nonzero().squeeze(1);
  ASSERT_EQ(real.size(0), 11);
  at::Tensor padded = model->encode(history);
  at::Tensor expected = padded.reshape({-1, 16}).index_select(0, real);
  at::Tensor packed = model->encode_real(history);
  ASSERT_EQ(packed.sizes(), (std::vector<int64_t>{11, 16}));
  EXPECT_TRUE(torch::allclose(packed, expected, 1e-5, 1e-5)) << (packed - expected).abs().max();

  at::Tensor weights = torch::randn({11, 16});
  std::vector<at::Tensor> params = model->parameters();
  auto g_packed = torch::autograd::grad({(packed * weights).sum()}, params);
  auto g_padded = torch::autograd::grad({(expected * weights).sum()}, params);
  for (size_t i = 0; i < params.size(); ++i) {
    EXPECT_TRUE(torch::allclose(g_packed[i], g_padded[i], 1e-4, 1e-5))
        << "parameter " << i << ": " << (g_packed[i] - g_padded[i]).abs().max();
  }
  // encode_last: each row's last position; a row with no item falls back to the padded batch.
  at::Tensor last = model->encode_last(history);
  EXPECT_TRUE(torch::allclose(last, padded.select(1, len - 1), 1e-5, 1e-5));
  at::Tensor nonempty = history.index_select(0, torch::tensor({0, 1, 3}));
  EXPECT_TRUE(torch::allclose(model->encode_last(nonempty),
                              padded.select(1, len - 1).index_select(0, torch::tensor({0, 1, 3})),
                              1e-5, 1e-5));
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
  EXPECT_TRUE(torch::allclose(gmf->score_all(users).gather(1, items), gmf->score(users, items),
                              1e-5, 1e-6));
}

TEST(RecModels, RecommendSkipsSeenItemsAndServesAnonymousHistories) {
  RecDataset d = planted_taste();
  RecSplit split = split_leave_one_out(d);
  for (const std::string arch : {"bpr-mf", "sasrec", "pop", "ease"}) {
    TrainSpec c;
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

namespace deepcart::rec {
namespace {

// A trained model file altered the way an attacker who knows the format would: each must be
// refused by name when it is loaded, never crash, allocate gigabytes or fail requests later.
class CraftedRecModel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    RecDataset d = planted_taste();
    RecSplit split = split_leave_one_out(d);
    for (const std::string arch : {"sasrec", "bpr-mf"}) {
      TrainSpec c;
      c.arch = arch;
      c.train.epochs = 1;
      c.train.quiet = true;
      if (arch == "sasrec") c.hparams = {{"max_len", 10}, {"dim", 16}};
      (arch == "sasrec" ? sasrec_ : mf_) = new ModelFile(rec_train(d, split, c).model);
    }
  }
  static void TearDownTestSuite() {
    delete sasrec_;
    delete mf_;
  }
  // Writes `file` (a valid checksum) and loads it; the error, or "loaded".
  static std::string load_error(const ModelFile& file) {
    const std::string path =
        ::testing::TempDir() + "/crafted_rec_" + std::to_string(::getpid()) + ".dcm";
    model_file_write(file, path);
    try {
      Recommender::load(path);
    } catch (const Error& e) {
      std::string what = e.what();
      return what.substr(what.find(": ") + 2);  // without the path
    }
    return "loaded";
  }
  static void set_tensor(ModelFile& f, const std::string& name, at::Tensor value) {
    for (auto& t : f.tensors) {
      if (t.first == name) t.second = value;
    }
  }
  static ModelFile* sasrec_;
  static ModelFile* mf_;
};
ModelFile* CraftedRecModel::sasrec_ = nullptr;
ModelFile* CraftedRecModel::mf_ = nullptr;

TEST_F(CraftedRecModel, TheUntouchedFilesLoad) {
  EXPECT_EQ(load_error(*sasrec_), "loaded");
  EXPECT_EQ(load_error(*mf_), "loaded");
}

TEST_F(CraftedRecModel, StoredSequencesAreCheckedBeforeTheyAreExpanded) {
  ModelFile f = *sasrec_;
  at::Tensor offsets = f.tensor("seq/offsets").clone();
  offsets[3] = int64_t{1} << 40;  // used to make the loader copy 23 GB
  set_tensor(f, "seq/offsets", offsets);
  EXPECT_EQ(load_error(f), "tensor 'seq/offsets': decreases at entry 4");
  f = *sasrec_;
  offsets = f.tensor("seq/offsets").clone();
  offsets[-1] = offsets[-1].item<int64_t>() + 1000;
  set_tensor(f, "seq/offsets", offsets);
  EXPECT_NE(load_error(f).find("tensor 'seq/offsets': expected to run from 0 to "),
            std::string::npos)
      << load_error(f);
  f = *sasrec_;
  at::Tensor items = f.tensor("seq/items").clone();
  items[5] = 120;  // one past the last item
  set_tensor(f, "seq/items", items);
  EXPECT_EQ(load_error(f), "tensor 'seq/items': entry 5 is item 120, expected 0 to 119");
  f = *sasrec_;
  set_tensor(f, "seq/items", f.tensor("seq/items").to(torch::kInt));
  EXPECT_EQ(load_error(f).rfind("tensor 'seq/items': expected Long of shape [*], found Int", 0), 0u)
      << load_error(f);
}

TEST_F(CraftedRecModel, HyperParametersCannotAskForMoreThanTheFileHolds) {
  ModelFile f = *sasrec_;
  f.hparams["dim"] = 1000000;  // used to allocate 3.8 GB before any shape was checked
  EXPECT_EQ(
      load_error(f).find("the network that the hyper-parameters describe: it asks for more than"),
      0u)
      << load_error(f);
  f = *sasrec_;
  f.hparams["dim"] = 1e300;
  EXPECT_EQ(load_error(f), "sasrec: hyper-parameter 'dim': expected an integer, found 1e+300");
  f = *sasrec_;
  f.hparams["items"] = 119;  // every recommendation for item 119 would fail later
  EXPECT_EQ(load_error(f), "hyper-parameter 'items': 119, but the model's items list has 120");
  f = *mf_;
  f.hparams["users"] = 5;
  EXPECT_EQ(load_error(f), "hyper-parameter 'users': 5, but the model's users list has 300");
}

TEST_F(CraftedRecModel, IdListsAndPopularityAreChecked) {
  ModelFile f = *mf_;
  f.meta["items"][1] = f.meta["items"][0];
  EXPECT_EQ(load_error(f), "metadata 'items': an id appears twice");
  f = *mf_;
  f.meta["users"][0] = 42;
  EXPECT_EQ(load_error(f), "metadata 'users[0]': expected a string, found 42");
  f = *mf_;
  set_tensor(f, "pop/counts", torch::ones({3}));
  EXPECT_EQ(load_error(f),
            "tensor 'pop/counts': expected Float of shape [120], found Float of shape [3]");
}

}  // namespace
}  // namespace deepcart::rec
