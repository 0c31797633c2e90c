// Flags every command shares (--threads, --seed, --json, --quiet) and small helpers for the
// command files. The commands stay thin: parse, call a library, print.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "deepcart/core/trainer.h"
#include "deepcart/serve/server.h"

namespace deepcart::cli {

struct Common {
  int threads = 0;
  uint64_t seed = 42;
  bool json = false;
  bool quiet = false;
  std::string device = "cpu";      // --device, on the commands that compute
  std::string precision = "fp32";  // --precision, on the commands that train
};

void add_common(CLI::App* app, Common& common);
// main() hands over its command line, so init_context can restart the program once with
// LibTorch's OpenMP settings in place (see cli_common.cpp).
void remember_command_line(char** argv);
// --device auto|cpu|cuda|cuda:N; with `precision`, also --precision fp32|bf16 (training).
void add_device(CLI::App* app, Common& common, bool precision = false);
// Sets threads, BLAS threads, the seed and the device; call first in every command callback.
void init_context(const Common& common);
// Training flags shared by every `train` command.
void add_train_flags(CLI::App* app, TrainOptions& options);
// Copies into `to` the training flags the user gave on `app` (bound by add_train_flags to
// `from`), so they override a spec's tuned defaults and the others keep them.
void take_given_train_flags(const CLI::App* app, const TrainOptions& from, TrainOptions& to);

std::vector<int64_t> parse_int_list(const std::string& text, const std::string& flag);
std::vector<std::string> parse_name_list(const std::string& text);
void print_json(const nlohmann::json& value);
// The confusion matrix [true][predicted] as CSV with quoted label names.
void write_confusion_csv(const std::vector<std::vector<int64_t>>& confusion,
                         const std::vector<std::string>& labels, const std::string& path);
std::string shared_data_dir();
// The project's share/ folder (answer templates, the shipped data sets); DEEPCART_SHARE overrides.
std::string share_dir();

// What `vision` commands accept as a source of images.
inline constexpr const char* kImageSourceHelp =
    "fashion-mnist (Debian's dataset-fashion-mnist), a folder with one sub-folder of PNG/JPEG "
    "images per category, or a CSV manifest path,category[,attributes] (attributes |-separated)";

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
void add_vision_catalogue_commands(CLI::App* vision);  // predict, index, similar, explain
// In a worker of `deepcart launch` (DEEPCART_WORLD_SIZE above 1): joins the c10d group and sets
// options.parallel; ranks other than 0 go quiet. Returns whether this process writes results
// (rank 0, or no data-parallel run).
bool join_data_parallel(TrainOptions& options, Common& common);
// The models of a server: NAME=PATH pairs, plus every .dcm and .dci in dir (named after the file).
std::vector<std::pair<std::string, std::string>> models_to_serve(
    const std::vector<std::string>& pairs, const std::string& dir);
// Loads the models, serves until SIGTERM/SIGINT, and returns once the requests in flight are done.
void run_server(serve::ServeOptions options, serve::BatchOptions batch,
                const std::vector<std::pair<std::string, std::string>>& models, bool quiet,
                bool log, double delay_ms, int64_t max_pixels);

}  // namespace deepcart::cli
