#include "deepcart/core/trainer.h"

#include "deepcart/core/context.h"
#include "deepcart/core/device.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <fstream>
#include <memory>
#include <numeric>
#include <sstream>

#include "deepcart/core/error.h"
#include "deepcart/core/progress.h"

namespace deepcart {
namespace {

volatile std::sig_atomic_t g_stop_signal = 0;

void on_stop_signal(int sig) {
  if (g_stop_signal != 0) {  // a second Ctrl-C: stop now, without a checkpoint
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
  g_stop_signal = sig;
}

// Installs the stop handlers for the life of one fit() and restores the old ones after.
class SignalScope {
 public:
  SignalScope() {
    g_stop_signal = 0;
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~SignalScope() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
    g_stop_signal = 0;
  }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

}  // namespace

std::vector<ParameterGroup> TrainTask::parameter_groups() {
  ParameterGroup all;
  for (const auto& p : module().parameters()) {
    if (p.requires_grad()) all.params.push_back(p);
  }
  return {all};
}

namespace {

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainOptions& o,
                                                        const std::vector<ParameterGroup>& groups) {
  std::vector<torch::optim::OptimizerParamGroup> params;
  for (const auto& g : groups) params.emplace_back(g.params);
  if (o.optimizer == "adam") {
    return std::make_unique<torch::optim::Adam>(
        params, torch::optim::AdamOptions(o.lr).weight_decay(o.weight_decay));
  }
  if (o.optimizer == "adamw") {
    return std::make_unique<torch::optim::AdamW>(
        params, torch::optim::AdamWOptions(o.lr).weight_decay(o.weight_decay));
  }
  if (o.optimizer == "sgd") {
    return std::make_unique<torch::optim::SGD>(
        params, torch::optim::SGDOptions(o.lr).momentum(o.momentum).weight_decay(o.weight_decay));
  }
  throw Error("--optimizer: expected adam, adamw or sgd, found '" + o.optimizer + "'");
}

using NamedTensors = std::vector<std::pair<std::string, at::Tensor>>;

NamedTensors snapshot(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& p : module.named_parameters(true))
    out.emplace_back(p.key(), p.value().detach().clone());
  for (const auto& b : module.named_buffers(true))
    out.emplace_back(b.key(), b.value().detach().clone());
  return out;
}

void restore(torch::nn::Module& module, const NamedTensors& saved) {
  torch::NoGradGuard no_grad;
  std::map<std::string, at::Tensor> by_name(saved.begin(), saved.end());
  for (auto& p : module.named_parameters(true)) p.value().copy_(by_name.at(p.key()));
  for (auto& b : module.named_buffers(true)) b.value().copy_(by_name.at(b.key()));
}

// Where training stands; everything a checkpoint needs besides tensors.
struct LoopState {
  int epoch = 0;     // 0-based epoch in progress
  int64_t step = 0;  // steps done in that epoch
  int64_t global_step = 0;
  double loss_sum = 0.0;
  int64_t loss_count = 0;
  double best = 0.0;
  bool has_best = false;
  int best_epoch = 0;
  int bad_epochs = 0;
  std::vector<nlohmann::json> history;

  nlohmann::json to_json() const {
    return {{"epoch", epoch},
            {"step", step},
            {"global_step", global_step},
            {"loss_sum", loss_sum},
            {"loss_count", loss_count},
            {"best", best},
            {"has_best", has_best},
            {"best_epoch", best_epoch},
            {"bad_epochs", bad_epochs},
            {"history", history}};
  }
  static LoopState from_json(const nlohmann::json& j) {
    LoopState s;
    s.epoch = j.at("epoch");
    s.step = j.at("step");
    s.global_step = j.at("global_step");
    s.loss_sum = j.at("loss_sum");
    s.loss_count = j.at("loss_count");
    s.best = j.at("best");
    s.has_best = j.at("has_best");
    s.best_epoch = j.at("best_epoch");
    s.bad_epochs = j.at("bad_epochs");
    s.history = j.at("history").get<std::vector<nlohmann::json>>();
    return s;
  }
};

at::Tensor epoch_permutation(int64_t n, uint64_t seed, int epoch) {
  std::vector<int64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::seed_seq seq{seed, static_cast<uint64_t>(epoch), uint64_t{0x5eed}};
  std::mt19937_64 rng(seq);
  std::shuffle(order.begin(), order.end(), rng);
  return torch::tensor(order, torch::kLong);
}

// This rank's share of an epoch's order: every world-th example from `rank`, wrapped around so
// every rank gets `per_rank` examples and runs the same number of steps. The ranks' shares of
// one step together are the examples one process would take with world x batch_size.
at::Tensor shard_of(const at::Tensor& order, int rank, int world, int64_t per_rank) {
  if (world == 1) return order;
  at::Tensor picks =
      torch::arange(rank, per_rank * world, world, torch::kLong).remainder(order.size(0));
  return order.index_select(0, picks);
}

// Validation metrics averaged over the ranks, weighted by the examples each validated.
std::map<std::string, double> reduce_metrics(DataParallel& par,
                                             const std::map<std::string, double>& metrics,
                                             double weight) {
  std::vector<double> values;
  for (const auto& m : metrics) values.push_back(m.second * weight);
  values.push_back(weight);
  values.push_back(static_cast<double>(metrics.size()));
  par.sum(values);
  if (values.back() != static_cast<double>(metrics.size() * par.world_size())) {
    throw Error("rank " + std::to_string(par.rank()) +
                ": the ranks returned different validation metrics");
  }
  const double total = values[values.size() - 2];
  std::map<std::string, double> out;
  size_t i = 0;
  for (const auto& m : metrics) out[m.first] = values[i++] / total;
  return out;
}

// A distributed run seeds LibTorch's generator (dropout) from (seed, epoch, step, rank) at
// every step: the ranks draw different masks, and a resumed run draws what an uninterrupted
// one would, with no per-rank generator state to save.
uint64_t step_seed(uint64_t seed, int epoch, int64_t step, int rank) {
  uint64_t x = seed ^ (static_cast<uint64_t>(epoch) << 48) ^ (static_cast<uint64_t>(step) << 8) ^
               static_cast<uint64_t>(rank);
  x += 0x9e3779b97f4a7c15ULL;  // splitmix64's finaliser
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

std::string format_metrics(const std::map<std::string, double>& metrics) {
  std::ostringstream out;
  out.precision(4);
  for (const auto& [name, value] : metrics) out << "  " << name << " " << std::fixed << value;
  return out.str();
}

// One call of Trainer::fit: the state of a training run and its steps, in the order fit() takes
// them.
class FitRun {
 public:
  FitRun(const Trainer& trainer, const TrainOptions& options, TrainTask& task,
         const ModelFile& base)
      : trainer_(trainer),
        o_(options),
        task_(task),
        base_(base),
        module_(task.module()),
        device_(context_device()),
        par_(options.parallel.get()),
        rank_(par_ ? par_->rank() : 0),
        world_(par_ ? par_->world_size() : 1),
        primary_(rank_ == 0),
        progress_(options.quiet || rank_ != 0) {
    // The weights move to the device before the optimiser sees them; its state follows them.
    module_.to(device_);
    const std::vector<ParameterGroup> groups = task.parameter_groups();
    for (const auto& g : groups) {
      lr_scales_.push_back(g.lr_scale);
      parameters_.insert(parameters_.end(), g.params.begin(), g.params.end());
    }
    if (parameters_.empty()) throw Error("nothing to train: every parameter is frozen");
    optimizer_ = make_optimizer(o_, groups);
    n_ = task.train_size();
    if (n_ < 1) throw Error("no training examples");
    per_rank_ = (n_ + world_ - 1) / world_;
    steps_per_epoch_ = (per_rank_ + o_.batch_size - 1) / o_.batch_size;
    bytes_before_ = par_ ? par_->bytes_reduced() : 0;
  }

  // --resume: weights, optimiser, generator and loop state from a checkpoint of this run.
  void resume() {
    if (o_.resume.empty()) return;
    ModelFile ck = model_file_read(o_.resume, base_.task);
    check_resumable(ck);
    // A checkpoint is a file like any other: what it holds is checked and refused by name.
    ck.checked_load([&] {
      ck.load_module("model/", module_);
      auto blob_it = ck.blobs.find("optimizer");
      if (blob_it == ck.blobs.end()) throw Error("no optimizer state in the checkpoint");
      torch::serialize::InputArchive archive;
      std::istringstream blob(blob_it->second);
      archive.load_from(blob, device_);
      optimizer_->load(archive);
      {
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(ck.tensor("rng/torch"));
      }
      st_ = LoopState::from_json(ck.state.at("loop"));
    });
    const int ck_world = ck.state.value("world_size", 1);
    if (st_.step > 0 && ck_world != world_) {
      throw Error(o_.resume + ": written by a " + std::to_string(ck_world) +
                  "-worker run in the middle of epoch " + std::to_string(st_.epoch + 1) +
                  ": resume it with " + std::to_string(ck_world) + " worker(s), not " +
                  std::to_string(world_));
    }
    if (st_.has_best) {
      for (const auto& [name, value] : ck.tensors) {
        if (name.rfind("best/", 0) == 0)
          best_weights_.emplace_back(name.substr(5), value.to(device_, false, true));
      }
    }
  }

  // Data-parallel runs: every rank starts from rank 0's weights (and its checkpoint, when
  // resuming), and the task learns whether it validates a share.
  void start_ranks_together() {
    if (!par_) return;
    std::vector<at::Tensor> state = module_.parameters();  // the frozen ones too
    for (const auto& b : module_.buffers()) state.push_back(b);
    {
      torch::NoGradGuard no_grad;
      par_->broadcast(state);
    }
    sharded_validation_ = task_.shard_validation(rank_, world_);
  }

  // The clocks start once the run is set up: resuming and opening the log are not timed.
  void start_clock() { t0_ = last_checkpoint_ = epoch_start_ = Clock::now(); }

  void open_metrics_log() {
    if (o_.metrics_log.empty() || !primary_) return;
    log_.open(o_.metrics_log, o_.resume.empty() ? std::ios::trunc : std::ios::app);
    if (!log_) throw Error(o_.metrics_log + ": cannot open metrics log for writing");
  }

  bool epochs_left() const { return st_.epoch < o_.epochs && !stop_; }

  void train_epoch() {
    const at::Tensor order =
        shard_of(epoch_permutation(n_, o_.seed, st_.epoch), rank_, world_, per_rank_);
    module_.train();
    progress_.start_epoch(st_.epoch + 1, o_.epochs, steps_per_epoch_, st_.step);
    for (; st_.step < steps_per_epoch_; ++st_.step) {
      const int64_t begin = st_.step * o_.batch_size;
      train_step(order.slice(0, begin, std::min(order.size(0), begin + o_.batch_size)));
    }
  }

  std::map<std::string, double> validate() {
    torch::NoGradGuard no_grad;
    module_.eval();
    AutocastScope autocast;
    std::map<std::string, double> metrics = task_.validate();
    if (par_) {
      metrics =
          reduce_metrics(*par_, metrics, sharded_validation_ ? task_.validation_weight() : 1.0);
    }
    module_.train();
    return metrics;
  }

  // Records the epoch (history, metrics log, progress line), keeps the best weights and decides
  // on early stopping; then moves on to the next epoch.
  void end_epoch(const std::map<std::string, double>& metrics) {
    const double epoch_seconds = seconds_since(epoch_start_);
    const double train_loss = st_.loss_count ? st_.loss_sum / st_.loss_count : 0.0;
    nlohmann::json record = {{"epoch", st_.epoch + 1},
                             {"train_loss", train_loss},
                             {"lr", trainer_.lr_at(st_.global_step - 1, steps_per_epoch_)},
                             {"seconds", epoch_seconds}};
    for (const auto& [name, value] : metrics) record["val_" + name] = value;
    if (!o_.monitor.empty()) {
      track_best(metrics);
      record["best_epoch"] = st_.best_epoch;
    }
    st_.history.push_back(record);
    if (log_) log_ << record.dump() << "\n" << std::flush;
    progress_.end_epoch("epoch " + std::to_string(st_.epoch + 1) + "/" + std::to_string(o_.epochs) +
                        "  train loss " + std::to_string(train_loss).substr(0, 7) +
                        (metrics.empty() ? "" : "  valid") + format_metrics(metrics) + "  (" +
                        std::to_string(epoch_seconds).substr(0, 5) + " s)" +
                        (stop_ ? "  early stop" : ""));
    ++st_.epoch;
    st_.step = 0;
    st_.loss_sum = 0;
    st_.loss_count = 0;
    epoch_start_ = std::chrono::steady_clock::now();
  }

  // The checkpoint holds the last weights (what --resume continues from), then the module gets
  // the best ones back.
  TrainResult finish() {
    write_checkpoint();
    if (!best_weights_.empty()) restore(module_, best_weights_);
    TrainResult result;
    result.stopped_early = stopped_early_;
    result.seconds = seconds_since(t0_);
    result.examples_per_second = result.seconds > 0 ? examples_seen_ / result.seconds : 0.0;
    result.step_seconds = step_seconds_;
    result.train_examples_per_second = step_seconds_ > 0 ? examples_seen_ / step_seconds_ : 0.0;
    result.workers = world_;
    result.threads = context_threads();
    result.allreduce_seconds = allreduce_seconds_;
    result.allreduce_bytes_per_step =
        par_ && steps_run_ > 0 ? (par_->bytes_reduced() - bytes_before_) / steps_run_ : 0;
    result.epochs_run = st_.epoch;
    result.best_epoch = st_.best_epoch;
    result.history = st_.history;
    const nlohmann::json& chosen =
        st_.best_epoch > 0 ? st_.history.at(st_.best_epoch - 1) : st_.history.back();
    for (const auto& [key, value] : chosen.items()) {
      if (key.rfind("val_", 0) == 0) result.best_metrics[key.substr(4)] = value.get<double>();
    }
    return result;
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
  }

  void check_resumable(const ModelFile& ck) const {
    if (!ck.checkpoint)
      throw Error(o_.resume + ": is a final model, not a checkpoint: cannot resume");
    if (ck.arch != base_.arch) {
      throw Error(o_.resume + ": checkpoint of a '" + ck.arch + "' model: expected '" + base_.arch +
                  "'");
    }
    if (ck.hparams != base_.hparams) {
      std::string differ;
      for (const auto& [key, value] : base_.hparams.items()) {
        if (!ck.hparams.contains(key) || ck.hparams[key] != value)
          differ += (differ.empty() ? "" : ", ") + key;
      }
      throw Error(o_.resume + ": checkpoint hyper-parameters differ from this run's: " + differ +
                  " (checkpoint " + ck.hparams.dump() + ")");
    }
  }

  // One optimiser step on `indices`; a stop signal ends the run here with a checkpoint.
  void train_step(const at::Tensor& indices) {
    const auto step_start = Clock::now();
    std::vector<uint64_t> words{o_.seed, static_cast<uint64_t>(st_.epoch),
                                static_cast<uint64_t>(st_.step)};
    if (par_) {
      words.push_back(static_cast<uint64_t>(rank_));
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_current_seed(step_seed(o_.seed, st_.epoch, st_.step, rank_));
    }
    std::seed_seq seq(words.begin(), words.end());
    std::mt19937_64 rng(seq);
    const double lr = trainer_.lr_at(st_.global_step, steps_per_epoch_);
    auto& groups = optimizer_->param_groups();
    for (size_t g = 0; g < groups.size(); ++g) groups[g].options().set_lr(lr * lr_scales_[g]);
    optimizer_->zero_grad();
    at::Tensor loss;
    {
      AutocastScope autocast;  // --precision bf16: the forward pass only, as in PyTorch
      loss = task_.loss(indices, rng);
    }
    double value = loss.item<double>();
    int64_t count = indices.size(0);
    // Read once, before the exchange: in a distributed run the ranks then agree to stop at
    // the same step, whichever of them got the signal.
    bool stop_now = g_stop_signal != 0;
    if (!par_ && !std::isfinite(value)) throw non_finite(value);
    loss.backward();
    if (par_) {
      std::vector<double> scalars{value * static_cast<double>(count), static_cast<double>(count),
                                  stop_now ? 1.0 : 0.0};
      const auto reduce_start = Clock::now();
      par_->average_gradients(parameters_, scalars);
      allreduce_seconds_ += seconds_since(reduce_start);
      value = scalars[0] / scalars[1];
      count = static_cast<int64_t>(scalars[1]);
      stop_now = scalars[2] > 0;
      if (!std::isfinite(value)) throw non_finite(value);
    }
    if (o_.clip_norm > 0) torch::nn::utils::clip_grad_norm_(parameters_, o_.clip_norm);
    optimizer_->step();
    if (!par_)
      stop_now = g_stop_signal != 0;  // one process: a signal during this step stops after it
    ++steps_run_;
    st_.loss_sum += value * static_cast<double>(count);
    st_.loss_count += count;
    examples_seen_ += count;
    ++st_.global_step;
    step_seconds_ += seconds_since(step_start);
    progress_.step(st_.step + 1, st_.loss_sum / st_.loss_count);
    if (stop_now) stop_with_checkpoint();
    checkpoint_if_due();
  }

  Error non_finite(double value) const {
    return Error("loss is " + std::to_string(value) + " at epoch " + std::to_string(st_.epoch + 1) +
                 " step " + std::to_string(st_.step + 1) + ": lower --lr or set --clip");
  }

  [[noreturn]] void stop_with_checkpoint() {
    const int sig = g_stop_signal != 0 ? g_stop_signal : SIGINT;
    const std::string why = g_stop_signal != 0 ? "interrupted by " + std::string(strsignal(sig))
                                               : "stopped: another worker was interrupted";
    ++st_.step;  // this step is done; resume starts at the next one
    if (o_.checkpoint_path.empty())
      throw Interrupted(why + " (no --checkpoint path, nothing saved)", "", sig);
    write_checkpoint();
    throw Interrupted(
        why + " at epoch " + std::to_string(st_.epoch + 1) + " step " + std::to_string(st_.step) +
            "; checkpoint " + (primary_ ? "written to " : "written by rank 0 to ") +
            o_.checkpoint_path + " (continue with --resume " + o_.checkpoint_path + ")",
        o_.checkpoint_path, sig);
  }

  // Every --checkpoint-minutes, the state after the step just taken.
  void checkpoint_if_due() {
    if (o_.checkpoint_path.empty() || !primary_) return;
    const auto now = Clock::now();
    if (std::chrono::duration<double>(now - last_checkpoint_).count() <= o_.checkpoint_minutes * 60)
      return;
    ++st_.step;
    write_checkpoint();
    --st_.step;
    last_checkpoint_ = now;
  }

  void write_checkpoint() {
    if (o_.checkpoint_path.empty() || !primary_) return;
    ModelFile ck;
    ck.task = base_.task;
    ck.arch = base_.arch;
    ck.hparams = base_.hparams;
    ck.meta = base_.meta;
    ck.checkpoint = true;
    ck.add_module("model/", module_);
    for (const auto& [name, value] : best_weights_)
      ck.tensors.emplace_back("best/" + name, on_cpu(value));
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      ck.tensors.emplace_back("rng/torch", gen.get_state());
    }
    torch::serialize::OutputArchive archive;
    optimizer_->save(archive);
    std::ostringstream blob;
    archive.save_to(blob);
    ck.blobs["optimizer"] = blob.str();
    ck.state = {{"loop", st_.to_json()}, {"seed", o_.seed}, {"world_size", world_}};
    model_file_write(ck, o_.checkpoint_path);
  }

  // --monitor: keeps the best weights, and stops after --patience epochs without improvement.
  void track_best(const std::map<std::string, double>& metrics) {
    auto it = metrics.find(o_.monitor);
    if (it == metrics.end()) {
      std::string names;
      for (const auto& m : metrics) names += (names.empty() ? "" : ", ") + m.first;
      throw Error("--monitor: metric '" + o_.monitor + "' is not among the validation metrics (" +
                  (names.empty() ? "none" : names) + ")");
    }
    const bool better =
        !st_.has_best || (o_.maximize ? it->second > st_.best : it->second < st_.best);
    if (better) {
      st_.best = it->second;
      st_.has_best = true;
      st_.best_epoch = st_.epoch + 1;
      st_.bad_epochs = 0;
      best_weights_ = snapshot(module_);
    } else if (o_.patience > 0 && ++st_.bad_epochs >= o_.patience) {
      stop_ = true;
      stopped_early_ = true;
    }
  }

  const Trainer& trainer_;
  const TrainOptions& o_;
  TrainTask& task_;
  const ModelFile& base_;
  torch::nn::Module& module_;
  const c10::Device device_;
  DataParallel* par_;
  const int rank_, world_;
  const bool primary_;
  Progress progress_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::vector<at::Tensor> parameters_;  // the trained ones, of every group
  std::vector<double> lr_scales_;       // per optimiser group
  int64_t n_ = 0, per_rank_ = 0, steps_per_epoch_ = 0;
  bool sharded_validation_ = false;
  LoopState st_;
  NamedTensors best_weights_;
  std::ofstream log_;
  bool stop_ = false, stopped_early_ = false;
  Clock::time_point t0_, last_checkpoint_, epoch_start_;
  int64_t examples_seen_ = 0, steps_run_ = 0, bytes_before_ = 0;
  double step_seconds_ = 0.0, allreduce_seconds_ = 0.0;
};

}  // namespace

void to_json(nlohmann::json& j, const TrainOptions& o) {
  j = {{"epochs", o.epochs},
       {"batch_size", o.batch_size},
       {"lr", o.lr},
       {"weight_decay", o.weight_decay},
       {"optimizer", o.optimizer},
       {"momentum", o.momentum},
       {"schedule", o.schedule},
       {"warmup_steps", o.warmup_steps},
       {"step_epochs", o.step_epochs},
       {"gamma", o.gamma},
       {"clip_norm", o.clip_norm},
       {"monitor", o.monitor},
       {"maximize", o.maximize},
       {"patience", o.patience},
       {"metrics_log", o.metrics_log},
       {"checkpoint_path", o.checkpoint_path},
       {"checkpoint_minutes", o.checkpoint_minutes},
       {"resume", o.resume},
       {"seed", o.seed}};
}

void from_json(const nlohmann::json& j, TrainOptions& o) {
  const TrainOptions d;
  o.epochs = j.value("epochs", d.epochs);
  o.batch_size = j.value("batch_size", d.batch_size);
  o.lr = j.value("lr", d.lr);
  o.weight_decay = j.value("weight_decay", d.weight_decay);
  o.optimizer = j.value("optimizer", d.optimizer);
  o.momentum = j.value("momentum", d.momentum);
  o.schedule = j.value("schedule", d.schedule);
  o.warmup_steps = j.value("warmup_steps", d.warmup_steps);
  o.step_epochs = j.value("step_epochs", d.step_epochs);
  o.gamma = j.value("gamma", d.gamma);
  o.clip_norm = j.value("clip_norm", d.clip_norm);
  o.monitor = j.value("monitor", d.monitor);
  o.maximize = j.value("maximize", d.maximize);
  o.patience = j.value("patience", d.patience);
  o.metrics_log = j.value("metrics_log", d.metrics_log);
  o.checkpoint_path = j.value("checkpoint_path", d.checkpoint_path);
  o.checkpoint_minutes = j.value("checkpoint_minutes", d.checkpoint_minutes);
  o.resume = j.value("resume", d.resume);
  o.seed = j.value("seed", d.seed);
}

nlohmann::json TrainResult::to_json() const {
  return {{"validation", best_metrics},
          {"best_epoch", best_epoch},
          {"epochs_run", epochs_run},
          {"stopped_early", stopped_early},
          {"train_seconds", seconds},
          {"examples_per_second", examples_per_second},
          {"step_seconds", step_seconds},
          {"train_examples_per_second", train_examples_per_second},
          {"workers", workers},
          {"threads", threads},
          {"allreduce_seconds", allreduce_seconds},
          {"allreduce_bytes_per_step", allreduce_bytes_per_step},
          {"history", history}};
}

double Trainer::lr_at(int64_t step, int64_t steps_per_epoch) const {
  const auto& o = options_;
  if (o.warmup_steps > 0 && step < o.warmup_steps && o.schedule != "onecycle") {
    return o.lr * static_cast<double>(step + 1) / static_cast<double>(o.warmup_steps);
  }
  if (o.schedule == "constant") return o.lr;
  if (o.schedule == "step") {
    int64_t epoch = steps_per_epoch > 0 ? step / steps_per_epoch : 0;
    return o.lr * std::pow(o.gamma, static_cast<double>(epoch / std::max(1, o.step_epochs)));
  }
  if (o.schedule == "cosine") {
    const int64_t total = static_cast<int64_t>(o.epochs) * steps_per_epoch;
    const double span = std::max<int64_t>(1, total - o.warmup_steps);
    const double t = std::clamp((step - o.warmup_steps) / span, 0.0, 1.0);
    return o.lr * 0.5 * (1.0 + std::cos(M_PI * t));
  }
  if (o.schedule == "onecycle") {
    // Smith's one-cycle: up from lr/25 to lr over the first 25% of the steps (or warmup_steps),
    // then cosine down to lr/25e4. The warm-up above does not apply: the cycle has its own.
    const int64_t total = std::max<int64_t>(1, static_cast<int64_t>(o.epochs) * steps_per_epoch);
    const int64_t up = o.warmup_steps > 0 ? o.warmup_steps : std::max<int64_t>(1, total / 4);
    const double start = o.lr / 25.0, end = o.lr / 25e4;
    auto cosine = [](double from, double to, double t) {
      return to + (from - to) * 0.5 * (1.0 + std::cos(M_PI * t));
    };
    if (step < up) return cosine(start, o.lr, static_cast<double>(step) / up);
    return cosine(
        o.lr, end,
        std::clamp(static_cast<double>(step - up) / std::max<int64_t>(1, total - up), 0.0, 1.0));
  }
  throw Error("--lr-schedule: expected constant, step, cosine or onecycle, found '" + o.schedule +
              "'");
}

TrainResult Trainer::fit(TrainTask& task, const ModelFile& base) {
  const auto& o = options_;
  if (o.epochs < 1) throw Error("--epochs: expected at least 1, found " + std::to_string(o.epochs));
  if (o.batch_size < 1) {
    throw Error("--batch-size: expected at least 1, found " + std::to_string(o.batch_size));
  }
  lr_at(0, 1);  // validates the schedule name before any work
  context_tune_malloc();
  FitRun run(*this, o, task, base);
  run.resume();
  run.start_ranks_together();
  run.open_metrics_log();
  SignalScope signals;
  run.start_clock();
  while (run.epochs_left()) {
    run.train_epoch();
    run.end_epoch(run.validate());
  }
  return run.finish();
}

}  // namespace deepcart
