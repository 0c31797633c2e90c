// Fine-tuning the pretrained MiniLM through the Trainer: a frozen encoder keeps its weights and
// only the head learns; full fine-tuning moves the lower layers less (layer-wise decay); the
// model file carries the weights and the vocabulary, so it loads with no encoder installed.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstdlib>
#include <fstream>

#include "deepcart/text/classifier.h"
#include "deepcart/text/embed.h"
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

int lines_of(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

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
  EXPECT_EQ(c.head_epochs, 30);
  c.head_epochs = 0;  // a random head, so the layer-wise rates alone decide the moves
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

// Mean cosine of same-label pairs minus that of other-label pairs, over the texts' embeddings.
double label_margin(const SentenceEncoder& encoder, const TextSet& set) {
  at::Tensor e = encoder.embed(set.texts);
  at::Tensor cosine = e.mm(e.t());
  at::Tensor y = torch::tensor(set.labels, torch::kLong);
  at::Tensor same = (y.unsqueeze(0) == y.unsqueeze(1)) & ~torch::eye(y.size(0)).to(torch::kBool);
  at::Tensor other = y.unsqueeze(0) != y.unsqueeze(1);
  return cosine.masked_select(same).mean().item<double>() -
         cosine.masked_select(other).mean().item<double>();
}

TEST_F(MiniLmTrain, SetFitLearnsFromPairsOfAFewShotsThenTrainsTheHead) {
  REQUIRE_ENCODER(dir);
  TextSet set = shop_questions();
  TextSplit split = stratified_split(set.labels, 0.25, 0.0, 1);
  TrainSpec c = minilm_spec("setfit");
  EXPECT_EQ(c.finetune, "setfit");
  EXPECT_EQ(c.head_epochs, 30);
  c.shots = 3;
  c.train.epochs = 4;
  c.train.lr = 1e-4;  // large, so four steps move the encoder measurably
  c.train.batch_size = 4;
  TextTrainOutput out = text_train(set, split, c);
  EXPECT_EQ(out.model.metrics.at("training_texts"), 9);  // 3 shots of 3 intents
  const nlohmann::json& first = out.model.metrics.at("first_stage");
  EXPECT_EQ(first.at("stage"), "contrastive");
  EXPECT_EQ(first.at("epochs_run"), 4);
  // Validation of the contrastive stage: the nearest training centroid, a share of the texts.
  const double centroid = first.at("validation").at("accuracy").get<double>();
  EXPECT_GE(centroid, 0.5);
  EXPECT_LE(centroid, 1.0);
  EXPECT_FALSE(out.model.meta.contains("stage"));
  EXPECT_GE(out.result.best_metrics.at("accuracy"), 0.99);
  auto start = pretrained_parameters();
  EXPECT_GT(relative_change(out.model, start, "encoder.layer5."), 0.0);

  // The pairs pull same-label questions together: the margin grows over the pretrained one.
  const std::string path = dir_ + "/setfit.dcm";
  model_file_write(out.model, path);
  const double tuned = label_margin(SentenceEncoder::load(path), set);
  const double pretrained = label_margin(SentenceEncoder::load("minilm"), set);
  EXPECT_GT(tuned, pretrained + 0.02) << tuned << " vs " << pretrained;
}

TEST_F(MiniLmTrain, LinearProbeFirstStartsFullFineTuningFromATrainedHead) {
  REQUIRE_ENCODER(dir);
  TextSet set = shop_questions();
  TextSplit split = stratified_split(set.labels, 0.25, 0.0, 1);
  TrainSpec c = minilm_spec("full");
  c.head_epochs = 5;
  c.head_lr = 0.03;  // five steps of 9 texts: a fast head
  c.train.lr = 5e-5;
  c.train.epochs = 1;
  c.train.metrics_log = dir_ + "/log.jsonl";
  TextTrainOutput out = text_train(set, split, c);
  const nlohmann::json& first = out.model.metrics.at("first_stage");
  EXPECT_EQ(first.at("stage"), "head");
  EXPECT_EQ(first.at("epochs_run"), 5);
  EXPECT_GE(first.at("validation").at("accuracy").get<double>(), 0.99);
  EXPECT_EQ(out.result.epochs_run, 1);
  // The second stage starts from the trained head, not from a random one.
  EXPECT_GE(out.result.history.at(0).at("val_accuracy").get<double>(), 0.99);
  EXPECT_GE(out.result.seconds, first.at("train_seconds").get<double>());  // both stages' wall time
  EXPECT_EQ(lines_of(dir_ + "/log.jsonl.first-stage"), 5);
  EXPECT_EQ(lines_of(dir_ + "/log.jsonl"), 1);
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
            "--finetune: expected head, full or setfit, found 'partly'");
  c = minilm_spec("setfit");
  c.head_epochs = 0;
  EXPECT_EQ(test::error_of([&] { text_train(set, split, c); }),
            "--finetune setfit: --head-epochs must be at least 1 (the head learns there)");
}

}  // namespace
}  // namespace deepcart::text
