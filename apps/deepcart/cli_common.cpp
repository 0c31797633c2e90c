#include "cli_common.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "deepcart/core/context.h"
#include "deepcart/core/device.h"
#include "deepcart/core/error.h"
#include "deepcart/core/plot.h"

namespace deepcart::cli {

CLI::App* add_command(CLI::App* parent, const std::string& name, const std::string& about,
                      Common& c, Compute compute) {
  CLI::App* app = parent->add_subcommand(name, about);
  opt(app, "--threads", c.threads, "LibTorch threads (0 = every core)")
      ->check(CLI::NonNegativeNumber);
  opt(app, "--seed", c.seed, "random seed: the same seed gives the same results");
  app->add_flag("--json", c.json, "print the result as JSON on stdout");
  app->add_flag("--quiet,-q", c.quiet, "no progress output");
  if (compute == Compute::kNone) return app;
  opt(app, "--device", c.device,
      "where to compute: auto (the first GPU when there is one, else the CPU), cpu, cuda or "
      "cuda:N");
  if (compute == Compute::kTraining) {
    opt(app, "--precision", c.precision,
        "fp32, or bf16: autocast matrix products and convolutions to bfloat16 (GPU)");
  }
  return app;
}

CLI::Option* model_opt(CLI::App* app, std::string& path, const std::string& help) {
  return app->add_option("--model", path, help)->required();
}

void ConfusionOut::add_flags(CLI::App* app) {
  app->add_option("--confusion", csv, "write the confusion matrix to this CSV");
  app->add_option("--plot", png, "draw the confusion matrix as a PNG heat map (gnuplot)");
}

void ConfusionOut::write(const std::vector<std::vector<int64_t>>& confusion,
                         const std::vector<std::string>& labels, const std::string& title) const {
  if (!png.empty()) plot_confusion(confusion, labels, title, png);
  if (!csv.empty()) write_confusion_csv(confusion, labels, csv);
}

CLI::App* add_train_command(CLI::App* parent, const std::string& about, TrainFlags& flags,
                            const std::vector<Setting>& settings, const nlohmann::json& defaults,
                            const std::vector<std::string>& required) {
  CLI::App* cmd = add_command(parent, "train", about, flags, Compute::kTraining);
  cmd->add_option("--out", flags.out, "ModelFile to write (.dcm)")->required();
  flags.settings.add(cmd, settings, defaults, required);
  return cmd;
}

namespace {
char** g_argv = nullptr;
}  // namespace

void remember_command_line(char** argv) { g_argv = argv; }

void init_context(const Common& c) {
  context_settle_openmp_wait(g_argv);
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

namespace {
const char* kind_name(SettingKind kind) {
  switch (kind) {
    case SettingKind::kInt:
      return "INT";
    case SettingKind::kNumber:
      return "FLOAT";
    case SettingKind::kBool:
      return "BOOL";
    case SettingKind::kInts:
      return "INT,...";
    case SettingKind::kNumbers:
      return "FLOAT,...";
    case SettingKind::kNames:
      return "NAME,...";
    default:
      return "TEXT";
  }
}
}  // namespace

void SettingFlags::add(CLI::App* app, const std::vector<Setting>& settings,
                       const nlohmann::json& defaults, const std::vector<std::string>& required) {
  for (const Setting& s : settings) {
    std::vector<std::string>* slot = &texts[s.name];  // std::map: the address stays
    if (s.kind == SettingKind::kSwitch) {
      app->add_flag_callback(
          "--" + s.name, [slot] { *slot = {"true"}; }, s.help);
      continue;
    }
    CLI::Option* o = app->add_option("--" + s.name, *slot, s.help);
    o->default_str(setting_text(defaults, s))->type_name(kind_name(s.kind));
    if (s.kind != SettingKind::kRepeated) o->expected(1);
    if (!s.choices.empty()) o->check(CLI::IsMember(s.choices));
    if (std::count(required.begin(), required.end(), s.name)) o->required();
  }
}

GivenSettings SettingFlags::given() const {
  GivenSettings out;
  for (const auto& [name, values] : texts) {
    if (!values.empty()) out[name] = values;
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

}  // namespace deepcart::cli
