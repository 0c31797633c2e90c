// The one training loop. A model family supplies a TrainTask (loss on a batch of example
// indices, validation metrics); the Trainer owns epochs, shuffling, the optimiser and its LR
// schedule, clipping, early stopping with best-weight restore, progress, the metrics log,
// checkpoints, --resume and SIGINT/SIGTERM handling.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "deepcart/core/data_parallel.h"
#include "deepcart/core/model_file.h"

namespace torch::nn {
class Module;
}

namespace deepcart {

struct TrainOptions {
  int epochs = 10;
  int64_t batch_size = 256;
  double lr = 1e-3;
  double weight_decay = 0.0;
  std::string optimizer = "adam";     // adam | adamw | sgd
  double momentum = 0.9;              // sgd only
  std::string schedule = "constant";  // constant | step | cosine | onecycle
  int64_t warmup_steps = 0;           // linear warm-up before the schedule
  int step_epochs = 1;                // step: multiply by gamma every step_epochs epochs
  double gamma = 0.5;
  double clip_norm = 0.0;  // 0 = no gradient clipping
  std::string monitor;     // validation metric for early stopping and best weights
  bool maximize = true;
  int patience = 0;             // epochs without improvement before stopping; 0 = never stop early
  std::string metrics_log;      // JSONL, one line per epoch; empty = none
  std::string checkpoint_path;  // empty = no checkpoints
  double checkpoint_minutes = 10.0;
  std::string resume;  // checkpoint to continue from
  uint64_t seed = 42;
  bool quiet = false;
  // Data-parallel training (dist/): each rank trains on its share of every epoch with
  // `batch_size` examples per step, gradients are averaged, and only rank 0 writes the
  // checkpoint and the metrics log. Null = one process.
  std::shared_ptr<DataParallel> parallel;
};

// The options as JSON, for the specs stored in ModelFiles; `parallel` and `quiet` say how a run
// is carried out, not what it trains, and are left out. Missing keys keep their defaults.
void to_json(nlohmann::json& j, const TrainOptions& o);
void from_json(const nlohmann::json& j, TrainOptions& o);

// Parameters the optimiser updates at the schedule's rate times lr_scale (layer-wise decay).
struct ParameterGroup {
  std::vector<at::Tensor> params;
  double lr_scale = 1.0;
};

// What a model family gives the Trainer.
class TrainTask {
 public:
  virtual ~TrainTask() = default;
  virtual torch::nn::Module& module() = 0;
  // What the optimiser updates. Default: one group, every parameter of module() that requires
  // a gradient (frozen ones are left out).
  virtual std::vector<ParameterGroup> parameter_groups();
  virtual int64_t train_size() const = 0;
  // Mean loss over the training examples `indices` (B) int64. `rng` is seeded from
  // (seed, epoch, step), so sampling inside a batch is reproducible and resumable.
  virtual at::Tensor loss(const at::Tensor& indices, std::mt19937_64& rng) = 0;
  // Validation metrics, run under NoGradGuard with the module in eval mode.
  virtual std::map<std::string, double> validate() { return {}; }
  // Data-parallel runs: from now on validate() covers only share `rank` of `world` of the
  // validation examples, and validation_weight() counts them, so the ranks' metrics average
  // exactly. Only tasks whose metrics are all means over examples may agree (return true);
  // otherwise every rank validates everything.
  virtual bool shard_validation(int rank, int world) { return false; }
  virtual double validation_weight() const { return 1.0; }
};

struct TrainResult {
  int epochs_run = 0;
  int best_epoch = 0;  // 1-based; 0 when nothing was monitored
  std::map<std::string, double> best_metrics;
  std::vector<nlohmann::json> history;
  bool stopped_early = false;
  double seconds = 0.0;                    // all of fit(), validation included
  double examples_per_second = 0.0;        // over `seconds`
  double step_seconds = 0.0;               // training steps only (batch, forward, backward, update)
  double train_examples_per_second = 0.0;  // over `step_seconds`: the figure benchmarks compare
  // Data-parallel runs: the share of step time spent all-reducing, and bytes per step.
  int workers = 1;
  int threads = 1;  // LibTorch threads per worker
  double allreduce_seconds = 0.0;
  int64_t allreduce_bytes_per_step = 0;

  // What every ModelFile records of its training: validation, epochs, times, history.
  nlohmann::json to_json() const;
};

class Trainer {
 public:
  explicit Trainer(TrainOptions options) : options_(std::move(options)) {}

  // Trains task.module() in place. `base` carries the task/arch/hparams/meta that checkpoints
  // must hold so that a checkpoint is itself a loadable model.
  TrainResult fit(TrainTask& task, const ModelFile& base);

  // Learning rate at a global step (exposed for tests).
  double lr_at(int64_t step, int64_t steps_per_epoch) const;

 private:
  TrainOptions options_;
};

}  // namespace deepcart
