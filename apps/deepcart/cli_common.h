// Flags every command shares (--threads, --seed, --json, --quiet) and small helpers for the
// command files. The commands stay thin: parse, call a library, print.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "deepcart/core/error.h"
#include "deepcart/core/settings.h"
#include "deepcart/core/trainer.h"

namespace deepcart::cli {

struct Common {
  int threads = 0;
  uint64_t seed = 42;
  bool json = false;
  bool quiet = false;
  std::string device = "cpu";      // --device, on the commands that compute
  std::string precision = "fp32";  // --precision, on the commands that train
};

// What a command computes with: kNone adds only the common flags, kDevice adds --device, and
// kTraining adds --device and --precision.
enum class Compute { kNone, kDevice, kTraining };
// A subcommand of `parent` with the common flags bound to `common` (a command's flags struct
// derives from Common, so one shared pointer holds them all).
CLI::App* add_command(CLI::App* parent, const std::string& name, const std::string& about,
                      Common& common, Compute compute = Compute::kDevice);
// An option whose default --help shows.
template <class T>
CLI::Option* opt(CLI::App* app, const std::string& name, T& value, const std::string& help) {
  return app->add_option(name, value, help)->capture_default_str();
}
// --model PATH, required: the trained ModelFile a command reads.
CLI::Option* model_opt(CLI::App* app, std::string& path,
                       const std::string& help = "trained ModelFile (.dcm)");
// --confusion CSV and --plot PNG of the evaluation commands.
struct ConfusionOut {
  std::string csv, png;
  void add_flags(CLI::App* app);
  // Writes what was asked for.
  void write(const std::vector<std::vector<int64_t>>& confusion,
             const std::vector<std::string>& labels, const std::string& title) const;
};
// main() hands over its command line, so init_context can restart the program once with
// LibTorch's OpenMP settings in place (core/context.h, context_settle_openmp_wait).
void remember_command_line(char** argv);
// Sets threads, BLAS threads, the seed and the device; call first in every command callback.
void init_context(const Common& common);
// The flags of a spec's settings (core/settings.h): --NAME per setting, its --help default read
// from `defaults` (a spec's JSON). given() is what the user gave, for apply_settings.
struct SettingFlags {
  std::map<std::string, std::vector<std::string>> texts;
  // `required`: the names the command cannot run without.
  void add(CLI::App* app, const std::vector<Setting>& settings, const nlohmann::json& defaults,
           const std::vector<std::string>& required = {});
  GivenSettings given() const;
};

// What every `train` command takes: --out and its capability's settings.
struct TrainFlags : Common {
  std::string out;
  SettingFlags settings;
};
// A `train` subcommand of `parent`: the common flags, --out, and a flag per setting.
CLI::App* add_train_command(CLI::App* parent, const std::string& about, TrainFlags& flags,
                            const std::vector<Setting>& settings, const nlohmann::json& defaults,
                            const std::vector<std::string>& required = {});
// The spec a train command runs: default_spec of --model (else `arch`) with the given settings
// written over it, this run's seed and quietness, and the checkpoint OUT.ckpt unless given.
template <class Spec, class DefaultSpec>
Spec spec_from_flags(const TrainFlags& f, DefaultSpec default_spec,
                     const std::vector<Setting>& settings, const std::string& arch) {
  const GivenSettings given = f.settings.given();
  nlohmann::json j = default_spec(given.count("model") ? given.at("model")[0] : arch);
  apply_settings(j, settings, given);
  Spec spec = j.get<Spec>();
  spec.train.seed = f.seed;
  spec.train.quiet = f.quiet;
  if (spec.train.checkpoint_path.empty()) spec.train.checkpoint_path = f.out + ".ckpt";
  return spec;
}

void print_json(const nlohmann::json& value);
std::string shared_data_dir();
// The project's share/ folder (answer templates, the shipped data sets); DEEPCART_SHARE overrides.
std::string share_dir();

void register_doctor(CLI::App& app);
void register_rec(CLI::App& app);
void register_datagen(CLI::App& app);
void register_demo(CLI::App& app);
void register_data(CLI::App& app);
void register_vision(CLI::App& app);
void register_text(CLI::App& app);
void register_serve(CLI::App& app);
void register_launch(CLI::App& app);
// The commands of a group that live in the group's second file.
void add_rec_query_commands(CLI::App* rec);            // recommend, similar
void add_text_predict_commands(CLI::App* text);        // predict, answer, explain
void add_text_search_commands(CLI::App* text);         // embed, index, search
void add_vision_catalogue_commands(CLI::App* vision);  // predict, index, similar, explain

}  // namespace deepcart::cli
