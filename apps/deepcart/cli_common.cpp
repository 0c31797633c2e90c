#include "cli_common.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "deepcart/core/context.h"
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

void init_context(const Common& c) {
  ContextOptions options;
  options.threads = c.threads;
  options.seed = c.seed;
  context_init(options);
}

void add_train_flags(CLI::App* app, TrainOptions& o) {
  app->add_option("--epochs", o.epochs, "training epochs")->capture_default_str();
  app->add_option("--batch-size", o.batch_size, "examples per step")->capture_default_str();
  app->add_option("--lr", o.lr, "peak learning rate")->capture_default_str();
  app->add_option("--weight-decay", o.weight_decay, "L2 / decoupled weight decay")->capture_default_str();
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
  app->add_option("--clip", o.clip_norm, "clip the gradient norm to this (0 = off)")->capture_default_str();
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
