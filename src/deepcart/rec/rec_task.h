// Training any recommender on a RecDataset split through the shared Trainer. Pair models learn
// from (user, item) pairs with sampled unseen negatives (BCE, BPR or sampled softmax); sequence
// models learn to predict every next item of the training sequence (full softmax, or BCE/BPR
// with one sampled negative per position).
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "deepcart/core/model_file.h"
#include "deepcart/core/trainer.h"
#include "deepcart/rec/dataset.h"

namespace deepcart::rec {

struct RecTrainConfig {
  std::string arch = "bpr-mf";
  nlohmann::json hparams = nlohmann::json::object();  // dim, layers, ...; users/items from data
  std::string loss;   // bce | bpr | softmax; empty = the architecture's default
  int negatives = 4;  // sampled per positive (pair models; sequence models with bce/bpr use 1)
  std::vector<int> ks = {10};  // validation cut-offs; the Trainer monitors ndcg@<first>
  std::string init_gmf, init_mlp;  // neumf: start from trained gmf and ncf-mlp ModelFiles
  std::vector<double> l2 = {50, 100, 200, 400, 800, 1600};  // ease: chosen on validation
  TrainOptions train;
};

struct RecTrainOutput {
  ModelFile model;
  TrainResult result;
};

// The default loss of an architecture: bpr for bpr-mf, softmax for sequence models, else bce.
std::string rec_default_loss(const std::string& arch);

RecTrainOutput rec_train(const RecDataset& data, const RecSplit& split, RecTrainConfig config);

// Left-padded (B, L) int64 of item id + 1 from the last `len` items of each history.
at::Tensor rec_pad_histories(const std::vector<const std::vector<int64_t>*>& histories, int64_t len);

}  // namespace deepcart::rec
