// Training the seed's MLP recommender through the shared Trainer: examples are (user, item)
// pairs from the training rows, labelled purchased or not, plus uniformly sampled unseen items
// as negatives.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "deepcart/core/model_file.h"
#include "deepcart/core/trainer.h"
#include "deepcart/rec/interactions.h"
#include "deepcart/rec/mlp.h"

namespace deepcart::rec {

struct MlpTrainConfig {
  LogColumns columns;
  data::TableOptions table;  // cleaning: fill_missing, on_bad_row
  MlpOptions model;          // dim, layers, dropout (users/items/features are set from data)
  int negatives = 8;         // sampled negatives per positive pair
  std::vector<int> ks = {10};
  TrainOptions train;
};

struct MlpTrainOutput {
  ModelFile model;
  TrainResult result;
  std::map<std::string, double> test;  // held-out metrics of the restored best weights
  data::ReadReport read_report;
};

MlpTrainOutput mlp_train(const std::string& data_path, MlpTrainConfig config);

}  // namespace deepcart::rec
