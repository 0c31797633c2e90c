#include <gtest/gtest.h>
#include <torch/torch.h>

#include "deepcart/core/error.h"
#include "deepcart/text/classifier.h"
#include "deepcart/text/net.h"
#include "deepcart/text/rnn.h"
#include "error_of.h"
#include "temp_dir.h"

namespace deepcart::text {
namespace {

TextOptions small(const std::string& arch) {
  TextOptions o;
  o.arch = arch;
  o.vocab = 50;
  o.classes = 3;
  o.dim = 16;
  o.hidden = 16;
  o.heads = 2;
  o.layers = 1;
  o.max_length = 32;
  o.buckets = 101;
  o.dropout = 0.0;
  return o;
}

const std::vector<std::string> kArchs = {"bow", "gru", "lstm", "transformer"};

TEST(TextNet, ShapesAndPaddingDoesNotChangeTheAnswer) {
  for (const auto& arch : kArchs) {
    torch::manual_seed(0);
    TextNet model(small(arch));
    model->eval();
    torch::NoGradGuard no_grad;
    at::Tensor ids = torch::tensor({{5, 6, 7, 0, 0}, {8, 9, 10, 11, 12}}, torch::kLong);
    at::Tensor logits = model->forward(ids);
    EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{2, 3})) << arch;
    // The same first text alone, without padding, scores the same.
    at::Tensor alone = model->forward(torch::tensor({{5, 6, 7}}, torch::kLong));
    EXPECT_TRUE(torch::allclose(alone[0], logits[0], 1e-4, 1e-5))
        << arch << ": " << alone << logits;
  }
}

// The GRU and LSTM run unpacked (each direction over left-aligned texts, the backward one over
// each text reversed within its length): the same outputs and gradients as over a
// PackedSequence, for two layers, both poolings, and texts of every length down to none.
TEST(TextNet, UnpackedRnnEqualsThePackedOne) {
  for (const std::string arch : {"gru", "lstm"}) {
    for (const std::string pooling : {"max", "mean"}) {
      TextOptions o = small(arch);
      o.layers = 2;
      o.pooling = pooling;
      torch::manual_seed(7);
      Rnn rnn(o);
      at::Tensor ids = torch::tensor({{5, 6, 7, 8, 9, 4, 3},
                                      {8, 9, 10, 0, 0, 0, 0},
                                      {4, 0, 0, 0, 0, 0, 0},
                                      {0, 0, 0, 0, 0, 0, 0}},
                                     torch::kLong);
      at::Tensor embedded = torch::randn({4, 7, 16}, torch::requires_grad());
      at::Tensor unpacked = rnn->encode(embedded, ids);
      at::Tensor packed = rnn->encode_packed(embedded, ids);
      ASSERT_EQ(unpacked.sizes(), (std::vector<int64_t>{4, 32})) << arch;
      EXPECT_TRUE(torch::allclose(unpacked, packed, 1e-5, 1e-6))
          << arch << " " << pooling << ": " << (unpacked - packed).abs().max();
      std::vector<at::Tensor> inputs = rnn->parameters();
      inputs.push_back(embedded);
      at::Tensor w = torch::randn({4, 32});
      auto g_unpacked = torch::autograd::grad({(unpacked * w).sum()}, inputs);
      auto g_packed = torch::autograd::grad({(packed * w).sum()}, inputs);
      for (size_t i = 0; i < inputs.size(); ++i) {
        EXPECT_TRUE(torch::allclose(g_unpacked[i], g_packed[i], 1e-4, 1e-5))
            << arch << " " << pooling << " input " << i << ": "
            << (g_unpacked[i] - g_packed[i]).abs().max();
      }
    }
  }
}

TEST(TextNet, FusedTransformerInferenceMatchesTheTrainingPath) {
  for (const std::string pooling : {"max", "mean"}) {
    TextOptions o = small("transformer");
    o.layers = 2;
    o.pooling = pooling;
    torch::manual_seed(3);
    TextNet model(o);
    model->eval();
    // Padding of every length, and a text with no tokens at all.
    at::Tensor ids = torch::tensor(
        {{5, 6, 7, 0, 0, 0}, {8, 9, 10, 11, 12, 13}, {4, 0, 0, 0, 0, 0}, {0, 0, 0, 0, 0, 0}},
        torch::kLong);
    at::Tensor reference = model->forward(ids);  // grad mode on: the step-by-step path
    at::Tensor fused;
    {
      c10::InferenceMode guard;
      fused = model->forward(ids);
    }
    EXPECT_FALSE(fused.isnan().any().item<bool>()) << pooling;
    EXPECT_TRUE(torch::allclose(fused, reference.detach(), 1e-4, 1e-5))
        << pooling << ": " << fused << reference;
  }
}

TEST(TextNet, EveryArchitectureOverfitsATinyBatch) {
  for (const auto& arch : kArchs) {
    torch::manual_seed(1);
    TextNet model(small(arch));
    at::Tensor ids = torch::randint(2, 50, {12, 8}, torch::kLong);
    at::Tensor y = torch::arange(12, torch::kLong) % 3;
    torch::optim::Adam adam(model->parameters(), arch == "bow" ? 0.1 : 0.01);
    double first = 0, last = 0;
    for (int step = 0; step < 150; ++step) {
      adam.zero_grad();
      at::Tensor loss = torch::cross_entropy_loss(model->forward(ids), y);
      if (step == 0) first = loss.item<double>();
      last = loss.item<double>();
      loss.backward();
      adam.step();
    }
    EXPECT_GT(first, 0.9) << arch;
    EXPECT_LT(last, 0.05) << arch << " from " << first;
  }
}

TEST(TextNet, BadOptionsAreErrors) {
  TextOptions o = small("cnn");
  try {
    TextNet bad(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--model: expected bow, gru, lstm, transformer or minilm, found 'cnn'");
  }
  o = small("transformer");
  o.heads = 3;
  try {
    TextNet bad(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "transformer: --dim 16 is not divisible by --heads 3");
  }
  o = small("bow");
  o.ngrams = 4;
  try {
    TextNet bad(o);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--ngrams: expected 1, 2 or 3, found 4");
  }
}

TEST(TextNet, BowTrigramsAddToTheBigramFeatures) {
  // The same weights (same seed, same parameters) with and without trigrams: a text of two
  // tokens has no trigram and scores the same; a text of three tokens does not.
  TextOptions o = small("bow");
  torch::manual_seed(5);
  TextNet bigrams(o);
  o.ngrams = 3;
  torch::manual_seed(5);
  TextNet trigrams(o);
  bigrams->eval();
  trigrams->eval();
  torch::NoGradGuard no_grad;
  at::Tensor two = torch::tensor({{5, 6, 0}}, torch::kLong),
             three = torch::tensor({{5, 6, 7}}, torch::kLong);
  EXPECT_TRUE(torch::allclose(bigrams->forward(two), trigrams->forward(two)));
  EXPECT_FALSE(torch::allclose(bigrams->forward(three), trigrams->forward(three)));
  // A model file written before --ngrams existed has no such key: it reads as bigrams.
  nlohmann::json old = small("bow");
  old.erase("ngrams");
  EXPECT_EQ(old.get<TextOptions>().ngrams, 2);
}

TEST(OutOfScope, ThresholdSeparatesConfidentFromNonsense) {
  at::Tensor in_scope = torch::tensor({0.9f, 0.95f, 0.8f, 0.99f, 0.7f});
  at::Tensor junk = torch::tensor({0.2f, 0.3f, 0.25f, 0.4f});
  const float t = tune_out_of_scope(in_scope, junk);
  EXPECT_GT(t, 0.4f);
  EXPECT_LE(t, 0.7f);
}

// A small shop-question set: three intents, many phrasings.
TextSet questions() {
  const std::vector<std::pair<std::string, std::vector<std::string>>> intents = {
      {"track_order",
       {"where is my order", "track my parcel", "when will my package arrive",
        "order status please", "has my order shipped", "where is my parcel now",
        "track order number", "my package is late"}},
      {"get_refund",
       {"i want my money back", "refund please", "how do i get a refund", "return for a refund",
        "give me a refund", "refund my payment", "money back for this item",
        "i need a refund now"}},
      {"recover_password",
       {"i forgot my password", "reset my password", "cannot log in password lost",
        "password recovery", "change forgotten password", "lost my password help",
        "how to reset password", "password reset link"}}};
  TextSet set;
  for (size_t c = 0; c < intents.size(); ++c) {
    set.label_names.push_back(intents[c].first);
    for (int repeat = 0; repeat < 6; ++repeat) {
      for (const auto& q : intents[c].second) {
        set.texts.push_back(repeat % 2 ? q + " thanks" : q);
        set.labels.push_back(static_cast<int64_t>(c));
      }
    }
  }
  std::sort(set.label_names.begin(), set.label_names.end());
  for (size_t i = 0; i < set.labels.size(); ++i) {
    set.labels[i] =
        std::find(set.label_names.begin(), set.label_names.end(), intents[set.labels[i]].first) -
        set.label_names.begin();
  }
  return set;
}

class TextClassifierTest : public test_data::TempDirTest {};

TEST_F(TextClassifierTest, IntentModelAnswersSavesLoadsAndIsNotSureOnNonsense) {
  TextSet set = questions();
  TextSplit split = stratified_split(set.labels, 0.25, 0.0, 3);
  TrainSpec c;
  c.task = TextTask::kIntent;
  c.hparams = {{"arch", "bow"}, {"dim", 32}, {"buckets", 1000}};
  c.train.epochs = 30;
  c.train.batch_size = 16;
  c.train.lr = 0.05;
  c.train.quiet = true;
  c.answers = {{"track_order", "Open Your orders and press Track."}};
  TextTrainOutput out = text_train(set, split, c);
  EXPECT_GT(out.result.best_metrics.at("accuracy"), 0.95);
  const std::string path = dir_ + "/intent.dcm";
  model_file_write(out.model, path);
  TextClassifier loaded = TextClassifier::load(path);
  TextClassifier fresh(out.model);
  std::vector<std::string> probe = {"where is my order", "refund please", "xqzv plorkt wubbadoo"};
  EXPECT_TRUE(torch::equal(loaded.probabilities(probe), fresh.probabilities(probe)));
  EXPECT_EQ(loaded.answers().at("track_order"), "Open Your orders and press Track.");
  at::Tensor p = loaded.probabilities(probe);
  EXPECT_EQ(loaded.labels()[p[0].argmax().item<int64_t>()], "track_order");
  EXPECT_EQ(loaded.labels()[p[1].argmax().item<int64_t>()], "get_refund");
  EXPECT_GT(loaded.threshold(), 0.0f);
  EXPECT_GE(p[0].max().item<float>(), loaded.threshold()) << "a real question is answered";
  EXPECT_LT(p[2].max().item<float>(), loaded.threshold()) << "nonsense is 'not sure'";
  // Attributions: one score per token, and "refund" pushes toward get_refund.
  Attribution a = loaded.explain("i want a refund", -1);
  ASSERT_EQ(a.pieces.size(), a.scores.size());
  EXPECT_EQ(loaded.labels()[a.label], "get_refund");
  const size_t refund = std::find(a.pieces.begin(), a.pieces.end(), "refund") - a.pieces.begin();
  ASSERT_LT(refund, a.pieces.size());
  EXPECT_EQ(std::max_element(a.scores.begin(), a.scores.end()) - a.scores.begin(),
            static_cast<long>(refund));
}

TEST_F(TextClassifierTest, LabelNamesAreStoredAndShown) {
  TextSet set = questions();
  TextSplit split = stratified_split(set.labels, 0.25, 0.0, 3);
  TrainSpec c;
  c.hparams = {{"arch", "bow"}, {"dim", 16}, {"buckets", 0}};
  c.train.epochs = 20;
  c.train.lr = 0.05;
  c.train.quiet = true;
  c.label_names = {{"get_refund", "Refund"}, {"unknown_intent", "x"}};
  EXPECT_EQ(test::error_of([&] {
              text_train(set, split, c);
            }).rfind("--label-names: the data has no label 'unknown_intent' (its labels: ", 0),
            0u);
  c.label_names = {{"get_refund", "Refund"}};
  TextClassifier model(text_train(set, split, c).model);
  const auto& names = model.label_names();
  ASSERT_EQ(names.size(), model.labels().size());
  for (size_t i = 0; i < names.size(); ++i)
    EXPECT_EQ(names[i], model.labels()[i] == "get_refund" ? "Refund" : model.labels()[i]);
  const nlohmann::json p = model.predict_json({"refund please"});
  EXPECT_EQ(p[0].at("label"), "get_refund");
  EXPECT_EQ(p[0].at("label_name"), "Refund");
}

TEST_F(TextClassifierTest, StarsReportMeanAbsoluteError) {
  TextSet set;
  set.label_names = {"1", "2", "5"};
  const std::vector<std::string> words = {"awful", "meh", "great"};
  for (int i = 0; i < 90; ++i) {
    set.texts.push_back(words[i % 3] + " dress");
    set.labels.push_back(i % 3);
  }
  TextSplit split = stratified_split(set.labels, 0.2, 0.0, 1);
  TrainSpec c;
  c.task = TextTask::kStars;
  c.hparams = {{"arch", "gru"}, {"dim", 16}, {"hidden", 16}};
  c.train.epochs = 8;
  c.train.batch_size = 8;
  c.train.lr = 0.01;
  c.train.quiet = true;
  TextTrainOutput out = text_train(set, split, c);
  TextClassifier model(out.model);
  TextReport r = text_evaluate(model, set);
  EXPECT_DOUBLE_EQ(r.accuracy, 1.0);
  EXPECT_DOUBLE_EQ(r.mae, 0.0);
  EXPECT_EQ(r.confusion[2][2], 30);
  // A wrong prediction of 5 for a 1 costs 4 stars.
  set.labels[0] = 2;
  TextReport off = text_evaluate(model, set);
  EXPECT_NEAR(off.mae, 4.0 / 90, 1e-9);
  // Expected stars: the labels 1, 2, 5 weighted by the probabilities.
  at::Tensor probs = torch::tensor({{1.0, 0.0, 0.0}, {0.5, 0.25, 0.25}, {0.0, 0.0, 1.0}});
  at::Tensor expected = model.expected_stars(probs);
  ASSERT_EQ(expected.sizes(), (std::vector<int64_t>{3}));
  EXPECT_DOUBLE_EQ(expected[0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(expected[1].item<double>(), 0.5 + 0.5 + 1.25);
  EXPECT_DOUBLE_EQ(expected[2].item<double>(), 5.0);
}

TEST(TextDescribe, ReportAndAttributionLines) {
  TextReport r;
  r.texts = 4;
  r.accuracy = 0.75;
  r.macro_f1 = 0.5;
  r.texts_per_second = 100;
  r.precision = {1, 0.5};
  r.recall = {0.5, 1};
  r.f1 = {0.6667, 0.6667};
  EXPECT_EQ(r.describe({"no", "yes"}),
            "accuracy 0.7500  macro-F1 0.5000  (4 texts, 100 texts/s)\n"
            "  label                        precision    recall        F1\n"
            "  no                              1.0000    0.5000    0.6667\n"
            "  yes                             0.5000    1.0000    0.6667\n");
  Attribution a;
  a.pieces = {"great", "fit", "but"};
  a.scores = {1.0f, 0.2f, -0.6f};
  a.probability = 0.875f;
  EXPECT_EQ(a.tokens_json(), nlohmann::json({{{"token", "great"}, {"score", 1.0f}},
                                             {{"token", "fit"}, {"score", 0.2f}},
                                             {{"token", "but"}, {"score", -0.6f}}}));
  EXPECT_EQ(a.describe("yes"),
            "yes (87.5%): \033[1;42;30mgreat\033[0m \033[32mfit\033[0m \033[1;41;30mbut\033[0m "
            "\n(green: for the label, red: against it)\n");
}

}  // namespace
}  // namespace deepcart::text
