// Fine-tuning the pretrained MiniLM through the Trainer: a frozen encoder keeps its weights and
// only the head learns; full fine-tuning moves the lower layers less (layer-wise decay); the
// model file carries the weights and the vocabulary, so it loads with no encoder installed.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>

#include "deepcart/text/classifier.h"
#include "deepcart/text/pretrained.h"
#include "error_of.h"
#include "pretrained_encoder.h"
#include "temp_dir.h"

namespace deepcart::text {
namespace {

TextSet shop_questions() {
  const std::vector<std::pair<std::string, std::vector<std::string>>> intents = {
      {"refund",
       {"i want my money back", "how do i get a refund", "refund my order please",
        "can you return my payment", "i was charged and want it back", "please reimburse me"}},
      {"shipping",
       {"where is my parcel", "when will my order arrive", "my package has not come yet",
        "track my delivery", "how long does shipping take", "the courier never showed up"}},
      {"password",
       {"i forgot my password", "cannot log into my account", "reset my login",
        "how do i change my password", "my account is locked", "the sign in code never came"}}};
  TextSet set;
  for (size_t c = 0; c < intents.size(); ++c) {
    set.label_names.push_back(intents[c].first);
    for (int repeat = 0; repeat < 2; ++repeat) {
      for (const auto& q : intents[c].second) {
        set.texts.push_back(repeat ? q + ", thanks" : q);
        set.labels.push_back(static_cast<int64_t>(c));
      }
    }
  }
  return set;
}

TrainSpec minilm_spec(const std::string& finetune) {
  TrainSpec c = default_spec("minilm", finetune);
  c.task = TextTask::kIntent;
  c.train.quiet = true;
  c.train.batch_size = 8;
  c.train.patience = 0;
  c.train.checkpoint_path.clear();
  return c;
}

// The named parameters of a freshly loaded pretrained network.
std::map<std::string, at::Tensor> pretrained_parameters() {
  PretrainedEncoder e = find_encoder("minilm");
  TextOptions o = e.options;
  o.classes = 3;
  TextNet net(o);
  load_encoder_weights(*net, read_encoder_weights(e));
  std::map<std::string, at::Tensor> out;
  for (const auto& p : net->named_parameters(true)) out[p.key()] = p.value().detach().clone();
  return out;
}

// max |trained - pretrained| / max |pretrained| over the parameters whose names start with
// `prefix`.
double relative_change(const ModelFile& file, const std::map<std::string, at::Tensor>& start,
                       const std::string& prefix) {
  std::map<std::string, at::Tensor> trained_by_name(file.tensors.begin(), file.tensors.end());
  double change = 0, size = 0;
  for (const auto& [name, value] : start) {
    if (name.rfind(prefix, 0) != 0) continue;
    const at::Tensor& trained = trained_by_name.at("model/" + name);
    change = std::max(change, (trained - value).abs().max().item<double>());
    size = std::max(size, value.abs().max().item<double>());
  }
  return change / size;
}

class MiniLmTrain : public test_data::TempDirTest {};

TEST_F(MiniLmTrain, FrozenEncoderKeepsItsWeightsAndTheHeadLearns) {
  REQUIRE_ENCODER(dir);
  TextSet set = shop_questions();
  TextSplit split = stratified_split(set.labels, 0.25, 0.0, 1);
  TrainSpec c = minilm_spec("");
  EXPECT_EQ(c.finetune, "head");  // the default
  EXPECT_EQ(c.train.epochs, 30);
  TextTrainOutput out = text_train(set, split, c);
  EXPECT_EQ(out.model.arch, "bert");
  EXPECT_EQ(out.model.hparams.at("encoder"), "minilm");
  EXPECT_GE(out.result.best_metrics.at("accuracy"), 0.99);
  auto start = pretrained_parameters();
  EXPECT_EQ(relative_change(out.model, start, "encoder."), 0.0);
  EXPECT_EQ(relative_change(out.model, start, "embedding."), 0.0);
  EXPECT_GT(out.model.meta.at("threshold").get<double>(), 0.0);
}

TEST_F(MiniLmTrain, FullFineTuningMovesLowerLayersLessAndTheFileIsSelfContained) {
  REQUIRE_ENCODER(dir);
  TextSet set = shop_questions();
  TextSplit split = stratified_split(set.labels, 0.25, 0.0, 1);
  TrainSpec c = minilm_spec("full");
  EXPECT_EQ(c.finetune, "full");
  EXPECT_EQ(c.train.epochs, 3);
  c.train.epochs = 2;
  c.train.lr = 1e-3;  // large, so two short epochs move every layer measurably
  c.layer_decay = 0.3;
  c.train.optimizer = "sgd";  // the step is proportional to the rate
  c.train.momentum = 0.0;
  c.train.weight_decay = 0.0;
  c.warmup_fraction = 0.0;
  TextTrainOutput out = text_train(set, split, c);
  auto start = pretrained_parameters();
  const double top = relative_change(out.model, start, "encoder.layer5.");
  const double bottom = relative_change(out.model, start, "encoder.layer0.");
  EXPECT_GT(bottom, 0.0);
  EXPECT_LT(bottom, top) << "layer 0 learns at 0.3^5 of layer 5's rate";

  const std::string path = dir_ + "/minilm.dcm";
  model_file_write(out.model, path);
  // No encoder installed any more: the file alone must do.
  ASSERT_EQ(setenv("DEEPCART_ENCODER_DIR", (dir_ + "/nowhere").c_str(), 1), 0);
  TextClassifier loaded = TextClassifier::load(path);
  unsetenv("DEEPCART_ENCODER_DIR");
  TextClassifier fresh(out.model);
  const std::vector<std::string> probe = {"where is my parcel", "I forgot my password!"};
  at::Tensor p = loaded.probabilities(probe);
  EXPECT_TRUE(torch::allclose(p, fresh.probabilities(probe)));
  EXPECT_EQ(p.sizes(), (std::vector<int64_t>{2, 3}));
  EXPECT_TRUE(loaded.tokenizer().is_wordpiece());
  EXPECT_EQ(loaded.tokenizer().ids("Hello")[0], 101);  // [CLS]
  Attribution a = loaded.explain("where is my parcel", -1);
  EXPECT_EQ(a.pieces.size(), a.scores.size());
  EXPECT_EQ(a.pieces.front(), "[CLS]");
}

TEST(MiniLmSpec, SizesBelongToThePretrainedEncoder) {
  TextSet set = shop_questions();
  TextSplit split = stratified_split(set.labels, 0.25, 0.0, 1);
  TrainSpec c = minilm_spec("full");
  c.hparams["dim"] = 64;
  EXPECT_EQ(test::error_of([&] { text_train(set, split, c); }),
            "--dim does not apply to minilm: the pretrained encoder has its own");
  c = minilm_spec("partly");
  c.finetune = "partly";
  EXPECT_EQ(test::error_of([&] { text_train(set, split, c); }),
            "--finetune: expected head or full, found 'partly'");
}

}  // namespace
}  // namespace deepcart::text
