// Everything one recommender run needs, as data: where the interactions are and how to read
// and split them, the architecture and its hyper-parameters, the loss and the training loop.
// `deepcart rec train` turns its flags into a TrainSpec; the library trains from it
// (workflow.h), stores it in the ModelFile, and `rec eval` replays it on the same or new data.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "deepcart/core/settings.h"
#include "deepcart/core/trainer.h"
#include "deepcart/rec/dataset.h"

namespace deepcart::rec {

struct DataSpec {
  std::string path;       // interactions; with test_path, the training file of an explicit split
  std::string test_path;  // explicit split: the test file (empty = split `path`)
  RecLoadOptions load = [] {
    RecLoadOptions o;
    o.positive_event = "purchase";  // only applies where the file has an event column
    return o;
  }();
  std::string split = "loo";  // loo | random:TEST_RATIO | time:TRAIN_RATIO
  double valid_ratio = 0.05;  // random, time and explicit splits: each user's share for validation
};

struct TrainSpec {
  DataSpec data;
  // pop, bpr-mf, gmf, ncf-mlp, neumf, behaviour-mlp (alias mlp), sasrec, gru4rec, ease
  std::string arch = "behaviour-mlp";
  nlohmann::json hparams = nlohmann::json::object();  // dim, layers, ...; users/items from data
  std::string loss;   // bce | bpr | softmax; empty = the architecture's default
  int negatives = 4;  // sampled per positive (pair models; sequence models with bce/bpr use 1)
  std::vector<int> ks = {10};              // validation cut-offs; the Trainer monitors ndcg@<first>
  std::vector<int> test_ks = {5, 10, 20};  // cut-offs of the test report
  std::string init_gmf, init_mlp;          // neumf: start from trained gmf and ncf-mlp ModelFiles
  std::vector<double> l2 = {50, 100, 200, 400, 800, 1600};  // ease: chosen on validation
  TrainOptions train;
};

// `arch`'s canonical name: "mlp" is behaviour-mlp's short name; others are returned as they are.
std::string rec_arch_name(const std::string& arch);

// The defaults of `arch`, tuned on validation splits (see bench/RESULTS.md): learning rate,
// batch size, epochs, patience, negatives and model sizes.
TrainSpec default_spec(const std::string& arch);

// What a user may set in a TrainSpec, with the flag names and help of `rec train`: the data,
// the architecture and its sizes, and the Trainer's settings (core/settings.h).
std::vector<Setting> spec_settings();
// Each architecture's defaults as flags ("sasrec: --epochs 200 ... --dim 64 ..."), read from
// default_spec and the models' own sizes: the footer of `rec train --help`.
std::string describe_defaults();

void to_json(nlohmann::json& j, const DataSpec& spec);
void from_json(const nlohmann::json& j, DataSpec& spec);
void to_json(nlohmann::json& j, const TrainSpec& spec);
void from_json(const nlohmann::json& j, TrainSpec& spec);

}  // namespace deepcart::rec
