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

// This rank's share of an epoch's order: every world-th example from `rank`, wrapped around so
// every rank gets `per_rank` examples and runs the same number of steps. The ranks' shares of
// one step together are the examples one process would take with world x batch_size.
at::Tensor shard_of(const at::Tensor& order, int rank, int world, int64_t per_rank) {
  if (world == 1) return order;
  at::Tensor picks = torch::arange(rank, per_rank * world, world, torch::kLong).remainder(order.size(0));
  return order.index_select(0, picks);
}

// Validation metrics averaged over the ranks, weighted by the examples each validated.
std::map<std::string, double> reduce_metrics(DataParallel& par, const std::map<std::string, double>& metrics,
                                             double weight) {
  std::vector<double> values;
  for (const auto& m : metrics) values.push_back(m.second * weight);
  values.push_back(weight);
  values.push_back(static_cast<double>(metrics.size()));
  par.sum(values);
  if (values.back() != static_cast<double>(metrics.size() * par.world_size())) {
    throw Error("rank " + std::to_string(par.rank()) + ": the ranks returned different validation metrics");
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
  uint64_t x = seed ^ (static_cast<uint64_t>(epoch) << 48) ^ (static_cast<uint64_t>(step) << 8) ^ static_cast<uint64_t>(rank);
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
  // The weights move to the device before the optimiser sees them; its state follows them.
  const c10::Device device = context_device();
  module.to(device);
  auto optimizer = make_optimizer(o, module.parameters());
  const int64_t n = task.train_size();
  if (n < 1) throw Error("no training examples");
  DataParallel* par = o.parallel.get();
  const int rank = par ? par->rank() : 0;
  const int world = par ? par->world_size() : 1;
  const bool primary = rank == 0;
  const int64_t per_rank = (n + world - 1) / world;
  const int64_t steps_per_epoch = (per_rank + o.batch_size - 1) / o.batch_size;
  const std::vector<at::Tensor> parameters = module.parameters();

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
    // A checkpoint is a file like any other: what it holds is checked and refused by name.
    ck.checked_load([&] {
      ck.load_module("model/", module);
      auto blob_it = ck.blobs.find("optimizer");
      if (blob_it == ck.blobs.end()) throw Error("no optimizer state in the checkpoint");
      torch::serialize::InputArchive archive;
      std::istringstream blob(blob_it->second);
      archive.load_from(blob, device);
      optimizer->load(archive);
      {
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_state(ck.tensor("rng/torch"));
      }
      st = LoopState::from_json(ck.state.at("loop"));
    });
    const int ck_world = ck.state.value("world_size", 1);
    if (st.step > 0 && ck_world != world) {
      throw Error(o.resume + ": written by a " + std::to_string(ck_world) + "-worker run in the middle of epoch " +
                  std::to_string(st.epoch + 1) + ": resume it with " + std::to_string(ck_world) + " worker(s), not " +
                  std::to_string(world));
    }
    if (st.has_best) {
      for (const auto& [name, value] : ck.tensors) {
        if (name.rfind("best/", 0) == 0) best_weights.emplace_back(name.substr(5), value.to(device, false, true));
      }
    }
  }

  if (par) {  // every rank starts from rank 0's weights (and its checkpoint, when resuming)
    std::vector<at::Tensor> state = parameters;
    for (const auto& b : module.buffers()) state.push_back(b);
    torch::NoGradGuard no_grad;
    par->broadcast(state);
  }
  const bool sharded_validation = par && task.shard_validation(rank, world);

  auto write_checkpoint = [&]() {
    if (o.checkpoint_path.empty() || !primary) return;
    ModelFile ck;
    ck.task = base.task;
    ck.arch = base.arch;
    ck.hparams = base.hparams;
    ck.meta = base.meta;
    ck.checkpoint = true;
    ck.add_module("model/", module);
    for (const auto& [name, value] : best_weights) ck.tensors.emplace_back("best/" + name, on_cpu(value));
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
    ck.state = {{"loop", st.to_json()}, {"seed", o.seed}, {"world_size", world}};
    model_file_write(ck, o.checkpoint_path);
  };

  std::ofstream log;
  if (!o.metrics_log.empty() && primary) {
    log.open(o.metrics_log, o.resume.empty() ? std::ios::trunc : std::ios::app);
    if (!log) throw Error(o.metrics_log + ": cannot open metrics log for writing");
  }

  SignalScope signals;
  Progress progress(o.quiet || !primary);
  TrainResult result;
  const auto t0 = std::chrono::steady_clock::now();
  auto last_checkpoint = t0;
  int64_t examples_seen = 0;
  double step_seconds = 0.0;
  double allreduce_seconds = 0.0;
  const int64_t bytes_before = par ? par->bytes_reduced() : 0;
  int64_t steps_run = 0;
  bool stop = false;
  auto non_finite = [&](double value) {
    return Error("loss is " + std::to_string(value) + " at epoch " + std::to_string(st.epoch + 1) + " step " +
                 std::to_string(st.step + 1) + ": lower --lr or set --clip");
  };

  for (; st.epoch < o.epochs && !stop; ++st.epoch, st.step = 0, st.loss_sum = 0, st.loss_count = 0) {
    const auto epoch_start = std::chrono::steady_clock::now();
    const at::Tensor order = shard_of(epoch_permutation(n, o.seed, st.epoch), rank, world, per_rank);
    const int64_t rows = order.size(0);
    module.train();
    progress.start_epoch(st.epoch + 1, o.epochs, steps_per_epoch, st.step);
    for (; st.step < steps_per_epoch; ++st.step) {
      const int64_t begin = st.step * o.batch_size;
      const at::Tensor indices = order.slice(0, begin, std::min(rows, begin + o.batch_size));
      const auto step_start = std::chrono::steady_clock::now();
      std::vector<uint64_t> words{o.seed, static_cast<uint64_t>(st.epoch), static_cast<uint64_t>(st.step)};
      if (par) {
        words.push_back(static_cast<uint64_t>(rank));
        auto gen = at::detail::getDefaultCPUGenerator();
        std::lock_guard<std::mutex> lock(gen.mutex());
        gen.set_current_seed(step_seed(o.seed, st.epoch, st.step, rank));
      }
      std::seed_seq seq(words.begin(), words.end());
      std::mt19937_64 rng(seq);
      const double lr = lr_at(st.global_step, steps_per_epoch);
      for (auto& group : optimizer->param_groups()) group.options().set_lr(lr);
      optimizer->zero_grad();
      at::Tensor loss;
      {
        AutocastScope autocast;  // --precision bf16: the forward pass only, as in PyTorch
        loss = task.loss(indices, rng);
      }
      double value = loss.item<double>();
      int64_t count = indices.size(0);
      // Read once, before the exchange: in a distributed run the ranks then agree to stop at
      // the same step, whichever of them got the signal.
      bool stop_now = g_stop_signal != 0;
      if (!par && !std::isfinite(value)) throw non_finite(value);
      loss.backward();
      if (par) {
        std::vector<double> scalars{value * static_cast<double>(count), static_cast<double>(count), stop_now ? 1.0 : 0.0};
        const auto reduce_start = std::chrono::steady_clock::now();
        par->average_gradients(parameters, scalars);
        allreduce_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - reduce_start).count();
        value = scalars[0] / scalars[1];
        count = static_cast<int64_t>(scalars[1]);
        stop_now = scalars[2] > 0;
        if (!std::isfinite(value)) throw non_finite(value);
      }
      if (o.clip_norm > 0) torch::nn::utils::clip_grad_norm_(parameters, o.clip_norm);
      optimizer->step();
      if (!par) stop_now = g_stop_signal != 0;  // one process: a signal during this step stops after it
      ++steps_run;
      st.loss_sum += value * static_cast<double>(count);
      st.loss_count += count;
      examples_seen += count;
      ++st.global_step;
      step_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - step_start).count();
      progress.step(st.step + 1, st.loss_sum / st.loss_count);

      if (stop_now) {
        const int sig = g_stop_signal != 0 ? g_stop_signal : SIGINT;
        const std::string why = g_stop_signal != 0 ? "interrupted by " + std::string(strsignal(sig))
                                                   : "stopped: another worker was interrupted";
        ++st.step;  // this step is done; resume starts at the next one
        if (o.checkpoint_path.empty()) throw Interrupted(why + " (no --checkpoint path, nothing saved)", "", sig);
        write_checkpoint();
        throw Interrupted(why + " at epoch " + std::to_string(st.epoch + 1) + " step " + std::to_string(st.step) +
                              "; checkpoint " + (primary ? "written to " : "written by rank 0 to ") +
                              o.checkpoint_path + " (continue with --resume " + o.checkpoint_path + ")",
                          o.checkpoint_path, sig);
      }
      const auto now = std::chrono::steady_clock::now();
      if (!o.checkpoint_path.empty() && primary &&
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
      AutocastScope autocast;
      metrics = task.validate();
      if (par) metrics = reduce_metrics(*par, metrics, sharded_validation ? task.validation_weight() : 1.0);
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
  result.workers = world;
  result.threads = context_threads();
  result.allreduce_seconds = allreduce_seconds;
  result.allreduce_bytes_per_step = par && steps_run > 0 ? (par->bytes_reduced() - bytes_before) / steps_run : 0;
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
