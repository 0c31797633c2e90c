#include "deepcart/core/trainer.h"

#include "deepcart/core/context.h"

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

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainOptions& o,
                                                        std::vector<at::Tensor> params) {
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
  for (const auto& p : module.named_parameters(true)) out.emplace_back(p.key(), p.value().detach().clone());
  for (const auto& b : module.named_buffers(true)) out.emplace_back(b.key(), b.value().detach().clone());
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
  int epoch = 0;  // 0-based epoch in progress
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
    return {{"epoch", epoch},           {"step", step},           {"global_step", global_step},
            {"loss_sum", loss_sum},     {"loss_count", loss_count}, {"best", best},
            {"has_best", has_best},     {"best_epoch", best_epoch}, {"bad_epochs", bad_epochs},
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

std::string format_metrics(const std::map<std::string, double>& metrics) {
  std::ostringstream out;
  out.precision(4);
  for (const auto& [name, value] : metrics) out << "  " << name << " " << std::fixed << value;
  return out.str();
}

}  // namespace

nlohmann::json TrainResult::to_json() const {
  return {{"validation", best_metrics},
          {"best_epoch", best_epoch},
          {"epochs_run", epochs_run},
          {"stopped_early", stopped_early},
          {"train_seconds", seconds},
          {"examples_per_second", examples_per_second},
          {"step_seconds", step_seconds},
          {"train_examples_per_second", train_examples_per_second},
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
    auto cosine = [](double from, double to, double t) { return to + (from - to) * 0.5 * (1.0 + std::cos(M_PI * t)); };
    if (step < up) return cosine(start, o.lr, static_cast<double>(step) / up);
    return cosine(o.lr, end, std::clamp(static_cast<double>(step - up) / std::max<int64_t>(1, total - up), 0.0, 1.0));
  }
  throw Error("--lr-schedule: expected constant, step, cosine or onecycle, found '" + o.schedule + "'");
}

TrainResult Trainer::fit(TrainTask& task, const ModelFile& base) {
  const auto& o = options_;
  if (o.epochs < 1) throw Error("--epochs: expected at least 1, found " + std::to_string(o.epochs));
  if (o.batch_size < 1) {
    throw Error("--batch-size: expected at least 1, found " + std::to_string(o.batch_size));
  }
  lr_at(0, 1);  // validates the schedule name before any work
  context_tune_malloc();
  torch::nn::Module& module = task.module();
  auto optimizer = make_optimizer(o, module.parameters());
  const int64_t n = task.train_size();
  if (n < 1) throw Error("no training examples");
  const int64_t steps_per_epoch = (n + o.batch_size - 1) / o.batch_size;

  LoopState st;
  NamedTensors best_weights;
  if (!o.resume.empty()) {
    ModelFile ck = model_file_read(o.resume, base.task);
    if (!ck.checkpoint) throw Error(o.resume + ": is a final model, not a checkpoint: cannot resume");
    if (ck.arch != base.arch) {
      throw Error(o.resume + ": checkpoint of a '" + ck.arch + "' model: expected '" + base.arch + "'");
    }
    if (ck.hparams != base.hparams) {
      std::string differ;
      for (const auto& [key, value] : base.hparams.items()) {
        if (!ck.hparams.contains(key) || ck.hparams[key] != value) differ += (differ.empty() ? "" : ", ") + key;
      }
      throw Error(o.resume + ": checkpoint hyper-parameters differ from this run's: " + differ +
                  " (checkpoint " + ck.hparams.dump() + ")");
    }
    ck.load_module("model/", module);
    torch::serialize::InputArchive archive;
    std::istringstream blob(ck.blobs.at("optimizer"));
    archive.load_from(blob);
    optimizer->load(archive);
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(ck.tensor("rng/torch"));
    }
    st = LoopState::from_json(ck.state.at("loop"));
    if (st.has_best) {
      for (const auto& [name, value] : ck.tensors) {
        if (name.rfind("best/", 0) == 0) best_weights.emplace_back(name.substr(5), value.clone());
      }
    }
  }

  auto write_checkpoint = [&]() {
    if (o.checkpoint_path.empty()) return;
    ModelFile ck;
    ck.task = base.task;
    ck.arch = base.arch;
    ck.hparams = base.hparams;
    ck.meta = base.meta;
    ck.checkpoint = true;
    ck.add_module("model/", module);
    for (const auto& [name, value] : best_weights) ck.tensors.emplace_back("best/" + name, value);
    {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      ck.tensors.emplace_back("rng/torch", gen.get_state());
    }
    torch::serialize::OutputArchive archive;
    optimizer->save(archive);
    std::ostringstream blob;
    archive.save_to(blob);
    ck.blobs["optimizer"] = blob.str();
    ck.state = {{"loop", st.to_json()}, {"seed", o.seed}};
    model_file_write(ck, o.checkpoint_path);
  };

  std::ofstream log;
  if (!o.metrics_log.empty()) {
    log.open(o.metrics_log, o.resume.empty() ? std::ios::trunc : std::ios::app);
    if (!log) throw Error(o.metrics_log + ": cannot open metrics log for writing");
  }

  SignalScope signals;
  Progress progress(o.quiet);
  TrainResult result;
  const auto t0 = std::chrono::steady_clock::now();
  auto last_checkpoint = t0;
  int64_t examples_seen = 0;
  double step_seconds = 0.0;
  bool stop = false;

  for (; st.epoch < o.epochs && !stop; ++st.epoch, st.step = 0, st.loss_sum = 0, st.loss_count = 0) {
    const auto epoch_start = std::chrono::steady_clock::now();
    const at::Tensor order = epoch_permutation(n, o.seed, st.epoch);
    module.train();
    progress.start_epoch(st.epoch + 1, o.epochs, steps_per_epoch, st.step);
    for (; st.step < steps_per_epoch; ++st.step) {
      const int64_t begin = st.step * o.batch_size;
      const at::Tensor indices = order.slice(0, begin, std::min(n, begin + o.batch_size));
      const auto step_start = std::chrono::steady_clock::now();
      std::seed_seq seq{o.seed, static_cast<uint64_t>(st.epoch), static_cast<uint64_t>(st.step)};
      std::mt19937_64 rng(seq);
      const double lr = lr_at(st.global_step, steps_per_epoch);
      for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
      optimizer->zero_grad();
      at::Tensor loss = task.loss(indices, rng);
      const double value = loss.item<double>();
      if (!std::isfinite(value)) {
        throw Error("loss is " + std::to_string(value) + " at epoch " + std::to_string(st.epoch + 1) +
                    " step " + std::to_string(st.step + 1) + ": lower --lr or set --clip");
      }
      loss.backward();
      if (o.clip_norm > 0) torch::nn::utils::clip_grad_norm_(module.parameters(), o.clip_norm);
      optimizer->step();
      st.loss_sum += value * indices.size(0);
      st.loss_count += indices.size(0);
      examples_seen += indices.size(0);
      ++st.global_step;
      step_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
      progress.step(st.step + 1, st.loss_sum / st.loss_count);

      if (g_stop_signal != 0) {
        const int sig = g_stop_signal;
        ++st.step;  // this step is done; resume starts at the next one
        if (o.checkpoint_path.empty()) {
          throw Interrupted("interrupted by " + std::string(strsignal(sig)) +
                                " (no --checkpoint path, nothing saved)",
                            "", sig);
        }
        write_checkpoint();
        throw Interrupted("interrupted by " + std::string(strsignal(sig)) + " at epoch " +
                              std::to_string(st.epoch + 1) + " step " + std::to_string(st.step) +
                              "; checkpoint written to " + o.checkpoint_path +
                              " (continue with --resume " + o.checkpoint_path + ")",
                          o.checkpoint_path, sig);
      }
      const auto now = std::chrono::steady_clock::now();
      if (!o.checkpoint_path.empty() &&
          std::chrono::duration<double>(now - last_checkpoint).count() > o.checkpoint_minutes * 60) {
        ++st.step;
        write_checkpoint();
        --st.step;
        last_checkpoint = now;
      }
    }

    std::map<std::string, double> metrics;
    {
      torch::NoGradGuard no_grad;
      module.eval();
      metrics = task.validate();
      module.train();
    }
    const double epoch_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    const double train_loss = st.loss_count ? st.loss_sum / st.loss_count : 0.0;
    nlohmann::json record = {{"epoch", st.epoch + 1},
                             {"train_loss", train_loss},
                             {"lr", lr_at(st.global_step - 1, steps_per_epoch)},
                             {"seconds", epoch_seconds}};
    for (const auto& [name, value] : metrics) record["val_" + name] = value;

    if (!o.monitor.empty()) {
      auto it = metrics.find(o.monitor);
      if (it == metrics.end()) {
        std::string names;
        for (const auto& m : metrics) names += (names.empty() ? "" : ", ") + m.first;
        throw Error("--monitor: metric '" + o.monitor + "' is not among the validation metrics (" +
                    (names.empty() ? "none" : names) + ")");
      }
      const bool better = !st.has_best || (o.maximize ? it->second > st.best : it->second < st.best);
      if (better) {
        st.best = it->second;
        st.has_best = true;
        st.best_epoch = st.epoch + 1;
        st.bad_epochs = 0;
        best_weights = snapshot(module);
      } else if (o.patience > 0 && ++st.bad_epochs >= o.patience) {
        stop = true;
        result.stopped_early = true;
      }
      record["best_epoch"] = st.best_epoch;
    }
    st.history.push_back(record);
    if (log) log << record.dump() << "\n" << std::flush;
    progress.end_epoch("epoch " + std::to_string(st.epoch + 1) + "/" + std::to_string(o.epochs) +
                       "  train loss " + std::to_string(train_loss).substr(0, 7) +
                       (metrics.empty() ? "" : "  valid") + format_metrics(metrics) + "  (" + std::to_string(epoch_seconds).substr(0, 5) +
                       " s)" + (stop ? "  early stop" : ""));
  }
  // The checkpoint holds the last weights (what --resume continues from), not the best ones.
  write_checkpoint();
  if (!best_weights.empty()) restore(module, best_weights);

  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  result.examples_per_second = result.seconds > 0 ? examples_seen / result.seconds : 0.0;
  result.step_seconds = step_seconds;
  result.train_examples_per_second = step_seconds > 0 ? examples_seen / step_seconds : 0.0;
  result.epochs_run = st.epoch;
  result.best_epoch = st.best_epoch;
  result.history = st.history;
  const nlohmann::json& chosen =
      st.best_epoch > 0 ? st.history.at(st.best_epoch - 1) : st.history.back();
  for (const auto& [key, value] : chosen.items()) {
    if (key.rfind("val_", 0) == 0) result.best_metrics[key.substr(4)] = value.get<double>();
  }
  return result;
}

}  // namespace deepcart
