// Everything one text-classifier run needs, as data: the labelled texts and how they are split,
// the task, the tokenizer, the network and the training loop, with the tuned defaults.
// `deepcart text train` turns its flags into a TrainSpec; the library trains from it
// (workflow.h) and keeps it in the ModelFile, so `text eval` and `text report` can find the
// held-out texts and the columns again.
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "deepcart/core/settings.h"
#include "deepcart/core/trainer.h"
#include "deepcart/text/text_data.h"
#include "deepcart/text/tokenizer.h"

namespace deepcart::text {

// What the labels mean: sentiment (any labels), stars (numeric labels: adds mean absolute
// error) or intent (adds an out-of-scope threshold on the top probability).
enum class TextTask { kSentiment, kStars, kIntent };
TextTask text_task_named(const std::string& name);
std::string text_task_name(TextTask task);

struct DataSpec {
  std::string path;       // labelled texts: CSV, TSV or JSONL
  std::string test_path;  // an official test file; empty = a stratified test_fraction of path
  TextColumns columns;
  double valid_fraction = 0.1;  // of each label: early stopping and the out-of-scope threshold
  double test_fraction = 0.2;   // of each label, when there is no test_path
};

struct TrainSpec {
  DataSpec data;
  TextTask task = TextTask::kSentiment;
  TokenizerOptions tokenizer;
  nlohmann::json hparams = {{"arch", "bow"}};  // TextOptions; vocab and classes come from the data
  // minilm (hparams arch "minilm", encoder "minilm" or a folder): what training updates. head =
  // the encoder stays frozen and a linear head learns on its sentence embeddings (computed once);
  // full = every layer, each one below the top at layer_decay times the rate of the one above;
  // setfit = the encoder learns from contrastive pairs (same label: similar, other labels:
  // dissimilar), then a head learns on its embeddings.
  std::string finetune = "head";
  double layer_decay = 1.0;
  // The head's peak learning rate (0 = train.lr): in head_epochs, and in full fine-tuning that
  // starts from a random head.
  double head_lr = 0.0;
  // Epochs of a head alone on frozen embeddings: before full fine-tuning (0 = none: the head
  // starts at random) and after setfit's contrastive epochs. At head_lr, batches of 32.
  int head_epochs = 0;
  int64_t shots = 0;             // > 0: train on at most this many texts of each label (seeded)
  double warmup_fraction = 0.0;  // > 0: train.warmup_steps = this share of all the steps
  double label_smoothing = 0.0;
  std::map<std::string, std::string> answers;  // intent -> answer, kept in the ModelFile
  // label -> the name people read (CLI, server, shop page), kept in the ModelFile; labels not
  // named show as they are.
  std::map<std::string, std::string> label_names;
  std::string export_split;  // a folder for the parts as fastText files; empty = none
  TrainOptions train;
};

// The defaults of `text train`, chosen on validation splits (bench/RESULTS.md): AdamW with
// weight decay 0.01, lr 0.002 on a cosine schedule, batches of 64, 10 epochs, patience 3.
// minilm: a frozen encoder and a linear head, 30 epochs at lr 0.01 (finetune "shots", the
// defaults with --shots: 0.03). finetune "full": 30 epochs of the head alone at lr 0.01, then 3
// epochs of every layer, AdamW lr 1e-4 with 10% warm-up then cosine, layer decay 0.9. finetune
// "setfit": 10 epochs of contrastive pairs, AdamW lr 2e-5 with 10% warm-up then cosine, batches
// of 16 texts each with a partner of its label, then 30 epochs of a head at lr 0.03. Batches of
// 32 otherwise. Every choice was made on banking77's validation questions (bench/RESULTS.md).
TrainSpec default_spec(const std::string& arch = "bow", const std::string& finetune = "");

// What a user may set in a TrainSpec, with the flag names and help of `text train`: the data,
// the architecture and its sizes, and the Trainer's settings (core/settings.h).
std::vector<Setting> spec_settings();

void to_json(nlohmann::json& j, const DataSpec& spec);
void from_json(const nlohmann::json& j, DataSpec& spec);
void to_json(nlohmann::json& j, const TrainSpec& spec);
void from_json(const nlohmann::json& j, TrainSpec& spec);

}  // namespace deepcart::text
