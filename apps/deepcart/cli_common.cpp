#include "cli_common.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "deepcart/core/context.h"
#include "deepcart/core/device.h"
#include "deepcart/core/error.h"

namespace deepcart::cli {

void add_common(CLI::App* app, Common& c) {
  app->add_option("--threads", c.threads, "LibTorch threads (0 = every core)")
      ->default_val(0)
      ->check(CLI::NonNegativeNumber);
  app->add_option("--seed", c.seed, "random seed: the same seed gives the same results")
      ->default_val(42);
  app->add_flag("--json", c.json, "print the result as JSON on stdout");
  app->add_flag("--quiet,-q", c.quiet, "no progress output");
}

void add_device(CLI::App* app, Common& c, bool precision) {
  app->add_option("--device", c.device,
                  "where to compute: auto (the first GPU when there is one, else the CPU), cpu, "
                  "cuda or cuda:N")
      ->capture_default_str();
  if (precision) {
    app->add_option("--precision", c.precision,
                    "fp32, or bf16: autocast matrix products and convolutions to bfloat16 (GPU)")
        ->capture_default_str();
  }
}

namespace {
char** g_argv = nullptr;

// Idle OpenMP workers of LibTorch's libgomp spin for 300,000 rounds before they sleep, so two
// programs sharing the cores starve each other (NeuMF: 24% of its solo speed each). A spin of
// 1,000 rounds keeps solo speed and gives each of two programs on 2 cores over half of it
// (bench/RESULTS.md, "Sharing the CPU"). libgomp reads the setting when it loads, before main,
// so the program restarts itself once with it set. OMP_WAIT_POLICY or GOMP_SPINCOUNT in the
// environment are left as they are.
constexpr const char* kSpinCount = "1000";

void settle_openmp_wait() {
  if (g_argv == nullptr || std::getenv("OMP_WAIT_POLICY") || std::getenv("GOMP_SPINCOUNT")) return;
  setenv("GOMP_SPINCOUNT", kSpinCount, 1);
  std::cout.flush();
  std::cerr.flush();
  execv("/proc/self/exe", g_argv);  // returns only on failure: then run as we are
}
}  // namespace

void remember_command_line(char** argv) { g_argv = argv; }

void init_context(const Common& c) {
  settle_openmp_wait();
  ContextOptions options;
  options.threads = c.threads;
  options.seed = c.seed;
  // Checked first, so a wrong --device fails before any data is read.
  const c10::Device device = resolve_device(c.device);
  const c10::ScalarType precision = resolve_precision(c.precision);
  context_init(options);
  context_set_device(device);
  context_set_precision(precision);
}

void add_train_flags(CLI::App* app, TrainOptions& o) {
  app->add_option("--epochs", o.epochs, "training epochs")->capture_default_str();
  app->add_option("--batch-size", o.batch_size, "examples per step")->capture_default_str();
  app->add_option("--lr", o.lr, "peak learning rate")->capture_default_str();
  app->add_option("--weight-decay", o.weight_decay, "L2 / decoupled weight decay")
      ->capture_default_str();
  app->add_option("--optimizer", o.optimizer, "adam | adamw | sgd")
      ->check(CLI::IsMember({"adam", "adamw", "sgd"}))
      ->capture_default_str();
  app->add_option("--momentum", o.momentum, "sgd: momentum")->capture_default_str();
  app->add_option("--lr-schedule", o.schedule, "constant | step | cosine | onecycle")
      ->check(CLI::IsMember({"constant", "step", "cosine", "onecycle"}))
      ->capture_default_str();
  app->add_option("--warmup-steps", o.warmup_steps, "linear warm-up steps")->capture_default_str();
  app->add_option("--step-epochs", o.step_epochs, "step schedule: epochs between decays")
      ->capture_default_str();
  app->add_option("--gamma", o.gamma, "step schedule: decay factor")->capture_default_str();
  app->add_option("--clip", o.clip_norm, "clip the gradient norm to this (0 = off)")
      ->capture_default_str();
  app->add_option("--patience", o.patience,
                  "stop after this many epochs without validation improvement (0 = never)")
      ->capture_default_str();
  app->add_option("--metrics-log", o.metrics_log, "JSONL file, one line per epoch");
  app->add_option("--checkpoint", o.checkpoint_path,
                  "checkpoint file, written every --checkpoint-every minutes, at the end and on "
                  "SIGINT/SIGTERM (default: OUT.ckpt)");
  app->add_option("--checkpoint-every", o.checkpoint_minutes, "minutes between checkpoints")
      ->capture_default_str();
  app->add_option("--resume", o.resume, "continue training from this checkpoint");
}

void take_given_train_flags(const CLI::App* app, const TrainOptions& from, TrainOptions& to) {
  auto take = [&](const char* flag, auto member) {
    if (app->get_option_no_throw(flag) != nullptr && app->count(flag)) to.*member = from.*member;
  };
  take("--epochs", &TrainOptions::epochs);
  take("--batch-size", &TrainOptions::batch_size);
  take("--lr", &TrainOptions::lr);
  take("--weight-decay", &TrainOptions::weight_decay);
  take("--optimizer", &TrainOptions::optimizer);
  take("--momentum", &TrainOptions::momentum);
  take("--lr-schedule", &TrainOptions::schedule);
  take("--warmup-steps", &TrainOptions::warmup_steps);
  take("--step-epochs", &TrainOptions::step_epochs);
  take("--gamma", &TrainOptions::gamma);
  take("--clip", &TrainOptions::clip_norm);
  take("--patience", &TrainOptions::patience);
  take("--metrics-log", &TrainOptions::metrics_log);
  take("--checkpoint", &TrainOptions::checkpoint_path);
  take("--checkpoint-every", &TrainOptions::checkpoint_minutes);
  take("--resume", &TrainOptions::resume);
  take("--monitor", &TrainOptions::monitor);
}

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& flag) {
  std::vector<int64_t> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    try {
      size_t used = 0;
      out.push_back(std::stoll(part, &used));
      if (used != part.size()) throw std::invalid_argument(part);
    } catch (const std::exception&) {
      throw Error(flag + ": expected comma-separated integers, found '" + part + "'");
    }
  }
  if (out.empty()) throw Error(flag + ": expected at least one integer");
  return out;
}

std::vector<std::string> parse_name_list(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

void print_json(const nlohmann::json& value) { std::cout << value.dump(2) << std::endl; }

std::string shared_data_dir() {
  if (const char* env = std::getenv("DEEPCART_SHARED_DATA")) return env;
  if (std::filesystem::exists(DEEPCART_SHARED_DATA_DIR)) {
    return std::filesystem::weakly_canonical(DEEPCART_SHARED_DATA_DIR).string();
  }
  return "../shared/data";
}

std::string share_dir() {
  if (const char* env = std::getenv("DEEPCART_SHARE")) return env;
  return DEEPCART_SHARE_DIR;
}

void write_confusion_csv(const std::vector<std::vector<int64_t>>& confusion,
                         const std::vector<std::string>& labels, const std::string& path) {
  std::ofstream csv(path);
  if (!csv) throw Error(path + ": cannot open for writing");
  csv << "true\\predicted";
  for (const auto& l : labels) csv << ",\"" << l << "\"";
  csv << "\n";
  for (size_t t = 0; t < labels.size(); ++t) {
    csv << "\"" << labels[t] << "\"";
    for (int64_t v : confusion[t]) csv << "," << v;
    csv << "\n";
  }
}

}  // namespace deepcart::cli
