#include "deepcart/core/trainer.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "deepcart/core/error.h"

namespace deepcart {
namespace {

namespace fs = std::filesystem;

// Regression on fixed random data through a net with dropout, so that resuming must restore
// the optimiser state, the data order and LibTorch's generator to match exactly.
class RegressionTask : public TrainTask {
 public:
  RegressionTask() {
    torch::manual_seed(1);
    net_ = torch::nn::Sequential(torch::nn::Linear(4, 16), torch::nn::ReLU(),
                                 torch::nn::Dropout(0.3), torch::nn::Linear(16, 1));
    x_ = torch::randn({200, 4});
    y_ = x_.matmul(torch::tensor({1.0f, -2.0f, 0.5f, 3.0f})).unsqueeze(1);
  }
  torch::nn::Module& module() override { return *net_; }
  int64_t train_size() const override { return 200; }
  at::Tensor loss(const at::Tensor& idx, std::mt19937_64& rng) override {
    ++steps;
    if (steps == raise_at_step) std::raise(SIGTERM);
    return torch::mse_loss(net_->forward(x_.index_select(0, idx)), y_.index_select(0, idx));
  }
  std::map<std::string, double> validate() override {
    double mse = torch::mse_loss(net_->forward(x_), y_).item<double>();
    if (!scripted.empty()) {
      snapshots.push_back(net_->parameters()[0].detach().clone());
      return {{"score", scripted.at(validations++)}, {"mse", mse}};
    }
    return {{"mse", mse}};
  }
  torch::Tensor flat_params() {
    std::vector<torch::Tensor> parts;
    for (const auto& p : net_->parameters()) parts.push_back(p.detach().flatten());
    return torch::cat(parts);
  }

  torch::nn::Sequential net_{nullptr};
  torch::Tensor x_, y_;
  int steps = 0, raise_at_step = -1, validations = 0;
  std::vector<double> scripted;
  std::vector<torch::Tensor> snapshots;
};

class TrainerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("trainer_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    base_.task = "test";
    base_.arch = "regression";
    options_.epochs = 2;
    options_.batch_size = 32;
    options_.lr = 0.01;
    options_.seed = 5;
    options_.quiet = true;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) { return (dir_ / name).string(); }

  fs::path dir_;
  ModelFile base_;
  TrainOptions options_;
};

TEST_F(TrainerTest, ResumeEqualsUninterruptedTraining) {
  torch::manual_seed(11);
  RegressionTask straight;
  Trainer(options_).fit(straight, base_);

  TrainOptions first = options_;
  first.epochs = 1;
  first.checkpoint_path = path("ck.dcm");
  torch::manual_seed(11);
  RegressionTask part;
  Trainer(first).fit(part, base_);
  ASSERT_TRUE(fs::exists(first.checkpoint_path));
  EXPECT_TRUE(model_file_read(first.checkpoint_path).checkpoint);

  TrainOptions second = options_;
  second.resume = first.checkpoint_path;
  torch::manual_seed(12345);  // anything: the checkpoint restores weights and the generator
  RegressionTask resumed;
  TrainResult r = Trainer(second).fit(resumed, base_);
  EXPECT_EQ(r.epochs_run, 2);
  EXPECT_EQ(r.history.size(), 2u);
  EXPECT_TRUE(torch::allclose(straight.flat_params(), resumed.flat_params(), 1e-6, 1e-7))
      << (straight.flat_params() - resumed.flat_params()).abs().max();
}

TEST_F(TrainerTest, SigtermWritesCheckpointAndResumeMatches) {
  torch::manual_seed(11);
  RegressionTask straight;
  Trainer(options_).fit(straight, base_);

  TrainOptions o = options_;
  o.checkpoint_path = path("interrupted.dcm");
  torch::manual_seed(11);
  RegressionTask stopped;
  stopped.raise_at_step = 4;  // mid-way through epoch 1 (7 steps per epoch)
  try {
    Trainer(o).fit(stopped, base_);
    FAIL() << "expected Interrupted";
  } catch (const Interrupted& e) {
    EXPECT_EQ(e.signal(), SIGTERM);
    EXPECT_EQ(e.checkpoint(), o.checkpoint_path);
    EXPECT_NE(
        std::string(e.what()).find("at epoch 1 step 4; checkpoint written to " + o.checkpoint_path),
        std::string::npos)
        << e.what();
  }
  EXPECT_EQ(stopped.steps, 4) << "the step in progress finishes, then training stops";
  ModelFile ck = model_file_read(o.checkpoint_path);
  EXPECT_EQ(ck.state.at("loop").at("step"), 4);

  o.resume = o.checkpoint_path;
  torch::manual_seed(777);
  RegressionTask resumed;
  Trainer(o).fit(resumed, base_);
  EXPECT_EQ(resumed.steps, 14 - 4);
  EXPECT_TRUE(torch::allclose(straight.flat_params(), resumed.flat_params(), 1e-6, 1e-7));
}

TEST_F(TrainerTest, EarlyStoppingRestoresBestWeights) {
  TrainOptions o = options_;
  o.epochs = 10;
  o.monitor = "score";
  o.maximize = true;
  o.patience = 2;
  o.metrics_log = path("metrics.jsonl");
  RegressionTask task;
  task.scripted = {0.5, 0.9, 0.7, 0.6, 0.95, 0.99};
  TrainResult r = Trainer(o).fit(task, base_);
  EXPECT_TRUE(r.stopped_early);
  EXPECT_EQ(r.epochs_run, 4);
  EXPECT_EQ(r.best_epoch, 2);
  EXPECT_DOUBLE_EQ(r.best_metrics.at("score"), 0.9);
  EXPECT_TRUE(torch::equal(task.net_->parameters()[0], task.snapshots.at(1)));
  EXPECT_FALSE(torch::equal(task.net_->parameters()[0], task.snapshots.at(3)));

  std::ifstream log(o.metrics_log);
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) {
    auto j = nlohmann::json::parse(line);
    EXPECT_EQ(j.at("epoch"), ++lines);
    EXPECT_TRUE(j.contains("train_loss"));
    EXPECT_DOUBLE_EQ(j.at("val_score").get<double>(), task.scripted.at(lines - 1));
  }
  EXPECT_EQ(lines, 4);
}

TEST_F(TrainerTest, TrainingLowersTheLoss) {
  TrainOptions o = options_;
  o.epochs = 30;
  RegressionTask task;
  double before = task.validate().at("mse");
  TrainResult r = Trainer(o).fit(task, base_);
  EXPECT_LT(r.best_metrics.at("mse"), before / 10) << "from " << before;
}

TEST_F(TrainerTest, LearningRateSchedules) {
  TrainOptions o = options_;
  o.lr = 1.0;
  o.epochs = 4;
  o.schedule = "step";
  o.step_epochs = 1;
  o.gamma = 0.5;
  EXPECT_DOUBLE_EQ(Trainer(o).lr_at(0, 10), 1.0);
  EXPECT_DOUBLE_EQ(Trainer(o).lr_at(25, 10), 0.25);
  o.schedule = "cosine";
  EXPECT_DOUBLE_EQ(Trainer(o).lr_at(0, 10), 1.0);
  EXPECT_NEAR(Trainer(o).lr_at(20, 10), 0.5, 1e-12);
  EXPECT_NEAR(Trainer(o).lr_at(40, 10), 0.0, 1e-12);
  o.warmup_steps = 4;
  EXPECT_DOUBLE_EQ(Trainer(o).lr_at(0, 10), 0.25);
  EXPECT_DOUBLE_EQ(Trainer(o).lr_at(3, 10), 1.0);
  // One-cycle over 40 steps: 10 up from lr/25 to lr, 30 down to lr/25e4.
  o.schedule = "onecycle";
  o.warmup_steps = 0;
  EXPECT_NEAR(Trainer(o).lr_at(0, 10), 0.04, 1e-12);
  EXPECT_NEAR(Trainer(o).lr_at(5, 10), 0.52, 1e-12);
  EXPECT_NEAR(Trainer(o).lr_at(10, 10), 1.0, 1e-12);
  EXPECT_NEAR(Trainer(o).lr_at(25, 10), (1.0 + 4e-6) / 2, 1e-12);
  EXPECT_NEAR(Trainer(o).lr_at(40, 10), 4e-6, 1e-12);
  o.schedule = "wavy";
  try {
    Trainer(o).lr_at(5, 10);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(),
                 "--lr-schedule: expected constant, step, cosine or onecycle, found 'wavy'");
  }
}

TEST_F(TrainerTest, UnknownMonitorMetricIsAnError) {
  TrainOptions o = options_;
  o.monitor = "ndcg@10";
  RegressionTask task;
  try {
    Trainer(o).fit(task, base_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "--monitor: metric 'ndcg@10' is not among the validation metrics (mse)");
  }
}

TEST_F(TrainerTest, ResumeFromFinalModelIsRefused) {
  ModelFile final_model = base_;
  final_model.add_module("model/", *RegressionTask().net_);
  model_file_write(final_model, path("final.dcm"));
  TrainOptions o = options_;
  o.resume = path("final.dcm");
  RegressionTask task;
  try {
    Trainer(o).fit(task, base_);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              o.resume + ": is a final model, not a checkpoint: cannot resume");
  }
}

// Layer-wise rates: a group at lr_scale 0 keeps its weights, the others learn; a task whose
// every parameter is frozen is refused by name.
class GroupedTask : public RegressionTask {
 public:
  std::vector<ParameterGroup> parameter_groups() override {
    auto p = net_->parameters();
    return {{{p[0], p[1]}, 0.0}, {{p[2], p[3]}, 1.0}};
  }
};

TEST_F(TrainerTest, ParameterGroupsLearnAtTheirOwnRates) {
  GroupedTask task;
  auto before = task.net_->parameters();
  std::vector<at::Tensor> start;
  for (const auto& p : before) start.push_back(p.detach().clone());
  Trainer(options_).fit(task, base_);
  auto after = task.net_->parameters();
  EXPECT_TRUE(torch::equal(after[0], start[0]));  // scale 0: the first layer's weights
  EXPECT_TRUE(torch::equal(after[1], start[1]));
  EXPECT_FALSE(torch::equal(after[2], start[2]));  // scale 1: the last layer learned
  EXPECT_FALSE(torch::equal(after[3], start[3]));
}

TEST_F(TrainerTest, FrozenParametersAreLeftOutAndAllFrozenIsAnError) {
  RegressionTask task;
  for (auto& p : task.net_->parameters()) p.set_requires_grad(false);
  try {
    Trainer(options_).fit(task, base_);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "nothing to train: every parameter is frozen");
  }
  RegressionTask half;
  auto p = half.net_->parameters();
  p[0].set_requires_grad(false);
  const at::Tensor first = p[0].detach().clone();
  ASSERT_EQ(half.parameter_groups().size(), 1u);
  EXPECT_EQ(half.parameter_groups()[0].params.size(), 3u);
  Trainer(options_).fit(half, base_);
  EXPECT_TRUE(torch::equal(half.net_->parameters()[0], first));
}

}  // namespace
}  // namespace deepcart
